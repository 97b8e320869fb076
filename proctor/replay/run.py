"""``replay(trace_id)``: the recorded turn run again in a sandbox, and both sides compared."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from proctor.db import Database
from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.releases.store import ReleaseStore
from proctor.replay.config import ReplayConfig, setup
from proctor.replay.diff import Outcome, Step, compare, outcome
from proctor.replay.recording import load
from proctor.replay.sandbox import judge_as_recorded, sandbox
from proctor.replay.serving import ToolServing
from proctor.replay.turn import Turn
from proctor.settings import Settings
from proctor.tracing import TraceSettings, store_for


class Replay(BaseModel):
    """The ``--json`` output of ``proctor replay``."""

    trace_id: str
    request: str
    original: Outcome
    replay: Outcome
    same_trajectory: bool  # route, steps (tool, arguments, ok; approvals) and status
    differences: list[str]  # those, and the answer
    changed_config: str  # unified diff of prompts and settings, original -> replay; '' when none
    notes: list[str]


def replay(
    trace_id: str,
    settings: Settings | None = None,
    config: ReplayConfig | None = None,
    *,
    tracing: TraceSettings | None = None,
) -> Replay:
    """Replay the turn ``trace_id`` started. Raises ``UnknownTrace``, ``NotReplayable``, ``ReplayError``,
    ``UnknownRelease`` (a release asked for), ``ModelNotConfigured`` (a model without an endpoint)."""
    settings = settings or Settings()
    original = load(store_for(settings, tracing), trace_id)
    with sandbox(settings) as isolated:
        releases = ReleaseStore(Database(isolated.domain_url))  # read from the copy, like everything else
        plan = setup(config or ReplayConfig(), original.trace.release, isolated, releases)
        deployment = Deployment(isolated, release=plan.release)
        judge_as_recorded(deployment.ledger, original)
        serving = ToolServing(original.tool_spans, deployment)
        graph = build_graph(deployment=deployment, checkpointer=InMemorySaver(), extra_middleware=[serving])
        turn = Turn(graph, original, deployment)
        traces = turn.run()

    def label(step: Step) -> str:
        if step.kind == "tool":
            return serving.source(step.name, step.args) or ""
        return turn.fate(step.name, step.args)

    before = outcome(original.traces, plan.original_label)
    after = outcome(traces, plan.label, label)
    same, differences = compare(before, after)
    return Replay(
        trace_id=trace_id,
        request=original.trace.input,
        original=before,
        replay=after,
        same_trajectory=same,
        differences=differences,
        changed_config=plan.changed,
        notes=[*plan.notes, *original.notes, *turn.stops],
    )
