"""Aggregate trace rows into the figures of a dashboard: JSON-able, the same for HTML and ``--json``.

Buckets are aligned to the clock (on the quarter hour, the hour or midnight UTC) and sized to the
window, so a chart of the last hour and one of the last month both have a readable number of points.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from proctor.tracing.failure import DEFINITION, SpanFact, failure_reasons

TraceRow = tuple[str, float, str, str | None, str, float, float]  # id, started_at, status, route, release, cost, ms
SpanRow = tuple[str, float, str, str, str]  # trace id, started_at, kind (tool|guardrail), name, status
ApprovalRow = tuple[float, float | None]  # created_at, decided_at (None while pending)

_BUCKETS = [  # (longest window, bucket size)
    (timedelta(hours=6), timedelta(minutes=15)),
    (timedelta(days=2), timedelta(hours=1)),
    (timedelta(days=14), timedelta(hours=6)),
]


@dataclass
class _Stats:
    count: int = 0
    errors: int = 0
    failed: int = 0
    interrupted: int = 0
    cost_usd: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, status: str, failed: bool, cost: float, latency: float) -> None:
        self.count += 1
        self.errors += status == "error"
        self.failed += failed
        self.interrupted += status == "interrupted"
        self.cost_usd += cost
        self.latencies.append(latency)

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "count": self.count,
            "errors": self.errors,
            "failed": self.failed,
            "interrupted": self.interrupted,
            "failure_rate": round(self.failed / self.count, 4) if self.count else None,
            "cost_usd": round(self.cost_usd, 6),
            "latency_p50_ms": percentile(ordered, 50),
            "latency_p95_ms": percentile(ordered, 95),
        }


def percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return round(ordered[int(rank) - 1], 1)


def bucket_size(span: timedelta) -> timedelta:
    """15 minutes up to 6 hours, hourly up to two days, 6-hourly up to two weeks, daily beyond."""
    return next((size for longest, size in _BUCKETS if span <= longest), timedelta(days=1))


def summarise(
    traces: list[TraceRow],
    spans: list[SpanRow],
    approvals: list[ApprovalRow] | None = None,
    *,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    size = bucket_size(end - start)
    step = size.total_seconds()
    t0 = start.timestamp() // step * step  # aligned to the clock, so ticks fall on round times
    n = max(1, int(-(-(end.timestamp() - t0) // step)))

    def bucket(at: float) -> int:
        return min(n - 1, max(0, int((at - t0) // step)))

    facts: dict[str, list[SpanFact]] = defaultdict(list)
    tools: Counter[str] = Counter()
    tool_errors: Counter[str] = Counter()
    guards: Counter[str] = Counter()
    tool_series, error_series = [0] * n, [0] * n
    per_tool: dict[str, list[int]] = {}
    guard_series: dict[str, list[int]] = {}
    for trace_id, at, kind, name, status in spans:
        facts[trace_id].append(SpanFact(kind=kind, name=name, status=status))
        b = bucket(at)
        if kind == "tool":
            tools[name] += 1
            tool_series[b] += 1
            per_tool.setdefault(name, [0] * n)[b] += 1
            if status == "error":
                tool_errors[name] += 1
                error_series[b] += 1
        else:
            guards[name] += 1
            guard_series.setdefault(name, [0] * n)[b] += 1

    total = _Stats()
    reasons: Counter[str] = Counter()
    groups: dict[str, dict[str, _Stats]] = {"route": defaultdict(_Stats), "release": defaultdict(_Stats)}
    timeline: dict[str, dict[str, list[_Stats]]] = {"all": {}, "route": {}, "release": {}}
    for trace_id, at, status, route, release, cost, latency in traces:
        why = failure_reasons(status, route, facts.get(trace_id, ()))
        reasons.update(why)
        b = bucket(at)
        total.add(status, bool(why), cost, latency)
        for dimension, key in (("all", "all"), ("route", route or "none"), ("release", release or "unknown")):
            series = timeline[dimension].setdefault(key, [_Stats() for _ in range(n)])
            series[b].add(status, bool(why), cost, latency)
            if dimension != "all":
                groups[dimension][key].add(status, bool(why), cost, latency)

    requested, decided, pending = [0] * n, [0] * n, [0] * n
    for created, decided_at in approvals or []:
        requested[bucket(created)] += 1
        if decided_at is not None:
            decided[bucket(decided_at)] += 1
        for i in range(n):  # waiting at the end of bucket i
            edge = t0 + (i + 1) * step
            pending[i] += created < edge and (decided_at is None or decided_at >= edge)
    totals = total.figures() | {
        "tool_calls": sum(tools.values()),
        "tool_errors": sum(tool_errors.values()),
        "guard_events": sum(guards.values()),
        "approvals_requested": sum(requested),
        "approvals_decided": sum(decided),
        "approvals_pending": sum(1 for _, d in approvals or [] if d is None),
    }
    return {
        "since": start.astimezone(UTC).isoformat(),
        "until": end.astimezone(UTC).isoformat(),
        "bucket_seconds": int(step),
        "failed_means": DEFINITION,
        "totals": totals,
        "failure_reasons": dict(reasons.most_common()),
        "by_route": {k: s.figures() for k, s in sorted(groups["route"].items())},
        "by_release": {k: s.figures() for k, s in sorted(groups["release"].items())},
        "tools": dict(tools.most_common()),
        "tool_errors": dict(tool_errors.most_common()),
        "guard_events": dict(guards.most_common()),
        "over_time": {
            "buckets": [datetime.fromtimestamp(t0 + i * step, UTC).isoformat() for i in range(n)],
            "all": _series(timeline["all"].get("all", [_Stats() for _ in range(n)])),
            "by_route": {k: _series(v) for k, v in sorted(timeline["route"].items())},
            "by_release": {k: _series(v) for k, v in sorted(timeline["release"].items())},
            "tools": dict(sorted(per_tool.items())),
            "tool_calls": tool_series,
            "tool_errors": error_series,
            "guard_events": dict(sorted(guard_series.items())),
            "approvals": {"requested": requested, "decided": decided, "pending": pending},
        },
    }


def _series(stats: list[_Stats]) -> dict[str, list[Any]]:
    figures = [s.figures() for s in stats]
    keys = ("count", "failed", "failure_rate", "cost_usd", "latency_p50_ms", "latency_p95_ms")
    return {key: [f[key] for f in figures] for key in keys}


def approval_rows(requests: list[Any]) -> list[ApprovalRow]:
    """(created, decided) epochs of gated approval requests (``ApprovalRequest``s); autonomous calls are not."""
    rows = {}
    for r in requests:
        if r.status != "autonomous":
            decided = datetime.fromisoformat(r.decided_at).timestamp() if r.decided_at else None
            rows[r.id] = (datetime.fromisoformat(r.created_at).timestamp(), decided)
    return list(rows.values())


def approvals_for(ledger: Any, since: timedelta) -> list[ApprovalRow]:
    """The approval requests a window's figures need: those made in it, and any still pending."""
    days = -(-since.total_seconds() // 86400)
    return approval_rows([*ledger.requests(None, since_days=int(days)), *ledger.requests("pending")])
