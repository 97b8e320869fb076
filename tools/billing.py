"""Billing tools: invoices, refunds, shipping-fee refunds, account credits and plan changes."""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, Field

from proctor.errors import PreconditionFailed
from proctor.toolkit import Impact, desk_tool
from proctor.tools import results
from proctor.tools.payments import PAYMENT_ID, Charges, Payment, allocate, charges
from proctor.tools.schema import (
    CUSTOMER_ID,
    CUSTOMER_OWNER,
    INVOICE_OWNER,
    ORDER_OWNER,
    INVOICE_ID,
    ORDER_ID,
    customer_row,
    desk_today,
    dollars,
    order_row,
    plural,
    to_cents,
    usd,
)

READ, WRITE = ["billing:read"], ["billing:write"]
CREDIT_CAP = 500
PlanCode = Literal["starter", "growth", "scale", "enterprise"]


class InvoiceArgs(BaseModel):
    invoice_id: str = Field(pattern=INVOICE_ID, description="The invoice id, like INV-10001.")


class CustomerArgs(BaseModel):
    customer_id: str = Field(pattern=CUSTOMER_ID, description="The customer id, like CUS-0001.")


class RefundArgs(BaseModel):
    invoice_id: str = Field(pattern=INVOICE_ID, description="The invoice id, like INV-10001.")
    amount: float = Field(
        ge=0.01,  # a cent: smaller amounts round to nothing
        description=(
            "Dollars to refund, e.g. 49.0. For a duplicate charge: one charge, "
            "the `amount` get_invoice returns."
        ),
    )
    reason: str = Field(min_length=3, max_length=300, description="Why, in a few words; kept on the refund.")
    payment_id: str | None = Field(
        None,
        pattern=PAYMENT_ID,
        description=(
            "The payment to reverse (PAY-123, from get_invoice's payments). Leave it out for a duplicate "
            "charge: the duplicate is chosen for you."
        ),
    )


class ShippingRefundArgs(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="The order number, like 1042.")
    reason: str = Field(min_length=3, max_length=300, description="Why, in a few words; kept on the refund.")


class CreditArgs(BaseModel):
    customer_id: str = Field(pattern=CUSTOMER_ID, description="The customer id, like CUS-0001.")
    amount: float = Field(ge=0.01, le=CREDIT_CAP, description=f"Dollars of credit, at most {CREDIT_CAP}.")
    reason: str = Field(min_length=3, max_length=300, description="Why, in a few words; kept on the credit.")


class PlanArgs(BaseModel):
    customer_id: str = Field(pattern=CUSTOMER_ID, description="The customer id, like CUS-0001.")
    plan_code: PlanCode = Field(description="The new plan.")


def _invoice_summary(c: Charges) -> str:
    inv = c.invoice
    head = f"Invoice {c.id} ({inv['customer_id']}, issued {inv['issued_at']})"
    if inv["status"] == "open":
        return f"{head} for {usd(inv['amount_cents'])} is open: not paid yet, nothing to refund."
    if inv["status"] == "void":
        return f"{head} for {usd(inv['amount_cents'])} is void: nothing was charged."
    extra = c.paid - inv["amount_cents"]
    times = "twice" if c.payment_count == 2 else f"{c.payment_count} times"
    if c.duplicate and not any(p.room for p in c.duplicates):
        charged = f"was charged {times} ({usd(c.paid)} paid) and the extra was already refunded"
    elif c.duplicate:
        charged = f"was charged {times} ({usd(c.paid)} paid): a duplicate charge of {usd(extra)}"
    else:
        charged = "is paid"
    return (
        f"{head} for {usd(inv['amount_cents'])} {charged}; {usd(c.refunded)} refunded so far, "
        f"{usd(c.refundable)} refundable."
    )


