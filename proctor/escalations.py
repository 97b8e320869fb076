"""The human escalation queue: requests a person must take over (legal, medical, safety, loops)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from proctor.db import Database, Migration

MIGRATIONS = [
    Migration(
        "handoff",  # the component's recorded name, from when this module was proctor/handoff.py: kept
        1,
        """
        CREATE TABLE escalations (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            user_id TEXT,
            reason TEXT NOT NULL,
            request TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            created_at TEXT NOT NULL
        )
        """,
    )
]


def escalate(db: Database, *, thread_id: str, user_id: str | None, reason: str, request: str) -> str:
    """Queue the request for a human; the same thread and request queue once (node re-runs are safe)."""
    digest = hashlib.sha256(f"{thread_id}\n{request}".encode()).hexdigest()[:10].upper()
    escalation_id = f"ESC-{digest}"
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO escalations (id, thread_id, user_id, reason, request, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (escalation_id, thread_id, user_id, reason, request, datetime.now(UTC).isoformat()),
        )
    return escalation_id
