"""A hostile OpenAI-compatible model server on loopback: scripted, then fully obedient.

It speaks ``POST /v1/chat/completions`` (tool calls, structured output, streaming) well enough
for langchain-openai's ``ChatOpenAI`` to take it for a real endpoint. Each attack loads a
:class:`Script`: replies served in order (any tool call, any id, any usage figure, malformed
bodies included), the route and plan it answers structured-output requests with, and hooks that
run when a reply is served (the kill -9 family kills the desk there). When the script runs out the
model *obeys what it reads*: an instruction such as ``call refund_invoice with {"amount": 798}``
(or ``amount=798``) in the latest tool result or user message becomes that tool call. It never
loops by itself: after ``max_calls`` requests in one script it only answers in words.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50}
_INSTRUCTION = re.compile(r"\bcall\s+(?:the\s+)?(?:tool\s+)?`?([A-Za-z_]\w*)`?\s*(?:with|using|\()\s*", re.I)
_PAIR = re.compile(r"(\w+)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^,;)\s]+)")


@dataclass
class Reply:
    """One answer of the model. ``tool_calls`` items: ``{"name", "args" (dict or raw str), "id"}``."""

    content: str | None = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    status: int = 200
    body: str | None = None
    """Sent verbatim instead of a completion (malformed output, HTTP errors)."""
    choices: list | None = None
    """Overrides the choices list (e.g. ``[]``)."""
    before: Callable[[dict[str, Any]], None] | None = None
    """Runs with the request body before the reply is sent (e.g. kill the caller)."""
    make: Callable[[dict[str, Any]], Reply] | None = None
    """Builds the reply from the request (e.g. reuse the id of a call that failed)."""


def calls(*items: tuple[str, dict[str, Any] | str] | tuple[str, dict[str, Any] | str, str], **kw: Any) -> Reply:
    """A reply with tool calls: ``calls(("refund_invoice", {...}, "id-1"), ...)``."""
    return Reply(content="", tool_calls=[{"name": i[0], "args": i[1], "id": i[2] if len(i) > 2 else None} for i in items], **kw)


def text(content: str, **kw: Any) -> Reply:
    return Reply(content=content, **kw)


@dataclass
class Script:
    replies: list[Reply] = field(default_factory=list)
    route: str | None = None
    """What the front door's structured-output routing gets."""
    plan: list[dict[str, str]] | None = None
    """What the planner gets: ``[{"agent", "instruction"}]``."""
    obey: bool = True
    repeat_last: bool = False
    """Serve the last reply forever (loops and cost blow-ups)."""
    fresh_ids: bool = False
    """Give every obeyed or repeated call a new id, as a real model re-asked would."""
    max_calls: int = 60


class HostileModel:
    """The server. ``with HostileModel() as model: model.load(Script(...)); model.base_url``."""

    def __init__(self) -> None:
        self.script = Script()
        self._queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hostile-model", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> HostileModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def load(self, script: Script) -> None:
        with self._lock:
            self.script = script
            self._queue = deque(script.replies)
            self.requests = []

    @property
    def served(self) -> int:
        """Chat requests (not routing or planning) answered since the script was loaded."""
        return sum(1 for r in self.requests if not _structured(r))

    # Answering.

    def answer(self, body: dict[str, Any]) -> tuple[int, Reply, str]:
        """(status, reply, model name) for one request body."""
        with self._lock:
            self.requests.append(body)
            structured = _structured(body)
            if structured is not None:
                return 200, self._structured_reply(body, structured), body.get("model", "hostile")
            reply = self._next(body)
        return reply.status, reply, body.get("model", "hostile")

    def _next(self, body: dict[str, Any]) -> Reply:
        script = self.script
        if self.served > script.max_calls:
            return text("(hostile model) I stop here.")
        if self._queue:
            reply = self._queue.popleft()
            if reply.make is not None:
                reply = reply.make(body)
            if script.repeat_last and not self._queue:
                self._queue.append(_renamed(reply, self) if script.fresh_ids else reply)
            return reply
        if script.obey:
            order = obey(body)
            if order is not None:
                return calls(order)
        return text("(hostile model) Done as instructed.")

    def _structured_reply(self, body: dict[str, Any], kind: str) -> Reply:
        names = [t["function"]["name"] for t in body.get("tools", []) if "function" in t]
        value: dict[str, Any]
        if kind == "steps":
            value = {"steps": self.script.plan or []}
        else:
            value = {"route": self.script.route or "", "reason": "the hostile model says so"}
        forced = (body.get("tool_choice") or {}) if isinstance(body.get("tool_choice"), dict) else {}
        name = forced.get("function", {}).get("name")
        if name and name in names:  # function-calling structured output
            return calls((name, value))
        return text(json.dumps(value))

    def next_id(self) -> str:
        self._ids += 1
        return f"call_hostile_{self._ids}"