@desk_tool(
    InvoiceArgs,
    scopes=READ,
    effect="read", owner=INVOICE_OWNER,
    result=results.InvoiceResult,
)
def get_invoice(conn: sqlite3.Connection, args: InvoiceArgs) -> dict[str, Any]:
    """Look up one invoice: what was billed, paid and refunded, and whether it was charged twice.

    Use it before any refund on an invoice. Needs the invoice id (INV-10001); if the user
    gave only their customer id, use list_invoices first.
    Returns status (open|paid|void), amount (dollars billed: one charge), amount_paid,
    amount_refunded, refundable (the most refund_invoice will accept), payment_count,
    duplicate_charge (true when paid more than once), payments (each with payment_id, amount,
    paid_at, refunded), customer_id and order_id (for device orders). For a duplicate charge,
    refund exactly `amount` (one charge).
    """
    c = charges(conn, args.invoice_id)
    inv = c.invoice
    return {
        "invoice_id": c.id,
        "customer_id": inv["customer_id"],
        "order_id": str(inv["order_id"]) if inv["order_id"] else None,
        "status": inv["status"],
        "currency": inv["currency"],
        "issued_at": inv["issued_at"],
        "amount": dollars(inv["amount_cents"]),
        "amount_paid": dollars(c.paid),
        "amount_refunded": dollars(c.refunded),
        "refundable": dollars(c.refundable),
        "payment_count": c.payment_count,
        "duplicate_charge": c.duplicate,
        "payments": [
            {"payment_id": p.label, "amount": dollars(p.amount), "paid_at": p.paid_at, "refunded": dollars(p.refunded)}
            for p in c.payments
        ],
        "summary": _invoice_summary(c),
    }


@desk_tool(
    CustomerArgs,
    scopes=READ,
    effect="read", owner=CUSTOMER_OWNER,
    result=results.InvoiceListResult,
)
def list_invoices(conn: sqlite3.Connection, args: CustomerArgs) -> dict[str, Any]:
    """List a customer's invoices, newest first: monthly subscription invoices and device orders.

    Use it to find an invoice id when the user gave only their customer id (CUS-0001), or to
    see what is still open. Returns invoices (invoice_id, status, amount, issued_at, order_id,
    duplicate_charge, amount_refunded), count and open_total (dollars still owed).
    """
    customer_row(conn, args.customer_id)
    rows = conn.execute(
        "SELECT i.*,"
        " (SELECT COUNT(*) FROM payments p WHERE p.invoice_id = i.id) AS payment_count,"
        " (SELECT COALESCE(SUM(r.amount_cents), 0) FROM refunds r WHERE r.invoice_id = i.id) AS refunded"
        " FROM invoices i WHERE i.customer_id = ? ORDER BY i.issued_at DESC, i.id DESC",
        (args.customer_id,),
    ).fetchall()
    invoices = [
        {
            "invoice_id": r["id"],
            "status": r["status"],
            "amount": dollars(r["amount_cents"]),
            "issued_at": r["issued_at"],
            "order_id": str(r["order_id"]) if r["order_id"] else None,
            "duplicate_charge": r["payment_count"] > 1,
            "amount_refunded": dollars(r["refunded"]),
        }
        for r in rows
    ]
    open_ = [r for r in rows if r["status"] == "open"]
    open_total = sum(r["amount_cents"] for r in open_)
    doubled = [r["id"] for r in rows if r["payment_count"] > 1]
    summary = f"{args.customer_id} has {plural(len(rows), 'invoice')}"
    summary += (
        f", {len(open_)} open ({usd(open_total)} due: {', '.join(r['id'] for r in open_)})"
        if open_
        else ", none open"
    )
    summary += f"; charged more than once: {', '.join(doubled)}." if doubled else "."
    return {
        "customer_id": args.customer_id,
        "invoices": invoices,
        "count": len(invoices),
        "open_total": dollars(open_total),
        "summary": summary,
    }


def _refund_plan(conn: sqlite3.Connection, args: RefundArgs) -> tuple[Charges, list[tuple[Payment, int]]]:
    c = charges(conn, args.invoice_id)
    if c.invoice["status"] != "paid":
        why = (
            "it has not been paid yet"
            if c.invoice["status"] == "open"
            else "it is void and nothing was charged"
        )
        raise PreconditionFailed(
            f"Invoice {c.id} is {c.invoice['status']}: {why}, so there is nothing to refund."
        )
    return c, allocate(c, to_cents(args.amount), args.payment_id, "charge")


def _refund_impact(conn: sqlite3.Connection, args: RefundArgs) -> Impact:
    c, plan = _refund_plan(conn, args)
    cents = sum(part for _, part in plan)
    return Impact(amount=dollars(cents), currency=c.invoice["currency"], customer_id=c.invoice["customer_id"])


