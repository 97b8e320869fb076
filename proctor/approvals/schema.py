"""The approvals ledger's tables: one row per gated call, and the thread locks of resumes."""

from __future__ import annotations

from proctor.db import Migration

MIGRATIONS = [
    Migration(
        "approvals",
        1,
        """
        CREATE TABLE approval_requests (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            tool_call_id TEXT NOT NULL,
            trace_id TEXT,
            agent TEXT NOT NULL,
            tool TEXT NOT NULL,
            args TEXT NOT NULL,
            requester TEXT,
            rule TEXT,
            why TEXT,
            amount REAL,
            currency TEXT,
            policy_version TEXT NOT NULL,
            release_id TEXT,
            status TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            decided_args TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (thread_id, tool_call_id)
        );
        CREATE INDEX approval_requests_status ON approval_requests (status, created_at);
        CREATE INDEX approval_requests_tool ON approval_requests (tool, status)
        """,
    ),
    Migration(
        "approvals",
        2,
        """
        ALTER TABLE approval_requests ADD COLUMN rules TEXT;
        ALTER TABLE approval_requests ADD COLUMN customer_id TEXT;
        ALTER TABLE approval_requests ADD COLUMN message TEXT;
        ALTER TABLE approval_requests ADD COLUMN applied_at TEXT;
        CREATE INDEX approval_requests_thread ON approval_requests (thread_id, status);
        CREATE INDEX approval_requests_customer ON approval_requests (customer_id, created_at);
        CREATE TABLE approval_thread_locks (
            thread_id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        )
        """,
    ),
    # How many resume values reached a still-pending request and decided nothing (see ``idle_answer``).
    Migration("approvals", 3, "ALTER TABLE approval_requests ADD COLUMN idle_answers INTEGER NOT NULL DEFAULT 0"),
]
