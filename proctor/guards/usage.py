"""Usage that must hold across processes: per-user daily limits, per-route costs, cost alerts."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from pydantic import BaseModel

from proctor.context import Requester
from proctor.db import Database, Migration
from proctor.errors import ProctorError
from proctor.guards.settings import GuardSettings

MIGRATIONS = [
    Migration(
        "usage",
        1,
        """
        CREATE TABLE daily_usage (
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            usd REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, day)
        );
        CREATE TABLE route_costs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            route TEXT NOT NULL,
            usd REAL NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX route_costs_route ON route_costs (route, id);
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            route TEXT,
            thread_id TEXT,
            trace_id TEXT,
            detail TEXT NOT NULL
        )
        """,
    )
]

WINDOW = 200  # recent runs per route the median is taken over


class RateLimited(ProctorError):
    """The user has used up a daily allowance."""


class Alert(BaseModel):
    id: int
    at: str
    kind: str
    route: str | None
    thread_id: str | None
    trace_id: str | None
    detail: str


class UsageLedger:
    """The shared book of usage: each requester's requests and spend per day (admitted against the
    daily allowances), each route's recent run costs, and the cost alerts raised from them."""

    def __init__(self, db: Database, settings: GuardSettings) -> None:
        self.db = db
        self.settings = settings
        db.migrate(MIGRATIONS)

    def admit(self, requester: Requester) -> None:
        """Count one request against the requester's day; raise ``RateLimited`` past an allowance.
        The key is the run context's requester (on the server the authenticated identity), never
        a user id a client wrote into its input."""
        user, day = requester.key, _today()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO daily_usage (user_id, day, requests) VALUES (?, ?, 1)"
                " ON CONFLICT (user_id, day) DO UPDATE SET requests = daily_usage.requests + 1",
                (user, day),
            )
            row = conn.execute("SELECT requests, usd FROM daily_usage WHERE user_id = ? AND day = ?", (user, day)).fetchone()
        if row["requests"] > self.settings.requests_per_user_per_day:
            raise RateLimited(f"you have reached today's limit of {self.settings.requests_per_user_per_day} requests")
        if row["usd"] >= self.settings.usd_per_user_per_day:
            raise RateLimited(f"you have reached today's spending limit of ${self.settings.usd_per_user_per_day:.2f}")

    def settle(self, *, requester: Requester, route: str, usd: float, thread_id: str, trace_id: str | None) -> Alert | None:
        """Book a finished run's cost; alert when it is far above its route's recent median."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE daily_usage SET usd = usd + ? WHERE user_id = ? AND day = ?",
                (usd, requester.key, _today()),
            )
            recent = [
                r["usd"]
                for r in conn.execute("SELECT usd FROM route_costs WHERE route = ? ORDER BY id DESC LIMIT ?", (route, WINDOW))
            ]
            conn.execute("INSERT INTO route_costs (route, usd, at) VALUES (?, ?, ?)", (route, usd, _now()))
            if len(recent) < self.settings.anomaly_min_runs:
                return None
            median = statistics.median(recent)
            if median <= 0 or usd < self.settings.anomaly_factor * median:
                return None
            detail = f"run cost ${usd:.4f}, {usd / median:.1f}x the median ${median:.4f} of the last {len(recent)} {route} runs"
            cursor = conn.execute(
                "INSERT INTO alerts (at, kind, route, thread_id, trace_id, detail) VALUES (?, 'cost_anomaly', ?, ?, ?, ?)",
                (_now(), route, thread_id, trace_id, detail),
            )
            return Alert(id=cursor.lastrowid, at=_now(), kind="cost_anomaly", route=route,
                         thread_id=thread_id, trace_id=trace_id, detail=detail)

    def alerts(self, since_days: float = 7) -> list[Alert]:
        since = datetime.fromtimestamp(datetime.now(UTC).timestamp() - since_days * 86400, UTC).isoformat()
        return [Alert(**r) for r in self.db.query("SELECT * FROM alerts WHERE at >= ? ORDER BY id", (since,))]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _now() -> str:
    return datetime.now(UTC).isoformat()
