"""Matching a replay's calls to recorded ones: same tool, same arguments, in recorded order."""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from proctor.toolkit import ToolSpec

T = TypeVar("T")


def call_key(name: str, args: Any, specs: Mapping[str, ToolSpec]) -> str:
    """A call's identity. Arguments go through the tool's schema first, so ``49`` and ``49.0``, or an
    omitted default and the default itself, are the same call."""
    spec = specs.get(name)
    if spec is not None and isinstance(args, Mapping):
        try:
            args = spec.args_schema.model_validate(args).model_dump(mode="json")
        except ValidationError:
            pass  # an invalid call still matches the same invalid call
    return json.dumps([name, args], sort_keys=True, default=str)


class CallQueue(Generic[T]):
    """Items filed under a call key, taken back first in, first out. Parallel tool calls run on
    worker threads, hence the lock."""

    def __init__(self) -> None:
        self._items: dict[str, deque[T]] = defaultdict(deque)
        self._lock = threading.Lock()

    def put(self, key: str, item: T) -> None:
        with self._lock:
            self._items[key].append(item)

    def take(self, key: str) -> T | None:
        with self._lock:
            queue = self._items.get(key)
            return queue.popleft() if queue else None
