"""What was paid on an invoice, payment by payment, and which payment each refund reverses.

A refund names the payment it reverses, so a retry sees what already happened: once the
duplicate of a double charge is refunded, "refund the duplicate" again finds no duplicate left
(after a crash, a retry, or a second conversation) instead of refunding the purchase itself.
Refunding the purchase is a deliberate act that names its payment.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from proctor.errors import NotFound, PreconditionFailed
from proctor.tools.schema import usd

PAYMENT_ID = r"PAY-\d{1,9}"


@dataclass(frozen=True)
class Payment:
    id: int
    amount: int
    paid_at: str
    refunded: int
    last_refund: sqlite3.Row | None  # the latest refund that reversed part of it

    @property
    def label(self) -> str:
        return f"PAY-{self.id}"

    @property
    def room(self) -> int:
        return self.amount - self.refunded


@dataclass(frozen=True)
class Charges:
    """An invoice with what was actually paid and refunded on it."""

    invoice: sqlite3.Row
    payments: tuple[Payment, ...]  # oldest first: the first is the purchase, any later one a duplicate

    @property
    def id(self) -> str:
        return self.invoice["id"]

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def refunded(self) -> int:
        return sum(p.refunded for p in self.payments)

    @property
    def payment_count(self) -> int:
        return len(self.payments)

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded if self.invoice["status"] == "paid" else 0

    @property
    def duplicate(self) -> bool:
        return self.payment_count > 1

    @property
    def duplicates(self) -> tuple[Payment, ...]:
        return self.payments[1:]

    def payment(self, label: str) -> Payment:
        found = next((p for p in self.payments if p.label == label), None)
        if found is None:
            listed = ", ".join(p.label for p in self.payments) or "none"
            raise NotFound(f"No payment {label} on invoice {self.id}; its payments: {listed} (see get_invoice).")
        return found


def charges(conn: sqlite3.Connection, invoice_id: str) -> Charges:
    invoice = conn.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
    if invoice is None:
        raise NotFound(
            f"No invoice {invoice_id} exists. list_invoices with the customer's id (like CUS-0001) "
            "shows their invoice ids."
        )
    rows = conn.execute(
        "SELECT id, amount_cents, paid_at FROM payments WHERE invoice_id = ? ORDER BY paid_at, id", (invoice_id,)
    ).fetchall()
    refunds = conn.execute(
        "SELECT id, payment_id, amount_cents, created_at FROM refunds WHERE invoice_id = ? ORDER BY id", (invoice_id,)
    ).fetchall()
    first = rows[0]["id"] if rows else None
    payments = []
    for row in rows:
        # A refund recorded before refunds named their payment reversed the purchase.
        mine = [r for r in refunds if (r["payment_id"] or first) == row["id"]]
        payments.append(
            Payment(row["id"], row["amount_cents"], row["paid_at"], sum(r["amount_cents"] for r in mine), mine[-1] if mine else None)
        )
    return Charges(invoice, tuple(payments))


def allocate(c: Charges, cents: int, payment: str | None, kind: str) -> list[tuple[Payment, int]]:
    """Which payments a refund of ``cents`` reverses, or PreconditionFailed saying why none can.

    A named payment is reversed alone. Otherwise a shipping fee comes off the purchase, and a
    charge refund on a double-charged invoice reverses the duplicates first, newest first; it
    reaches the purchase only in the same call (a refund larger than the duplicates), never in a
    later one: that is a retry of a duplicate refund already made.
    """
    if cents > c.refundable:
        raise PreconditionFailed(
            f"Cannot refund {usd(cents)} on invoice {c.id}: at most {usd(c.refundable)} is refundable "
            f"({usd(c.paid)} paid, {usd(c.refunded)} already refunded)."
        )
    if payment is not None:
        chosen = c.payment(payment)
        if cents > chosen.room:
            raise PreconditionFailed(_spent(c, chosen, cents))
        return [(chosen, cents)]
    if kind == "shipping" or not c.duplicate:
        order = list(c.payments)
    else:
        extras = list(reversed(c.duplicates))
        if sum(p.room for p in extras) == 0:
            done = max((p.last_refund for p in extras if p.last_refund), key=lambda r: r["id"])
            raise PreconditionFailed(
                f"The duplicate charge on invoice {c.id} was already refunded ({usd(done['amount_cents'])} on "
                f"{done['created_at']}, refund #{done['id']}): nothing more is owed for it. Refunding the "
                f"purchase itself is a different request: pass payment_id={c.payments[0].label} only if "
                "the customer asks for that."
            )
        order = extras + [c.payments[0]]
    plan: list[tuple[Payment, int]] = []
    left = cents  # covered: cents <= refundable, the sum of every payment's room
    for p in order:
        take = min(p.room, left)
        if take > 0:
            plan.append((p, take))
            left -= take
    return plan


def _spent(c: Charges, p: Payment, cents: int) -> str:
    if p.room == 0 and p.last_refund is not None:
        r = p.last_refund
        return (
            f"Payment {p.label} on invoice {c.id} was already refunded in full ({usd(r['amount_cents'])} on "
            f"{r['created_at']}, refund #{r['id']}); it is never refunded twice."
        )
    return f"Cannot refund {usd(cents)} of payment {p.label} on invoice {c.id}: {usd(p.room)} of it is refundable."
