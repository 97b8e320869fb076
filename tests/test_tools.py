"""The reference desk: deterministic seed, typed preconditions, exactly-once writes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import ValidationError

from proctor.context import Requester, RunContext
from proctor.db import Database
from proctor.desk import load_desk
from proctor.errors import NotFound, PreconditionFailed
from proctor.toolkit import execute_once
from proctor.tools import MIGRATIONS, TOOLS, prepare_desk, seed_desk
from proctor.tools.account import ACCOUNT_TOOLS
from proctor.tools.billing import BILLING_TOOLS
from proctor.tools.orders import ORDERS_TOOLS
from proctor.tools.seed import KB_ARTICLES_PATH, TABLES, load_articles
from proctor.tools.support import SUPPORT_TOOLS

SPECS = {spec.name: spec for spec in TOOLS}
HINTS = load_desk("proctor.agents").offline_hints()
SCOPES = {
    "billing:read", "billing:write", "orders:read", "orders:write", "account:read", "account:write",
    "kb:read", "tickets:read", "tickets:write", "comms:write",
}  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded desk per module; each test works on its own copy."""
    folder = tmp_path_factory.mktemp("desk")
    prepare_desk(Database(f"sqlite:///{folder}/seeded.sqlite"))
    with sqlite3.connect(folder / "seeded.sqlite") as conn:  # one self-contained file, nothing in a WAL
        conn.execute("VACUUM INTO ?", (str(folder / "d.sqlite"),))
    return folder / "d.sqlite"


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Database:
    shutil.copy(template, tmp_path / "d.sqlite")
    return Database(f"sqlite:///{tmp_path}/d.sqlite")


def run(db: Database, name: str, **args: Any) -> dict[str, Any]:
    """Call a tool function directly, the way toolkit does: inside one transaction."""
    spec = SPECS[name]
    with db.transaction() as conn:
        return spec.fn(conn, spec.args_schema(**args))


def value(db: Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return next(iter(db.query(sql, params)[0].values()))


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.reading() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES}


def duplicate_invoice(db: Database, below_100: bool) -> str:
    op = "<" if below_100 else ">="
    return value(
        db,
        "SELECT i.id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        f" WHERE i.amount_cents {op} 10000 GROUP BY i.id HAVING COUNT(*) = 2 ORDER BY i.id",
    )


def order_with(db: Database, where: str) -> str:
    return str(value(db, f"SELECT id FROM orders WHERE {where} ORDER BY id"))


def tool_graph(tool: Any) -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([tool]))
    graph.add_edge(START, "tools")
    return graph.compile()


# Tool semantics are tested as staff holding every scope (ownership: tests/test_ownership.py).
TESTER = Requester(id="desk-tests", kind="staff", roles=frozenset(s for t in TOOLS for s in t.scopes))


def call(graph: Any, name: str, args: dict[str, Any], call_id: str = "c1") -> ToolMessage:
    message = AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])
    context = RunContext(requester=TESTER, thread_id="t")
    out = graph.invoke({"messages": [message]}, {"configurable": {"thread_id": "t"}}, context=context)
    return out["messages"][-1]


# --- seed -------------------------------------------------------------------------------


def test_seed_is_deterministic_per_seed(tmp_path: Path, db: Database) -> None:
    again = Database(f"sqlite:///{tmp_path}/again.sqlite")
    prepare_desk(again, seed=7)
    other = Database(f"sqlite:///{tmp_path}/other.sqlite")
    prepare_desk(other, seed=8)
    assert dump(again) == dump(db)
    assert dump(other)["customers"] != dump(db)["customers"]


