"""The inbox's HTML: one card per waiting request, the filters, and the history of decisions.

What a reviewer needs to decide without opening anything else: the customer's message and the
conversation so far, the agent, every rule that fired and why, the amount, how long it has
waited, the thread, and the arguments as an editable form built from the tool's schema. A
request the signed-in reviewer may not decide is shown read-only, with who can decide it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from pydantic import BaseModel

from proctor.approvals.args_form import form_fields
from proctor.approvals.ledger import ApprovalRequest
from proctor.tracing.models import Trace
from proctor.tracing.report import PAGE_CSS
from proctor.tracing.trace_page import TRACE_CSS, conversation

AGES = ("15m", "1h", "4h", "24h")  # "waiting longer than" choices


class Card(BaseModel):
    """A request as the signed-in reviewer sees it."""

    model_config = {"arbitrary_types_allowed": True}

    request: ApprovalRequest
    schema_: type[BaseModel]
    turns: list[Trace] = []
    refusal: str | None = None  # why this reviewer may not decide it (None: they may)
    deciders: list[str] = []  # who may


def inbox_page(reviewer: str, cards: list[Card], filters: dict[str, str], choices: dict[str, list[str]],
               message: str, error: bool, trace_url: str) -> str:  # fmt: skip
    body = "".join(_card(c, trace_url) for c in cards) or '<p class="muted" id="empty">Nothing is waiting.</p>'
    note = f'<p class="msg{" error" if error else ""}" id="msg">{escape(message)}</p>' if message else ""
    mine = sum(c.refusal is None for c in cards)
    return page(
        reviewer,
        "Approval inbox",
        f"<p>{len(cards)} waiting, {mine} for you to decide.</p>{note}{_filters(filters, choices)}{body}",
    )


def history_page(reviewer: str, decided: list[ApprovalRequest]) -> str:
    rows = "".join(
        f'<tr id="{escape(r.id)}"><td>{escape(_when(r.decided_at))}</td><td><code>{escape(r.id)}</code></td>'
        f"<td><code>{escape(r.tool)}</code> {escape(_args(r.decided_args or r.args))}</td>"
        f'<td class="decision {escape(r.status)}">{escape(r.status)}</td><td><b>{escape(r.decided_by or "-")}</b></td>'
        f"<td>{escape(r.reason or '')}</td><td>{escape(_rules(r))}</td><td>{escape(r.agent)}</td>"
        f"<td>{escape(r.requester or '-')}</td><td>{escape(_age(r.created_at, r.decided_at))}</td></tr>"
        for r in decided
    ) or '<tr><td colspan="10">No decisions yet.</td></tr>'
    table = (
        '<table id="history"><tr><th>decided (UTC)</th><th>request</th><th>call</th><th>decision</th><th>by</th>'
        f"<th>reason</th><th>rules</th><th>agent</th><th>requester</th><th>waited</th></tr>{rows}</table>"
    )
    return page(reviewer, "Decisions", table)


def _card(c: Card, trace_url: str) -> str:
    r, rid = c.request, escape(c.request.id)
    amount = f'<span class="amount">{r.amount:.2f} {escape(r.currency or "")}</span>' if r.amount is not None else ""
    customer = next((t.input for t in reversed(c.turns) if t.input), "")
    trace = f' · <a href="{escape(trace_url.format(quote(r.trace_id)))}">trace</a>' if r.trace_id else ""
    said = f'<blockquote class="said">{escape(customer)}</blockquote>' if customer else ""
    earlier = (
        f"<details><summary>Conversation so far ({len(c.turns)} run{'s' * (len(c.turns) != 1)})</summary>"
        f"{conversation(c.turns)}</details>"
        if c.turns
        else '<p class="muted">No trace of this thread.</p>'
    )
    return f"""<section class="request{' read-only' if c.refusal else ''}" id="{rid}" data-rule="{escape(r.rule or '')}">
<header><b><code>{escape(r.tool)}</code></b> {amount}<span class="muted">waiting {escape(_age(r.created_at))}</span></header>
<p class="facts">agent <b>{escape(r.agent)}</b> · requested by <b>{escape(r.requester or 'anonymous')}</b>
 · thread <code>{escape(r.thread_id)}</code>{trace} · <code>{rid}</code></p>
<p class="why"><span class="rule">{escape(_rules(r))}</span> {escape(r.why or '')}</p>
<h3>The customer's message</h3>{said or '<p class="muted">unknown</p>'}{earlier}
{_decide(c) if c.refusal is None else _read_only(c)}</section>"""


def _decide(c: Card) -> str:
    rid = escape(c.request.id)
    return f"""<form class="decide" method="post" action="/inbox/{rid}/decide">
