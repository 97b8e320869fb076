"""The typed shapes of tracing: a trace, its spans, a search query and a search hit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from proctor.tracing.errors import InvalidTraceQuery

SpanKind = Literal["chain", "llm", "tool", "interrupt", "guardrail"]
Status = Literal["ok", "error", "interrupted"]

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION_FORMS = "a number and a unit, like 30m, 24h, 7d or 2w"


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration: use {DURATION_FORMS}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def valid_text(value: Any) -> Any:
    """Text that UTF-8 cannot encode (lone surrogates, e.g. from undecodable bytes) with U+FFFD in
    their place: such text is traced, not dropped."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


class Span(BaseModel):
    """One step of a run: a graph node or subgraph, a model call, a tool call, an interrupt, a guardrail."""

    valid_names = field_validator("name", "error", "model", mode="before")(valid_text)

    span_id: str
    parent_id: str | None = None
    kind: SpanKind
    name: str
    started_at: datetime
    ended_at: datetime | None = None
    status: Status = "ok"
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() * 1000 if self.ended_at else 0.0


class TraceSummary(BaseModel):
    """One search hit: the trace row without its spans."""

    valid_names = field_validator("route", "user_id", "thread_id", "release", "model", "error_class", mode="before")(valid_text)

    trace_id: str
    started_at: datetime
    latency_ms: float
    status: Status
    route: str | None = None
    user_id: str | None = None
    thread_id: str | None = None
    release: str = ""
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error_class: str | None = None
    tools: list[str] = []


class Trace(TraceSummary):
    """A whole run: the summary row, what was asked and answered, and the span tree."""

    valid_long_text = field_validator("input", "answer", mode="before")(valid_text)

    ended_at: datetime
    input: str = ""
    answer: str = ""
    spans: list[Span] = []

    def children(self, span_id: str | None) -> list[Span]:
        return [s for s in self.spans if s.parent_id == span_id]


class TraceQuery(BaseModel):
    """What ``proctor traces search`` filters and sorts by. Build from user input with ``parse``."""

    model_config = ConfigDict(extra="forbid")

    since: timedelta | None = None
    status: Status | None = None
    route: str | None = Field(None, min_length=1)
    tool: str | None = Field(None, min_length=1)
    user: str | None = Field(None, min_length=1)
    sort: Literal["cost", "latency", "time"] = "time"
    limit: int = Field(20, ge=1, le=1000)

    @field_validator("since", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @classmethod
    def parse(cls, **filters: Any) -> TraceQuery:
        """Validated filters; a malformed one raises ``InvalidTraceQuery`` naming the flag and the fix."""
        try:
            return cls(**{k: v for k, v in filters.items() if v is not None})
        except ValidationError as exc:
            raise InvalidTraceQuery("; ".join(_describe(e) for e in exc.errors())) from None

    @classmethod
    def window(cls, since: str) -> timedelta:
        """A ``--since`` value as a duration, validated as ``parse`` validates it."""
        window = cls.parse(since=since).since
        assert window is not None  # a given ``since`` always parses to a duration, or raises
        return window

    def cutoff(self, now: datetime | None = None) -> datetime | None:
        return (now or datetime.now(UTC)) - self.since if self.since else None


def _describe(error: Any) -> str:
    flag = "--" + ".".join(str(p) for p in error["loc"]) if error["loc"] else "filter"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a filter"
    return f"{flag}: {message}"
