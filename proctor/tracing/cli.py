"""``proctor traces search|show|purge|report``: the trace store from a terminal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # handlers import the store when they run: `--help` needs none of it
    from proctor.tracing.models import Span, Trace, TraceSummary
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore

SNIPPET = 90  # characters of a tool argument, result or answer shown on one tree line


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``traces`` command to the ``proctor`` parser's subcommands."""
    traces = commands.add_parser("traces", help="search, show, report on and purge run traces")
    actions = traces.add_subparsers(required=True, metavar="ACTION")

    search = actions.add_parser("search", help="find traces; newest first unless --sort says otherwise")
    search.add_argument("--since", help="only traces newer than this: 30m, 24h, 7d, 2w")
    search.add_argument("--status", help="ok, error or interrupted")
    search.add_argument("--route", help="the front door's route, e.g. billing")
    search.add_argument("--tool", help="traces that called this tool")
    search.add_argument("--user", help="the requesting user's id")
    search.add_argument("--sort", help="cost, latency or time (default)")
    search.add_argument("--limit", help="how many to list (default 20, at most 1000)")
    search.add_argument("--json", action="store_true", help="print a JSON array")
    search.set_defaults(handler=_search)

    show = actions.add_parser("show", help="one trace and its span tree")
    show.add_argument("trace_id", help="the trace id, or a prefix of it that only one trace has")
    show.add_argument("--json", action="store_true", help="print the trace as JSON")
    show.set_defaults(handler=_show)

    purge = actions.add_parser("purge", help="delete traces older than the retention period")
    purge.add_argument("--older-than-days", type=float, help="default: PROCTOR_TRACE_RETENTION_DAYS (30)")
    purge.set_defaults(handler=_purge)

    report = actions.add_parser("report", help="the dashboard's figures as one self-contained HTML page (and as JSON)")
    report.add_argument("--since", default="7d", help="the period to cover: 24h, 7d, 2w (default 7d)")
    report.add_argument("--out", type=Path, default=Path("traces-report.html"), help="the HTML file to write")
    report.add_argument("--json", action="store_true", help="also print the figures as JSON")
    report.set_defaults(handler=_report)

    alerts = actions.add_parser("alerts", help="cost anomalies: runs far above their route's median cost")
    alerts.add_argument("--since", default="7d", help="the period to cover (default 7d)")
    alerts.add_argument("--json", action="store_true", help="print a JSON array")
    alerts.set_defaults(handler=_alerts)


def _alerts(args: argparse.Namespace) -> int:
    from proctor.deployment import Deployment
    from proctor.settings import Settings
    from proctor.tracing.models import TraceQuery

    days = TraceQuery.window(args.since).total_seconds() / 86400
    found = Deployment(Settings()).usage.alerts(since_days=days)
    if args.json:
        print(json.dumps([a.model_dump() for a in found], indent=2))
    elif not found:
        print(f"no alerts in the last {args.since}")
    for a in [] if args.json else found:
        print(f"{a.at[:19]}  {a.kind}  route {a.route}  trace {a.trace_id}  {a.detail}")
    return 0


def _store(tracing: TraceSettings | None = None) -> TraceStore:
    """The store alone (not ``record.store_for``, which loads the LangChain capture): reads start fast."""
    from proctor.settings import Settings
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore

    tracing = tracing or TraceSettings()
    return TraceStore(tracing.store_url(Settings()), busy_timeout_s=tracing.busy_timeout_s)


def _search(args: argparse.Namespace) -> int:
    from proctor.tracing.models import TraceQuery

    filters = {k: getattr(args, k) for k in ("since", "status", "route", "tool", "user", "sort", "limit")}
    store = _store()
    hits = store.search(TraceQuery.parse(**filters))
    why = store.failures([h.trace_id for h in hits])
    if args.json:
        print(json.dumps([h.model_dump(mode="json") | {"failure_reasons": why.get(h.trace_id, [])} for h in hits], indent=2))
    else:
        print(render_hits(hits, why))
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store()
    trace = store.get(resolve(store, args.trace_id))
    why = store.failures([trace.trace_id]).get(trace.trace_id, [])
    if args.json:
        print(json.dumps(trace.model_dump(mode="json") | {"failure_reasons": why}, indent=2))
    else:
        print(render_trace(trace, why))
    return 0


def resolve(store: TraceStore, ref: str) -> str:
    """The one trace id equal to ``ref`` or starting with it; ``UnknownTrace``/``AmbiguousTrace`` otherwise."""
    from proctor.tracing.errors import AmbiguousTrace, UnknownTrace

    ref = ref.strip()
    if not ref or not all(c.isalnum() or c in "-:." for c in ref):  # nothing LIKE reads as a wildcard
        raise UnknownTrace(f"{ref!r} is not a trace id; list ids with `proctor traces search`")
    rows = store.db.query(
        "SELECT trace_id FROM traces WHERE trace_id = ? OR trace_id LIKE ? ORDER BY trace_id LIMIT 11",
        (ref, ref + "%"),
    )
    ids = [r["trace_id"] for r in rows]
    if ref in ids or len(ids) == 1:
        return ref if ref in ids else ids[0]
    if not ids:
        raise UnknownTrace(f"no trace has id {ref!r} or an id starting with it; list ids with `proctor traces search`")
    count, shown = ("more than 10", ", ".join(ids[:10]) + " …") if len(ids) > 10 else (len(ids), ", ".join(ids))
    raise AmbiguousTrace(f"{ref!r} matches {count} traces: {shown}; give more of the id")


