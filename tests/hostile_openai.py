"""A scripted OpenAI-compatible chat server on loopback: it answers with exactly the assistant
messages a test gives it (any tool call, any argument text, any usage figure), in order, then
plain text. Requests are kept so a test can read what the model was told.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_call(name: str, arguments: str, call_id: str = "c1") -> dict[str, Any]:
    """An assistant message calling ``name`` with ``arguments`` as raw JSON text (not checked)."""
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]}


def text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


@dataclass
class Script:
    replies: list[dict[str, Any]]
    usage: dict[str, Any] = field(default_factory=lambda: {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20})
    requests: list[dict[str, Any]] = field(default_factory=list)

    def next(self) -> dict[str, Any]:
        return self.replies.pop(0) if self.replies else text("Done.")


@contextmanager
def hostile_openai(script: Script) -> Iterator[str]:
    """Serve ``script`` on 127.0.0.1; yields the base URL (``.../v1``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            script.requests.append(body)
            answer = json.dumps({
                "id": f"chatcmpl-{len(script.requests)}", "object": "chat.completion", "created": 0,
                "model": body.get("model", "hostile"),
                "choices": [{"index": 0, "message": script.next(), "finish_reason": "stop"}],
                "usage": script.usage,
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
