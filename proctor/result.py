"""What one request did, typed: ``Proctor.run``'s ``RunResult`` (the ``--json`` of ``proctor run``).

Its tool and model calls are the trace capture's (``proctor.tracing.capture.TraceCapture``): one
callback watches each run and yields both the trace and these records.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from proctor.model_failures import ModelFailure


class ToolCallRecord(BaseModel):
    name: str
    args: dict[str, Any]
    ok: bool = True
    error: str | None = None


class ModelCallRecord(BaseModel):
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class RunResult(BaseModel):
    """What one request did. The ``--json`` output of ``proctor run``."""

    thread_id: str
    trace_id: str
    status: Literal["done", "interrupted", "failed"]
    route: str | None
    answer: str
    tool_calls: list[ToolCallRecord]
    usage: Usage
    model: str
    interrupts: list[Any] = []
    release: str | None = None
    error: ModelFailure | None = None  # why the status is "failed": the model endpoint's failure
