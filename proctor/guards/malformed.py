"""Malformed model output never crashes a run and never reaches a tool, the ledger or a human.

Two places a model's output can be unusable:

- the reply itself: tool-call arguments that are not a JSON object (``[1, 2]``) make the chat
  model's message fail validation. The model is told what was wrong and asked once more; a second
  malformed reply ends the agent's turn with an honest answer.
- a tool call's arguments: non-finite numbers (``1e999`` parses as infinity), wrong types,
  values the tool's schema refuses. The call gets a typed error back, before the approval gate:
  nothing is executed, nothing is recorded for approval.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ModelRequest, ModelResponse, ToolCallRequest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, ValidationError

from proctor.guards.state import emit

RETRY_NOTE = (
    "[proctor guard] Your last reply could not be read: {problem}. Nothing was executed. "
    "Call tools with a JSON object of arguments, or answer in plain text."
)
GIVE_UP = "I could not complete this request because my own output was malformed; a human colleague can take it over."


def reply_problem(exc: Exception) -> str | None:
    """What made a model reply unusable, when the exception says it was the reply's shape."""
    if not isinstance(exc, ValidationError):
        return None
    fields = {".".join(str(p) for p in e["loc"]) for e in exc.errors()}
    if any(f.startswith(("tool_calls", "invalid_tool_calls")) for f in fields):
        return "a tool call's arguments were not a JSON object"
    return None


class MalformedReply(AgentMiddleware):
    """Outermost on model calls: a reply that is not a valid message gets one corrected retry."""

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        try:
            return handler(request)
        except ValidationError as exc:
            problem = reply_problem(exc)
            if problem is None:
                raise
        emit("malformed_reply", problem=problem)
        try:
            return handler(_retry(request, problem))
        except ValidationError as exc:
            if reply_problem(exc) is None:
                raise
        return ModelResponse(result=[AIMessage(GIVE_UP)])

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        try:
            return await handler(request)
        except ValidationError as exc:
            problem = reply_problem(exc)
            if problem is None:
                raise
        emit("malformed_reply", problem=problem)
        try:
            return await handler(_retry(request, problem))
        except ValidationError as exc:
            if reply_problem(exc) is None:
                raise
        return ModelResponse(result=[AIMessage(GIVE_UP)])


def _retry(request: ModelRequest, problem: str) -> ModelRequest:
    return request.override(messages=[*request.messages, HumanMessage(RETRY_NOTE.format(problem=problem))])


class ToolArguments(AgentMiddleware):
    """Outermost on tool calls: arguments must be what the tool's schema accepts, all numbers finite."""

    def __init__(self, schemas: dict[str, type[BaseModel]]) -> None:
        super().__init__()
        self.schemas = schemas

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        return self._refusal(request) or handler(request)

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]) -> Any:
        return self._refusal(request) or await handler(request)

    def _refusal(self, request: ToolCallRequest) -> ToolMessage | None:
        call = request.tool_call
        schema = self.schemas.get(call["name"])
        if schema is None:
            return None  # not a desk tool (the hand-off), or unknown: create_agent answers those
        problem = argument_problem(schema, call.get("args"))
        if problem is None:
            return None
        emit("malformed_arguments", tool=call["name"], problem=problem)
        return ToolMessage(
            f"Error from {call['name']}: {problem}. Nothing was done; call it again with valid arguments.",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )


def argument_problem(schema: type[BaseModel], args: Any) -> str | None:
    """Why ``args`` cannot be a call of a tool with this schema, or None."""
    if not isinstance(args, dict):
        return f"the arguments must be a JSON object, not {type(args).__name__}"
    bad = _non_finite(args)
    if bad:
        return f"{bad} must be a finite number"
    try:
        schema.model_validate(args)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()[:3])
    return None


def _non_finite(value: Any, path: str = "") -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path or "a number"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None
