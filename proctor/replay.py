"""Replays: run a recorded turn again with another model, prompt or release, and compare the two.

``replay(trace_id)`` reads the turn back from the trace store (the run, plus the resumes after its
approvals), runs its request again and returns both trajectories and outcomes with what differs.

- Isolation: the replay runs in a temporary data dir on a copy of the domain database, with an
  in-memory checkpointer. Dry runs, the approval ledger, usage counters and escalations all land
  in the copy. The replay is not saved as a trace: its traces exist only to be compared, so
  production figures (costs, failure rates, release comparisons) never count it.
- Tools: ``ToolServing`` serves each call from the recording when the original made it, runs
  other reads on the copy and dry-runs other writes. Nothing is ever executed for real.
- Approvals: one the original stopped for and a reviewer then decided is decided the same way;
  any other stops the replay, reported as "would wait for approval".
- Configuration: every variant (the trace's release, ``release``, ``prompt_version``, ``model``)
  is a release bundle, so what changed is shown with the releases' own diff.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import tempfile
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from langchain.agents.middleware import AgentMiddleware
from langchain.tools import ToolRuntime
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from proctor.context import RunContext
from proctor.approvals.ledger import (
    ApprovalLedger,
    ApprovalRequest,
    Decision,
    UnknownRequest,
)
from proctor.db import Database, is_postgres, sqlite_path
from proctor.deployment import Deployment
from proctor.errors import ProctorError, ToolError
from proctor.graphs.supervisor import build_graph
from proctor.pricing import ModelPrice
from proctor.releases.bundle import ID_PREFIX, BundleContent, Release, snapshot
from proctor.releases.diff import diff_contents
from proctor.releases.store import ReleaseStore
from proctor.settings import Settings
from proctor.toolkit import Impact, ImpactFn, ToolSpec, dry_run
from proctor.tracing import (
    Span,
    Trace,
    TraceCapture,
    TraceSettings,
    TraceStore,
    store_for,
)
from proctor.tracing.capture import TEXT_LIMIT
from proctor.tracing.models import Status
from proctor.tracing.settings import installed_release

PACKAGED = "packaged defaults"
SNIPPET = 120  # characters of a result or an answer kept in a step or a difference
DECIDED = {"approved": "approve", "edited": "edit", "rejected": "reject"}  # ledger status -> decision

T = TypeVar("T")
Source = Literal["recorded", "live read on a copy", "dry run"]


class ReplayError(ProctorError):
    """A replay that cannot run; the message says why and what to do instead.
    (An unknown trace id raises the trace store's ``UnknownTrace``.)"""


class NotReplayable(ReplayError):
    """The trace has nothing to send again: no request (it resumed a thread after an approval)."""


class ReplayConfig(BaseModel):
    """What to change; nothing set replays on the release the trace ran on."""

    model: str | None = None  # every agent runs on it
    prompt_version: str | None = None  # a release whose agents' prompts replace the base's
    release: str | None = None  # the base release (default: the trace's)


class Step(BaseModel):
    """A tool call, or an approval a tool call stopped for."""

    kind: Literal["tool", "approval"]
    name: str  # the tool (for an approval: the tool waiting for it)
    args: dict[str, Any]
    ok: bool | None = None  # None for an approval
    source: str = ""  # how the replay handled it: recorded, dry run, live read on a copy, an approval's fate
    detail: str = ""  # the result's summary, the error, or why the approval was asked

    def signature(self) -> tuple[str, str, str, bool | None]:
        """What must match for two steps to be the same step; sources and details may differ. An
        optional argument left out and the same argument sent as null are the same call."""
        args = {k: v for k, v in self.args.items() if v is not None}
        return self.kind, self.name, json.dumps(args, sort_keys=True, default=str), self.ok

    def describe(self) -> str:
        call = f"{self.name}({json.dumps(self.args, ensure_ascii=False, default=str)})"
        return f"approval for {call}" if self.kind == "approval" else f"{call} {'ok' if self.ok else 'FAILED'}"


class Outcome(BaseModel):
    """One side of a replay: what the turn did and how it ended."""

    trace_ids: list[str]
    release: str
    model: str | None
    route: str | None
    status: Status
    answer: str
    steps: list[Step]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None = None


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


# The original: the turn read back from the trace store.


@dataclass(frozen=True)
class RecordedApproval:
    """An approval the original stopped for."""

    tool: str
    args: dict[str, Any]
    request: dict[str, Any]  # the request as the gate filed it (id, amount, currency, customer)
    resumed: bool  # a later trace of the turn went on from it: a reviewer decided

    @property
    def request_id(self) -> str | None:
        return self.request.get("id")


@dataclass(frozen=True)
class Original:
    """A recorded turn. A run that stopped for an approval goes on in a later trace of its thread
    (the resume, which has no request of its own); earlier turns become the replay's history."""

    trace: Trace  # the run asked for: it carries the request
    traces: list[Trace]  # that run, then the resumes after its approvals
    history: list[tuple[str, str]]  # (request, answer) of each earlier turn of the thread

    @property
    def tool_spans(self) -> list[Span]:
        return [s for t in self.traces for s in t.spans if s.kind == "tool"]

    @property
    def approvals(self) -> list[RecordedApproval]:
        last = len(self.traces) - 1
        return [
            RecordedApproval(value["name"], value.get("args") or {}, value.get("request") or {}, i < last)
            for i, t in enumerate(self.traces)
            for s in t.spans
            if s.kind == "interrupt" and _is_approval(value := s.outputs.get("value"))
        ]

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.history:
            turns = len(self.history)
            notes.append(f"the thread had {turns} earlier turn(s): the replay gets their requests and answers only")
        if clipped := sum(_clipped(s.outputs.get("result")) for s in self.tool_spans):
            notes.append(f"{clipped} recorded tool result(s) were cut when traced (older traces): they are served cut")
        return notes


def load(store: TraceStore, trace_id: str) -> Original:
    """The turn started by ``trace_id``; raises ``UnknownTrace`` or ``NotReplayable``."""
    trace = store.get(trace_id)
    turns = _turns(store, trace)
    index = next(i for i, turn in enumerate(turns) if any(row["trace_id"] == trace_id for row in turn))
    start = turns[index][0]["trace_id"]
    if not trace.input.strip():
        hint = f"; replay {start}, the trace that started its turn" if start != trace_id else ""
        raise NotReplayable(f"trace {trace_id} has no request to send again: it resumed a thread{hint}")
    later = [store.get(row["trace_id"]) for row in turns[index][1:]]
    history = [(turn[0]["input"], turn[-1]["answer"]) for turn in turns[:index]]
    return Original(trace=trace, traces=[trace, *later], history=history)


def _turns(store: TraceStore, trace: Trace) -> list[list[dict[str, Any]]]:
    """The thread's traces (id, input, answer) by turn: one with a request, then the resumes after it."""
    if not trace.thread_id:
        return [[{"trace_id": trace.trace_id, "input": trace.input, "answer": trace.answer}]]
    # TraceStore has no lookup by thread; one scan of its table per replay is cheap enough.
    rows = store.db.query(
        "SELECT trace_id, input, answer FROM traces WHERE thread_id = ? ORDER BY started_at, trace_id",
        (trace.thread_id,),
    )
    turns: list[list[dict[str, Any]]] = []
    for row in rows:
        if row["input"].strip() or not turns:
            turns.append([row])
        else:
            turns[-1].append(row)
    return turns


def _clipped(result: Any) -> bool:
    """Cut by the trace capture, as it did to long tool results before they were kept whole."""
    return isinstance(result, str) and len(result) == TEXT_LIMIT + 1 and result.endswith("…")


def _is_approval(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "tool_approval" and "name" in value


# Isolation: a throwaway data dir with a copy of the domain database.


@contextmanager
def sandbox(settings: Settings) -> Iterator[Settings]:
    """``settings`` moved to a temporary data dir holding a copy of the domain database, deleted after.
    The live desk's data is only read, once, to make the copy."""
    url = settings.domain_url
    if is_postgres(url):
        raise ReplayError(
            "replays run on a SQLite copy of the domain database, and this desk's is Postgres:"
            " copy it to SQLite and point PROCTOR_DATABASE_URL at the copy for the replay"
        )
    source = sqlite_path(url)
    if not source.is_file():
        raise ReplayError(f"there is no domain database at {source} to copy for the replay")
    with tempfile.TemporaryDirectory(prefix="proctor-replay-") as folder:
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(Path(folder) / "desk.sqlite")) as copy:
            live.backup(copy)  # SQLite's online backup: consistent even while the desk writes
        yield settings.model_copy(update={"data_dir": Path(folder), "database_url": None, "checkpoint_url": None})


def judge_as_recorded(ledger: ApprovalLedger, original: Original) -> None:
    """Make the copy's ledger judge a call the original filed for approval as it was judged then.
    Such a write is served from the recording, but the copy already holds its effect (the refund
    is on it), so its live impact would raise "already refunded" and the replay would never stop
    for the approval the original stopped for. Every other call is judged on the copy, live."""
    specs = dict(ledger.tools)
    recorded: dict[str, Impact] = {}
    tools: set[str] = set()
    for approval in original.approvals:
        spec, request = specs.get(approval.tool), approval.request
        if spec is None or spec.impact is None:
            continue
        impact = Impact(
            amount=request.get("amount"),
            currency=request.get("currency") or "USD",
            customer_id=request.get("customer_id"),
        )
        tools.add(approval.tool)
        recorded[call_key(approval.tool, approval.args, specs)] = impact
        decided = _decided(ledger, approval.request_id)
        if decided is not None and decided.decided_args is not None:  # an edit: judged at its own amount
            edited = impact.model_copy(update={"amount": decided.amount})
            recorded[call_key(approval.tool, decided.decided_args, specs)] = edited
    for name in tools:
        ledger.tools[name] = replace(specs[name], impact=_impact_as_recorded(specs[name], recorded, specs))


def _impact_as_recorded(spec: ToolSpec, recorded: Mapping[str, Impact], specs: Mapping[str, ToolSpec]) -> ImpactFn:
    live = spec.impact
    assert live is not None

    def impact(conn: Any, args: BaseModel) -> Impact:
        found = recorded.get(call_key(spec.name, args.model_dump(mode="json"), specs))
        return found if found is not None else live(conn, args)

    return impact


# Configuration: what the replay runs on, as a release bundle.


@dataclass(frozen=True)
class Setup:
    release: Release | None  # what the replay runs on; None: the packaged defaults
    label: str
    original_label: str
    changed: str  # unified diff from the original's bundle to the replay's; '' when the same
    notes: list[str]


def setup(config: ReplayConfig, trace_release: str, settings: Settings, store: ReleaseStore) -> Setup:
    """Resolve ``config`` against the release a trace ran on (a release id, or a package version).
    Overrides make an in-memory release that is never stored."""
    original = store.get(trace_release) if trace_release.startswith(ID_PREFIX) else None
    base = store.get(config.release) if config.release else original
    release, label = base, base.id if base else _packaged(installed_release())
    if config.prompt_version or config.model:
        content = base.content if base else snapshot(settings)
        if config.prompt_version:
            donor = store.get(config.prompt_version)
            content = _with_prompts(content, donor.content)
            label += f", prompts of {donor.id}"
        if config.model:
            content = _with_model(content, config.model)
            label += f", model {config.model}"
        release = _unstored(content, base)
    changed = ""
    if (release.id if release else None) != (original.id if original else None):
        before, after = _content(original, settings), _content(release, settings)
        changed = diff_contents(before, after, a_name="original", b_name="replay")
    original_label = original.id if original else _packaged(trace_release)
    return Setup(release, label, original_label, changed, _version_notes(original, trace_release))


def _with_prompts(content: BundleContent, donor: BundleContent) -> BundleContent:
    prompts = {agent.name: agent.prompt for agent in donor.agents}
    agents = [a.model_copy(update={"prompt": prompts.get(a.name, a.prompt)}) for a in content.agents]
    return content.model_copy(update={"agents": agents})


def _with_model(content: BundleContent, model: str) -> BundleContent:
    agents = [a.model_copy(update={"model": None}) for a in content.agents]  # no agent keeps its own model
    return content.model_copy(update={"model": model, "agents": agents})


def _unstored(content: BundleContent, parent: Release | None) -> Release:
    return Release(
        id=content.release_id(),
        parent=parent.id if parent else None,
        author="proctor replay",
        message="a replay's configuration, never stored",
        created_at=datetime.now(UTC),
        content=content,
    )


def _content(release: Release | None, settings: Settings) -> BundleContent:
    return release.content if release else snapshot(settings)


def _packaged(version: str) -> str:
    return f"{PACKAGED} (proctor {version})" if version else PACKAGED


def _version_notes(original: Release | None, trace_release: str) -> list[str]:
    installed = installed_release()
    if original is None and trace_release and trace_release != installed:
        return [f"the trace ran on proctor {trace_release}'s packaged defaults; the replay on proctor {installed}'s"]
    return []


# Matching a replay's calls to recorded ones: same tool, same arguments, in recorded order.


def call_key(name: str, args: Any, specs: Mapping[str, ToolSpec]) -> str:
    """A call's identity. Arguments go through the tool's schema first, so ``49`` and ``49.0``, or an
    omitted default and the default itself, are the same call."""
    spec = specs.get(name)
    if spec is not None and isinstance(args, Mapping):
        try:
            args = spec.args_schema.model_validate(args).model_dump(mode="json")
        except ValidationError:
            pass  # an invalid call still matches the same invalid call
    return json.dumps([name, args], sort_keys=True, default=str)


class CallQueue(Generic[T]):
    """Items filed under a call key, taken back first in, first out. Parallel tool calls run on
    worker threads, hence the lock."""

    def __init__(self) -> None:
        self._items: dict[str, deque[T]] = defaultdict(deque)
        self._lock = threading.Lock()

    def put(self, key: str, item: T) -> None:
        with self._lock:
            self._items[key].append(item)

    def take(self, key: str) -> T | None:
        with self._lock:
            queue = self._items.get(key)
            return queue.popleft() if queue else None


# Tool serving: recorded results back, reads on the copy, never a real write.


class ToolServing(AgentMiddleware):
    """Outermost in every specialist. It does not answer a call itself: it swaps in a served twin
    of the tool, so the approval gate, the guards, retries, error reporting and the trace's tool
    spans run exactly as in production and only the execution differs. The twin serves

    - a call the original made (same tool and arguments, in recorded order): its recorded result,
      or its recorded failure, for reads and writes alike ("recorded");
    - any other read: the real read, on the replay's copy of the database ("live read on a copy");
    - any other write: ``dry_run`` on the copy, rolled back ("dry run"). Never ``execute_once``.

    Tools outside the desk (the hand-off to the planner) pass through.
    """

    def __init__(self, recorded: Sequence[Span], deployment: Deployment) -> None:
        super().__init__()
        self._specs = {spec.name: spec for spec in deployment.tool_specs}
        self._recorded: CallQueue[Span] = CallQueue()
        for span in recorded:
            self._recorded.put(call_key(span.name, span.inputs.get("args"), self._specs), span)
        self._served: CallQueue[Source] = CallQueue()
        self._twins = {tool.name: self._twin(tool, self._specs[tool.name], deployment) for tool in deployment.tools}

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        return handler(self._swapped(request))

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        return await handler(self._swapped(request))

    def source(self, name: str, args: Any) -> Source | None:
        """How a call of the replay was served; each answer is given once, in call order."""
        return self._served.take(call_key(name, args, self._specs))

    def _swapped(self, request: ToolCallRequest) -> ToolCallRequest:
        twin = self._twins.get(request.tool_call["name"])
        return request if twin is None else request.override(tool=twin)

    def _twin(self, tool: BaseTool, spec: ToolSpec, deployment: Deployment) -> BaseTool:
        """The tool as the model sees it (name, schema, metadata), executed the replay's way. It
        decides per execution, on the arguments that reach it: after an approver's edit, and once
        per retry, like the real tool."""

        def serve(runtime: ToolRuntime, **kwargs: Any) -> Any:
            key = call_key(spec.name, kwargs, self._specs)
            recorded = self._recorded.take(key)
            if recorded is not None:
                self._served.put(key, "recorded")
                return _replayed(recorded)
            if spec.effect == "read":
                self._served.put(key, "live read on a copy")
                return tool.func(runtime=runtime, **kwargs)  # the deployment's tools are bound to the copy
            self._served.put(key, "dry run")
            return dry_run(deployment.db, spec, spec.args_schema.model_validate(kwargs))

        return StructuredTool.from_function(
            func=serve,
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            metadata=tool.metadata,
            response_format="content",
        )


def _replayed(span: Span) -> Any:
    if span.status == "error":
        raise _failure(span.error or "")
    return span.outputs.get("result")


def _failure(recorded: str) -> Exception:
    """A recorded failure (``Class: message``) raised again as its class, so a transient one is
    retried and the model reads the same report (``proctor.specialists.report_tool_error``)."""
    name, _, message = recorded.partition(": ")
    known: dict[str, type[Exception]] = {c.__name__: c for c in _subclasses(ToolError)}
    known |= {"ValueError": ValueError, "ValidationError": ValueError}  # reported alike
    return known.get(name, type(name, (Exception,), {}))(message)


def _subclasses(cls: type[Exception]) -> list[type[Exception]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


# Driving the replayed turn.


class Turn:
    """The request, then each approval answered the way a reviewer answered the original's."""

    def __init__(self, graph: Any, original: Original, deployment: Deployment) -> None:
        self.graph, self.original, self.ledger = graph, original, deployment.ledger
        self.prices: dict[str, ModelPrice] = deployment.settings.prices
        self.specs = {spec.name: spec for spec in deployment.tool_specs}
        self.thread = {"configurable": {"thread_id": f"replay-{uuid.uuid4()}"}}
        self.metadata = {"user_id": original.trace.user_id, "release_id": deployment.release_id}
        # The replay acts for the original's requester, as the original did.
        self.context = RunContext(
            requester=deployment.directory.requester(original.trace.user_id),
            thread_id=self.thread["configurable"]["thread_id"],
            release_id=deployment.release_id or None,
        )
        self.recorded: CallQueue[RecordedApproval] = CallQueue()
        for approval in original.approvals:
            self.recorded.put(call_key(approval.tool, approval.args, self.specs), approval)
        self._fates: CallQueue[str] = CallQueue()
        self.stops: list[str] = []

    def run(self) -> list[Trace]:
        """The turn's traces: the run, then one per resume."""
        traces = [self._invoke({"messages": _messages(self.original)})]
        while traces[-1].status != "error" and (waiting := self.graph.get_state(self.thread).interrupts):
            answers = {pending.id: answer for pending in waiting if (answer := self._answer(pending.value)) is not None}
            if len(answers) < len(waiting):
                break
            traces.append(self._invoke(Command(resume=answers)))
        return traces

    def fate(self, tool: str, args: dict[str, Any]) -> str:
        """What became of an approval the replay stopped for, in order."""
        return self._fates.take(call_key(tool, args, self.specs)) or ""

    def _invoke(self, step: Any) -> Trace:
        capture = TraceCapture()
        run_id = uuid.uuid4()
        metadata = {**self.metadata, "trace_id": str(run_id)}
        try:
            config = {**self.thread, "run_id": run_id, "callbacks": [capture], "metadata": metadata}
            self.graph.invoke(step, config, context=self.context)
        except Exception:
            if capture.trace_id is None:
                raise  # the graph never started: a fault of the replay itself
            # Otherwise a failed run is an outcome like any other: its trace records the error.
        return capture.finish(self.prices, thread_id=self.thread["configurable"]["thread_id"])

    def _answer(self, value: Any) -> dict[str, Any] | None:
        """The resume value for an approval the original had decided; else None, noting why it stops."""
        if not _is_approval(value):
            self.stops.append(f"stopped: would wait for input: {_short(str(value))}")
            return None
        args = value.get("args") or {}
        key = call_key(value["name"], args, self.specs)
        recorded = self.recorded.take(key)
        decided = _decided(self.ledger, recorded.request_id) if recorded and recorded.resumed else None
        if decided is None:
            fate = "waits for approval, as the original did" if recorded else "would wait for approval"
            why = (value.get("request") or {}).get("why")
            self._fates.put(key, fate)
            self.stops.append(f"stopped: {value['name']}({json.dumps(args)}) {fate}" + (f": {why}" if why else ""))
            return None
        self._fates.put(key, f"{decided.status} by {decided.decided_by}, as recorded")
        decision = Decision(
            type=DECIDED[decided.status],
            reviewer=decided.decided_by or "",
            args=decided.decided_args,
            reason=decided.reason,
        )
        return decision.model_dump()  # the gate records it in the copy's ledger, after every reviewer check


def _decided(ledger: ApprovalLedger, request_id: str | None) -> ApprovalRequest | None:
    """The original's approval request, once a reviewer decided it (the copy's ledger has it)."""
    try:
        request = ledger.get(request_id or "")
    except UnknownRequest:
        return None
    return request if request.status in DECIDED else None


def _messages(original: Original) -> list[BaseMessage]:
    """Earlier turns as plain request and answer, then the request itself."""
    history: list[BaseMessage] = []
    for request, answer in original.history:
        history += [HumanMessage(request), AIMessage(answer)]
    return [*history, HumanMessage(original.trace.input)]


# Trajectories: what a turn did, from its traces, and how two differ.


def outcome(traces: Sequence[Trace], release: str, label: Callable[[Step], str] | None = None) -> Outcome:
    """The outcome of a turn's traces; ``label`` names how each step was served."""
    steps = [step for trace in traces for span in trace.spans if (step := _step(span)) is not None]
    if label is not None:
        steps = [s.model_copy(update={"source": label(s)}) for s in steps]
    last = traces[-1]
    models = sorted({m.strip() for t in traces if t.model for m in t.model.split(",")})
    return Outcome(
        trace_ids=[t.trace_id for t in traces],
        release=release,
        model=", ".join(models) or None,
        route=next((t.route for t in traces if t.route), None),
        status=last.status,
        answer=last.answer,
        steps=steps,
        input_tokens=sum(t.input_tokens for t in traces),
        output_tokens=sum(t.output_tokens for t in traces),
        cost_usd=round(sum(t.cost_usd for t in traces), 8),
        error=next((s.error for s in last.spans if s.parent_id is None and s.error), None),
    )


def align(a: Sequence[Step], b: Sequence[Step]) -> list[tuple[Step | None, Step | None]]:
    """The two step lists side by side: equal runs paired, a step missing on one side opposite None."""
    matcher = difflib.SequenceMatcher(a=[s.signature() for s in a], b=[s.signature() for s in b], autojunk=False)
    pairs: list[tuple[Step | None, Step | None]] = []
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs.extend(zip_longest(a[i1:i2], b[j1:j2]))
    return pairs


def compare(original: Outcome, replay: Outcome) -> tuple[bool, list[str]]:
    """(whether route, steps and status are the same; every difference, the answer's included)."""
    differences = []
    if original.route != replay.route:
        differences.append(f"route: {original.route} -> {replay.route}")
    for n, (a, b) in enumerate(align(original.steps, replay.steps), 1):
        if a is None or b is None or a.signature() != b.signature():
            differences.append(f"step {n}: {a.describe() if a else '(none)'} -> {b.describe() if b else '(none)'}")
    if original.status != replay.status:
        differences.append(f"status: {original.status} -> {replay.status}")
    same = not differences
    if original.answer != replay.answer:
        differences.append(f"answer: {_short(original.answer)!r} -> {_short(replay.answer)!r}")
    return same, differences


def _step(span: Span) -> Step | None:
    value = span.outputs.get("value")
    if span.kind == "interrupt" and _is_approval(value):
        request = value.get("request") or {}
        why = f"{request.get('id', '')}: {request.get('why') or value.get('description') or ''}"
        return Step(kind="approval", name=value["name"], args=value.get("args") or {}, detail=why)
    if span.kind != "tool":
        return None
    args = span.inputs.get("args")
    detail = span.error if span.status == "error" else _summary(span.outputs.get("result"))
    return Step(
        kind="tool",
        name=span.name,
        args=args if isinstance(args, dict) else {"input": args},
        ok=span.status == "ok",
        detail=_short(detail or ""),
    )


def _summary(result: Any) -> str:
    """A tool result's ``summary`` field when it has one (the desk's tools do), else the result."""
    if not isinstance(result, str):
        return json.dumps(result, default=str)
    try:
        parsed = json.loads(result)
    except ValueError:
        return result
    return str(parsed.get("summary") or result) if isinstance(parsed, dict) else result


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"
