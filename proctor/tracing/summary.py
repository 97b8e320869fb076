"""Aggregate trace rows into the figures of a dashboard: JSON-able, the same for HTML and ``--json``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

TraceRow = tuple[float, str, str | None, str, float, float]  # started_at, status, route, release, cost, latency
ToolRow = tuple[float, str, int]  # started_at, tool, calls


@dataclass
class _Stats:
    count: int = 0
    errors: int = 0
    interrupted: int = 0
    cost_usd: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, status: str, cost: float, latency: float) -> None:
        self.count += 1
        self.errors += status == "error"
        self.interrupted += status == "interrupted"
        self.cost_usd += cost
        self.latencies.append(latency)

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "count": self.count,
            "errors": self.errors,
            "interrupted": self.interrupted,
            "failure_rate": round(self.errors / self.count, 4) if self.count else None,
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
    """Hourly buckets for up to two days, daily beyond: a readable number of points either way."""
    return timedelta(hours=1) if span <= timedelta(days=2) else timedelta(days=1)


def summarise(traces: list[TraceRow], tools: list[ToolRow], *, start: datetime, end: datetime) -> dict[str, Any]:
    size = bucket_size(end - start)
    n_buckets = max(1, -(-(end - start) // size))
    t0, step = start.timestamp(), size.total_seconds()

    def bucket(started_at: float) -> int:
        return min(n_buckets - 1, max(0, int((started_at - t0) // step)))

    total = _Stats()
    groups: dict[str, dict[str, _Stats]] = {"route": defaultdict(_Stats), "release": defaultdict(_Stats)}
    timeline: dict[str, dict[str, list[_Stats]]] = {"all": {}, "route": {}, "release": {}}
    for started_at, status, route, release, cost, latency in traces:
        b = bucket(started_at)
        total.add(status, cost, latency)
        for dimension, key in (("all", "all"), ("route", route or "none"), ("release", release or "unknown")):
            series = timeline[dimension].setdefault(key, [_Stats() for _ in range(n_buckets)])
            series[b].add(status, cost, latency)
            if dimension != "all":
                groups[dimension][key].add(status, cost, latency)

    tool_totals: dict[str, int] = defaultdict(int)
    tool_series: dict[str, list[int]] = {}
    for started_at, tool, calls in tools:
        tool_totals[tool] += calls
        tool_series.setdefault(tool, [0] * n_buckets)[bucket(started_at)] += calls

    return {
        "since": start.astimezone(UTC).isoformat(),
        "until": end.astimezone(UTC).isoformat(),
        "bucket_seconds": int(step),
        "totals": total.figures(),
        "by_route": {k: s.figures() for k, s in sorted(groups["route"].items())},
        "by_release": {k: s.figures() for k, s in sorted(groups["release"].items())},
        "tools": dict(sorted(tool_totals.items(), key=lambda kv: -kv[1])),
        "over_time": {
            "buckets": [datetime.fromtimestamp(t0 + i * step, UTC).isoformat() for i in range(n_buckets)],
            "all": _series(timeline["all"].get("all", [_Stats() for _ in range(n_buckets)])),
            "by_route": {k: _series(v) for k, v in sorted(timeline["route"].items())},
            "by_release": {k: _series(v) for k, v in sorted(timeline["release"].items())},
            "tools": dict(sorted(tool_series.items())),
        },
    }


def _series(stats: list[_Stats]) -> dict[str, list[Any]]:
    figures = [s.figures() for s in stats]
    keys = ("count", "failure_rate", "cost_usd", "latency_p50_ms", "latency_p95_ms")
    return {key: [f[key] for f in figures] for key in keys}
