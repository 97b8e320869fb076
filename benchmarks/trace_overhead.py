"""What tracing adds to a run: TraceCapture (and saving the trace) against LangSmith's tracer.

One supervisor run (front door -> orders specialist: 2 model calls, 1 tool call) on the offline
model, no checkpointer. LangSmith's tracer sends to a local sink on 127.0.0.1 that discards
what it gets, so its cost is its own serialisation and batching, not a network. Times are process
CPU per run (the tracer's background thread included), median of rounds.

    .venv/bin/python benchmarks/trace_overhead.py [--runs N] [--rounds R]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from langchain_core.messages import HumanMessage

from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.settings import Settings
from proctor.tracing.capture import TraceCapture
from proctor.tracing.langsmith import flush_langsmith, langsmith_callbacks
from proctor.tracing.record import record_run
from proctor.tracing.settings import TraceSettings


class _Sink(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._ok()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._ok()

    def _ok(self) -> None:
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per round and mode")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    folder = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=folder)
    graph = build_graph(deployment=Deployment(settings), checkpointer=False)
    store_only = TraceSettings(langsmith_tracing=False)
    langsmith = TraceSettings(
        langsmith_tracing=True, langsmith_api_key="unused", langsmith_endpoint=f"http://127.0.0.1:{sink.server_port}"
    )

    def request() -> dict:
        # A new user each run: the per-user daily quota guard would otherwise refuse runs early.
        return {"messages": [HumanMessage("Where is my order 1001?")], "user_id": f"bench-{uuid.uuid4()}"}

    def plain() -> dict:
        return graph.invoke(request(), {"run_id": uuid.uuid4()})

    def capture() -> dict:
        handler = TraceCapture()
        out = graph.invoke(request(), {"run_id": uuid.uuid4(), "callbacks": [handler]})
        handler.finish(settings.prices)
        return out

    def capture_and_save() -> dict:
        with record_run(settings, {"run_id": uuid.uuid4()}, store_only) as config:
            return graph.invoke(request(), config)

    def langsmith_tracer() -> dict:
        return graph.invoke(request(), {"run_id": uuid.uuid4(), "callbacks": langsmith_callbacks(langsmith)})

    modes: dict[str, Callable[[], dict]] = {
        "no tracing": plain,
        "TraceCapture": capture,
        "TraceCapture + save (record_run)": capture_and_save,
        "LangSmith tracer": langsmith_tracer,
    }
    for name, mode in modes.items():  # warm up: imports, classifier, SQLite pages, the client's thread
        for _ in range(5):
            out = mode()
        assert out["route"] == "orders" and len(out["messages"]) >= 4, f"{name}: the run did not do the work"
    flush_langsmith(langsmith, timeout_s=30)

    per_run: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, mode in modes.items():
            start = time.process_time()
            for _ in range(args.runs):
                mode()
            if mode is langsmith_tracer:
                flush_langsmith(langsmith, timeout_s=30)  # its sending is part of its cost
            per_run[name].append((time.process_time() - start) / args.runs * 1000)

    base = statistics.median(per_run["no tracing"])
    langsmith_extra = statistics.median(per_run["LangSmith tracer"]) - base
    print(f"CPU per run, median of {args.rounds} rounds of {args.runs} runs:")
    for name, times in per_run.items():
        extra = statistics.median(times) - base
        ratio = f"   {extra / langsmith_extra:.2f}x LangSmith's overhead" if name != "no tracing" else ""
        print(f"  {name:34} {statistics.median(times):6.2f} ms   +{extra:5.2f} ms{ratio}")
    sink.shutdown()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
