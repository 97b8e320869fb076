"""Malformed tool arguments never reach a tool, the ledger or a human.

Non-finite numbers (``1e999`` parses as infinity), wrong types, values the tool's schema refuses:
the call gets a typed error back, before the approval gate; nothing is executed, nothing is
recorded for approval. (A reply that is not a message at all, e.g. arguments as a JSON list, is
a model failure: ``proctor.model_failures`` ends the turn honestly.)
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from pydantic import BaseModel, ValidationError

from proctor.guards.state import emit

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
    items: Iterable[tuple[Any, Any]]
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
