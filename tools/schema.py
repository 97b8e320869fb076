"""The support desk's schema and the conventions every desk tool shares.

Money is stored as INTEGER cents and shown as "$12.50"; dates are ISO ``YYYY-MM-DD`` text.
"Today" is a fixed desk date kept in ``desk_meta`` so date rules (return windows) are
deterministic in tests and evaluations.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from proctor.db import Migration
from proctor.errors import NotFound
from proctor.ownership import by_argument, lookup

# Id patterns match an id inside free text (the offline model extracts with them).
INVOICE_ID = r"INV-\d{5}"
CUSTOMER_ID = r"CUS-\d{4}"
WORKSPACE_ID = r"WS-\d{4}"
ARTICLE_ID = r"KB-\d{3}"
TICKET_ID = r"TCK-\d{5}"
ORDER_ID = r"\d{4,6}"
EMAIL = r"[\w.+-]+@[\w-]+\.[\w.]+"

DESK_TODAY = "2026-11-20"

MIGRATIONS = [
    Migration(
        "desk",
        1,
        """
        CREATE TABLE desk_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE plans (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            monthly_price_cents INTEGER NOT NULL CHECK (monthly_price_cents >= 0)
        );
        CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('active', 'closed')),
            closed_reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            name TEXT NOT NULL
        );
        CREATE TABLE workspace_members (
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
            PRIMARY KEY (workspace_id, email)
        );
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            plan_code TEXT NOT NULL REFERENCES plans (code),
            status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
            started_at TEXT NOT NULL
        );
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'processing', 'shipped', 'delivered', 'cancelled')),
            device TEXT NOT NULL,
            total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
            shipping_fee_cents INTEGER NOT NULL CHECK (shipping_fee_cents >= 0),
            shipping_address TEXT NOT NULL,
            cancel_reason TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT
        );
        CREATE TABLE invoices (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            order_id INTEGER REFERENCES orders (id),
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
            currency TEXT NOT NULL DEFAULT 'USD',
            status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
            issued_at TEXT NOT NULL
        );
        CREATE TABLE payments (
            id INTEGER PRIMARY KEY,
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
            paid_at TEXT NOT NULL
        );
        CREATE TABLE refunds (
            id INTEGER PRIMARY KEY,
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
            kind TEXT NOT NULL DEFAULT 'charge' CHECK (kind IN ('charge', 'shipping')),
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE credits (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE shipments (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders (id),
            carrier TEXT NOT NULL,
            tracking_number TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_transit', 'delivered'))
        );
        CREATE TABLE returns (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders (id),
            reason TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('requested', 'received', 'refunded')),
            created_at TEXT NOT NULL
        );
        CREATE TABLE kb_articles (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tags TEXT NOT NULL
        );
        CREATE TABLE tickets (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
            priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
            escalated INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
            created_at TEXT NOT NULL
        );
        CREATE TABLE email_outbox (
            id INTEGER PRIMARY KEY,
            to_email TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX workspaces_customer ON workspaces (customer_id);
        CREATE INDEX workspace_members_email ON workspace_members (email);
        CREATE INDEX subscriptions_customer ON subscriptions (customer_id, status);
        CREATE INDEX invoices_customer ON invoices (customer_id, issued_at);
        CREATE INDEX invoices_order ON invoices (order_id);
        CREATE INDEX payments_invoice ON payments (invoice_id);
        CREATE INDEX refunds_invoice ON refunds (invoice_id);
        CREATE INDEX credits_customer ON credits (customer_id);
        CREATE INDEX orders_customer ON orders (customer_id, created_at);
        CREATE INDEX shipments_order ON shipments (order_id);
        CREATE INDEX returns_order ON returns (order_id);
        CREATE INDEX tickets_customer ON tickets (customer_id, created_at)
        """,
    ),
    # A refund names the payment it reverses (tools/payments.py); older rows reversed the purchase.
    Migration("desk", 2, "ALTER TABLE refunds ADD COLUMN payment_id INTEGER REFERENCES payments (id)"),
]


def usd(cents: int) -> str:
    """Cents as the text answers use: 1250 -> "$12.50"."""
    return f"${cents / 100:,.2f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def dollars(cents: int) -> float:
    return round(cents / 100, 2)


def to_cents(amount: float) -> int:
    return round(amount * 100)


def desk_today(conn: sqlite3.Connection) -> date:
    row = conn.execute("SELECT value FROM desk_meta WHERE key = 'today'").fetchone()
    return date.fromisoformat(row["value"] if row else DESK_TODAY)


def customer_row(conn: sqlite3.Connection, customer_id: str) -> sqlite3.Row:
    """The customer, or NotFound telling the model how to find a valid id."""
    row = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise NotFound(
            f"No customer {customer_id} exists. Look the customer up by email with get_customer "
            "to get their id (ids look like CUS-0001)."
        )
    return row


def order_number(order_id: str) -> int:
    """The order number in validated text such as "1042"."""
    return int(re.search(ORDER_ID, order_id).group())  # type: ignore[union-attr]


def order_row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    """The order, or NotFound; ``order_id`` is validated text such as "1042"."""
    number = order_number(order_id)
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(
            f"No order {number} exists. Order numbers have 4 to 6 digits (like 1042) and appear in "
            "the order confirmation email; ask the customer for theirs."
        )
    return row


# Whose records the desk's tools touch (see proctor.ownership): the lookups the tools declare.
INVOICE_OWNER = lookup("SELECT customer_id FROM invoices WHERE id = ?", "invoice_id")
ORDER_OWNER = lookup("SELECT customer_id FROM orders WHERE id = ?", lambda args: order_number(args.order_id))
CUSTOMER_OWNER = by_argument("customer_id")
