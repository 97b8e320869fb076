"""The dashboard: one self-contained HTML page of matplotlib figures drawn from ``TraceStore.summary``.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state, Agg rendering) and
embedded as base64 PNG; the summary itself is embedded as JSON so the page carries its data.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime
from string import Template
from typing import Any

from matplotlib.figure import Figure

_METRICS = {
    "cost_usd": "cost (USD)",
    "failure_rate": "failure rate",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}

_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>proctor traces $period</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 1100px }
img { max-width: 100% }
table { border-collapse: collapse; margin-bottom: 1.5rem }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right }
th:first-child, td:first-child { text-align: left }
</style></head>
<body><h1>proctor traces</h1><p>$period: $headline</p>
<h2>By route</h2>$by_route
<h2>By release</h2>$by_release
$figures
<script type="application/json" id="summary">$data</script>
</body></html>
""")


def render_report(summary: dict[str, Any]) -> str:
    times = [datetime.fromisoformat(t) for t in summary["over_time"]["buckets"]]
    over_time = summary["over_time"]
    groups = {"by route": over_time["by_route"], "by release": over_time["by_release"]}
    figures = [(label, _panels(times, groups, key, label)) for key, label in _METRICS.items()]
    figures.append(("tool calls", _tools(times, over_time["tools"])))
    totals = summary["totals"]
    headline = (
        f"{totals['count']} traces, failure rate {_pct(totals['failure_rate'])}, cost ${totals['cost_usd']:.4f},"
        f" latency p50 {totals['latency_p50_ms']} ms / p95 {totals['latency_p95_ms']} ms"
    )
    return _PAGE.substitute(
        period=html.escape(f"{summary['since']} to {summary['until']}"),
        headline=html.escape(headline),
        by_route=_table(summary["by_route"]),
        by_release=_table(summary["by_release"]),
        figures="\n".join(_figure(label, png) for label, png in figures),
        data=json.dumps(summary).replace("</", "<\\/"),  # a JSON string can never close the script tag
    )


def _figure(label: str, png: str) -> str:
    label = html.escape(label)
    return f'<section><h2>{label} over time</h2><img alt="{label}" src="data:image/png;base64,{png}"></section>'


def _panels(times: list[datetime], groups: dict[str, dict[str, Any]], key: str, label: str) -> str:
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    for ax, (title, series) in zip(fig.subplots(1, len(groups), sharey=True), groups.items(), strict=True):
        for name, values in series.items():
            ax.plot(times, [_nan(v) for v in values[key]], marker=".", label=name)
        ax.set_title(f"{label} {title}")
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)


def _tools(times: list[datetime], tools: dict[str, list[int]]) -> str:
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax = fig.subplots()
    if tools:
        ax.stackplot(times, *tools.values(), labels=list(tools))
        ax.legend(fontsize="small", loc="upper left")
    ax.set_title("tool calls")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode()


def _table(groups: dict[str, dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{g['count']}</td><td>{_pct(g['failure_rate'])}</td>"
        f"<td>{g['cost_usd']:.4f}</td><td>{g['latency_p50_ms']}</td><td>{g['latency_p95_ms']}</td></tr>"
        for name, g in groups.items()
    )
    return (
        "<table><tr><th></th><th>traces</th><th>failure rate</th><th>cost (USD)</th>"
        f"<th>p50 (ms)</th><th>p95 (ms)</th></tr>{rows}</table>"
    )


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value
