"""proctor's two-tier front door vs a ``langgraph-supervisor`` supervisor, same tasks, tools, prompts, model.

The supervisor is what a LangGraph user would build instead: an LLM that routes every request by
calling a hand-off tool (``transfer_to_<agent>``) to one of the same specialists (the desk's agent
specs: same prompts, same least-privilege tool sets, same tool error handling, ``create_agent``,
but no guardrails or approval gate), each run on a fresh copy of the seeded desk. proctor routes with its fast classifier first and asks the LLM only when unsure.

Per request: success (the golden task's route and trajectory both hold), model calls, prompt
tokens, wall time. The model is the configured one (``PROCTOR_MODEL`` + ``OPENAI_BASE_URL``),
e.g. the local 0.5B from ``scripts/local-llm serve``. Needs the ``bench`` extra::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/supervisor_comparison.py --per-route 3 --out report.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook
from pydantic import BaseModel

from proctor.deployment import Deployment
from proctor.evals.desks import DeskCopies
from proctor.evals.golden import SEED, load_golden
from proctor.evals.task import Task, ToolCall
from proctor.evals.trajectory import match
from proctor.chat_models import chat_model
from proctor.runner import Proctor
from proctor.settings import Settings
from proctor.specialists import default_middleware, tools_for

SPECIALIST_ROUTES = ("billing", "orders", "account", "support")
HANDOFF = "transfer_to_"


class Usage(BaseCallbackHandler):
    """Model calls, prompt tokens and tool calls of everything run while it is installed."""

    run_inline = True

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.tools: list[ToolCall] = []
        self._lock = threading.Lock()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        with self._lock:
            self.calls += 1
            for generations in response.generations:
                for g in generations:
                    self.prompt_tokens += (getattr(getattr(g, "message", None), "usage_metadata", None) or {}).get("input_tokens", 0)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        with self._lock:
            self.calls += 1

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kw: Any) -> None:
        name = serialized.get("name", "?")
        if not name.startswith(HANDOFF) and name != "hand_off_to_planner":
            with self._lock:
                self.tools.append(ToolCall(name=name, args=dict(kw.get("inputs") or {})))


_usage: ContextVar[Usage | None] = ContextVar("proctor_bench_usage", default=None)
register_configure_hook(_usage, inheritable=True)


@contextmanager
def measured() -> Iterator[Usage]:
    usage = Usage()
    token = _usage.set(usage)
    try:
        yield usage
    finally:
        _usage.reset(token)


class Outcome(BaseModel):
    task: str
    system: str
    route: str | None
    route_ok: bool
    trajectory_ok: bool
    model_calls: int
    prompt_tokens: int
    wall_s: float
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.route_ok and self.trajectory_ok


def run_proctor(settings: Settings, task: Task) -> Outcome:
    desk = Proctor(settings)
    _ = desk.graph  # built before the clock starts, as for the supervisor below
    with measured() as usage:
        start = time.perf_counter()
        error = None
        try:
            result = desk.run(task.input, user_id=task.user)
            route = result.route
        except Exception as exc:  # noqa: BLE001 - a benchmark records failures, it does not stop
            route, error = None, f"{type(exc).__name__}: {exc}"[:200]
        wall = time.perf_counter() - start
    return _outcome("proctor", task, route, usage, wall, error)


def build_supervisor(settings: Settings):
    from langgraph_supervisor import create_supervisor

    deployment = Deployment(settings)
    model = chat_model(settings)
    # The same agents as proctor's, with the same tool error handling, minus proctor's guardrails and gate.
    agents = [
        create_agent(
            deployment.model_for(spec),
            tools=tools_for(spec, deployment.tools),
            system_prompt=spec.prompt,
            middleware=default_middleware(spec),
            name=spec.name,
        )
        for spec in deployment.specs
    ]
    menu = "\n".join(f"- {spec.name}: {spec.description}" for spec in deployment.specs)
    prompt = (
        "You are the front desk of a customer support team. Hand the customer's request to the one "
        f"agent that should handle it, using its transfer tool:\n{menu}\n"
        "Do not answer the request yourself."
    )
    return create_supervisor(agents, model=model, prompt=prompt, output_mode="last_message").compile()


SUPERVISOR_STEPS = 24  # graph steps: nothing else bounds the supervisor's LLM router


def run_supervisor(settings: Settings, task: Task) -> Outcome:
    graph = build_supervisor(settings)
    config = {"configurable": {"thread_id": f"bench-{task.id}"}, "recursion_limit": SUPERVISOR_STEPS}
    with measured() as usage:
        start = time.perf_counter()
        route, error = None, None
        try:
            out = graph.invoke({"messages": [HumanMessage(task.input)]}, config)
            route = _first_handoff(out["messages"])
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"[:200]
        wall = time.perf_counter() - start
    return _outcome("langgraph-supervisor", task, route, usage, wall, error)


def _first_handoff(messages: list[Any]) -> str | None:
    for m in messages:
        for call in getattr(m, "tool_calls", None) or []:
            if call["name"].startswith(HANDOFF):
                return call["name"].removeprefix(HANDOFF)
    return None


def _outcome(system: str, task: Task, route: str | None, usage: Usage, wall: float, error: str | None) -> Outcome:
    trajectory_ok, _ = match(usage.tools, task.trajectory)
    return Outcome(
        task=task.id,
        system=system,
        route=route,
        route_ok=route == task.expected_route,
        trajectory_ok=error is None and trajectory_ok,
        model_calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        wall_s=round(wall, 2),
        error=error,
    )


def pick_tasks(split: str, per_route: int) -> list[Task]:
    """The first ``per_route`` tasks of each specialist route in the split, in golden order."""
    tasks = load_golden().split(split)
    return [t for route in SPECIALIST_ROUTES for t in [t for t in tasks if t.expected_route == route][:per_route]]


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    n = len(outcomes)
    return {
        "tasks": n,
        "success": round(sum(o.success for o in outcomes) / n, 3),
        "route_accuracy": round(sum(o.route_ok for o in outcomes) / n, 3),
        "model_calls_per_request": round(statistics.fmean(o.model_calls for o in outcomes), 2),
        "prompt_tokens_per_request": round(statistics.fmean(o.prompt_tokens for o in outcomes)),
        "wall_s_p50": round(statistics.median(o.wall_s for o in outcomes), 1),
        "wall_s_total": round(sum(o.wall_s for o in outcomes), 1),
        "errors": sum(o.error is not None for o in outcomes),
    }


def table(results: dict[str, dict[str, Any]], model: str) -> str:
    rows = [
        f"| system ({model}) | tasks | success | route accuracy | model calls / request | prompt tokens / request | wall time p50 (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for system, s in results.items():
        rows.append(
            f"| {system} | {s['tasks']} | {s['success']:.0%} | {s['route_accuracy']:.0%} | {s['model_calls_per_request']}"
            f" | {s['prompt_tokens_per_request']} | {s['wall_s_p50']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="heldout", choices=["test", "heldout", "all"])
    parser.add_argument("--per-route", type=int, default=3, help="tasks per specialist route (3)")
    parser.add_argument("--out", type=Path, help="write every outcome and the summary as JSON here")
    args = parser.parse_args(argv)
    settings = Settings()
    if settings.offline:
        print("set PROCTOR_MODEL and OPENAI_BASE_URL (e.g. from scripts/local-llm serve) first", file=sys.stderr)
        return 2
    tasks = pick_tasks(args.split, args.per_route)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as root:
        desks = DeskCopies(Path(root), settings, SEED)
        for task in tasks:  # interleaved, so both systems see the same machine load
            for system, run in (("proctor", run_proctor), ("langgraph-supervisor", run_supervisor)):
                outcome = run(desks.fresh(f"{system}-{task.id}"), task)
                outcomes.append(outcome)
                print(outcome.model_dump_json(), file=sys.stderr, flush=True)
                if args.out:
                    _write(args.out, settings.model, tasks, outcomes)
    print(table(_results(outcomes), settings.model))
    return 0


def _results(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    systems = dict.fromkeys(o.system for o in outcomes)
    return {s: summary([o for o in outcomes if o.system == s]) for s in systems}


def _write(out: Path, model: str, tasks: list[Task], outcomes: list[Outcome]) -> None:
    done = {o.task for o in outcomes if o.system == "langgraph-supervisor"}
    report = {
        "model": model,
        "tasks": [t.id for t in tasks if t.id in done],
        "summary": _results([o for o in outcomes if o.task in done]),
        "outcomes": [o.model_dump() for o in outcomes],
    }
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
