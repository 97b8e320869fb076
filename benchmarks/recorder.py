"""A local stand-in for LangSmith's ingestion API, in its own process so its CPU is never measured.

It answers ``GET /info`` like a LangSmith server without zstd compression (so the client sends plain
multipart, as in tests/test_tracing_langsmith.py), accepts ``POST /runs/multipart`` and
``/runs/batch``, and counts the runs it gets per project (``session_name``) and run name. ``GET /stats`` returns
the counts. Standard library only: the child process starts in a fraction of a second.

    python benchmarks/recorder.py      # prints "port N", then serves on 127.0.0.1:N
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

_POST_PART = re.compile(rb'name="post\.[0-9a-fA-F-]{36}"')  # a run's create; its inputs etc. are other parts


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.runs: dict[str, Counter[str]] = {}  # project -> run name -> runs created
        self.requests = 0
        self.bytes = 0

    def record(self, path: str, content_type: str, body: bytes) -> None:
        self.requests += 1
        self.bytes += len(body)
        if path == "/runs/multipart":
            created = [json.loads(part) for part in _post_parts(content_type, body)]
        elif path == "/runs/batch":
            created = json.loads(body).get("post") or []
        else:
            return
        for run in created:
            self.runs.setdefault(run.get("session_name") or "default", Counter())[run.get("name") or "?"] += 1


def _post_parts(content_type: str, body: bytes) -> list[bytes]:
    """The JSON of each ``post.<run id>`` part of a multipart body (small: inputs and outputs are other parts)."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    parts = []
    for part in body.split(b"--" + boundary):
        head, _, payload = part.partition(b"\r\n\r\n")
        if _POST_PART.search(head):
            parts.append(payload.rstrip(b"\r\n"))
    return parts


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/stats":
            runs = {project: dict(names) for project, names in self.server.runs.items()}
            stats = {"runs": runs, "requests": self.server.requests, "bytes": self.server.bytes}
            self._reply(200, stats)
        else:
            self._reply(200, {"version": "recorder"} if self.path == "/info" else {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.record(self.path, self.headers.get("Content-Type", ""), body)
        self._reply(202, {})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class RecorderProcess:
    """The recorder in a child process: ``url`` for clients, ``stats()`` to read its counts."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("port "):
            self.process.kill()
            raise RuntimeError(f"the LangSmith recorder did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=10) as reply:
            return json.load(reply)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    server = Recorder()
    print(f"port {server.server_port}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