def test_seed_sizes_and_consistency(db: Database) -> None:
    counts = {t: value(db, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    assert counts["customers"] == counts["workspaces"] == counts["subscriptions"] == 300
    assert counts["orders"] == 1200
    assert counts["kb_articles"] >= 40 and counts["tickets"] > 0
    assert {r["status"] for r in db.query("SELECT DISTINCT status FROM orders")} == {
        "pending", "processing", "shipped", "delivered", "cancelled",
    }  # fmt: skip
    per_workspace = db.query(
        "SELECT COUNT(*) n, SUM(role = 'owner') owners FROM workspace_members GROUP BY workspace_id"
    )
    assert all(1 <= w["n"] <= 5 and w["owners"] >= 1 for w in per_workspace)
    # Every order has one invoice for its total (shipping included); shipped ones have a shipment.
    priced = (
        "SELECT COUNT(*) FROM orders o JOIN invoices i ON i.order_id = o.id"
        " WHERE i.amount_cents = o.total_cents"
    )
    assert value(db, priced) == 1200
    assert (
        value(db, "SELECT COUNT(*) FROM orders WHERE status IN ('shipped', 'delivered')")
        == counts["shipments"]
    )
    doubled = db.query(
        "SELECT i.amount_cents FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " GROUP BY i.id HAVING COUNT(*) = 2 AND SUM(p.amount_cents) = 2 * i.amount_cents"
    )
    amounts = [d["amount_cents"] for d in doubled]
    assert len(amounts) >= 20 and min(amounts) < 10000 < max(amounts) and len(set(amounts)) >= 8
    assert value(db, "SELECT MAX(created_at) FROM orders") <= "2026-11-20"
    assert value(db, "SELECT COUNT(*) FROM invoices i JOIN customers c ON c.id = i.customer_id"
                     " WHERE c.status = 'closed' AND i.status = 'open'") == 0  # fmt: skip


def test_the_knowledge_base_is_seeded_from_its_data_file(db: Database) -> None:
    """``kb_articles.toml`` is the knowledge base: every article, in file order, each body one paragraph."""
    articles = load_articles(KB_ARTICLES_PATH)
    rows = db.query("SELECT id, title, tags, body FROM kb_articles ORDER BY rowid")
    assert [tuple(r[k] for k in ("id", "title", "tags", "body")) for r in rows] == [tuple(a) for a in articles]
    assert [a.id for a in articles] == [f"KB-{n:03d}" for n in range(1, len(articles) + 1)]
    assert all(a.title and a.tags and a.body and "\n" not in a.body and "  " not in a.body for a in articles)


def test_seed_and_prepare_are_idempotent(db: Database) -> None:
    before = dump(db)
    prepare_desk(db)
    counts = seed_desk(db, seed=99)
    assert dump(db) == before
    assert counts["customers"] == 300 and counts["orders"] == 1200
    assert {m.component for m in MIGRATIONS} == {"proctor", "desk"}


# --- declarations -----------------------------------------------------------------------


def test_tools_are_declared_for_the_model() -> None:
    modules = [BILLING_TOOLS, ORDERS_TOOLS, ACCOUNT_TOOLS, SUPPORT_TOOLS]
    assert len(TOOLS) == sum(map(len, modules)) == len(SPECS)
    for module in modules:
        in_order = [s for s in TOOLS if s in module]
        effects = [s.effect for s in in_order]
        assert effects == sorted(effects, key=lambda e: e == "write")
    for spec in TOOLS:
        assert spec.scopes <= SCOPES and len(spec.description) > 60
        assert HINTS[spec.name] and all(i == i.lower() for i in HINTS[spec.name])  # the offline model's
        for name, field in spec.args_schema.model_fields.items():
            if name.endswith("_id") or "email" in name:
                assert any(getattr(m, "pattern", None) for m in field.metadata), (spec.name, name)
    assert SPECS["send_email"].scopes == {"comms:write"}


def test_read_tools_answer_with_a_summary(db: Database) -> None:
    invoice = duplicate_invoice(db, below_100=True)
    found = run(db, "get_invoice", invoice_id=invoice)
    assert found["duplicate_charge"] and found["payment_count"] == 2
    assert found["amount_paid"] == 2 * found["amount"] == found["refundable"]
    assert f"${found['amount']:.2f}" in found["summary"] and "twice" in found["summary"]
    customer = run(db, "get_customer", customer_id=found["customer_id"])
    assert customer["workspace_id"] and customer["workspaces"][0]["members"]
    by_email = run(db, "get_customer", email=customer["email"].upper())
    assert by_email["customer_id"] == customer["customer_id"]
    member = db.query(
        "SELECT workspace_id, email FROM workspace_members WHERE role = 'viewer' ORDER BY 1, 2"
    )[0]
    owner = run(db, "get_customer", email=member["email"])
    assert (
        owner["workspace_id"] == member["workspace_id"]
        and f"{member['email']} is a member" in owner["summary"]
    )
    order = run(db, "get_order", order_id=order_with(db, "status = 'shipped'"))
    assert order["shipment"]["tracking_number"] in order["summary"]
    assert order["total"] > order["shipping_fee"] >= 0
    reads = [
        run(db, "list_invoices", customer_id=found["customer_id"]),
        run(db, "get_article", article_id="KB-001"),
        run(db, "ticket_history", customer_id=value(db, "SELECT customer_id FROM tickets ORDER BY id")),
    ]
    assert all(r["summary"] for r in [found, customer, order, *reads])
    assert invoice in reads[0]["summary"]


def test_search_kb_ranks_and_cites(db: Database) -> None:
    hits = run(db, "search_kb", query="I was charged twice for the same invoice, can I get a refund?")
    assert len(hits["articles"]) == 3
    top = hits["articles"][0]
    assert "Duplicate" in top["title"] and f"[{top['article_id']}] {top['title']}" in hits["summary"]
    assert run(db, "search_kb", query="How many days do I have to return a device?")["articles"][0][
        "title"
    ].startswith("Returns policy")
    assert run(db, "search_kb", query="xyzzy plugh")["articles"] == []


# --- typed errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "named"),
    [
        ("get_invoice", {"invoice_id": "INV-99999"}, "INV-99999"),
        ("get_order", {"order_id": "99999"}, "99999"),
        ("get_customer", {"customer_id": "CUS-9999"}, "CUS-9999"),
        ("get_customer", {"email": "nobody@nowhere.com"}, "nobody@nowhere.com"),
        (
            "change_user_role",
            {"workspace_id": "WS-9999", "user_email": "a@b.com", "role": "admin"},
            "WS-9999",
        ),
        ("get_article", {"article_id": "KB-999"}, "KB-999"),
        ("ticket_history", {"customer_id": "CUS-9999"}, "CUS-9999"),
        (
            "send_email",
            {"to_email": "stranger@nowhere.com", "subject": "Hello", "body": "x"},
            "stranger@nowhere.com",
        ),
    ],
)
def test_unknown_ids_are_not_found(db: Database, name: str, args: dict[str, Any], named: str) -> None:
    with pytest.raises(NotFound, match=named):
        run(db, name, **args)


def test_refund_preconditions(db: Database) -> None:
    open_invoice = value(db, "SELECT id FROM invoices WHERE status = 'open' ORDER BY id")
    with pytest.raises(PreconditionFailed, match="not been paid"):
        run(db, "refund_invoice", invoice_id=open_invoice, amount=1, reason="test")
    void_invoice = value(db, "SELECT id FROM invoices WHERE status = 'void' ORDER BY id")
    with pytest.raises(PreconditionFailed, match="void"):
        run(db, "refund_invoice", invoice_id=void_invoice, amount=1, reason="test")
    paid = run(db, "get_invoice", invoice_id=duplicate_invoice(db, below_100=False))
    with pytest.raises(PreconditionFailed, match=rf"at most \${paid['refundable']:,.2f} is refundable"):
        run(
            db,
            "refund_invoice",
            invoice_id=paid["invoice_id"],
            amount=paid["refundable"] + 0.01,
            reason="test",
        )


def test_refunds_never_exceed_what_was_paid(db: Database) -> None:
    invoice = run(db, "get_invoice", invoice_id=duplicate_invoice(db, below_100=True))
    first = run(
        db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=invoice["amount"], reason="duplicate"
    )
    assert first["refundable"] == invoice["amount"]
    purchase = invoice["payments"][0]["payment_id"]
    for amount in (invoice["amount"] / 2, invoice["amount"] / 2):
        run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=amount, reason="rest", payment_id=purchase)
    for payment in (None, purchase):
        with pytest.raises(PreconditionFailed, match=r"at most \$0.00"):
            run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=0.01, reason="more", payment_id=payment)
    refunded = value(
        db, "SELECT SUM(amount_cents) FROM refunds WHERE invoice_id = ?", (invoice["invoice_id"],)
    )
    assert refunded == round(invoice["amount_paid"] * 100)


