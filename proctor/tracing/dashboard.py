"""The operators' dashboard on the LangGraph server: ``/dashboard`` (figures over a window),
``/dashboard/traces`` (the filters of ``proctor traces search``) and ``/dashboard/traces/{id}``.

Signed in like the inbox (the server's auth puts the user on the request); staff with the
``reviewer`` or ``operator`` permission may look. Pages are self-contained: inline CSS and SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from proctor.tracing.errors import InvalidTraceQuery, UnknownTrace
from proctor.tracing.models import TraceQuery
from proctor.tracing.report import PAGE_CSS, panels
from proctor.tracing.store import TraceStore
from proctor.tracing.summary import ApprovalRow
from proctor.tracing.trace_page import TRACE_CSS, conversation, span_tree

WINDOWS = ("1h", "6h", "24h", "7d", "30d")
STAFF = frozenset({"reviewer", "operator", "admin"})
_FILTERS = ("since", "status", "route", "tool", "user", "sort", "limit")
_NAV = (
    '<nav><a href="/dashboard">Dashboard</a> · <a href="/dashboard/traces">Traces</a> · '
    '<a href="/inbox">Approval inbox</a> · <a href="/inbox/history">Decisions</a></nav>'
)


def dashboard_routes(
    store: Callable[[], TraceStore], approvals: Callable[[Any], list[ApprovalRow]] | None = None
) -> list[Route]:
    """``store`` and ``approvals`` (the window's approval requests) are factories, read per page."""

    def overview(request: Request) -> Response:
        if (who := viewer(request)) is None:
            return _sign_in(request)
        since = request.query_params.get("since", "24h")
        try:
            window = TraceQuery.window(since)
        except InvalidTraceQuery as exc:
            return _page(who, "Dashboard", f'<p class="bad" id="error">{escape(str(exc))}</p>', status=400)
        summary = store().summary(window, approvals=approvals(window) if approvals else None)
        picker = " ".join(
            f'<a href="/dashboard?since={w}"{" class=current" if w == since else ""}>{w}</a>' for w in WINDOWS
        )
        body = f'<p class="windows">Window: {picker}</p>{panels(summary)}'
        return _page(who, f"Dashboard, last {since}", body)

    def traces(request: Request) -> Response:
        if (who := viewer(request)) is None:
            return _sign_in(request)
        filters = {k: request.query_params.get(k) or None for k in _FILTERS}
        try:
            hits = store().search(TraceQuery.parse(**filters))
        except InvalidTraceQuery as exc:
            return _page(who, "Traces", _search_form(filters) + f'<p class="bad" id="error">{escape(str(exc))}</p>', 400)
        failed = store().failures([h.trace_id for h in hits])
        rows = "".join(
            f'<tr class="hit"><td class="id"><a href="/dashboard/traces/{quote(h.trace_id)}"><code>{escape(h.trace_id)}</code></a></td>'
            f"<td>{h.started_at:%Y-%m-%d %H:%M:%S}</td><td>{escape(h.status)}</td>"
            f'<td class="wrap{" bad" if failed.get(h.trace_id) else ""}">{escape(", ".join(failed.get(h.trace_id, [])) or "-")}</td>'
            f"<td>{escape(h.route or '-')}</td><td>{escape(h.user_id or '-')}</td><td>{escape(h.release or '-')}</td>"
            f'<td class="n">{h.latency_ms:.0f} ms</td><td class="n">${h.cost_usd:.6f}</td>'
            f"<td class=wrap>{escape(', '.join(h.tools) or '-')}</td></tr>"
            for h in hits
        ) or '<tr><td colspan="10">no traces match</td></tr>'
        table = (
            '<table id="traces"><tr><th>trace</th><th>started (UTC)</th><th>status</th><th>failed</th><th>route</th>'
            f'<th>user</th><th>release</th><th class="n">latency</th><th class="n">cost</th><th>tools</th></tr>{rows}</table>'
        )
        return _page(who, "Traces", _search_form(filters) + table)

    def trace(request: Request) -> Response:
        if (who := viewer(request)) is None:
            return _sign_in(request)
        try:
            found = store().get(request.path_params["trace_id"])
        except UnknownTrace as exc:
            return _page(who, "Trace", f'<p class="bad" id="error">{escape(str(exc))}</p>', status=404)
        turns = store().thread(found.thread_id) if found.thread_id else [found]
        why = store().failures([found.trace_id]).get(found.trace_id, [])
        facts = [
            ("status", found.status + (f" ({found.error_class})" if found.error_class else "")),
            ("failed", ", ".join(why) or "no"),
            ("route", found.route or "-"), ("user", found.user_id or "-"), ("thread", found.thread_id or "-"),
            ("release", found.release or "-"), ("started", f"{found.started_at:%Y-%m-%d %H:%M:%S} UTC"),
            ("latency", f"{found.latency_ms:.0f} ms"), ("tokens", f"{found.input_tokens} in, {found.output_tokens} out"),
            ("cost", f"${found.cost_usd:.6f}"), ("model", found.model or "-"),
        ]  # fmt: skip
        table = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in facts)
        body = (
            f'<table class="facts" id="facts">{table}</table>'
            f'<h2>Conversation</h2><div id="conversation">{conversation(turns)}</div>'
            f'<h2>Spans</h2><div id="spans">{span_tree(found)}</div>'
        )
        return _page(who, f"Trace {found.trace_id}", body)

    return [
        Route("/dashboard", overview),
        Route("/dashboard/traces", traces),
        Route("/dashboard/traces/{trace_id}", trace),
    ]


def viewer(request: Request) -> str | None:
    """The signed-in staff member's id (from the server's auth), or None."""
    user = request.scope.get("user")
    identity = getattr(user, "identity", None)
    return identity if identity and STAFF & set(getattr(user, "permissions", None) or []) else None


def _sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/inbox/login?{urlencode({'next': target})}", status_code=303)


def _search_form(filters: dict[str, str | None]) -> str:
    hints = {"since": "7d", "status": "ok|error|interrupted", "route": "billing", "tool": "refund_invoice",
             "user": "CUS-0051", "sort": "time|cost|latency", "limit": "20"}  # fmt: skip
    fields = "".join(
        f'<label>{name} <input name="{name}" value="{escape(filters.get(name) or "")}" placeholder="{hints[name]}"></label>'
        for name in _FILTERS
    )
    return f'<form class="filters" method="get" action="/dashboard/traces">{fields}<button>Search</button></form>'


_CSS = (
    PAGE_CSS
    + TRACE_CSS
    + """
nav{margin-bottom:.6rem}header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap}
.windows a{margin-right:.4rem}.windows a.current{font-weight:700;text-decoration:none;color:#111827}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0 1rem}.filters input{width:9rem}
#traces td,#traces th{white-space:nowrap;text-align:left}#traces td.wrap{white-space:normal;max-width:14rem}
#traces td.id{white-space:normal;word-break:break-all;max-width:10rem}#traces td.n,#traces th.n{text-align:right}
#traces code{font-size:12px}
"""
)


def _page(who: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>proctor: {escape(title)}</title>
<style>{_CSS}</style></head><body><header><h1>{escape(title)}</h1>
<span class="muted">signed in as <b id="who">{escape(who)}</b></span></header>{_NAV}{body}</body></html>""",
        status_code=status,
    )
