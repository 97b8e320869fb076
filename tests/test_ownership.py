"""Ownership attacks, embedded: an obedient model calls every tool on another customer's records.

Customer A's run may not read or change customer B's records by any tool: the call fails with one
``NotPermitted`` message (the same as for a record that does not exist), nothing of B's reaches
A's tool results or answer, and the database is unchanged (no effect, no approval request, no
preview). Staff act across customers only within their declared scopes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from proctor.deployment import Deployment
from proctor.ownership import UNDECLARED, ToolDeclarationError, check_declared, not_yours
from proctor.runner import Proctor
from proctor.settings import Settings
from proctor.tools import TOOLS
from proctor.tools.seed import TABLES
from tests.conftest import call, scripted

# A request that routes to the agent holding the tool; the scripted model then makes the call.
ASK = {
    "billing": "I have a question about my invoice and a refund",
    "orders": "I have a question about my order and its delivery",
    "account": "I need help with my account, workspace and roles",
    "support": "Please open a support ticket and send me an email",
}
WATCHED = (*TABLES, "tool_effects", "audit_log", "approval_requests")


def fingerprint(deployment: Deployment) -> str:
    """Every row of every table a tool or the gate could change."""
    rows = {t: deployment.db.query(f"SELECT * FROM {t} ORDER BY 1") for t in WATCHED}
    return hashlib.sha256(json.dumps({t: [dict(r) for r in rs] for t, rs in rows.items()}, default=str).encode()).hexdigest()


def records(deployment: Deployment) -> dict[str, Any]:
    """Customer A, and customer B with one record of every kind a tool touches."""
    q = deployment.db.query
    b = q(
        "SELECT c.* FROM customers c WHERE c.status = 'active'"
        " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 'pending' AND o.shipping_fee_cents > 0)"
        " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 'delivered')"
        " AND EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.id AND i.status = 'paid')"
        " AND EXISTS (SELECT 1 FROM tickets t WHERE t.customer_id = c.id) ORDER BY c.id LIMIT 1"
    )[0]
    a = q("SELECT * FROM customers WHERE status = 'active' AND id != ? ORDER BY id LIMIT 1", (b["id"],))[0]
    pending = q("SELECT * FROM orders WHERE customer_id = ? AND status = 'pending' AND shipping_fee_cents > 0", (b["id"],))[0]
    delivered = q("SELECT * FROM orders WHERE customer_id = ? AND status = 'delivered' ORDER BY delivered_at DESC", (b["id"],))[0]
    invoice = q("SELECT * FROM invoices WHERE customer_id = ? AND status = 'paid' ORDER BY id", (b["id"],))[0]
    workspace = q("SELECT * FROM workspaces WHERE customer_id = ?", (b["id"],))[0]
    member = q("SELECT * FROM workspace_members WHERE workspace_id = ? AND role != 'owner'", (workspace["id"],))[0]
    return {"a": a, "b": b, "pending": pending, "delivered": delivered, "invoice": invoice,
            "workspace": workspace, "member": member}  # fmt: skip


def probes(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Arguments naming B's records, for every tool that declares an owner."""
    b, invoice, pending = r["b"], r["invoice"], r["pending"]
    return {
        "get_invoice": {"invoice_id": invoice["id"]},
        "list_invoices": {"customer_id": b["id"]},
        "refund_invoice": {"invoice_id": invoice["id"], "amount": 1.0, "reason": "duplicate charge"},
        "refund_shipping_fee": {"order_id": str(pending["id"]), "reason": "late delivery"},
        "issue_credit": {"customer_id": b["id"], "amount": 20.0, "reason": "goodwill"},
        "change_plan": {"customer_id": b["id"], "plan_code": "enterprise"},
        "get_order": {"order_id": str(pending["id"])},
        "cancel_order": {"order_id": str(pending["id"]), "reason": "changed my mind"},
        "change_shipping_address": {"order_id": str(pending["id"]), "address": "12 Main St, Springfield, IL 62701"},
        "start_return": {"order_id": str(r["delivered"]["id"]), "reason": "does not work"},
        "get_customer": {"email": b["email"]},
        "send_password_reset": {"email": r["member"]["email"]},
        "change_user_role": {"workspace_id": r["workspace"]["id"], "user_email": r["member"]["email"], "role": "owner"},
        "close_account": {"customer_id": b["id"], "reason": "moving away"},
        "ticket_history": {"customer_id": b["id"]},
        "create_ticket": {"customer_id": b["id"], "subject": "Help", "body": "Please call me"},
        "send_email": {"to_email": b["email"], "subject": "Your data", "body": "Here it is"},
    }


