"""Collects what one run did (tool calls, model usage) through LangChain's callback interface."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel

from proctor.guards.state import GUARD_EVENT


class ToolCallRecord(BaseModel):
    name: str
    args: dict[str, Any]
    ok: bool = True
    error: str | None = None


class ModelCallRecord(BaseModel):
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class RunRecorder(BaseCallbackHandler):
    """One per run. Retries of the same tool call collapse into one record (the last attempt)."""

    run_inline = True

    def __init__(self) -> None:
        self.tool_calls: dict[str, ToolCallRecord] = {}
        self.model_calls: list[ModelCallRecord] = []
        self.model_failures: list[dict[str, Any]] = []  # ``model_failure`` guard events' failures, in order
        self._tool_runs: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kw: Any) -> None:
        key = kw.get("tool_call_id") or str(run_id)
        record = ToolCallRecord(name=serialized.get("name", "?"), args=dict(kw.get("inputs") or {}))
        with self._lock:
            self._tool_runs[run_id] = key
            self.tool_calls.pop(key, None)  # a retry replaces the earlier attempt, keeping call order
            self.tool_calls[key] = record

    def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
        record = self._record(run_id)
        if record is not None and getattr(output, "status", "success") == "error":
            record.ok, record.error = False, str(getattr(output, "content", output))[:500]

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        record = self._record(run_id)
        if record is not None:
            record.ok, record.error = False, f"{type(error).__name__}: {error}"[:500]

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None) or {}
                meta = getattr(message, "response_metadata", None) or {}
                with self._lock:
                    self.model_calls.append(
                        ModelCallRecord(
                            model=meta.get("model_name") or "unknown",
                            input_tokens=usage.get("input_tokens", 0),
                            output_tokens=usage.get("output_tokens", 0),
                        )
                    )

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kw: Any) -> None:
        if name == GUARD_EVENT and isinstance(data, dict) and data.get("kind") == "model_failure":
            with self._lock:
                self.model_failures.append(data.get("failure") or {})

    def _record(self, run_id: UUID) -> ToolCallRecord | None:
        with self._lock:
            key = self._tool_runs.get(run_id)
            return self.tool_calls.get(key) if key else None
