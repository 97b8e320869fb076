"""Tool calls a model wrote as text: small local models often answer a tool request with a bare
(or fenced) ``{"name": ..., "arguments": {...}}`` object in the content, which the endpoint
leaves unparsed. This middleware turns such a reply into the tool call it spells, so it goes
through the same approval gate and guardrails as any other call (nothing is trusted because of
it: an unknown tool name reaches the agent's tool node and gets its usual error).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.messages import AIMessage

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def spelled_calls(text: str) -> list[dict[str, Any]]:
    """The tool calls ``text`` consists of (one JSON object, optionally fenced), else none."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{"):
        return []
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not (isinstance(data, dict) and isinstance(data.get("name"), str) and isinstance(data.get("arguments"), dict)):
        return []
    return [{"name": data["name"], "args": data["arguments"], "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"}]


def _parsed(response: ModelResponse, request: ModelRequest) -> ModelResponse:
    if not request.tools:
        return response
    result = []
    for message in response.result:
        calls = spelled_calls(message.text) if isinstance(message, AIMessage) and not message.tool_calls else []
        result.append(message.model_copy(update={"content": "", "tool_calls": calls}) if calls else message)
    return ModelResponse(result=result, structured_response=response.structured_response)


class TextToolCalls(AgentMiddleware):
    """Between the model call and everything that reads its reply."""

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        return _parsed(handler(request), request)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> Any:
        return _parsed(await handler(request), request)
