"""What runs now: the release state row, its activation history, and the canary's stable split."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel

BUCKETS = 10_000  # canary granularity: 0.01% of traffic


class ReleaseState(BaseModel):
    """The single state row: what runs now, what rollback returns to, and the canary split."""

    active: str | None
    previous: str | None
    head: int | None  # the activation that made ``active`` active; rollback follows its ``back``
    canary: str | None
    canary_percent: float | None
    updated_at: str
    version: int

    def release_for(self, key: str) -> str | None:
        """The canary for a stable share of keys (user or thread ids), else the active release."""
        if self.canary is not None:
            assert self.canary_percent is not None  # set together with the canary
            if bucket(key, self.canary) < self.canary_percent * BUCKETS / 100:
                return self.canary
        return self.active


class Activation(BaseModel):
    """One entry of the activation history; ``back`` is the entry rollback returns to."""

    seq: int
    release: str
    back: int | None
    action: Literal["activate", "promote", "rollback"]
    at: str


def bucket(key: str, salt: str) -> int:
    """A stable bucket in [0, BUCKETS) for ``key``.

    Salted with the canary's id so each canary samples a different share of users, and growing
    the percent of one canary only adds users: nobody already on it switches back mid-conversation.
    """
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS
