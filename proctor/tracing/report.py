"""The figures of ``TraceStore.summary`` as HTML: the panels the dashboard shows and the static report.

``panels`` is the body both share; ``render_report`` wraps it in a self-contained page (inline
SVG charts and CSS, the summary embedded as JSON) for ``proctor traces report``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html import escape
from typing import Any

from proctor.tracing.charts import CHART_CSS, time_chart

PAGE_CSS = (
    """
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#111827;background:#f9fafb}
h1{font-size:22px;margin:.2rem 0 .6rem}h2{font-size:17px;margin:1.4rem 0 .5rem}
a{color:#1d4ed8}table{border-collapse:collapse;background:#fff}
td,th{border-bottom:1px solid #e5e7eb;padding:.3rem .6rem;text-align:right;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td:first-child,th:first-child{text-align:left}
.tiles{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:.4rem .8rem;min-width:7.5rem}
.tile b{display:block;font-size:20px}.tile span{color:#6b7280;font-size:12px}
.definition{background:#fff7ed;border:1px solid #fed7aa;border-radius:6px;padding:.5rem .8rem;max-width:62rem}
.bad{color:#b91c1c}.muted{color:#6b7280}code{background:#f3f4f6;padding:0 .25rem;border-radius:3px}
"""
    + CHART_CSS
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>proctor traces {period}</title>
<style>{css}</style></head>
<body><h1>proctor traces</h1>{body}
<script type="application/json" id="summary">{data}</script>
</body></html>
"""


def render_report(summary: dict[str, Any]) -> str:
    """A whole page: nothing in it loads from anywhere else."""
    return _PAGE.format(
        period=escape(f"{summary['since'][:16]} to {summary['until'][:16]} UTC"),
        css=PAGE_CSS,
        body=panels(summary),
        data=json.dumps(summary).replace("</", "<\\/"),  # a JSON string can never close the script tag
    )


def panels(summary: dict[str, Any]) -> str:
    totals, over = summary["totals"], summary["over_time"]
    times = [datetime.fromisoformat(t) for t in over["buckets"]]
    size, end = timedelta(seconds=summary["bucket_seconds"]), datetime.fromisoformat(summary["until"])
    routes, releases = over["by_route"], over["by_release"]

    def chart(title: str, series: dict[str, list], unit: str = "", stacked: bool = False) -> str:
        return time_chart(title, times, size, series, unit=unit, end=end, stacked=stacked)

    def by(groups: dict[str, dict[str, list]], key: str) -> dict[str, list]:
        return {name: values[key] for name, values in groups.items()}

    charts = [
        chart("runs by route", by(routes, "count"), stacked=True),
        chart("runs by release", by(releases, "count"), stacked=True),
        chart("failure rate by route", by(routes, "failure_rate"), "%"),
        chart("failure rate by release", by(releases, "failure_rate"), "%"),
        chart("cost by route (USD)", by(routes, "cost_usd"), "$", stacked=True),
        chart("cost by release (USD)", by(releases, "cost_usd"), "$", stacked=True),
        chart("latency, all runs", {"p50": over["all"]["latency_p50_ms"], "p95": over["all"]["latency_p95_ms"]}, "ms"),
        chart("latency p95 by release", by(releases, "latency_p95_ms"), "ms"),
        chart("tool calls and tool errors", {"calls": over["tool_calls"], "errors": over["tool_errors"]}),
        chart("approvals", over["approvals"]),
        chart("guardrail events", over["guard_events"], stacked=True),
        chart("latency p95 by route", by(routes, "latency_p95_ms"), "ms"),
    ]
    period = f"{summary['since'][:16].replace('T', ' ')} to {summary['until'][:16].replace('T', ' ')} UTC"
    return f"""<p class="muted" id="period">{escape(period)}, {summary['bucket_seconds'] // 60}-minute buckets</p>
{_tiles(totals)}
<p class="definition" id="failed-means"><b>Failed</b> means: {escape(summary['failed_means'])}</p>
<div class="charts">{''.join(charts)}</div>
<h2>By route</h2>{_table(summary['by_route'])}
<h2>By release</h2>{_table(summary['by_release'])}
<h2>Why runs failed</h2>{_counts(summary['failure_reasons'], 'reason', 'runs')}
<h2>Tools</h2>{_tools(summary['tools'], summary['tool_errors'])}
<h2>Guardrail events</h2>{_counts(summary['guard_events'], 'event', 'times')}"""


def _tiles(t: dict[str, Any]) -> str:
    tiles = [
        ("runs", t["count"]),
        ("failed", f"{t['failed']} ({_pct(t['failure_rate'])})"),
        ("cost", f"${t['cost_usd']:.4f}"),
        ("latency p50 / p95", f"{_ms(t['latency_p50_ms'])} / {_ms(t['latency_p95_ms'])}"),
        ("tool calls / errors", f"{t['tool_calls']} / {t['tool_errors']}"),
        ("approvals asked / decided", f"{t['approvals_requested']} / {t['approvals_decided']}"),
        ("approvals pending", t["approvals_pending"]),
        ("guardrail events", t["guard_events"]),
    ]
    return '<div class="tiles" id="totals">' + "".join(
        f'<div class="tile"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in tiles
    ) + "</div>"


def _table(groups: dict[str, dict[str, Any]]) -> str:
    if not groups:
        return '<p class="muted">no runs in this window</p>'
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{g['count']}</td><td>{g['failed']}</td><td>{_pct(g['failure_rate'])}</td>"
        f"<td>{g['errors']}</td><td>{g['interrupted']}</td><td>{g['cost_usd']:.4f}</td>"
        f"<td>{_ms(g['latency_p50_ms'])}</td><td>{_ms(g['latency_p95_ms'])}</td></tr>"
        for name, g in groups.items()
    )
    return (
        "<table><tr><th></th><th>runs</th><th>failed</th><th>failure rate</th><th>raised</th><th>interrupted</th>"
        f"<th>cost (USD)</th><th>p50</th><th>p95</th></tr>{rows}</table>"
    )


def _counts(counts: dict[str, int], what: str, unit: str) -> str:
    if not counts:
        return '<p class="muted">none in this window</p>'
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{v}</td></tr>" for k, v in counts.items())
    return f"<table><tr><th>{what}</th><th>{unit}</th></tr>{rows}</table>"


def _tools(calls: dict[str, int], errors: dict[str, int]) -> str:
    if not calls:
        return '<p class="muted">no tool calls in this window</p>'
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{v}</td><td{' class=bad' if errors.get(k) else ''}>{errors.get(k, 0)}</td></tr>"
        for k, v in calls.items()
    )
    return f"<table><tr><th>tool</th><th>calls</th><th>errors</th></tr>{rows}</table>"


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _ms(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"
