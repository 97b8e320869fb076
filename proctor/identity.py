"""Identities: who is staff (with which roles and scopes), and which requester each thread serves.

Staff are declared in a TOML file (the desk's ``staff``, or ``PROCTOR_STAFF_DIRECTORY``);
the approval policy's reviewers are staff too (role ``reviewer``). Every other identity is a
customer: it reaches the records it owns and nothing else.

A thread serves one requester for its whole life, pinned at its first run: a conversation cannot
be continued as someone else, and a reviewer resuming a thread acts for its requester (the
reviewer is the run's ``actor``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from proctor.context import ANONYMOUS, Requester
from proctor.db import Database, Migration
from proctor.errors import NotPermitted, ProctorError
from proctor.tomlfile import load_toml

MIGRATIONS = [
    Migration(
        "identity",
        1,
        """
        CREATE TABLE thread_requesters (
            thread_id TEXT PRIMARY KEY,
            requester TEXT,
            pinned_at TEXT NOT NULL
        )
        """,
    )
]


class IdentityError(ProctorError):
    """The staff directory is malformed."""


class StaffMember(BaseModel):
    id: str = Field(min_length=1)
    name: str = ""
    roles: list[str] = Field(default_factory=list, description="Roles and tool scopes, e.g. admin, billing:read.")


class StaffDirectory(BaseModel):
    staff: list[StaffMember] = Field(default_factory=list)


def load_staff(path: Path) -> StaffDirectory:
    return load_toml(path, StaffDirectory, IdentityError, "staff directory")


class Directory:
    """Identity -> :class:`Requester`: staff with their roles, reviewers, or a customer."""

    def __init__(self, staff: StaffDirectory, reviewers: frozenset[str] = frozenset()) -> None:
        self._roles: dict[str, frozenset[str]] = {m.id: frozenset(m.roles) for m in staff.staff}
        for reviewer in reviewers:
            self._roles[reviewer] = self._roles.get(reviewer, frozenset()) | {"reviewer"}

    def requester(self, identity: str | None) -> Requester:
        if identity is None or identity == "" or identity == ANONYMOUS.key:
            return ANONYMOUS
        if identity in self._roles:
            return Requester(id=identity, kind="staff", roles=self._roles[identity])
        return Requester(id=identity, kind="customer")


class ThreadRequesters:
    """The requester each thread serves, pinned at its first run."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(MIGRATIONS)

    def get(self, thread_id: str) -> tuple[bool, str | None]:
        """(pinned?, requester id or None for anonymous)."""
        rows = self.db.query("SELECT requester FROM thread_requesters WHERE thread_id = ?", (thread_id,))
        return (True, rows[0]["requester"]) if rows else (False, None)

    def pin(self, thread_id: str, requester: Requester) -> None:
        """Bind a new thread to ``requester``; a thread bound to someone else raises ``NotPermitted``."""
        pinned, owner = self.get(thread_id)
        if not pinned:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO thread_requesters (thread_id, requester, pinned_at) VALUES (?, ?, ?)",
                    (thread_id, requester.id, datetime.now(UTC).isoformat()),
                )
            pinned, owner = self.get(thread_id)
        if owner != requester.id:
            raise NotPermitted("this conversation belongs to another requester; start a new one")