def test_a_duplicate_refund_reverses_the_duplicate_payment_once(db: Database) -> None:
    """A retry of "refund the duplicate" (after a crash, or in a new conversation) finds it done."""
    invoice = run(db, "get_invoice", invoice_id=duplicate_invoice(db, below_100=True))
    purchase, duplicate = (p["payment_id"] for p in invoice["payments"])
    done = run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=invoice["amount"], reason="duplicate")
    reversed_ = value(db, "SELECT payment_id FROM refunds WHERE id = ?", (done["refund_id"],))
    assert f"PAY-{reversed_}" == duplicate
    again = run(db, "get_invoice", invoice_id=invoice["invoice_id"])
    assert "extra was already refunded" in again["summary"]
    assert [p["refunded"] for p in again["payments"]] == [0.0, invoice["amount"]]
    with pytest.raises(PreconditionFailed, match=rf"already refunded .*refund #{done['refund_id']}.*{purchase}"):
        run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=invoice["amount"], reason="duplicate")
    with pytest.raises(PreconditionFailed, match="never refunded twice"):
        run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=1.0, reason="again", payment_id=duplicate)
    with pytest.raises(NotFound, match="No payment PAY-999999"):
        run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=1.0, reason="again", payment_id="PAY-999999")
    count = value(db, "SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice["invoice_id"],))
    assert count == 1


def test_one_refund_larger_than_the_duplicate_reaches_the_purchase(db: Database) -> None:
    invoice = run(db, "get_invoice", invoice_id=duplicate_invoice(db, below_100=True))
    done = run(db, "refund_invoice", invoice_id=invoice["invoice_id"], amount=invoice["amount_paid"], reason="all")
    assert done["refundable"] == 0
    rows = db.query("SELECT payment_id, amount_cents FROM refunds WHERE invoice_id = ? ORDER BY id", (invoice["invoice_id"],))
    assert [f"PAY-{r['payment_id']}" for r in rows] == [p["payment_id"] for p in reversed(invoice["payments"])]


def test_shipping_fee_is_refunded_once(db: Database) -> None:
    order = order_with(db, "status = 'delivered' AND shipping_fee_cents > 0")
    done = run(db, "refund_shipping_fee", order_id=order, reason="late delivery")
    assert done["amount"] == run(db, "get_order", order_id=order)["shipping_fee"]
    with pytest.raises(PreconditionFailed, match="already refunded"):
        run(db, "refund_shipping_fee", order_id=order, reason="again")
    with pytest.raises(PreconditionFailed, match="shipped free"):
        run(db, "refund_shipping_fee", order_id=order_with(db, "shipping_fee_cents = 0"), reason="x-free")
    with pytest.raises(PreconditionFailed, match="void"):
        run(
            db,
            "refund_shipping_fee",
            order_id=order_with(db, "status = 'cancelled' AND shipping_fee_cents > 0"),
            reason="cancelled",
        )


def test_credit_and_plan_rules(db: Database) -> None:
    with pytest.raises(ValidationError, match="less than or equal to 500"):
        run(db, "issue_credit", customer_id="CUS-0001", amount=500.01, reason="too generous")
    closed = value(db, "SELECT id FROM customers WHERE status = 'closed' ORDER BY id")
    with pytest.raises(PreconditionFailed, match="closed"):
        run(db, "issue_credit", customer_id=closed, amount=10, reason="goodwill")
    credit = run(db, "issue_credit", customer_id="CUS-0001", amount=12.5, reason="outage")
    assert "$12.50" in credit["summary"]
    plan = run(db, "get_customer", customer_id="CUS-0001")["plan"]
    with pytest.raises(PreconditionFailed, match="already on"):
        run(db, "change_plan", customer_id="CUS-0001", plan_code=plan)
    new = "enterprise" if plan != "enterprise" else "starter"
    assert run(db, "change_plan", customer_id="CUS-0001", plan_code=new)["previous_plan"] == plan
    assert run(db, "get_customer", customer_id="CUS-0001")["plan"] == new


def test_order_preconditions(db: Database) -> None:
    with pytest.raises(PreconditionFailed, match="start_return"):
        run(db, "cancel_order", order_id=order_with(db, "status = 'shipped'"), reason="changed mind")
    pending = order_with(db, "status = 'pending'")
    assert run(db, "cancel_order", order_id=pending, reason="ordered twice")["previous_status"] == "pending"
    with pytest.raises(PreconditionFailed, match="already cancelled"):
        run(db, "cancel_order", order_id=pending, reason="again")
    address = "12 Main St, Springfield, IL 62701"
    with pytest.raises(PreconditionFailed, match="before the order ships"):
        run(db, "change_shipping_address", order_id=order_with(db, "status = 'shipped'"), address=address)
    processing = order_with(db, "status = 'processing'")
    run(db, "change_shipping_address", order_id=processing, address=address)
    assert run(db, "get_order", order_id=processing)["shipping_address"] == address


def test_return_window_and_once_per_order(db: Database) -> None:
    with pytest.raises(PreconditionFailed, match="cancel_order"):
        run(db, "start_return", order_id=order_with(db, "status = 'pending'"), reason="not needed")
    old = order_with(db, "status = 'delivered' AND delivered_at < '2026-10-21'")
    with pytest.raises(PreconditionFailed, match="window closed"):
        run(db, "start_return", order_id=old, reason="not needed")
    recent = order_with(
        db,
        "status = 'delivered' AND delivered_at >= '2026-10-21' AND id NOT IN (SELECT order_id FROM returns)",
    )
    assert run(db, "start_return", order_id=recent, reason="defective")["status"] == "requested"
    with pytest.raises(PreconditionFailed, match="only once"):
        run(db, "start_return", order_id=recent, reason="again")


def test_account_preconditions(db: Database) -> None:
    for both_or_neither in ({"customer_id": "CUS-0001", "email": "a@b.com"}, {}):
        with pytest.raises(ValidationError, match="exactly one of customer_id"):
            run(db, "get_customer", **both_or_neither)
    sole = db.query(
        "SELECT workspace_id, email FROM workspace_members WHERE role = 'owner' AND workspace_id IN"
        " (SELECT workspace_id FROM workspace_members GROUP BY workspace_id"
        "  HAVING SUM(role = 'owner') = 1 AND COUNT(*) > 1) ORDER BY workspace_id"
    )[0]
    with pytest.raises(PreconditionFailed, match="only owner"):
        run(db, "change_user_role", workspace_id=sole["workspace_id"], user_email=sole["email"], role="admin")
    with pytest.raises(NotFound, match="not a member"):
        run(db, "change_user_role", workspace_id=sole["workspace_id"], user_email="ghost@x.com", role="admin")
    other = value(
        db,
        "SELECT email FROM workspace_members WHERE workspace_id = ? AND role != 'owner'",
        (sole["workspace_id"],),
    )
    run(db, "change_user_role", workspace_id=sole["workspace_id"], user_email=other, role="owner")
    run(db, "change_user_role", workspace_id=sole["workspace_id"], user_email=sole["email"], role="admin")
    owing = value(db, "SELECT customer_id FROM invoices WHERE status = 'open' ORDER BY id")
    with pytest.raises(PreconditionFailed, match="open invoice"):
        run(db, "close_account", customer_id=owing, reason="leaving")


def test_close_account_and_outbox(db: Database) -> None:
    customer = value(
        db, "SELECT id FROM customers WHERE status = 'active' AND id NOT IN"
        " (SELECT customer_id FROM invoices WHERE status = 'open') ORDER BY id"
    )  # fmt: skip
    run(db, "close_account", customer_id=customer, reason="moving on")
    closed = run(db, "get_customer", customer_id=customer)
    assert closed["status"] == "closed" and closed["subscription_status"] == "cancelled"
    with pytest.raises(PreconditionFailed, match="closed accounts"):
        run(db, "send_password_reset", email=closed["email"])
    with pytest.raises(NotFound):
        run(db, "send_password_reset", email="nobody@nowhere.com")
    active = run(db, "get_customer", customer_id="CUS-0002")["email"]
    run(db, "send_password_reset", email=active)
    run(db, "send_email", to_email=active, subject="Your refund", body="It is on its way.")
    assert [r["subject"] for r in db.query("SELECT subject FROM email_outbox ORDER BY id")] == [
        "Reset your password", "Your refund",
    ]  # fmt: skip


def test_create_ticket_numbers_in_sequence(db: Database) -> None:
    last = value(db, "SELECT MAX(id) FROM tickets")
    first = run(
        db,
        "create_ticket",
        customer_id="CUS-0001",
        subject="Hub offline",
        body="Since Monday.",
        priority="high",
    )
    second = run(
        db, "create_ticket", customer_id="CUS-0001", subject="Still offline", body="Help.", escalate=True
    )
    assert first["ticket_id"] == f"TCK-{int(last[4:]) + 1:05d}"
    assert second["ticket_id"] == f"TCK-{int(last[4:]) + 2:05d}" and second["escalated"]
    assert first["ticket_id"] in run(db, "ticket_history", customer_id="CUS-0001")["summary"]


# --- through LangGraph: exactly once, validation, atomicity ------------------------------


def test_replayed_tool_call_refunds_once(db: Database) -> None:
    invoice = duplicate_invoice(db, below_100=False)
    amount = run(db, "get_invoice", invoice_id=invoice)["amount"]
    tool = SPECS["refund_invoice"].bind(db)
    graph = tool_graph(tool)
    args = {"invoice_id": invoice, "amount": amount, "reason": "duplicate charge"}
    first, again = call(graph, tool.name, args), call(graph, tool.name, args)
    assert first.status == again.status == "success" and '"replayed": true' in again.content
    assert value(db, "SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice,)) == 1
    assert value(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'refund_invoice'") == 1
    # A new call is a new decision, but the duplicate it would reverse is already reversed.
    with pytest.raises(PreconditionFailed, match="already refunded"):
        call(graph, tool.name, args, call_id="c2")
    assert value(db, "SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice,)) == 1


@pytest.mark.parametrize(
    "args",
    [
        {"invoice_id": "10062", "amount": 19.0, "reason": "dup"},
        {"invoice_id": "INV-10062", "amount": -19.0, "reason": "dup"},
        {"invoice_id": "INV-10062", "amount": "lots", "reason": "dup"},
        {"invoice_id": "INV-10062", "amount": 19.0},
    ],
)
def test_malformed_args_are_rejected_without_effect(db: Database, args: dict[str, Any]) -> None:
    before = dump(db)
    tool = SPECS["refund_invoice"].bind(db)
    message = call(tool_graph(tool), tool.name, args)
    assert message.status == "error"
    assert dump(db) == before
    assert value(db, "SELECT COUNT(*) FROM tool_effects") == value(db, "SELECT COUNT(*) FROM audit_log") == 0


def test_failed_write_leaves_no_partial_rows(db: Database) -> None:
    spec = SPECS["refund_invoice"]
    invoice = run(db, "get_invoice", invoice_id=duplicate_invoice(db, below_100=True))
    too_much = spec.args_schema(
        invoice_id=invoice["invoice_id"], amount=invoice["amount_paid"] + 1, reason="x-too"
    )
    with pytest.raises(PreconditionFailed):
        execute_once(db, spec, too_much, "t:c1")
    assert value(db, "SELECT COUNT(*) FROM tool_effects") == value(db, "SELECT COUNT(*) FROM audit_log") == 0
    # Two writes in one transaction: the second fails, so the first is rolled back too.
    ok = spec.args_schema(invoice_id=invoice["invoice_id"], amount=invoice["amount"], reason="duplicate")
    with pytest.raises(PreconditionFailed), db.transaction() as conn:
        spec.fn(conn, ok)
        spec.fn(conn, too_much)
    assert value(db, "SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice["invoice_id"],)) == 0


def test_schema_rejects_impossible_rows(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute(
            "INSERT INTO refunds (invoice_id, amount_cents, reason, created_at)"
            " VALUES ('INV-10001', -5, 'x', '2026-11-20')"
        )
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute("UPDATE orders SET status = 'lost' WHERE id = 1001")
