"""The approval inbox: waiting requests with their context, approve / edit / reject, and the history.

A small Starlette app, mounted on the LangGraph server through ``http.app`` in langgraph.json.
Who is deciding comes from the server's authentication (``request.user``), never from the form;
whether they may decide a request is the ledger's own check (``ApprovalLedger.may_decide``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from proctor.approvals.args_form import parse_fields, same_call
from proctor.approvals.inbox_page import AGES, Card, history_page, inbox_page, login_page
from proctor.approvals.ledger import ApprovalError, ApprovalLedger, ApprovalRequest, Decision
from proctor.tracing.models import Trace, parse_duration

Resume = Callable[[ApprovalRequest, Request], Awaitable[Any]]
Thread = Callable[[str], list[Trace]]  # a thread's traces, oldest first: its conversation
TOKEN_COOKIE = "proctor_token"
_FILTERS = ("rule", "agent", "older")


def create_app(
    ledger: Callable[[], ApprovalLedger],
    resume: Resume,
    *,
    thread: Thread | None = None,
    trace_url: str = "/dashboard/traces/{}",
) -> Starlette:
    """``ledger`` is a factory so the app can start before the database is ready; ``thread`` reads
    a thread's conversation (from the trace store); ``trace_url`` is where a request's trace is shown."""

    # Sync endpoints run in Starlette's thread pool: the ledger is a database, off the event loop.
    def page(request: Request) -> Response:
        reviewer = _identity(request)
        if reviewer is None:
            return _sign_in(request)
        filters = {k: request.query_params.get(k, "") for k in _FILTERS}
        pending = ledger().requests("pending")
        choices = {"rule": sorted({r for p in pending for r in _rules(p)}), "agent": sorted({p.agent for p in pending})}
        cards = [_card(ledger(), thread, r, reviewer) for r in pending if _matches(r, filters)]
        message = request.query_params.get("msg", "")
        error = request.query_params.get("error") == "1"
        return HTMLResponse(inbox_page(reviewer, cards, filters, choices, message, error, trace_url))

    def history(request: Request) -> Response:
        reviewer = _identity(request)
        if reviewer is None:
            return _sign_in(request)
        decided = [r for r in ledger().requests(None) if r.status in ("approved", "edited", "rejected")]
        decided.sort(key=lambda r: r.decided_at or "", reverse=True)
        return HTMLResponse(history_page(reviewer, decided))

    def pending_json(request: Request) -> Response:
        if _identity(request) is None:
            return JSONResponse({"error": "sign in as a reviewer"}, status_code=401)
        return JSONResponse([r.model_dump(mode="json") for r in ledger().requests("pending")])

    async def decide(request: Request) -> Response:
        reviewer = _identity(request)
        if reviewer is None:
            return _sign_in(request)
        form = await request.form()
        request_id = request.path_params["request_id"]
        try:
            asked = await run_in_threadpool(lambda: ledger().get(request_id))
            decision = _decision(ledger(), asked, reviewer, form)
            decided = await run_in_threadpool(lambda: ledger().decide(request_id, decision))
            await resume(decided, request)
            query = {"msg": f"{request_id}: {decided.status} by {reviewer}"}
        except (ApprovalError, ValueError) as exc:
            query = {"msg": f"{request_id}: not changed: {exc}", "error": "1"}
        return RedirectResponse(f"/inbox?{urlencode(query)}#{quote(request_id)}", status_code=303)

    async def login(request: Request) -> Response:
        target = _local(request.query_params.get("next"))
        if request.method == "POST":
            token = str((await request.form()).get("token", ""))
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return HTMLResponse(login_page(target))

    return Starlette(
        routes=[
            Route("/inbox", page),
            Route("/inbox/history", history),
            Route("/inbox/login", login, methods=["GET", "POST"]),
            Route("/inbox/pending.json", pending_json),
            Route("/inbox/{request_id}/decide", decide, methods=["POST"]),
        ]
    )


def _card(ledger: ApprovalLedger, thread: Thread | None, r: ApprovalRequest, reviewer: str) -> Card:
    deciders = [f"{p.name} ({p.id})" for p in ledger.policy.reviewers if _refusal(ledger, r, p.id) is None]
    turns = thread(r.thread_id) if thread else []
    schema = ledger.tools[r.tool].args_schema
    return Card(request=r, schema_=schema, turns=turns, refusal=_refusal(ledger, r, reviewer), deciders=deciders)


def _refusal(ledger: ApprovalLedger, r: ApprovalRequest, reviewer: str) -> str | None:
    """Why ``reviewer`` may not decide ``r``, by the ledger's own check; None when they may."""
    try:
        ledger.may_decide(r, reviewer)
    except ApprovalError as exc:
        return str(exc)
    return None


def _matches(r: ApprovalRequest, filters: dict[str, str]) -> bool:
    if filters["rule"] and filters["rule"] not in _rules(r):
        return False
    if filters["agent"] and filters["agent"] != r.agent:
        return False
    if filters["older"] in AGES:
        return datetime.now(UTC) - datetime.fromisoformat(r.created_at) >= parse_duration(filters["older"])
    return True


def _rules(r: ApprovalRequest) -> Sequence[str]:
    return r.rules


def _decision(ledger: ApprovalLedger, asked: ApprovalRequest, reviewer: str, form: Any) -> Decision:
    kind = form.get("decision")
    if kind == "reject":
        reason, message = (str(form.get(k) or "").strip() or None for k in ("reason", "message"))
        return Decision(type="reject", reviewer=reviewer, reason=reason, message=message)
    if kind != "approve":
        raise ValueError(f"unknown decision {kind!r}")
    schema = ledger.tools[asked.tool].args_schema
    if not any(str(k).startswith("arg.") for k in form.keys()):
        return Decision(type="approve", reviewer=reviewer)
    args = {**asked.args, **parse_fields(schema, form)}
    if same_call(schema, args, asked.args):
        return Decision(type="approve", reviewer=reviewer)
    return Decision(type="edit", reviewer=reviewer, args=args)


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/inbox"


def _sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/inbox/login?{urlencode({'next': target})}", status_code=303)


def _identity(request: Request) -> str | None:
    """The authenticated reviewer's id (the server's auth put it on the request)."""
    user = request.scope.get("user")
    identity = getattr(user, "identity", None)
    permissions = getattr(user, "permissions", []) or []
    return identity if identity and "reviewer" in permissions else None

