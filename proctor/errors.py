"""Typed errors. Every failure a user or a model can cause has a class here."""

from __future__ import annotations


class ProctorError(Exception):
    """Base of every error proctor raises on purpose."""


class InvalidRequest(ProctorError):
    """The request itself is unusable (empty, oversized, malformed)."""


class UnknownThread(ProctorError):
    """A thread id that has no checkpoint was asked to resume."""


class ToolError(ProctorError):
    """A tool could not do what was asked."""


class TransientToolError(ToolError):
    """Worth retrying with backoff: a lock, a timeout, a flaky dependency."""


class SemanticToolError(ToolError):
    """Retrying cannot help: a precondition failed or an id does not exist.

    The message is written for the model: it says what was wrong and what to do instead.
    """


class NotFound(SemanticToolError):
    """The id the model passed does not exist."""


class PreconditionFailed(SemanticToolError):
    """The action is not allowed in the record's current state."""


class NotPermitted(SemanticToolError):
    """The requester may not reach this: another customer's record (or none at all: the message
    never says which), another requester's conversation, a scope staff do not hold."""
