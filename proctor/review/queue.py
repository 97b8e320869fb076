"""The review queue: a random sample of autonomous runs plus every flagged or failed one, scored by
reviewers against the rubric; scores summarised by agent and criterion."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from proctor.approvals.ledger import NotAllowed
from proctor.approvals.policy import ApprovalPolicy
from proctor.db import Database, Migration
from proctor.review.errors import ReviewError
from proctor.review.rubric import Rubric
from proctor.tracing.store import TraceStore

MIGRATIONS = [
    Migration(
        "review",
        1,
        """
        CREATE TABLE review_items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            trace_id TEXT NOT NULL UNIQUE,
            agent TEXT,
            reason TEXT NOT NULL,
            queued_at TEXT NOT NULL
        );
        CREATE TABLE review_scores (
            item_id INTEGER NOT NULL REFERENCES review_items (id),
            reviewer TEXT NOT NULL,
            criterion TEXT NOT NULL,
            score INTEGER NOT NULL,
            note TEXT,
            scored_at TEXT NOT NULL,
            rubric TEXT NOT NULL,
            PRIMARY KEY (item_id, reviewer, criterion)
        )
        """,
    )
]

Reason = Literal["sampled", "flagged", "failed"]


class ReviewItem(BaseModel):
    id: int
    trace_id: str
    agent: str | None
    reason: Reason
    queued_at: str
    scored_by: list[str] = []


class ReviewQueue:
    def __init__(self, db: Database, traces: TraceStore, rubric: Rubric, policy: ApprovalPolicy) -> None:
        self.db, self.traces, self.rubric, self.policy = db, traces, rubric, policy
        db.migrate(MIGRATIONS)

    def sample(self, n: int, since: timedelta, seed: int | None = None) -> list[ReviewItem]:
        """Queue ``n`` random autonomous runs and every flagged or failed run of the window."""
        if n < 0:
            raise ReviewError("--n must be 0 or more")
        cutoff = (datetime.now(UTC) - since).timestamp()
        runs = self._runs(cutoff)
        picked = {t: r for t, r in runs.items() if r[1] != "sampled"}
        autonomous = sorted(t for t, r in runs.items() if r[1] == "sampled")
        for trace_id in random.Random(seed).sample(autonomous, min(n, len(autonomous))):
            picked[trace_id] = runs[trace_id]
        now = datetime.now(UTC).isoformat()
        with self.db.transaction() as conn:
            for trace_id, (agent, reason) in picked.items():
                conn.execute(
                    "INSERT OR IGNORE INTO review_items (trace_id, agent, reason, queued_at) VALUES (?, ?, ?, ?)",
                    (trace_id, agent, reason, now),
                )
        return [i for i in self.items() if i.trace_id in picked]

    def _runs(self, cutoff: float) -> dict[str, tuple[str | None, Reason]]:
        """Every run of the window with why it would be reviewed."""
        with self.traces.db.reading() as conn:
            rows = conn.execute(
                "SELECT t.trace_id, t.route, t.status,"
                " EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND s.kind = 'guardrail') AS flagged,"
                " EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND s.kind = 'tool'"
                "         AND s.status = 'error') AS tool_failed"
                " FROM traces t WHERE t.started_at >= ? AND t.status != 'interrupted'",
                (cutoff,),
            ).fetchall()
        runs: dict[str, tuple[str | None, Reason]] = {}
        for r in rows:
            reason: Reason = "failed" if r["status"] == "error" or r["tool_failed"] else "flagged" if r["flagged"] else "sampled"
            runs[r["trace_id"]] = (r["route"], reason)
        return runs

    def items(self, pending_only: bool = False) -> list[ReviewItem]:
        rows = self.db.query(
            "SELECT i.*, GROUP_CONCAT(DISTINCT s.reviewer) AS reviewers FROM review_items i"
            " LEFT JOIN review_scores s ON s.item_id = i.id GROUP BY i.id ORDER BY i.id"
        )
        items = [
            ReviewItem(**{k: r[k] for k in ("id", "trace_id", "agent", "reason", "queued_at")},
                       scored_by=(r["reviewers"] or "").split(",") if r["reviewers"] else [])
            for r in rows
        ]
        return [i for i in items if not i.scored_by] if pending_only else items

    def score(self, item_id: int, reviewer: str, scores: dict[str, int], note: str | None = None) -> None:
        if self.policy.reviewer(reviewer) is None:
            raise NotAllowed(f"{reviewer!r} is not a reviewer in policy {self.policy.version}")
        if not scores:
            raise ReviewError("give at least one score, like correct=4")
        self.rubric.check(scores)
        if not self.db.query("SELECT 1 FROM review_items WHERE id = ?", (item_id,)):
            raise ReviewError(f"no review item {item_id}; see `proctor review list`")
        now = datetime.now(UTC).isoformat()
        with self.db.transaction() as conn:
            for criterion, value in scores.items():
                conn.execute(
                    "INSERT INTO review_scores (item_id, reviewer, criterion, score, note, scored_at, rubric)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, reviewer, criterion) DO UPDATE SET"
                    " score = excluded.score, note = excluded.note, scored_at = excluded.scored_at",
                    (item_id, reviewer, criterion, value, note, now, self.rubric.version),
                )

    def report(self) -> dict[str, dict[str, dict[str, float]]]:
        """Mean score and count, by agent then criterion."""
        rows = self.db.query(
            "SELECT COALESCE(i.agent, '-') AS agent, s.criterion, s.score FROM review_scores s"
            " JOIN review_items i ON i.id = s.item_id"
        )
        grouped: dict[str, dict[str, list[int]]] = {}
        for r in rows:
            grouped.setdefault(r["agent"], {}).setdefault(r["criterion"], []).append(r["score"])
        return {
            agent: {c: {"mean": round(statistics.fmean(v), 2), "count": len(v)} for c, v in sorted(by.items())}
            for agent, by in sorted(grouped.items())
        }
