"""Why a replay cannot run."""

from __future__ import annotations

from proctor.errors import ProctorError


class ReplayError(ProctorError):
    """A replay that cannot run; the message says why and what to do instead.
    (An unknown trace id raises the trace store's ``UnknownTrace``.)"""


class NotReplayable(ReplayError):
    """The trace has nothing to send again: no request (it resumed a thread after an approval)."""
