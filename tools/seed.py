"""A deterministic support desk: the same seed always gives the same rows.

Every date is derived from the fixed desk date (no wall clock), every choice from one
``random.Random(seed)``, so tests, evaluations and demos see identical data.
"""

from __future__ import annotations

import random
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from proctor.db import Database
from proctor.tools.schema import DESK_TODAY

TODAY = date.fromisoformat(DESK_TODAY)
N_CUSTOMERS = 300
N_ORDERS = 1200
FIRST_ORDER_ID = 1001
FIRST_INVOICE_NUMBER = 10001
DUPLICATES_PER_SIDE = 12  # duplicate charges below and at/above $100 each
BILLING_MONTHS = [date(2026, m, 1) for m in range(6, 12)]  # the last six cycles

# Insert order respects foreign keys.
TABLES = (
    "desk_meta", "plans", "customers", "workspaces", "workspace_members", "subscriptions",
    "orders", "invoices", "payments", "refunds", "credits", "shipments", "returns",
    "kb_articles", "tickets", "email_outbox",
)  # fmt: skip

PLANS = [
    ("starter", "Starter", 1900),
    ("growth", "Growth", 4900),
    ("scale", "Scale", 12900),
    ("enterprise", "Enterprise", 39900),
]
PLAN_WEIGHTS = [40, 35, 18, 7]

DEVICES = [
    ("Desk Hub", 14900),
    ("Desk Hub Mini", 7900),
    ("Badge Reader", 5900),
    ("Conference Cam 4K", 24900),
    ("Room Display 10-inch", 19900),
    ("Headset Pro", 8900),
    ("Door Sensor Kit", 3900),
    ("Smart Dock", 12900),
]
SHIPPING_FEES = [0, 499, 999, 1499, 2499]
SHIPPING_WEIGHTS = [15, 40, 25, 15, 5]
ORDER_STATUSES = ["pending", "processing", "shipped", "delivered", "cancelled"]
ORDER_WEIGHTS = [8, 10, 12, 62, 8]
CARRIERS = ["UPS", "FedEx", "USPS", "DHL"]

FIRST_NAMES = (
    "Ada Alan Amara Ana Ben Carla Chen Dana Diego Elena Emeka Farah Grace Hana Ivan Jonas "
    "Julia Kai Kenji Lara Leo Lina Luca Maya Mei Mateo Nadia Noah Olga Omar Priya Rafael "
    "Rosa Sami Sofia Tariq Tess Uma Victor Wen Yara Zoe"
).split()
LAST_NAMES = (
    "Adams Alvarez Baker Bianchi Brooks Carter Chen Costa Dubois Evans Fischer Garcia Gupta "
    "Hansen Ito Jensen Kim Kowalski Larsen Lopez Martin Meyer Moreau Nakamura Novak Okafor "
    "Patel Perez Quinn Rossi Santos Schmidt Silva Singh Tanaka Turner Walsh Weber Wong Young"
).split()
COMPANY_WORDS = (
    "Harbor Lumen Cedar Northwind Bluefin Copper Maple Summit Orchard Pioneer Granite Willow "
    "Beacon Atlas Riverbend Kestrel Juniper Meridian Tidewater Foxglove"
).split()
COMPANY_KINDS = (
    "Labs Studio Works Partners Logistics Dental Legal Design Analytics Bakery Clinic Robotics "
    "Media Consulting Foods Capital"
).split()
STREETS = "Maple Oak Pine Cedar Elm Washington Lake Hill Park River Sunset Mill".split()
STREET_KINDS = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr"]
CITIES = [
    ("Portland", "OR", "972"), ("Austin", "TX", "787"), ("Denver", "CO", "802"),
    ("Madison", "WI", "537"), ("Raleigh", "NC", "276"), ("Boise", "ID", "837"),
    ("Columbus", "OH", "432"), ("Tucson", "AZ", "857"), ("Albany", "NY", "122"),
    ("Savannah", "GA", "314"), ("Spokane", "WA", "992"), ("Omaha", "NE", "681"),
]  # fmt: skip
CANCEL_REASONS = ["ordered by mistake", "found a better price", "no longer needed", "duplicate order"]
RETURN_REASONS = ["device is defective", "wrong model ordered", "no longer needed", "arrived damaged"]
CREDIT_REASONS = ["service outage goodwill", "late delivery goodwill", "onboarding issue", "loyalty"]
TICKETS = [
    ("Cannot log in", "I reset my password but the login page still says my credentials are wrong."),
    ("Charged twice this month", "My card shows two identical charges for the same invoice."),
    ("Where is my order?", "My order shows as shipped but the tracking number has not updated in days."),
    ("Desk Hub keeps going offline", "The hub drops off Wi-Fi every few hours and needs a restart."),
    ("Upgrade question", "We are growing and want to know what changes if we move to a bigger plan."),
    ("Invoice needs our VAT number", "Please add our company tax number to future invoices."),
    ("Conference Cam image is blurry", "The camera picture is soft even after cleaning the lens."),
    ("Remove a former employee", "Someone left the company and should lose access to our workspace."),
    ("Data export", "We need a full export of our workspace data for an audit."),
    ("Return a device", "The badge reader we ordered does not fit our doors; how do we return it?"),
    ("2FA phone lost", "I lost the phone with my authenticator app and cannot sign in."),
    ("Headset pairing fails", "The Headset Pro will not pair with my laptop over Bluetooth."),
]

