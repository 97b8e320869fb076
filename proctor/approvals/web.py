"""The approval inbox page: pending requests with their context, approve / edit / reject.

A small Starlette app, mounted on the LangGraph server through ``http.app`` in langgraph.json.
Who is deciding comes from the server's authentication (``request.user``), never from the form.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from proctor.approvals.ledger import ApprovalError, ApprovalLedger, ApprovalRequest, Decision

Resume = Callable[[ApprovalRequest, Request], Awaitable[Any]]
TOKEN_COOKIE = "proctor_token"


def create_app(
    ledger: Callable[[], ApprovalLedger], resume: Resume, *, trace_url: str = "/dashboard/traces/{}"
) -> Starlette:
    """``ledger`` is a factory so the app can start before the database is ready; ``trace_url``
    is where a request's trace is shown (the dashboard's trace page)."""

    # Sync endpoints run in Starlette's thread pool: the ledger is a database, off the event loop.
    def page(request: Request) -> Response:
        reviewer = _identity(request)
        if reviewer is None:
            return RedirectResponse("/inbox/login", status_code=303)
        rows = ledger().requests("pending")
        return HTMLResponse(_page(reviewer, rows, request.query_params.get("msg", ""), trace_url))

    def pending_json(request: Request) -> Response:
        if _identity(request) is None:
            return JSONResponse({"error": "sign in as a reviewer"}, status_code=401)
        return JSONResponse([r.model_dump(mode="json") for r in ledger().requests("pending")])

    async def decide(request: Request) -> Response:
        reviewer = _identity(request)
        if reviewer is None:
            return RedirectResponse("/inbox/login", status_code=303)
        form = await request.form()
        request_id = request.path_params["request_id"]
        try:
            decision = _decision(reviewer, form)
            decided = await run_in_threadpool(lambda: ledger().decide(request_id, decision))
            await resume(decided, request)
            message = f"{request_id}: {decided.status}"
        except (ApprovalError, ValueError) as exc:
            message = f"{request_id}: not changed: {exc}"
        return RedirectResponse(f"/inbox?msg={quote(message)}", status_code=303)

    async def login(request: Request) -> Response:
        target = _local(request.query_params.get("next"))
        if request.method == "POST":
            token = str((await request.form()).get("token", ""))
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return HTMLResponse(_LOGIN.replace("__NEXT__", quote(target, safe="/")))

    return Starlette(
        routes=[
            Route("/inbox", page),
            Route("/inbox/login", login, methods=["GET", "POST"]),
            Route("/inbox/pending.json", pending_json),
            Route("/inbox/{request_id}/decide", decide, methods=["POST"]),
        ]
    )


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/inbox"


def _identity(request: Request) -> str | None:
    """The authenticated reviewer's id (the server's auth put it on the request)."""
    user = request.scope.get("user")
    identity = getattr(user, "identity", None)
    permissions = getattr(user, "permissions", []) or []
    return identity if identity and "reviewer" in permissions else None


def _decision(reviewer: str, form: Any) -> Decision:
    kind = form.get("decision")
    if kind == "edit":
        args = json.loads(str(form.get("args") or ""))
        if not isinstance(args, dict):
            raise ValueError("edited arguments must be a JSON object")
        return Decision(type="edit", reviewer=reviewer, args=args)
    if kind == "reject":
        return Decision(type="reject", reviewer=reviewer, reason=str(form.get("reason") or "") or None)
    if kind == "approve":
        return Decision(type="approve", reviewer=reviewer)
    raise ValueError(f"unknown decision {kind!r}")


_STYLE = """
body{font:15px system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
code{background:#f4f4f4;padding:.1rem .3rem}.msg{background:#eef6ff;padding:.6rem;margin-bottom:1rem}
form{display:inline-block;margin:.2rem 0}textarea{width:22rem;height:4rem}input[type=text]{width:14rem}
"""

_LOGIN = f"""<!doctype html><html><head><title>proctor inbox: sign in</title><style>{_STYLE}</style></head>
<body><h1>Approval inbox</h1><form method="post" action="/inbox/login?next=__NEXT__">
<label>Reviewer token <input type="password" name="token" id="token"></label>
<button type="submit" id="sign-in">Sign in</button></form></body></html>"""


def _page(reviewer: str, rows: list[ApprovalRequest], message: str, trace_url: str) -> str:
    body = "".join(_row(r, trace_url) for r in rows) or '<tr><td colspan="5">Nothing is waiting.</td></tr>'
    note = f'<p class="msg" id="msg">{escape(message)}</p>' if message else ""
    return f"""<!doctype html><html><head><title>proctor inbox</title><style>{_STYLE}</style></head><body>
<h1>Approval inbox</h1><p>Signed in as <b>{escape(reviewer)}</b>. {len(rows)} pending.</p>{note}
<table><thead><tr><th>Request</th><th>Action</th><th>Why</th><th>Context</th><th>Decision</th></tr></thead>
<tbody>{body}</tbody></table></body></html>"""


def _row(r: ApprovalRequest, trace_url: str) -> str:
    rid = escape(r.id)
    amount = f"<br>{r.amount:.2f} {escape(r.currency or '')}" if r.amount is not None else ""
    trace = f'<a href="{escape(trace_url.format(r.trace_id))}">trace</a>' if r.trace_id else "no trace"
    args = escape(json.dumps(r.args))
    return f"""<tr id="{rid}"><td><code>{rid}</code><br>{escape(r.created_at[:19])}</td>
<td><code>{escape(r.tool)}</code><br><code>{args}</code>{amount}</td>
<td><b>{escape(r.rule or '')}</b>: {escape(r.why or '')}</td>
<td>agent {escape(r.agent)}<br>requester {escape(r.requester or '-')}<br>thread <code>{escape(r.thread_id)}</code><br>{trace}</td>
<td><form method="post" action="/inbox/{rid}/decide"><input type="hidden" name="decision" value="approve">
<button class="approve">Approve</button></form>
<form method="post" action="/inbox/{rid}/decide"><input type="hidden" name="decision" value="reject">
<input type="text" name="reason" placeholder="reason (told to the user)" required><button class="reject">Reject</button></form>
<form method="post" action="/inbox/{rid}/decide"><input type="hidden" name="decision" value="edit">
<textarea name="args">{args}</textarea><button class="edit">Approve edited</button></form></td></tr>"""
