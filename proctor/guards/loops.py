"""Loop breaking: a repeated tool call (same name, same arguments) in one run is not progress.

First the model is told what it is repeating and asked to re-plan; if it repeats anyway, the
run is escalated to a human with its context. It never retries forever.
"""

from __future__ import annotations

import json
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ExtendedModelResponse, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from proctor.guards.budget import Escalate
from proctor.guards.meter import merge_usage
from proctor.guards.state import GuardState, emit


def signature(call: Mapping[str, Any]) -> str:
    return f"{call['name']}:{json.dumps(call.get('args', {}), sort_keys=True, default=str)}"


class LoopBreaker(AgentMiddleware):
    state_schema = GuardState

    def __init__(self, escalate: Escalate) -> None:
        super().__init__()
        self.escalate = escalate

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        response = handler(request)
        replan = self._replan(request, response)
        if replan is not None:
            response = _merged(response, handler(replan))
        return self._finish(request, response, replanned=replan is not None)

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        response = await handler(request)
        replan = self._replan(request, response)
        if replan is not None:
            response = _merged(response, await handler(replan))
        return await asyncio.to_thread(self._finish, request, response, replanned=replan is not None)

    def _replan(self, request: ModelRequest, response: ModelResponse) -> ModelRequest | None:
        """First repeat in a run: the same request plus a note naming what is being repeated."""
        repeats = _repeats(response, _seen(request))
        if not repeats or request.state.get("loop_warned", False):
            return None
        emit("loop_replan", repeated=repeats)
        return request.override(messages=[*request.messages, _replan_note(repeats)])

    def _finish(self, request: ModelRequest, response: ModelResponse, *, replanned: bool) -> ExtendedModelResponse:
        seen = list(_seen(request))
        repeats = _repeats(response, seen)
        if repeats:
            emit("loop_escalated", repeated=repeats)
            ref = self.escalate(request, f"repeated {', '.join(repeats)}")
            text = f"I keep repeating the same step without progress, so a human colleague will take this over (reference {ref})."
            response = _merged(response, ModelResponse(result=[AIMessage(text)]))
        calls = [signature(c) for m in response.result if isinstance(m, AIMessage) for c in m.tool_calls]
        # Only what changed is written: an unwritten key keeps its value (and costs no checkpoint write).
        update: dict[str, Any] = {"tool_signatures": seen + calls} if calls else {}
        if replanned and not request.state.get("loop_warned", False):
            update["loop_warned"] = True
        return ExtendedModelResponse(model_response=response, command=Command(update=update) if update else None)


def _seen(request: ModelRequest) -> list[str]:
    """The signatures of the run's tool calls so far (a key of this guard's ``state_schema``)."""
    return cast(GuardState, request.state).get("tool_signatures", [])


def _repeats(response: ModelResponse, seen: list[str]) -> list[str]:
    return [
        signature(c)
        for m in response.result
        if isinstance(m, AIMessage)
        for c in m.tool_calls
        if signature(c) in seen
    ]


def _replan_note(repeats: list[str]) -> HumanMessage:
    listed = "; ".join(repeats)
    return HumanMessage(
        f"[proctor guard] You already made this exact call in this run: {listed}. Repeating it will not "
        "change the result. Choose a different action, or answer the user with what you know."
    )


def _merged(spent: ModelResponse, kept: ModelResponse) -> ModelResponse:
    """``kept``, carrying the usage of ``spent`` too: budgets must see every call."""
    message = next((m for m in kept.result if isinstance(m, AIMessage)), None)
    if message is not None:
        merge_usage(message, spent.result)
    return kept