@desk_tool(
    RefundArgs,
    scopes=WRITE,
    effect="write", owner=INVOICE_OWNER,
    impact=_refund_impact,
    result=results.RefundResult,
)  # fmt: skip
def refund_invoice(conn: sqlite3.Connection, args: RefundArgs) -> dict[str, Any]:
    """Refund part or all of a paid invoice to the original payment method.

    Call get_invoice first. Only a paid invoice can be refunded, and never more than its
    `refundable` (paid minus already refunded). For a duplicate charge refund one charge:
    the invoice's `amount`. For a device order's shipping fee use refund_shipping_fee.
    Returns refund_id, amount (dollars refunded) and refundable (what is left).
    """
    c, plan = _refund_plan(conn, args)
    refund_id = _refund(conn, c.id, plan, "charge", args.reason)
    cents = sum(part for _, part in plan)
    left = c.refundable - cents
    return {
        "refund_id": refund_id,
        "invoice_id": c.id,
        "customer_id": c.invoice["customer_id"],
        "amount": dollars(cents),
        "refundable": dollars(left),
        "summary": (
            f"Refunded {usd(cents)} on invoice {c.id} to the original payment method (refund #{refund_id}); "
            f"{usd(left)} remains refundable."
        ),
    }


def _shipping_plan(
    conn: sqlite3.Connection, args: ShippingRefundArgs
) -> tuple[sqlite3.Row, str, list[tuple[Payment, int]]]:
    order = order_row(conn, args.order_id)
    fee = order["shipping_fee_cents"]
    if fee == 0:
        raise PreconditionFailed(f"Order {order['id']} shipped free: there is no shipping fee to refund.")
    invoice_id = conn.execute("SELECT id FROM invoices WHERE order_id = ?", (order["id"],)).fetchone()["id"]
    done = conn.execute(
        "SELECT id, created_at FROM refunds WHERE invoice_id = ? AND kind = 'shipping'", (invoice_id,)
    ).fetchone()
    if done is not None:
        raise PreconditionFailed(
            f"The {usd(fee)} shipping fee of order {order['id']} was already refunded on "
            f"{done['created_at']} (refund #{done['id']}); it is never refunded twice."
        )
    c = charges(conn, invoice_id)
    if c.invoice["status"] != "paid":
        raise PreconditionFailed(
            f"Invoice {invoice_id} of order {order['id']} is {c.invoice['status']}: nothing was charged, "
            "so there is no shipping fee to refund."
        )
    if fee > c.refundable:
        raise PreconditionFailed(
            f"Only {usd(c.refundable)} of invoice {invoice_id} (order {order['id']}) is still refundable, "
            f"less than its {usd(fee)} shipping fee."
        )
    return order, invoice_id, allocate(c, fee, None, "shipping")


def _shipping_impact(conn: sqlite3.Connection, args: ShippingRefundArgs) -> Impact:
    order, invoice_id, plan = _shipping_plan(conn, args)
    return Impact(amount=dollars(sum(part for _, part in plan)), customer_id=order["customer_id"])


@desk_tool(
    ShippingRefundArgs,
    scopes=WRITE,
    effect="write", owner=ORDER_OWNER,
    impact=_shipping_impact,
    result=results.ShippingRefundResult,
)
def refund_shipping_fee(conn: sqlite3.Connection, args: ShippingRefundArgs) -> dict[str, Any]:
    """Refund the shipping fee of a device order (e.g. a cancelled order or a late delivery).

    Needs the order number (1042). The fee is refunded from the order's paid invoice, at
    most once per order; an order that shipped free has nothing to refund. The amount is
    the order's fee: do not pass one. Returns refund_id, invoice_id and amount (dollars).
    """
    order, invoice_id, plan = _shipping_plan(conn, args)
    refund_id = _refund(conn, invoice_id, plan, "shipping", args.reason)
    fee = sum(part for _, part in plan)
    return {
        "refund_id": refund_id,
        "order_id": str(order["id"]),
        "invoice_id": invoice_id,
        "amount": dollars(fee),
        "summary": (
            f"Refunded the {usd(fee)} shipping fee of order {order['id']} "
            f"(invoice {invoice_id}, refund #{refund_id})."
        ),
    }


def _credit_plan(conn: sqlite3.Connection, args: CreditArgs) -> tuple[sqlite3.Row, int]:
    customer = customer_row(conn, args.customer_id)
    if customer["status"] != "active":
        raise PreconditionFailed(
            f"Customer {customer['id']} is closed: credits can go only to active accounts."
        )
    return customer, to_cents(args.amount)