<h3>Arguments</h3>{form_fields(c.schema_, c.request.args)}
<div class="buttons"><button class="approve" name="decision" value="approve">Approve as shown</button>
<span class="muted">change a field to approve the edited call</span></div>
<div class="buttons"><input type="text" name="reason" placeholder="why (kept in the record)">
<input type="text" name="message" placeholder="what the customer is told (optional)">
<button class="reject" name="decision" value="reject">Reject</button></div></form>"""


def _read_only(c: Card) -> str:
    who = ", ".join(c.deciders) or "no reviewer in the policy"
    return (
        f'<h3>Arguments</h3>{form_fields(c.schema_, c.request.args, disabled=True)}'
        f'<p class="readonly-note">Read-only for you: {escape(c.refusal or "")}. Who can decide: <b>{escape(who)}</b>.</p>'
    )


def _filters(filters: dict[str, str], choices: dict[str, list[str]]) -> str:
    def select(name: str, label: str, options: list[str], any_label: str) -> str:
        items = "".join(
            f'<option value="{escape(o)}"{" selected" if filters.get(name) == o else ""}>{escape(o)}</option>'
            for o in options
        )
        return f'<label>{label} <select name="{name}"><option value="">{any_label}</option>{items}</select></label>'

    return (
        '<form class="filters" method="get" action="/inbox">'
        + select("rule", "rule", choices.get("rule", []), "any")
        + select("agent", "agent", choices.get("agent", []), "any")
        + select("older", "waiting longer than", list(AGES), "any time")
        + "<button>Filter</button></form>"
    )


def _rules(r: ApprovalRequest) -> str:
    return ", ".join(r.rules) or "-"


def _args(args: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())


def _when(moment: str | None) -> str:
    return moment[:19].replace("T", " ") if moment else "-"


def _age(since: str, until: str | None = None) -> str:
    end = datetime.fromisoformat(until) if until else datetime.now(UTC)
    minutes = max(0, int((end - datetime.fromisoformat(since)).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days"


_CSS = (
    PAGE_CSS
    + TRACE_CSS
    + """
nav{margin-bottom:.6rem}header{display:flex;gap:.8rem;align-items:baseline;flex-wrap:wrap}
.request{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:.8rem 1rem;margin:.8rem 0;max-width:64rem}
.request.read-only{background:#f9fafb;border-style:dashed}.request h3{font-size:13px;margin:.6rem 0 .2rem;color:#374151}
.amount{font-size:18px;font-weight:700}.rule{background:#fee2e2;border-radius:3px;padding:0 .35rem;font-weight:600}
.said{margin:.2rem 0;padding:.5rem .8rem;background:#eff6ff;border-left:4px solid #3b82f6;white-space:pre-wrap}
.args{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.5rem}
.arg{display:flex;flex-direction:column;font-size:13px}.arg small{color:#6b7280}
.arg input,.arg select,.arg textarea{font:inherit;padding:.25rem;border:1px solid #d1d5db;border-radius:4px}
.buttons{margin-top:.6rem;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}.buttons input{width:22rem}
button{font:inherit;padding:.3rem .8rem;border-radius:4px;border:1px solid #9ca3af;background:#f3f4f6;cursor:pointer}
button.approve{background:#16a34a;color:#fff;border-color:#15803d}button.reject{background:#fff;color:#b91c1c;border-color:#b91c1c}
.readonly-note{background:#fef3c7;padding:.4rem .6rem;border-radius:4px}
.msg{background:#ecfdf5;border:1px solid #a7f3d0;padding:.5rem .8rem;max-width:62rem}
.msg.error{background:#fef2f2;border-color:#fecaca;color:#991b1b}
.filters{display:flex;gap:.8rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}
.decision.rejected{color:#b91c1c}.decision.approved,.decision.edited{color:#15803d}
#history td,#history th{text-align:left}details summary{cursor:pointer;color:#1d4ed8;margin:.3rem 0}
"""
)
_NAV = (
    '<nav><a href="/inbox">Approval inbox</a> · <a href="/inbox/history">Decisions</a> · '
    '<a href="/dashboard">Dashboard</a> · <a href="/dashboard/traces">Traces</a></nav>'
)


def page(who: str, title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>proctor: {escape(title)}</title>
<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>
<p class="muted">Signed in as <b id="who">{escape(who)}</b></p>{_NAV}{body}</body></html>"""


def login_page(target: str) -> str:
    return page("nobody", "Sign in", f"""<form method="post" action="/inbox/login?next={quote(target, safe='/')}">
<label>Your token <input type="password" name="token" id="token"></label>
<button type="submit" id="sign-in">Sign in</button></form>""").replace(
        '<p class="muted">Signed in as <b id="who">nobody</b></p>', ""
    )