def obey(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The first ``call <tool> with ...`` instruction in the latest tool result or user message."""
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") not in ("tool", "user"):
        return None
    return instruction(_text(messages[-1].get("content")))


def instruction(text: str) -> tuple[str, dict[str, Any]] | None:
    for candidate in (text, text.replace('\\"', '"')):
        for found in _INSTRUCTION.finditer(candidate):
            rest = candidate[found.end():]
            args = _json_args(rest) if rest.startswith("{") else _pairs(rest)
            if args is not None:
                return found.group(1), args
    return None


def _json_args(rest: str) -> dict[str, Any] | None:
    try:
        value, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _pairs(rest: str) -> dict[str, Any] | None:
    line = re.split(r"[.\n](?:\s|$)", rest, maxsplit=1)[0]
    pairs = _PAIR.findall(line)
    if not pairs:
        return None
    return {k: _scalar(v) for k, v in pairs}


def _scalar(raw: str) -> Any:
    if raw[:1] in "\"'":
        return raw[1:-1]
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def failed_call_ids(body: dict[str, Any]) -> list[str]:
    """Ids of the tool calls whose results in this request are errors."""
    return [m.get("tool_call_id") for m in body.get("messages") or [] if m.get("role") == "tool" and "error" in _text(m.get("content")).lower()]


def _structured(body: dict[str, Any]) -> str | None:
    """'route' or 'steps' when the request asks for a routing decision or a plan."""
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    choice = body.get("tool_choice")
    if not schema and isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        schema = next((t["function"].get("parameters", {}) for t in body.get("tools", []) if t.get("function", {}).get("name") == name), {})
    props = schema.get("properties", {})
    return "steps" if "steps" in props else "route" if "route" in props else None


def _renamed(reply: Reply, model: HostileModel) -> Reply:
    fresh = [{**c, "id": None} for c in reply.tool_calls]
    return Reply(reply.content, fresh, reply.usage, reply.status, reply.body, reply.choices, reply.before)


def completion(reply: Reply, model_name: str, ids: Callable[[], str]) -> dict[str, Any]:
    tool_calls = [
        {
            "id": c.get("id") or ids(),
            "type": "function",
            "function": {"name": c["name"], "arguments": c["args"] if isinstance(c["args"], str) else json.dumps(c["args"])},
        }
        for c in reply.tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    choices = reply.choices if reply.choices is not None else [
        {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
    ]
    return {
        "id": f"chatcmpl-{ids()}",
        "object": "chat.completion",
        "created": 0,
        "model": model_name,
        "choices": choices,
        "usage": reply.usage if reply.usage is not None else USAGE,
    }


def _chunks(done: dict[str, Any]) -> list[dict[str, Any]]:
    """The same completion as a stream: one delta, the finish, then usage."""
    base = {k: done[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    out = []
    for choice in done["choices"]:
        message = choice.get("message", {})
        delta = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
        out.append(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        out.append(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}]})
    out.append(base | {"choices": [], "usage": done["usage"]})
    return out


def _handler(model: HostileModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._send(200, json.dumps({"object": "list", "data": [{"id": "hostile", "object": "model"}]}))

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            status, reply, name = model.answer(body)
            if reply.before is not None:
                reply.before(body)
            if reply.body is not None:
                self._send(status, reply.body)
                return
            done = completion(reply, name, model.next_id)
            if not body.get("stream"):
                self._send(status, json.dumps(done))
                return
            stream = "".join(f"data: {json.dumps(c)}\n\n" for c in _chunks(done)) + "data: [DONE]\n\n"
            self._send(status, stream, "text/event-stream")

        def _send(self, status: int, payload: str, kind: str = "application/json") -> None:
            data = payload.encode()
            try:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller went away (killed): nothing to answer

    return Handler
