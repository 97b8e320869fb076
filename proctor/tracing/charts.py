"""Time-series charts as inline SVG, drawn on the server: no script, no library, nothing to fetch.

The time axis spans exactly the chosen window, with ticks on round times (quarter hours, hours,
days) and labels in the unit the window needs; the value axis starts at zero and ends on a
round number just above the largest value, with labels in the series' unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html import escape

WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 34, 12, 56  # the plot's margins: axis labels below, legend under them
PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]
_TICK_STEPS = [timedelta(minutes=m) for m in (15, 30, 60, 120, 180, 360, 720)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28)
]

Series = Mapping[str, Sequence[float | None]]


def time_chart(
    title: str,
    buckets: Sequence[datetime],
    bucket: timedelta,
    series: Series,
    *,
    unit: str = "",
    end: datetime | None = None,
    stacked: bool = False,
) -> str:
    """A chart of ``series`` (name -> one value per bucket, None for no data) over the buckets:
    lines, or bars stacked per bucket (for counts that add up, like runs by route)."""
    t0 = buckets[0] if buckets else datetime.now(UTC)
    t1 = end or (buckets[-1] + bucket if buckets else t0 + bucket)
    span = max((t1 - t0).total_seconds(), 1.0)
    if stacked:
        largest = max((sum(v or 0 for v in column) for column in zip(*series.values())), default=0.0)
    else:
        largest = max((v for values in series.values() for v in values if v is not None), default=0.0)
    top, tick = nice_scale(largest, whole=not unit)
    fmt = value_format(unit, top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return LEFT + plot_w * (moment - t0).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>']
    for i in range(round(top / tick) + 1):
        value = tick * i
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="ylabel">{escape(fmt(value))}</text>')
    for moment, label in time_ticks(t0, t1):
        parts.append(f'<line x1="{x(moment):.1f}" x2="{x(moment):.1f}" y1="{TOP}" y2="{TOP + plot_h}" class="grid"/>')
        parts.append(f'<text x="{x(moment):.1f}" y="{TOP + plot_h + 16}" class="xlabel">{escape(label)}</text>')
    middle = bucket / 2  # a bucket's value is drawn at its middle
    if stacked:
        parts.extend(_bars(series, buckets, bucket, x, y))
    for colour, (_name, values) in zip(_colours(), [] if stacked else series.items()):
        points = [(x(b + middle), y(v)) if v is not None else None for b, v in zip(buckets, values)]
        for run in _runs(points):  # a gap (no data) breaks the line rather than bridging it
            if len(run) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="2.5" fill="{colour}"/>' for p in points if p)
    legend, rows = _legend(list(series), TOP + plot_h + 36)
    parts.append(legend)
    height = HEIGHT + 16 * (rows - 1)
    if not any(v is not None for values in series.values() for v in values):
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" class="empty">no data in this window</text>')
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img"'
        f' aria-label="{escape(title)}">{"".join(parts)}</svg></figure>'
    )


def time_ticks(t0: datetime, t1: datetime, most: int = 6) -> list[tuple[datetime, str]]:
    """Round moments inside [t0, t1], at most ``most`` of them, each with a label fit for the step."""
    span = t1 - t0
    step = next((s for s in _TICK_STEPS if span / s <= most), _TICK_STEPS[-1])
    seconds = step.total_seconds()
    first = datetime.fromtimestamp(math.ceil(t0.timestamp() / seconds) * seconds, UTC)
    ticks, moment, last_day = [], first, None
    while moment <= t1:
        if step >= timedelta(days=1) or (moment.hour, moment.minute) == (0, 0):
            label = f"{moment:%b} {moment.day}"
        elif last_day is None:
            label = f"{moment:%b} {moment.day} {moment:%H:%M}"  # the date once, then where it changes
        else:
            label = f"{moment:%H:%M}"
        last_day = moment.date()
        ticks.append((moment, label))
        moment += step
    return ticks


def nice_scale(value: float, whole: bool = False) -> tuple[float, float]:
    """The axis top and tick step: a step of 1, 2 or 5 times a power of ten, three to five ticks
    above zero, the top the first tick at or above ``value`` (1 for nothing); ``whole`` numbers
    (counts) never get a step below 1."""
    if value <= 0:
        return (1.0, 1.0) if whole else (1.0, 0.25)
    rough = value / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-9))
    step = max(step, 1.0) if whole else step
    return math.ceil(value / step - 1e-9) * step, step


def _bars(
    series: Series, buckets: Sequence[datetime], bucket: timedelta, x: Callable[[datetime], float], y: Callable[[float], float]
) -> list[str]:
    parts, base = [], [0.0] * len(buckets)
    for colour, values in zip(_colours(), series.values()):
        for i, (b, v) in enumerate(zip(buckets, values)):
            if v:
                left, right = x(b) + 1, x(b + bucket) - 1
                parts.append(
                    f'<rect x="{left:.1f}" y="{y(base[i] + v):.1f}" width="{max(right - left, 1):.1f}"'
                    f' height="{y(base[i]) - y(base[i] + v):.1f}" fill="{colour}"/>'
                )
                base[i] += v
    return parts


def _runs(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [r for r in runs if r]


def value_format(unit: str, top: float) -> Callable[[float], str]:
    if unit == "%":
        return lambda v: f"{v:.0%}" if top >= 0.2 else f"{v:.1%}"
    if unit == "$":
        digits = 0 if top >= 20 else 2 if top >= 0.2 else 4
        return lambda v: f"${v:.{digits}f}"
    if unit == "ms":
        return lambda v: f"{v / 1000:.1f} s" if top >= 5000 else f"{v:.0f} ms"
    return lambda v: f"{v:.0f}"


def _legend(names: list[str], baseline: float) -> tuple[str, int]:
    """Swatches and names under the axis, wrapped onto as many rows as they need."""
    items, x, rows = [], float(LEFT), 1
    for colour, name in zip(_colours(), names):
        label = name if len(name) <= 24 else name[:23] + "…"
        width = 24 + 6.5 * len(label)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, rows, baseline = float(LEFT), rows + 1, baseline + 16
        items.append(f'<rect x="{x:.0f}" y="{baseline - 9}" width="10" height="10" fill="{colour}"/>')
        items.append(f'<text x="{x + 14:.0f}" y="{baseline}" class="legend">{escape(label)}</text>')
        x += width
    return "".join(items), rows


def _colours() -> Iterator[str]:
    while True:
        yield from PALETTE


CHART_CSS = """
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:1rem}
figure.chart{margin:0;background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:.4rem}
figure.chart svg{width:100%;height:auto;display:block}
figcaption{font-weight:600;font-size:14px;margin:.1rem .3rem .3rem}
svg .plot{fill:#fafafa;stroke:#d1d5db}svg .grid{stroke:#e5e7eb}
svg text{font:11px system-ui,sans-serif;fill:#374151}svg .ylabel{text-anchor:end}
svg .xlabel{text-anchor:middle}svg .empty{text-anchor:middle;fill:#9ca3af;font-size:13px}
"""
