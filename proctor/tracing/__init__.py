"""Trace capture and the trace store: every run is a trace, a tree of spans, searchable and reportable.

A graph built by ``build_graph`` is a ``TracedGraph``: it wraps each of its runs in ``record_run``
(a ``TraceCapture``, saved when the run ends), whatever starts it. ``TraceStore`` is the Python API of
``proctor traces``; ``langsmith_callbacks`` sends the same run tree to LangSmith when configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proctor.lazy import lazy_exports

if TYPE_CHECKING:
    from proctor.tracing.capture import TraceCapture
    from proctor.tracing.graph import TracedGraph
    from proctor.tracing.errors import InvalidTraceQuery, TraceError, TraceStoreBusy, TraceStoreFull, UnknownTrace
    from proctor.tracing.langsmith import flush_langsmith, langsmith_callbacks
    from proctor.tracing.models import Span, Trace, TraceQuery, TraceSummary
    from proctor.tracing.record import arecord_run, record_run, store_for
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore

# Imported on first use: reading the store (`proctor traces search`) needs no LangChain.
_LAZY = {
    "TraceCapture": "capture",
    "InvalidTraceQuery": "errors",
    "TraceError": "errors",
    "TraceStoreBusy": "errors",
    "TraceStoreFull": "errors",
    "UnknownTrace": "errors",
    "flush_langsmith": "langsmith",
    "langsmith_callbacks": "langsmith",
    "Span": "models",
    "Trace": "models",
    "TraceQuery": "models",
    "TraceSummary": "models",
    "arecord_run": "record",
    "record_run": "record",
    "TracedGraph": "graph",
    "store_for": "record",
    "TraceSettings": "settings",
    "TraceStore": "store",
}

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
    "TracedGraph",
    "UnknownTrace",
    "flush_langsmith",
    "arecord_run",
    "langsmith_callbacks",
    "record_run",
    "store_for",
]

__getattr__ = lazy_exports(__name__, _LAZY, globals())
