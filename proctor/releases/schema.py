"""The releases' tables: bundles, the activation history, the single state row, threads' pins.

The state row's constraints keep it valid whatever writes it: the active release exists, a canary
is another existing release with 0 < percent < 100.
"""

from __future__ import annotations

from proctor.db import Migration

MIGRATIONS = [
    Migration(
        "releases",
        1,
        """
        CREATE TABLE releases (
            id TEXT PRIMARY KEY,
            parent TEXT REFERENCES releases (id),
            author TEXT NOT NULL,
            message TEXT NOT NULL,
            created_at TEXT NOT NULL,
            content TEXT NOT NULL
        );
        CREATE TABLE release_activations (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            release TEXT NOT NULL REFERENCES releases (id),
            back INTEGER REFERENCES release_activations (seq),
            action TEXT NOT NULL CHECK (action IN ('activate', 'promote', 'rollback')),
            at TEXT NOT NULL
        );
        CREATE TABLE release_state (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            active TEXT REFERENCES releases (id),
            previous TEXT REFERENCES releases (id),
            head INTEGER REFERENCES release_activations (seq),
            canary TEXT REFERENCES releases (id),
            canary_percent REAL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            CHECK ((active IS NULL) = (head IS NULL)),
            CHECK ((canary IS NULL AND canary_percent IS NULL) OR (canary IS NOT NULL AND active IS NOT NULL
                AND canary <> active AND canary_percent > 0 AND canary_percent < 100))
        );
        INSERT INTO release_state (id, updated_at, version) VALUES (1, '', 0)
        """,
    ),
    Migration(
        "releases",
        2,
        """
        CREATE TABLE release_threads (
            thread_id TEXT PRIMARY KEY,
            release TEXT NOT NULL,
            pinned_at TEXT NOT NULL
        )
        """,
    ),
]