# The knowledge base is data: one [[article]] per article, policies matching what the tools enforce.
KB_ARTICLES_PATH = Path(__file__).with_name("kb_articles.toml")


class Article(NamedTuple):
    """A knowledge-base article, one ``[[article]]`` of ``kb_articles.toml``."""

    id: str
    title: str
    tags: str  # comma-separated
    body: str


def load_articles(path: Path = KB_ARTICLES_PATH) -> list[Article]:
    """The articles of ``path``, in file order (the order they are seeded in)."""
    articles = [Article(**record) for record in tomllib.loads(path.read_text(encoding="utf-8"))["article"]]
    ids = [a.id for a in articles]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: article ids must be unique")
    return articles


KB_ARTICLES = load_articles()


@dataclass
class _Rows:
    """Rows per table, in insertion order."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        self.tables[table].append(values)
        return values

    def invoice(self, **values: Any) -> dict[str, Any]:
        number = FIRST_INVOICE_NUMBER + len(self.tables["invoices"])
        return self.add("invoices", id=f"INV-{number}", currency="USD", **values)

    def payment(self, invoice: dict[str, Any], paid_at: date) -> None:
        number = len(self.tables["payments"]) + 1
        self.add(
            "payments",
            id=number,
            invoice_id=invoice["id"],
            amount_cents=invoice["amount_cents"],
            paid_at=_d(paid_at),
        )


def seed_desk(db: Database, seed: int = 7) -> dict[str, int]:
    """Fill an empty, migrated desk; a desk that already has customers is left as is.

    Returns the row count of every desk table.
    """
    with db.transaction() as conn:
        if conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0:
            for table, rows in generate(random.Random(seed)).tables.items():
                _insert(conn, table, rows)
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        conn.executemany(sql, [[row[c] for c in columns] for row in rows])


def generate(rng: random.Random) -> _Rows:
    rows = _Rows()
    rows.add("desk_meta", key="today", value=DESK_TODAY)
    for code, name, price in PLANS:
        rows.add("plans", code=code, name=name, monthly_price_cents=price)
    for article in KB_ARTICLES:
        rows.add("kb_articles", id=article.id, title=article.title, body=article.body, tags=article.tags)
    # Distinct company names give every customer their own email domain.
    companies = rng.sample([f"{w} {k}" for w in COMPANY_WORDS for k in COMPANY_KINDS], N_CUSTOMERS)
    customers = [_customer(rows, rng, n, company) for n, company in enumerate(companies, start=1)]
    active = [c for c in customers if c["status"] == "active"]
    for number in range(FIRST_ORDER_ID, FIRST_ORDER_ID + N_ORDERS):
        _order(rows, rng, number, active)
    _duplicate_charges(rows, rng, {c["id"] for c in active})
    _credits(rows, rng, active)
    _tickets(rows, rng, customers)
    return rows


def _customer(rows: _Rows, rng: random.Random, n: int, company: str) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    domain = company.replace(" ", "").lower() + ".com"
    email = f"{first}.{last}@{domain}".lower()
    created = TODAY - timedelta(days=rng.randint(14, 1000))
    status = "closed" if rng.random() < 0.04 else "active"
    customer = rows.add(
        "customers",
        id=f"CUS-{n:04d}",
        name=f"{first} {last}",
        email=email,
        status=status,
        closed_reason="moved to another provider" if status == "closed" else None,
        created_at=_d(created),
    )
    workspace = f"WS-{n:04d}"
    rows.add("workspaces", id=workspace, customer_id=customer["id"], name=company)
    rows.add("workspace_members", workspace_id=workspace, email=email, role="owner")
    others = [name for name in FIRST_NAMES if name != first]
    for name in rng.sample(others, rng.randint(0, 4)):
        role = rng.choices(["owner", "admin", "member", "viewer"], [5, 25, 45, 25])[0]
        rows.add("workspace_members", workspace_id=workspace, email=f"{name.lower()}@{domain}", role=role)
    code, _, price = rng.choices(PLANS, PLAN_WEIGHTS)[0]
    rows.add(
        "subscriptions",
        id=n,
        customer_id=customer["id"],
        plan_code=code,
        status="active" if status == "active" else "cancelled",
        started_at=_d(created),
    )
    _monthly_invoices(rows, rng, customer, created, price)
    return customer


def _monthly_invoices(
    rows: _Rows, rng: random.Random, customer: dict[str, Any], created: date, price: int
) -> None:
    """One invoice per cycle; a closed account stopped in August, and never owes anything."""
    closed = customer["status"] == "closed"
    months = [m for m in BILLING_MONTHS if m >= created and not (closed and m.month > 8)]
    for month in months:
        open_ = not closed and month == BILLING_MONTHS[-1] and rng.random() < 0.2
        invoice = rows.invoice(
            customer_id=customer["id"],
            order_id=None,
            amount_cents=price,
            status="open" if open_ else "paid",
            issued_at=_d(month),
        )
        if not open_:
            rows.payment(invoice, month + timedelta(days=rng.randint(0, 2)))


def _order(rows: _Rows, rng: random.Random, number: int, active: list[dict[str, Any]]) -> None:
    status = rng.choices(ORDER_STATUSES, ORDER_WEIGHTS)[0]
    created, delivered = _order_dates(rng, status)
    customer = rng.choice([c for c in active if c["created_at"] <= _d(created)])
    device, price = rng.choice(DEVICES)
    fee = rng.choices(SHIPPING_FEES, SHIPPING_WEIGHTS)[0]
    order = rows.add(
        "orders",
        id=number,
        customer_id=customer["id"],
        status=status,
        device=device,
        total_cents=price + fee,
        shipping_fee_cents=fee,
        shipping_address=_address(rng),
        cancel_reason=rng.choice(CANCEL_REASONS) if status == "cancelled" else None,
        created_at=_d(created),
        delivered_at=_d(delivered) if delivered else None,
    )
    # A cancelled order was cancelled before payment was captured: its invoice is void.
    invoice = rows.invoice(
        customer_id=customer["id"],
        order_id=number,
        amount_cents=order["total_cents"],
        status="void" if status == "cancelled" else "paid",
        issued_at=_d(created),
    )
    if status != "cancelled":
        rows.payment(invoice, created)
    if status in ("shipped", "delivered"):
        _shipment(rows, rng, number, status)
    if delivered and rng.random() < 0.04:
        _return(rows, rng, order, invoice, delivered, price)


def _order_dates(rng: random.Random, status: str) -> tuple[date, date | None]:
    """Dates consistent with the status; about one delivered order in six is still returnable."""
    if status == "delivered":
        created = TODAY - timedelta(days=rng.randint(9, 240))
        return created, created + timedelta(days=rng.randint(2, 7))
    ages = {"pending": (0, 2), "processing": (1, 4), "shipped": (3, 9), "cancelled": (1, 240)}
    return TODAY - timedelta(days=rng.randint(*ages[status])), None


def _shipment(rows: _Rows, rng: random.Random, order_id: int, status: str) -> None:
    carrier = rng.choice(CARRIERS)
    digits = {"UPS": 16, "FedEx": 12, "USPS": 22, "DHL": 10}[carrier]
    tracking = ("1Z" if carrier == "UPS" else "") + "".join(rng.choices("0123456789", k=digits))
    rows.add(
        "shipments",
        id=len(rows.tables["shipments"]) + 1,
        order_id=order_id,
        carrier=carrier,
        tracking_number=tracking,
        status="delivered" if status == "delivered" else "in_transit",
    )


def _return(
    rows: _Rows,
    rng: random.Random,
    order: dict[str, Any],
    invoice: dict[str, Any],
    delivered: date,
    price: int,
) -> None:
    """A return opened after delivery; finished returns refunded the device, not the shipping."""
    opened = min(delivered + timedelta(days=rng.randint(1, 20)), TODAY)
    status = "requested" if (TODAY - delivered).days <= 30 else rng.choice(["received", "refunded"])
    rows.add(
        "returns",
        id=len(rows.tables["returns"]) + 1,
        order_id=order["id"],
        reason=rng.choice(RETURN_REASONS),
        status=status,
        created_at=_d(opened),
    )
    if status == "refunded":
        rows.add(
            "refunds",
            id=len(rows.tables["refunds"]) + 1,
            invoice_id=invoice["id"],
            amount_cents=price,
            kind="charge",
            reason=f"return of order {order['id']}",
            created_at=_d(opened + timedelta(days=7)),
        )


def _duplicate_charges(rows: _Rows, rng: random.Random, active_ids: set[str]) -> None:
    """Charge some paid, unrefunded invoices a second time, on the same day."""
    refunded = {r["invoice_id"] for r in rows.tables["refunds"]}
    pool = [
        i
        for i in rows.tables["invoices"]
        if i["status"] == "paid" and i["customer_id"] in active_ids and i["id"] not in refunded
    ]
    below = [i for i in pool if i["amount_cents"] < 10000]
    above = [i for i in pool if i["amount_cents"] >= 10000]
    first_paid = {p["invoice_id"]: p["paid_at"] for p in rows.tables["payments"]}
    for invoice in rng.sample(below, DUPLICATES_PER_SIDE) + rng.sample(above, DUPLICATES_PER_SIDE):
        rows.payment(invoice, date.fromisoformat(first_paid[invoice["id"]]))


def _credits(rows: _Rows, rng: random.Random, active: list[dict[str, Any]]) -> None:
    for number, customer in enumerate(rng.sample(active, 20), start=1):
        rows.add(
            "credits",
            id=number,
            customer_id=customer["id"],
            amount_cents=rng.choice([500, 1000, 1500, 2500, 5000]),
            reason=rng.choice(CREDIT_REASONS),
            created_at=_d(TODAY - timedelta(days=rng.randint(1, 120))),
        )


def _tickets(rows: _Rows, rng: random.Random, customers: list[dict[str, Any]]) -> None:
    """Tickets numbered in date order, like a real queue."""
    ages = sorted((rng.randint(0, 90) for _ in range(80)), reverse=True)
    for number, age in enumerate(ages, start=1):
        subject, body = rng.choice(TICKETS)
        priority = rng.choices(["low", "normal", "high", "urgent"], [20, 55, 20, 5])[0]
        rows.add(
            "tickets",
            id=f"TCK-{number:05d}",
            customer_id=rng.choice(customers)["id"],
            subject=subject,
            body=body,
            status=rng.choices(["open", "pending", "closed"], [30, 20, 50])[0],
            priority=priority,
            escalated=int(priority == "urgent" or rng.random() < 0.05),
            created_at=_d(TODAY - timedelta(days=age)),
        )


def _address(rng: random.Random) -> str:
    city, state, zip_prefix = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
    return f"{rng.randint(1, 9899)} {street}, {city}, {state} {zip_prefix}{rng.randint(1, 99):02d}"


def _d(day: date) -> str:
    return day.isoformat()