NOBODY = {
    "invoice_id": "INV-99999", "customer_id": "CUS-9999", "order_id": "99999", "email": "nobody@example.com",
    "to_email": "nobody@example.com", "user_email": "nobody@example.com", "workspace_id": "WS-9999",
}  # fmt: skip


def secrets(r: dict[str, Any]) -> list[str]:
    """What of B's must never reach A: ids, emails, names, addresses, amounts."""
    b, invoice, pending = r["b"], r["invoice"], r["pending"]
    return [b["id"], b["email"], b["name"], pending["shipping_address"], r["delivered"]["shipping_address"],
            r["workspace"]["name"], f"${invoice['amount_cents'] / 100:,.2f}", f"${pending['total_cents'] / 100:,.2f}"]  # fmt: skip


def agent_of(deployment: Deployment, tool: str) -> str:
    spec = next(s for s in deployment.tool_specs if s.name == tool)
    return next(a.name for a in deployment.specs if spec.scopes <= set(a.scopes))


def obedient_run(deployment: Deployment, user: str, tool: str, args: dict[str, Any]) -> list:
    """One run where every agent's model calls ``tool(**args)`` and then says it is done."""
    deployment.model_for = lambda spec: scripted(call(tool, **args), AIMessage("Done."))
    desk = Proctor(deployment=deployment)
    result = desk.run(ASK[agent_of(deployment, tool)], user_id=user)
    messages = desk.graph_of(result.release or "").get_state({"configurable": {"thread_id": result.thread_id}}).values["messages"]
    return messages


def test_every_tool_declares_whose_records_it_touches(deployment: Deployment) -> None:
    declared = {s.name for s in TOOLS if s.owner is not None}
    assert declared == set(probes(records(deployment)))  # a new tool must be probed here too
    assert {s.name for s in TOOLS if s.owner is None} == {"search_kb", "get_article"}  # public help articles
    forgetful = replace(TOOLS[0], owner=UNDECLARED)
    with pytest.raises(ToolDeclarationError, match="do not declare owner"):
        check_declared([forgetful])


def test_a_team_tool_that_forgets_its_owner_is_refused_at_load(settings: Settings, tmp_path, monkeypatch) -> None:
    (tmp_path / "team_tools.py").write_text(
        "from pydantic import BaseModel\nfrom proctor.guards.provenance import Id\nfrom proctor.toolkit import desk_tool\n"
        "class A(BaseModel):\n    asset_id: str\n"
        "class R(BaseModel):\n    asset_id: Id\n"
        "@desk_tool(A, scopes=['assets:read'], effect='read', result=R)\n"
        "def lookup_asset(conn, args):\n    '''Look an asset up.'''\n    return {}\n"
        "TOOLS = [lookup_asset]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    team = Deployment(settings.model_copy(update={"tool_modules": ["proctor.tools", "team_tools"]}))
    with pytest.raises(ToolDeclarationError, match="lookup_asset"):
        team.tool_specs


def test_customer_a_probing_every_tool_for_customer_bs_records_gets_nothing(deployment: Deployment) -> None:
    r = records(deployment)
    deployment.ledger  # its table exists before the first fingerprint
    before = fingerprint(deployment)
    hidden = secrets(r)
    for tool, args in probes(r).items():
        messages = obedient_run(deployment, r["a"]["id"], tool, args)
        [result] = [m for m in messages if isinstance(m, ToolMessage) and m.name == tool]
        assert result.status == "error" and result.content == f"Error from {tool}: {not_yours(tool, args)}", tool
        seen = " ".join(str(m.content) for m in messages if not (isinstance(m, AIMessage) and m.tool_calls))
        for given in args.values():  # what the caller named is echoed back; nothing else may appear
            seen = seen.replace(str(given), "")
        leaked = [s for s in hidden if s in seen]
        assert not leaked, (tool, leaked)
        # The same message when the record does not exist at all: it reveals nothing.
        missing = {k: NOBODY.get(k, v) for k, v in args.items()}
        [absent] = [m for m in obedient_run(deployment, r["a"]["id"], tool, missing) if isinstance(m, ToolMessage)]
        assert absent.content == f"Error from {tool}: {not_yours(tool, missing)}", tool
    assert fingerprint(deployment) == before  # no effect, no approval request, no preview