def _purge(args: argparse.Namespace) -> int:
    from proctor.tracing.settings import TraceSettings

    tracing = TraceSettings()
    days = args.older_than_days if args.older_than_days is not None else tracing.retention_days
    store = _store(tracing)
    print(f"purged {store.purge(days)} traces older than {days:g} days from {store.where}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from proctor.deployment import Deployment
    from proctor.settings import Settings
    from proctor.tracing.models import TraceQuery
    from proctor.tracing.report import render_report
    from proctor.tracing.summary import approvals_for

    since = TraceQuery.window(args.since)
    summary = _store().summary(since, approvals=approvals_for(Deployment(Settings()).ledger, since))
    args.out.write_text(render_report(summary))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {args.out} ({summary['totals']['count']} traces since {summary['since']})")
    return 0


def render_hits(hits: list[TraceSummary], why: dict[str, list[str]] | None = None) -> str:
    """One row per trace (scripts split on lines); a failed one (``proctor.tracing.failure``) ends
    with why."""
    if not hits:
        return "no traces match"
    header = (
        f"{'TRACE ID':36}  {'STARTED (UTC)':19}  {'STATUS':11}  {'ROUTE':10}  {'USER':12}  {'LATENCY':>9}"
        f"  {'COST':>10}  TOOLS"
    )
    rows = []
    for h in hits:
        reasons = (why or {}).get(h.trace_id)
        rows.append(
            f"{h.trace_id:36}  {h.started_at:%Y-%m-%d %H:%M:%S}  {h.status:11}  {h.route or '-':10}  {h.user_id or '-':12}"
            f"  {_ms(h.latency_ms):>9}  {f'${h.cost_usd:.6f}':>10}  {','.join(h.tools) or '-'}"
            + (f"  failed: {'; '.join(reasons)}" if reasons else "")
        )
    return "\n".join([header, *rows])


def render_trace(trace: Trace, why: Sequence[str] = ()) -> str:
    error_class = f" ({trace.error_class})" if trace.error_class else ""
    lines = [
        (
            f"trace {trace.trace_id}  {trace.status}{error_class}  route {trace.route or '-'}"
            f"  user {trace.user_id or '-'}  thread {trace.thread_id or '-'}  release {trace.release or '-'}"
        ),
        (
            f"  started {trace.started_at:%Y-%m-%d %H:%M:%S} UTC  latency {_ms(trace.latency_ms)}  tokens"
            f" {trace.input_tokens}+{trace.output_tokens}  cost ${trace.cost_usd:.6f}  model {trace.model or '-'}"
        ),
        f"  request: {_short(trace.input)}",
        f"  answer:  {_short(trace.answer)}",
        *([f"  failed:  {'; '.join(why)}"] if why else []),
        "",
    ]
    roots = [s for s in trace.spans if s.parent_id is None]
    for i, root in enumerate(roots):
        _tree(trace, root, "", i == len(roots) - 1, lines, top=True)
    return "\n".join(lines)


def _tree(trace: Trace, span: Span, indent: str, last: bool, lines: list[str], *, top: bool = False) -> None:
    branch = "" if top else ("└─ " if last else "├─ ")
    lines.append(f"{indent}{branch}{_describe(span)}")
    children = trace.children(span.span_id)
    inner = indent if top else indent + ("   " if last else "│  ")
    for i, child in enumerate(children):
        _tree(trace, child, inner, i == len(children) - 1, lines)


def _describe(span: Span) -> str:
    parts = [span.name, f"[{span.kind}]", _ms(span.latency_ms)]
    if span.kind == "llm":
        parts.append(f"{span.model or '?'} {span.input_tokens}+{span.output_tokens} tok ${span.cost_usd:.6f}")
        calls = span.outputs.get("tool_calls")
        parts.append("→ " + (", ".join(c["name"] for c in calls) if calls else _short(span.outputs.get("text", ""))))
    elif span.kind == "tool":
        parts.append(_short(_compact(span.inputs.get("args")), 40))
        if "result" in span.outputs:
            parts.append(f"→ {_short(_compact(span.outputs['result']))}")
    elif span.kind == "interrupt":
        parts.append(f"waiting for: {_short(_compact(span.outputs.get('value')))}")
    elif route := span.outputs.get("route"):
        parts.append(f"→ route {route}")
    if span.status != "ok":
        parts.append(f"✗ {span.status}" + (f": {_short(span.error)}" if span.error else ""))
    return "  ".join(p for p in parts if p)


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _short(text: str | None, limit: int = SNIPPET) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
