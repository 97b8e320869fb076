"""What of a run's values a trace keeps: clipped copies, whole tool data, the request and the answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

TEXT_LIMIT = 2000  # characters kept of any one string: enough to read, too little to bloat the store
ITEMS_LIMIT = 20  # entries kept of any one list or mapping


def clip(value: Any, depth: int = 0) -> Any:
    """A small JSON-able copy: strings cut, containers shortened, anything else as its ``str``."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "…"
    if depth >= 3:
        return clip(str(value))
    if isinstance(value, Mapping):
        return {str(k): clip(v, depth + 1) for k, v in list(value.items())[:ITEMS_LIMIT]}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [clip(v, depth + 1) for v in value[:ITEMS_LIMIT]]
    return clip(str(value))


def whole(value: Any) -> Any:
    """A JSON-able copy, nothing cut: what a replay serves back must be exactly what the tool said."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return json.loads(json.dumps(value, default=str))


def describe(error: BaseException) -> str:
    return clip(f"{type(error).__name__}: {error}")


def class_name(serialized: dict[str, Any] | None) -> str | None:
    ids = (serialized or {}).get("id")
    return ids[-1] if isinstance(ids, list) and ids else None


def route_of(outputs: Any) -> str | None:
    update = outputs.update if isinstance(outputs, Command) else outputs
    route = update.get("route") if isinstance(update, Mapping) else None
    return route if isinstance(route, str) else None


def last_text(state: Any, *, human: bool) -> str:
    """The latest human request or AI answer in a messages state, without copying the state.

    Server runs start from the client's JSON (``{"role": "user", "content": ...}`` dicts), not
    message objects; both count.
    """
    messages = state.get("messages") if isinstance(state, Mapping) else None
    wanted, roles = (HumanMessage, ("user", "human")) if human else (AIMessage, ("assistant", "ai"))
    for message in reversed(messages if isinstance(messages, Sequence) and not isinstance(messages, str) else []):
        if isinstance(message, wanted) and (text := message.text):
            return text
        if isinstance(message, Mapping) and (message.get("role") or message.get("type")) in roles:
            content = message.get("content")
            if said := content if isinstance(content, str) else "":
                return said
    return ""
