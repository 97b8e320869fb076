"""What tracing adds to a run: TraceCapture (and saving the trace) against LangSmith's tracer.

"TraceCapture + save" is the graph as ``build_graph`` ships it (it traces its own runs); the other
modes run the same graph built untraced (``tracing=False``), with or without a handler.

One supervisor run (front door -> orders specialist: 2 model calls, 1 tool call) on the offline
model, no checkpointer. LangSmith's tracer sends to the local recorder (benchmarks/recorder.py), which
runs in another process: what is measured is the client's own serialisation and batching, not a
network or a server. Times are process CPU per run (the tracer's sender thread included: each batch
ends with a flush), median of rounds in which the modes take turns in rotating order.

    .venv/bin/python benchmarks/trace_overhead.py [--runs N] [--rounds R]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from langchain_core.messages import HumanMessage
from proctor.graphs.supervisor import build_graph

from benchmarks.common import (
    Figure,
    RecorderProcess,
    Report,
    median,
    offline_langsmith,
    table,
    unlimited,
    verdict,
)
from proctor.context import Requester, RunContext
from proctor.deployment import Deployment
from proctor.settings import Settings
from proctor.tracing.capture import TraceCapture
from proctor.tracing.langsmith import flush_langsmith, langsmith_callbacks
from proctor.tracing.settings import TraceSettings

TARGET = 0.5
OWNER = RunContext(requester=Requester(id="CUS-0280", kind="customer"), thread_id="bench")  # order 1001's
BASE, CAPTURE, SAVED, LANGSMITH = "no tracing", "TraceCapture", "TraceCapture + save (the graph as built)", "LangSmith tracer"


def modes(folder: Path, recorder_url: str) -> tuple[dict[str, Callable[[], dict]], Callable[[], None]]:
    """The four ways of running the same request, and the LangSmith flush."""
    # Order 1001's owner asks every time, with the daily limits out of the way.
    settings = unlimited(Settings(data_dir=folder))
    store_only = TraceSettings(langsmith_tracing=False)
    deployment = Deployment(settings)
    graph = build_graph(deployment=deployment, checkpointer=False, tracing=False)
    traced = build_graph(deployment=deployment, checkpointer=False, tracing=store_only)
    langsmith = TraceSettings(langsmith_tracing=True, langsmith_api_key="unused", langsmith_endpoint=recorder_url)

    def request() -> dict:
        return {"messages": [HumanMessage("Where is my order 1001?")]}

    def plain() -> dict:
        return graph.invoke(request(), {"run_id": uuid.uuid4()}, context=OWNER)

    def capture() -> dict:
        handler = TraceCapture()
        out = graph.invoke(request(), {"run_id": uuid.uuid4(), "callbacks": [handler]}, context=OWNER)
        handler.finish(settings.prices)
        return out

    def capture_and_save() -> dict:
        return traced.invoke(request(), {"run_id": uuid.uuid4()}, context=OWNER)

    def langsmith_tracer() -> dict:
        return graph.invoke(request(), {"run_id": uuid.uuid4(), "callbacks": langsmith_callbacks(langsmith)}, context=OWNER)

    table_ = {BASE: plain, CAPTURE: capture, SAVED: capture_and_save, LANGSMITH: langsmith_tracer}
    return table_, lambda: flush_langsmith(langsmith, timeout_s=30)


def measure(runs: int, rounds: int) -> dict[str, list[float]]:
    """CPU ms per run of each mode, one value per round."""
    folder = Path(tempfile.mkdtemp(prefix="bench-trace-overhead-"))
    try:
        with RecorderProcess() as recorder:
            by_name, flush = modes(folder, recorder.url)
            for name, mode in by_name.items():  # warm up: imports, classifier, SQLite pages, the client's thread
                for _ in range(5):
                    out = mode()
                if out["route"] != "orders" or len(out["messages"]) < 4 or out["messages"][2].status != "success":
                    raise SystemExit(f"trace_overhead: {name}: the run did not do the work")
            flush()
            per_run: dict[str, list[float]] = {name: [] for name in by_name}
            names = list(by_name)
            for r in range(rounds):
                for name in names[r % len(names):] + names[: r % len(names)]:
                    start = time.process_time()
                    for _ in range(runs):
                        by_name[name]()
                    if name == LANGSMITH:
                        flush()  # its sending is part of its cost
                    per_run[name].append((time.process_time() - start) / runs * 1000)
            return per_run
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def overhead_ratio(per_run: dict[str, list[float]], name: str) -> float:
    """Median over rounds of (mode - no tracing) / (LangSmith - no tracing), both from the same round."""
    base = per_run[BASE]
    pairs = zip(per_run[name], per_run[LANGSMITH], base, strict=True)
    return median((mine - b) / (theirs - b) for mine, theirs, b in pairs)


def run(quick: bool = False, runs: int | None = None, rounds: int | None = None) -> Report:
    offline_langsmith()
    runs, rounds = runs or (10 if quick else 40), rounds or (3 if quick else 7)
    per_run = measure(runs, rounds)
    base = median(per_run[BASE])
    rows = []
    for name, times in per_run.items():
        extra = median(t - b for t, b in zip(times, per_run[BASE], strict=True))
        ratio = "" if name in (BASE, LANGSMITH) else f"{overhead_ratio(per_run, name):.2f}x"
        rows.append([name, f"{median(times):.2f}", f"{extra:+.2f}" if name != BASE else "", ratio or ("1.00x" if name == LANGSMITH else "")])
    headline = overhead_ratio(per_run, SAVED)
    body = "\n".join([
        (f"One supervisor run (front door -> orders: 2 model calls, 1 tool call), offline model, no checkpointer; "
        f"{rounds} rounds of {runs} runs per mode, modes interleaved. No tracing: {base:.2f} ms CPU per run.\n"),
        table(["mode", "CPU ms / run", "added ms / run", "added, relative to LangSmith's"], rows),
        (f"\nTarget: proctor's capture and save at most {TARGET}x what LangSmith's tracer adds: "
        f"**{headline:.2f}x, {verdict(headline, TARGET)}**."),
    ])  # fmt: skip
    figures = [Figure("2 trace capture", "proctor's capture + save / LangSmith's tracer, CPU added per run",
                      f"{headline:.2f}x", f"<= {TARGET}x", verdict(headline, TARGET))]  # fmt: skip
    return Report("2. Trace capture against LangSmith's tracer", body, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per round and mode")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(run(runs=args.runs, rounds=args.rounds).markdown())


if __name__ == "__main__":
    main()
