"""Untrusted data: tool results reach the model inside delimiters, marked as data, and taint the run.

A result taints the run when its tool is declared ``untrusted`` (articles, tickets, emails)
or when the injection scanner flags it. Once tainted, the approval gate sends every write to a
human (but the policy's ``taint_exempt`` ones), whatever the policy would otherwise allow.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command

from proctor.guards.delimiters import wrap
from proctor.guards.injection import scan
from proctor.guards.state import GuardState, emit

class UntrustedContent(AgentMiddleware):
    state_schema = GuardState

    def __init__(self, untrusted_tools: set[str]) -> None:
        super().__init__()
        self.untrusted_tools = untrusted_tools

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        return self._marked(request, handler(request))

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]) -> Any:
        return self._marked(request, await handler(request))

    def _marked(self, request: ToolCallRequest, result: Any) -> Any:
        if not isinstance(result, ToolMessage) or result.status == "error":
            return result
        text = result.content if isinstance(result.content, str) else json.dumps(result.content, default=str)
        verdict = scan(text)
        name = request.tool_call["name"]
        if verdict.flagged:
            emit("injection_flagged", tool=name, score=verdict.score, reasons=verdict.reasons)
        wrapped = result.model_copy(update={"content": wrap(name, text, verdict.reasons if verdict.flagged else [])})
        if not (name in self.untrusted_tools or verdict.flagged) or request.state.get("tainted"):
            return wrapped
        emit("run_tainted", tool=name)
        return Command(update={"messages": [wrapped], "tainted": True})
