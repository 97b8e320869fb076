"""Untrusted data: tool results reach the model inside delimiters, marked as data, and taint the run.

Which fields of a result a customer or an outsider could have written is declared by the tool
(its result model, proctor.guards.provenance). A result with such text taints the run whether or
not the scanner flags it; the scanner reads every such field, and what it flags is quarantined:
withheld from the model behind a short notice, recorded with its score in the trace. Once tainted,
the approval gate sends every write to a human (but the policy's ``taint_exempt`` ones) and tells
the reviewer why (``taint_sources``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command

from proctor.context import run_context
from proctor.guards.delimiters import wrap
from proctor.guards.injection import ScanResult, scan
from proctor.guards.provenance import Shape, classified_parts, owned_by
from proctor.guards.state import GuardState, emit

MAX_SOURCES = 8  # what the reviewer reads: the first few reasons are enough to judge


class UntrustedContent(AgentMiddleware):
    state_schema = GuardState

    def __init__(self, shapes: Mapping[str, Shape], owners: Mapping[str, str | None] | None = None) -> None:
        """shapes: each declared tool's result map; other tools (hand-offs) are proctor's own words.
        owners: each tool's result field naming whose record it is (``provenance.owner_key``)."""
        super().__init__()
        self.shapes = dict(shapes)
        self.owners = dict(owners or {})

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        return self._marked(request, handler(request))

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]) -> Any:
        return self._marked(request, await handler(request))

    def _marked(self, request: ToolCallRequest, result: Any) -> Any:
        if not isinstance(result, ToolMessage) or result.status == "error":
            return result
        name = request.tool_call["name"]
        text = result.content if isinstance(result.content, str) else json.dumps(result.content, default=str)
        shape = self.shapes.get(name)
        data, classified = _parts(text, shape)
        parts = [(path, value) for path, value, _ in classified]  # all text from outside the company is scanned...
        own = owned_by(data, _requester(request), self.owners.get(name))  # ...and taints the run, but the asker's own
        foreign = [] if shape is None else [(path, value) for path, value, owners in classified if not (owners and own)]
        flagged = [(path, value, verdict) for path, value in parts if (verdict := scan(value)).flagged]
        for path, value, verdict in flagged:
            emit("injection_flagged", tool=name, field=path, score=verdict.score, reasons=verdict.reasons,
                 span=verdict.span, text=_span_text(value, verdict))  # fmt: skip
        if flagged and isinstance(data, dict | list):
            text = json.dumps(_quarantined(data, {path: verdict for path, _, verdict in flagged}), ensure_ascii=False)
        elif flagged:
            text = _quarantine(text, flagged[0][2])
        # The tag names what was found, never the evidence: quoting it would hand the model what was withheld.
        reasons = list(dict.fromkeys(f"{path} {r.split(':', 1)[0]}" for path, _, verdict in flagged for r in verdict.reasons))
        declared = sorted({_field(path) for path, _ in foreign})
        outside = sorted({_field(path) for path, _ in parts}) if shape is not None else []
        wrapped = result.model_copy(update={"content": wrap(name, text, reasons, fields=outside)})
        sources = [f"{name}.{path} was flagged by the injection scanner (score {v.score:.2f}): {_span_text(value, v)!r}"
                   for path, value, v in flagged]  # fmt: skip
        if declared:
            sources.append(f"{name} returned text someone other than the requester wrote ({', '.join(declared)})")
        if not sources or (request.state.get("tainted") and not flagged):
            return wrapped
        if not request.state.get("tainted"):
            emit("run_tainted", tool=name, sources=sources)
        known = list(request.state.get("taint_sources") or [])
        update = {"messages": [wrapped], "tainted": True, "taint_sources": (known + sources)[:MAX_SOURCES]}
        return Command(update=update)


def _parts(text: str, shape: Shape | None) -> tuple[Any, list[tuple[str, str, bool]]]:
    """The parsed result and its untrusted texts; a result that is not JSON is one untrusted text."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, [("result", text, False)]
    if shape is None:  # not a declared tool: scanned as a whole, taints only when flagged
        return data, [("result", text, False)] if not isinstance(data, dict | list) else classified_parts(data, True)
    return data, classified_parts(data, shape)


def _requester(request: ToolCallRequest) -> str | None:
    """Who asks: the run context's requester (None: anonymous), never a key a caller wrote into config."""
    return run_context(request.runtime).requester.id


def _field(path: str) -> str:
    """tickets[3].message -> tickets.message: the declared field, not the row."""
    out, depth = [], 0
    for char in path:
        depth += char == "["
        if not depth:
            out.append(char)
        depth -= char == "]"
    return "".join(out)


def _quarantined(data: Any, verdicts: dict[str, ScanResult], path: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _quarantined(v, verdicts, f"{path}.{k}" if path else str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_quarantined(v, verdicts, f"{path}[{i}]") for i, v in enumerate(data)]
    verdict = verdicts.get(path or "result")
    return _quarantine(data, verdict) if verdict is not None and isinstance(data, str) else data


def _quarantine(text: str, verdict: ScanResult) -> str:
    start, end = verdict.span or (0, len(text))
    notice = (f"[quarantined by proctor: {end - start} characters that read as instructions to the assistant "
              f"(score {verdict.score:.2f}) are withheld; a reviewer can read them in the trace]")  # fmt: skip
    return text[:start] + notice + text[end:]


def _span_text(text: str, verdict: ScanResult) -> str:
    start, end = verdict.span or (0, len(text))
    return text[start:end][:300]