def _credit_impact(conn: sqlite3.Connection, args: CreditArgs) -> Impact:
    customer, cents = _credit_plan(conn, args)
    return Impact(amount=dollars(cents), customer_id=customer["id"])


@desk_tool(
    CreditArgs,
    scopes=WRITE,
    effect="write", owner=CUSTOMER_OWNER,
    impact=_credit_impact,
    result=results.CreditResult,
)
def issue_credit(conn: sqlite3.Connection, args: CreditArgs) -> dict[str, Any]:
    """Give an active customer an account credit that pays future invoices (goodwill, outage).

    At most $500 per credit; it is not a refund and moves no money back to a card.
    Returns credit_id, amount and credits_total (all credits ever issued to the customer).
    """
    customer, cents = _credit_plan(conn, args)
    credit_id = conn.execute(
        "INSERT INTO credits (customer_id, amount_cents, reason, created_at) VALUES (?, ?, ?, ?)",
        (customer["id"], cents, args.reason, desk_today(conn).isoformat()),
    ).lastrowid
    total = conn.execute(
        "SELECT SUM(amount_cents) FROM credits WHERE customer_id = ?", (customer["id"],)
    ).fetchone()[0]
    return {
        "credit_id": credit_id,
        "customer_id": customer["id"],
        "amount": dollars(cents),
        "credits_total": dollars(total),
        "summary": (
            f"Issued a {usd(cents)} account credit to {customer['id']} (credit #{credit_id}); "
            f"credits issued to this account total {usd(total)}."
        ),
    }


@desk_tool(
    PlanArgs,
    scopes=WRITE,
    effect="write", owner=CUSTOMER_OWNER,
    result=results.PlanResult,
)
def change_plan(conn: sqlite3.Connection, args: PlanArgs) -> dict[str, Any]:
    """Move an active customer's subscription to another plan, effective today.

    Plans: starter ($19/month), growth ($49), scale ($129), enterprise ($399). The new price
    applies from the next monthly invoice (no proration). Returns previous_plan, plan_code
    and monthly_price (dollars).
    """
    customer = customer_row(conn, args.customer_id)
    if customer["status"] != "active":
        raise PreconditionFailed(
            f"Customer {customer['id']} is closed: a closed account has no plan to change."
        )
    current = conn.execute(
        "SELECT s.id, p.code, p.name, p.monthly_price_cents FROM subscriptions s"
        " JOIN plans p ON p.code = s.plan_code WHERE s.customer_id = ? AND s.status = 'active'",
        (customer["id"],),
    ).fetchone()
    new = conn.execute("SELECT * FROM plans WHERE code = ?", (args.plan_code,)).fetchone()
    if current["code"] == new["code"]:
        raise PreconditionFailed(
            f"{customer['id']} is already on the {new['name']} plan "
            f"({usd(new['monthly_price_cents'])}/month); nothing to change."
        )
    conn.execute("UPDATE subscriptions SET plan_code = ? WHERE id = ?", (new["code"], current["id"]))
    return {
        "customer_id": customer["id"],
        "previous_plan": current["code"],
        "plan_code": new["code"],
        "monthly_price": dollars(new["monthly_price_cents"]),
        "summary": (
            f"Moved {customer['id']} from {current['name']} ({usd(current['monthly_price_cents'])}/month) "
            f"to {new['name']} ({usd(new['monthly_price_cents'])}/month), effective "
            f"{desk_today(conn).isoformat()}; the new price applies from the next invoice."
        ),
    }


def _refund(conn: sqlite3.Connection, invoice_id: str, plan: list[tuple[Payment, int]], kind: str, reason: str) -> int:
    """One refund row per payment reversed; the id of the first is the refund's."""
    ids = [
        conn.execute(
            "INSERT INTO refunds (invoice_id, payment_id, amount_cents, kind, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (invoice_id, payment.id, cents, kind, reason, desk_today(conn).isoformat()),
        ).lastrowid
        for payment, cents in plan
    ]
    first = ids[0]
    assert first is not None  # an INSERT sets lastrowid
    return first


BILLING_TOOLS = [get_invoice, list_invoices, refund_invoice, refund_shipping_fee, issue_credit, change_plan]
