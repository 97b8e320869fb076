"""Trace capture and the trace store: every run is a trace, a tree of spans, searchable and reportable.

``record_run`` is what the runner wraps a run in; ``TraceStore`` is the Python API of
``proctor traces``; ``langsmith_callbacks`` sends the same run tree to LangSmith when configured.
"""

from proctor.tracing.capture import TraceCapture
from proctor.tracing.errors import (
    InvalidTraceQuery,
    TraceError,
    TraceStoreBusy,
    TraceStoreFull,
    UnknownTrace,
)
from proctor.tracing.langsmith import flush_langsmith, langsmith_callbacks
from proctor.tracing.models import Span, Trace, TraceQuery, TraceSummary
from proctor.tracing.record import record_run, store_for
from proctor.tracing.settings import TraceSettings
from proctor.tracing.store import TraceStore

__all__ = [
    "InvalidTraceQuery",
    "Span",
    "Trace",
    "TraceCapture",
    "TraceError",
    "TraceQuery",
    "TraceSettings",
    "TraceStore",
    "TraceStoreBusy",
    "TraceStoreFull",
    "TraceSummary",
    "UnknownTrace",
    "flush_langsmith",
    "langsmith_callbacks",
    "record_run",
    "store_for",
]
