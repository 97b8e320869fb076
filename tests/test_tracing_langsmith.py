"""LangSmith without the internet: the real client against a recorder on 127.0.0.1, and a prompt exit
when the endpoint accepts connections but never answers."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tracers.langchain import LangChainTracer

from proctor.context import Requester, RunContext
from proctor.graphs.supervisor import build_graph
from proctor.tracing.langsmith import flush_langsmith, langsmith_callbacks
from proctor.tracing.record import store_for
from proctor.tracing.settings import TraceSettings


class Recorder(ThreadingHTTPServer):
    """Answers like LangSmith's ingestion API and keeps every multipart part, decoded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str]] = []
        self.parts: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def runs(self) -> dict[str, dict[str, Any]]:
        """Run id -> the run, its create and update merged, with inputs/outputs/extra/... attached."""
        runs: dict[str, dict[str, Any]] = {}
        for name, value in sorted(self.parts.items(), key=lambda kv: kv[0].count(".")):
            _, run_id, *field = name.split(".")
            run = runs.setdefault(run_id, {})
            if field:
                run[field[0]] = value
            else:
                run.update(value)
        return runs


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        self._reply(200, {"version": "recorder"} if self.path == "/info" else {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(("POST", self.path))
        if self.path == "/runs/multipart":
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.message_from_bytes(head + body, policy=email.policy.HTTP)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                self.server.parts[name] = json.loads(part.get_payload(decode=True))
        elif self.path == "/runs/batch":
            batch = json.loads(body)
            for op in ("post", "patch"):
                for run in batch.get(op) or []:
                    self.server.parts[f"{op}.{run['id']}"] = run
        self._reply(202, {})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_tracer_is_off_unless_both_key_and_switch_are_set(monkeypatch):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    assert langsmith_callbacks() == []
    monkeypatch.setenv("LANGSMITH_API_KEY", "test")
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    assert langsmith_callbacks() == []


def test_a_run_tree_with_tool_calls_tokens_and_metadata_reaches_langsmith(recorder, deployment):
    settings = TraceSettings(
        langsmith_tracing=True, langsmith_api_key="test", langsmith_endpoint=recorder.url, langsmith_project="desk"
    )
    [tracer] = langsmith_callbacks(settings)
    assert isinstance(tracer, LangChainTracer) and tracer.client.api_url == recorder.url
    graph = build_graph(deployment=deployment, checkpointer=False)
    run_id = uuid.uuid4()
    owner = RunContext(requester=Requester(id="CUS-0280", kind="customer"), thread_id="t-ls")
    graph.invoke(
        {"messages": [HumanMessage("Where is my order 1001?")]},
        # Metadata a caller writes does not name the user: the graph writes it from the run context.
        {"callbacks": [tracer], "run_id": run_id, "metadata": {"user_id": "CUS-0042"}},
        context=owner,
    )
    flush_langsmith(settings, timeout_s=10)

    assert ("GET", "/info") in recorder.requests and ("POST", "/runs/multipart") in recorder.requests
    runs = recorder.runs()
    root = runs[str(run_id)]
    assert root["name"] == "proctor" and root.get("parent_run_id") is None and root["session_name"] == "desk"
    assert all(r["trace_id"] == str(run_id) for r in runs.values())
    by_name = {}
    for run in runs.values():
        by_name.setdefault(run["name"], []).append(run)
    [front] = by_name["front_door"]
    assert front["parent_run_id"] == str(run_id)
    assert front["outputs"]["output"]["update"]["route"] == "orders"
    [tool] = by_name["get_order"]
    assert tool["run_type"] == "tool" and tool["inputs"] == {"order_id": "1001"}
    llm = [r for r in runs.values() if r["run_type"] == "llm"]
    assert len(llm) == 2
    message = llm[0]["outputs"]["generations"][0][0]["message"]["kwargs"]
    assert [c["name"] for c in message["tool_calls"]] == ["get_order"]
    assert message["usage_metadata"]["input_tokens"] > 0 and message["usage_metadata"]["output_tokens"] > 0
    assert all(r["extra"]["metadata"]["user_id"] == "CUS-0280" for r in runs.values())
    assert all(r["extra"]["metadata"]["trace_id"] == str(run_id) for r in runs.values())
    # The caller's tracer is the only one (the graph adds none beside it), and the run is in proctor's store too.
    assert len([r for r in runs.values() if r.get("parent_run_id") is None]) == 1
    assert store_for(deployment.settings).get(str(run_id)).user_id == "CUS-0280"
    # The tool ran inside the orders specialist: the tree is intact, not flattened.
    parents = {rid: r.get("parent_run_id") for rid, r in runs.items()}
    chain, node = [], tool["id"]
    while node:
        chain.append(runs[node]["name"])
        node = parents[node]
    assert chain[-2:] == ["orders", "proctor"]


def test_a_graph_configured_for_langsmith_sends_every_plain_run_there_once(recorder, deployment):
    settings = TraceSettings(
        langsmith_tracing=True, langsmith_api_key="test", langsmith_endpoint=recorder.url, langsmith_project="own"
    )
    graph = build_graph(deployment=deployment, checkpointer=False, tracing=settings)
    run_id = uuid.uuid4()
    owner = RunContext(requester=Requester(id="CUS-0280", kind="customer"), thread_id="t-own")
    graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, {"run_id": run_id}, context=owner)
    flush_langsmith(settings, timeout_s=10)
    runs = recorder.runs()
    roots = [r for r in runs.values() if r.get("parent_run_id") is None]
    assert [r["id"] for r in roots] == [str(run_id)] and roots[0]["session_name"] == "own"
    assert roots[0]["extra"]["metadata"]["user_id"] == "CUS-0280"
    assert store_for(deployment.settings).get(str(run_id)).tools == ["get_order"]


CHILD = """
import sys
from langchain_core.messages import HumanMessage
from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.settings import Settings
from proctor.tracing import langsmith_callbacks

graph = build_graph(deployment=Deployment(Settings()), checkpointer=False)
callbacks = langsmith_callbacks()
assert callbacks, "LangSmith tracing should be on"
graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, {"callbacks": callbacks})
print("run done", flush=True)
"""


def test_the_process_exits_promptly_when_langsmith_never_answers(tmp_path: Path, seeded_desk: Path):
    hole = socket.create_server(("127.0.0.1", 0))  # accepts connections, never reads or answers
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(hole.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    shutil.copy(seeded_desk, tmp_path / "desk.sqlite")
    env = {
        "PATH": "/usr/bin:/bin",
        "PROCTOR_DATA_DIR": str(tmp_path),
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "test",
        "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{hole.getsockname()[1]}",
        "PROCTOR_TRACE_LANGSMITH_TIMEOUT_S": "0.3",
        "PROCTOR_TRACE_LANGSMITH_EXIT_GRACE_S": "0.5",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "run done", child.stderr.read()
        ran = time.monotonic()
        child.wait(timeout=20)  # the liveness bound; with these settings it takes about 1 s
        exit_after = time.monotonic() - ran
    finally:
        child.kill()
        hole.close()
        for conn in held:
            conn.close()
    assert child.returncode == 0, child.stderr.read()
    assert held, "the tracer never tried to reach the endpoint"
    assert exit_after < 10, f"exit took {exit_after:.1f} s after the run"
