"""A scripted OpenAI-compatible chat endpoint on loopback that misbehaves on purpose.

``script(body) -> Reply`` decides each reply from the request body (its ``response_format``
names the structured schema the router or planner asks for; ``tools`` marks a specialist).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] = b""
    content_type: str = "application/json"
    delay_s: float = 0.0


def completion(content: str = "", tool_calls: list[dict[str, Any]] | None = None, *, choices: bool = True) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
            for i, c in enumerate(tool_calls)
        ]
    finish = "tool_calls" if tool_calls else "stop"
    return Reply(
        body={
            "id": "chatcmpl-hostile",
            "object": "chat.completion",
            "created": 0,
            "model": "hostile",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}] if choices else [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    )


def schema_of(body: dict[str, Any]) -> str | None:
    """The structured-output schema a request asks for ("LLMRoute", "Plan", ...), if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"].get("name")
    for tool in body.get("tools") or []:  # function-calling structured output
        if body.get("tool_choice") not in (None, "auto"):
            return tool["function"]["name"]
    return None


@dataclass
class HostileEndpoint:
    script: Callable[[dict[str, Any]], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def schemas(self) -> list[str | None]:
        return [schema_of(r) for r in self.requests]


@contextmanager
def hostile_endpoint(script: Callable[[dict[str, Any]], Reply]) -> Iterator[HostileEndpoint]:
    endpoint = HostileEndpoint(script)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            endpoint.requests.append(body)
            reply = endpoint.script(body)
            time.sleep(reply.delay_s)
            raw = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
            try:
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout): that is the point

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
