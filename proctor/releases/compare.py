"""Two releases side by side: success, failures, cost and latency from their traces, and their eval reports.

Every trace carries the release id it ran on (the ``release`` column of the trace store), so
the figures of a release are those of its traces in the period.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from proctor.db import is_postgres, sqlite_path
from proctor.errors import ProctorError
from proctor.releases.errors import GateFailed, InvalidPeriod
from proctor.releases.gate import EvalReport, load_report, report_path
from proctor.settings import Settings
from proctor.tracing import TraceSettings, store_for
from proctor.tracing.models import DURATION_FORMS, parse_duration

COLUMN = 18


class TraceFigures(BaseModel):
    runs: int
    success_rate: float | None
    failure_rate: float | None
    interrupted: int
    cost_mean_usd: float | None
    cost_p95_usd: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class Comparison(BaseModel):
    """The figures of releases ``a`` and ``b``; a part that could not be read says why in its note."""

    a: str
    b: str
    since: str
    traces: dict[str, TraceFigures] | None
    traces_note: str | None = None
    evals: dict[str, EvalReport] | None
    evals_note: str | None = None


def compare(a: str, b: str, since: str, *, settings: Settings, reports_dir: Path) -> Comparison:
    """Compare release ids ``a`` and ``b`` over the last ``since`` (``24h``, ``7d``...)."""
    try:
        cutoff = datetime.now(UTC) - parse_duration(since)
    except ValueError:
        raise InvalidPeriod(f"--since {since!r} is not a duration: use {DURATION_FORMS}") from None
    traces, traces_note = _trace_figures((a, b), cutoff, settings)
    evals, evals_note = _eval_reports((a, b), reports_dir)
    return Comparison(a=a, b=b, since=since, traces=traces, traces_note=traces_note, evals=evals, evals_note=evals_note)


def figures(rows: Sequence[dict[str, Any]]) -> TraceFigures:
    """Success is a finished run, failure an errored one; an interrupted run waits for a human."""
    runs = len(rows)
    costs = sorted(r["cost_usd"] for r in rows)
    latencies = sorted(r["latency_ms"] for r in rows)
    return TraceFigures(
        runs=runs,
        success_rate=sum(r["status"] == "ok" for r in rows) / runs if runs else None,
        failure_rate=sum(r["status"] == "error" for r in rows) / runs if runs else None,
        interrupted=sum(r["status"] == "interrupted" for r in rows),
        cost_mean_usd=sum(costs) / runs if runs else None,
        cost_p95_usd=_percentile(costs, 95),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
    )


def render(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    lines = [f"{'':<16}{a:>{COLUMN}}{b:>{COLUMN}}", f"traces, last {comparison.since}"]
    if comparison.traces is None:
        lines.append(f"  {comparison.traces_note}")
    else:
        left, right = comparison.traces[a], comparison.traces[b]
        for label, key, show in _TRACE_ROWS:
            lines.append(f"  {label:<14}{show(getattr(left, key)):>{COLUMN}}{show(getattr(right, key)):>{COLUMN}}")
    lines.append("eval reports")
    if comparison.evals is None:
        lines.append(f"  {comparison.evals_note}")
    else:
        left_eval, right_eval = comparison.evals[a], comparison.evals[b]
        lines.append(
            f"  {'success':<14}{_pct(left_eval.success_rate):>{COLUMN}}{_pct(right_eval.success_rate):>{COLUMN}}"
        )
        lines.append(f"  {'gate':<14}{_passed(left_eval):>{COLUMN}}{_passed(right_eval):>{COLUMN}}")
    return "\n".join(lines)


def _trace_figures(
    ids: tuple[str, str], cutoff: datetime, settings: Settings
) -> tuple[dict[str, TraceFigures] | None, str | None]:
    tracing = TraceSettings()
    url = tracing.store_url(settings)
    if not is_postgres(url) and not sqlite_path(url).exists():  # opening would create an empty one
        return None, f"no trace store at {sqlite_path(url)}: no run has been traced yet"
    sql = "SELECT status, cost_usd, latency_ms FROM traces WHERE release = ? AND started_at >= ?"
    try:
        store = store_for(settings, tracing)
        return {rid: figures(store.db.query(sql, (rid, cutoff.timestamp()))) for rid in ids}, None
    except (ProctorError, sqlite3.Error) as exc:
        return None, f"the trace store is unavailable: {exc}"


def _eval_reports(ids: tuple[str, str], reports_dir: Path) -> tuple[dict[str, EvalReport] | None, str | None]:
    """Both reports, or neither: one release's eval figures alone compare with nothing."""
    try:
        return {rid: load_report(report_path(reports_dir, rid), rid) for rid in ids}, None
    except GateFailed as exc:
        return None, str(exc)


def _percentile(ordered: list[float], pct: int) -> float | None:
    """Nearest rank, unrounded: costs are fractions of a cent."""
    if not ordered:
        return None
    return ordered[max(1, -(-len(ordered) * pct // 100)) - 1]  # ceil in integers


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _passed(report: EvalReport) -> str:
    return "passed" if report.gate.passed else "failed"


_TRACE_ROWS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("runs", "runs", str),
    ("success", "success_rate", _pct),
    ("failure", "failure_rate", _pct),
    ("interrupted", "interrupted", str),
    ("cost mean", "cost_mean_usd", _usd),
    ("cost p95", "cost_p95_usd", _usd),
    ("latency p50", "latency_p50_ms", _ms),
    ("latency p95", "latency_p95_ms", _ms),
]
