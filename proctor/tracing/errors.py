"""Typed errors of the trace store and its queries."""

from __future__ import annotations

from proctor.errors import ProctorError


class TraceError(ProctorError):
    """Base of every tracing error."""


class UnknownTrace(TraceError):
    """No trace has the id that was asked for."""


class InvalidTraceQuery(TraceError):
    """A search filter is malformed; the message says which forms are accepted."""


class TraceStoreBusy(TraceError):
    """Another process held the store's write lock for longer than the busy timeout."""


class TraceStoreFull(TraceError):
    """The disk (or the store's page limit) is full."""


class AmbiguousTrace(UnknownTrace):
    """A trace id prefix matches several traces; the message lists them."""
