"""A deterministic support desk: the same seed always gives the same rows.

Every date is derived from the fixed desk date (no wall clock), every choice from one
``random.Random(seed)``, so tests, evaluations and demos see identical data.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

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
    for number, (title, tags, body) in enumerate(KB_ARTICLES, start=1):
        rows.add("kb_articles", id=f"KB-{number:03d}", title=title, body=body, tags=tags)
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


# (title, tags, body). Policies here match what the tools enforce.
KB_ARTICLES = [
    (
        "Reset your password",
        "password, reset, login, sign in, locked out, forgot",
        "If you forgot your password, open the sign-in page and choose 'Forgot password', or ask "
        "support to send a password reset email. The reset link is valid for 60 minutes and can be "
        "used once. Setting a new password signs you out of every other device. If the email does not "
        "arrive within ten minutes, check your spam folder and make sure you used the address your "
        "workspace invited.",
    ),
    (
        "Set up two-factor authentication (2FA)",
        "2fa, two-factor, authenticator, security, login, mfa",
        "Two-factor authentication adds a six-digit code from an authenticator app to every sign-in. "
        "Turn it on under Profile > Security > Two-factor authentication and scan the QR code with "
        "any TOTP app. Save the ten backup codes shown once at the end of setup in a safe place. "
        "Workspace owners can require 2FA for every member under Workspace settings > Security.",
    ),
    (
        "Lost access to your 2FA device",
        "2fa, two-factor, lost phone, backup codes, recovery, login",
        "If you lost the phone with your authenticator app, sign in with one of your backup codes "
        "and set up 2FA again on the new device. Without backup codes, a workspace owner or admin can "
        "reset 2FA for you from the Members page. If you are the only owner, contact support from your "
        "account email address; for your security, we verify ownership before removing 2FA, which "
        "takes up to two business days.",
    ),
    (
        "Locked out after too many sign-in attempts",
        "locked out, login, sign in, password, attempts, security",
        "After ten failed sign-in attempts in an hour, the account is locked for 30 minutes to stop "
        "password guessing. Waiting 30 minutes unlocks it automatically. Resetting your password also "
        "unlocks the account immediately. If you did not make those attempts, reset your password and "
        "turn on two-factor authentication.",
    ),
    (
        "How the billing cycle works",
        "billing, billing cycle, invoice, subscription, monthly, charge",
        "Subscriptions are billed monthly in advance. An invoice is issued on the 1st of every month "
        "and charged to the card on file within two days. Invoices are in US dollars. An invoice stays "
        "open until it is paid; open invoices must be settled before an account can be closed.",
    ),
    (
        "Understanding your invoice",
        "invoice, billing, charge, receipt, statement",
        "Every invoice has an id like INV-10001, an amount, a status and the date it was issued. "
        "Status 'open' means not paid yet, 'paid' means we received the payment, and 'void' means the "
        "invoice was cancelled and nothing is owed. Device orders get their own invoice, which includes "
        "the shipping fee. You can download any invoice as a PDF from Billing > Invoices.",
    ),
    (
        "Refund policy",
        "refund, refunds, money back, policy, billing",
        "We refund a paid invoice to the original payment method; refunds arrive in 5 to 10 business "
        "days depending on your bank. A refund can never exceed what was paid on that invoice minus "
        "what was already refunded. Subscription months already used are not refunded, but we can "
        "issue an account credit instead. Device refunds follow the 30-day returns policy.",
    ),
    (
        "Charged twice? Duplicate charges explained",
        "duplicate charge, charged twice, double charge, refund, billing, payment",
        "Occasionally a payment is captured twice for the same invoice, for example when a card "
        "payment is retried after a timeout. If your statement shows two identical charges for one "
        "invoice, we refund the extra charge in full; you keep paying only once. The refund of the "
        "duplicate goes back to the same card within 5 to 10 business days. A pending authorization "
        "that disappears after a few days is not a duplicate charge.",
    ),
    (
        "Change your plan: upgrades and downgrades",
        "plan, upgrade, downgrade, change plan, subscription, pricing",
        "Owners and admins can change the plan under Billing > Plan, or ask support to do it. The new "
        "plan takes effect immediately and the new monthly price applies from the next invoice on "
        "the 1st; we do not prorate the current month. Downgrading may turn off features your workspace "
        "uses, such as SSO on Starter. You can change plans as often as you like.",
    ),
    (
        "Plans and pricing",
        "plan, pricing, price, starter, growth, scale, enterprise, subscription",
        "Starter costs $19 per month and suits a single small team. Growth costs $49 per month and adds "
        "unlimited members and device management. Scale costs $129 per month and adds SSO, audit logs "
        "and priority support. Enterprise costs $399 per month and adds a named success manager and "
        "custom data retention.",
    ),
    (
        "Update your payment method",
        "payment method, card, billing, credit card, update",
        "Owners and admins can replace the card on file under Billing > Payment method. The new card is "
        "used for the next invoice and for retrying any open invoice. We never store full card numbers: "
        "payments are handled by our card processor. Changing the card does not refund or re-charge "
        "past invoices.",
    ),
    (
        "Failed payments and retries",
        "failed payment, declined, card, retry, open invoice, billing",
        "If a charge is declined, the invoice stays open and we retry it after 3, 5 and 7 days. We email "
        "the workspace owner after each failed attempt. Updating the payment method triggers an "
        "immediate retry. After the last failed retry the workspace becomes read-only until the invoice "
        "is paid.",
    ),
    (
        "Account credits",
        "credit, credits, goodwill, balance, billing",
        "An account credit is money kept on your account that pays future invoices before your card is "
        "charged. Support can issue a credit of up to $500 at a time, for example after an outage or a "
        "late delivery. Credits never expire while the account is active and cannot be paid out as "
        "cash. Your credit balance is shown under Billing > Credits.",
    ),
    (
        "Taxes and company details on invoices",
        "tax, vat, sales tax, invoice, company name, billing",
        "Invoices show the company name and billing address saved under Billing > Details. Add your "
        "VAT or tax id there and it will appear on every future invoice. Already issued invoices are not "
        "changed, but support can re-issue them with the new details on request. Prices are shown "
        "before sales tax, which is added where required by law.",
    ),
    (
        "Shipping times and carriers",
        "shipping, delivery, carrier, ups, fedex, usps, dhl, how long",
        "Orders leave our warehouse within one business day of payment. Standard shipping takes 3 to 5 "
        "business days, expedited 2 business days and express arrives the next business day. We ship "
        "with UPS, FedEx, USPS and DHL depending on the address. You get a tracking number by email as "
        "soon as the order ships.",
    ),
    (
        "Shipping fees and shipping refunds",
        "shipping fee, shipping, delivery fee, refund shipping, late delivery",
        "Standard shipping costs $4.99, expedited $9.99, express $14.99 and Saturday delivery $24.99; "
        "some promotions ship for free. The shipping fee is part of the order's invoice. If an order is "
        "cancelled, or a delivery arrives later than the promised window, we refund the shipping fee "
        "once. A shipping fee is never refunded twice for the same order.",
    ),
    (
        "Track your order",
        "tracking, track order, shipped, where is my order, delivery, package",
        "Once an order ships, its status changes to 'shipped' and the carrier's tracking number appears "
        "on the order page and in the shipping email. Tracking can take up to 24 hours to show the first "
        "scan. If tracking has not moved for five business days, contact support with your order "
        "number and we will open a trace with the carrier.",
    ),
    (
        "Change the shipping address of an order",
        "address, shipping address, change address, order, delivery",
        "You can change the shipping address while the order is pending or processing, that is before "
        "it ships. Once an order has shipped, the address cannot be changed by us; you can ask the "
        "carrier to redirect the package using the tracking number. Give the full new address with "
        "street, city, state and ZIP code.",
    ),
    (
        "Cancel an order",
        "cancel order, cancellation, order, pending, processing",
        "An order can be cancelled while it is pending or processing. Shipped orders cannot be "
        "cancelled: wait for the delivery and start a return instead. Cancelling an order does not by "
        "itself move money; any payment already captured is refunded to the original payment method, "
        "shipping fee included.",
    ),
    (
        "Returns policy: 30 days",
        "return, returns, return policy, 30 days, refund, device",
        "You can return any device within 30 days of its delivery date, for any reason. The device "
        "should come back with its accessories; we refund the device price once the return is received "
        "and inspected. Shipping fees are not refunded for returns unless the device was defective. "
        "After 30 days, defective devices are covered by the warranty instead.",
    ),
    (
        "How to start a return",
        "return, start a return, send back, rma, device",
        "Ask support to start a return with your order number, or use Orders > Return. A return can be "
        "started only for a delivered order, within 30 days of delivery, and only once per order. You "
        "receive a prepaid label by email within one business day. Drop the parcel at any location of "
        "the carrier printed on the label.",
    ),
    (
        "Damaged or defective on arrival",
        "damaged, defective, broken, dead on arrival, return, replacement",
        "If a device arrives damaged or does not power on, take a photo of the device and the box and "
        "contact support within 30 days of delivery. We start a return and ship a replacement as soon as "
        "the carrier scans the returned parcel. For defective devices we also refund the shipping fee.",
    ),
    (
        "Set up your Desk Hub",
        "desk hub, setup, device, wi-fi, pairing, install",
        "Plug the Desk Hub into power and wait for the ring light to pulse blue. Open the app, choose "
        "Devices > Add device and follow the steps to join it to your 2.4 GHz or 5 GHz Wi-Fi. The hub "
        "installs the latest firmware during setup, which can take five minutes. A solid white light "
        "means the hub is ready.",
    ),
    (
        "Desk Hub keeps going offline",
        "desk hub, offline, wi-fi, troubleshooting, disconnect, device",
        "A hub that drops offline usually has a weak Wi-Fi signal: move it within ten meters of the "
        "router or use the Ethernet port. Check that your network allows outgoing connections on port "
        "443. Restart the hub by holding the button for five seconds. If it still disconnects, reset it "
        "to factory settings by holding the button for 20 seconds and set it up again.",
    ),
    (
        "Set up the Conference Cam 4K",
        "conference cam, camera, setup, usb, video, device",
        "Connect the Conference Cam 4K to your computer or Smart Dock with the included USB-C cable. It "
        "works as a standard webcam, with no driver needed, in every major video app. Mount it at eye "
        "level on top of the display with the clamp. Use the app to turn on auto-framing and noise "
        "reduction.",
    ),
    (
        "Conference Cam shows no video or a blurry picture",
        "conference cam, camera, blurry, no video, troubleshooting, focus",
        "If the camera shows no video, check that your video app selected 'Conference Cam 4K' and that "
        "the privacy shutter is open. A blurry picture usually means a protective film is still on the "
        "lens or autofocus is off in the app. Use a USB 3 port: on USB 2 the camera falls back to a low "
        "resolution. Update the firmware from the app if the problem persists.",
    ),
    (
        "Set up and pair the Badge Reader",
        "badge reader, setup, pairing, door, access, device",
        "Mount the Badge Reader next to the door with the included template and screws. Power it over "
        "PoE or with the adapter. In the app, open Devices > Add device, scan the code on the back of "
        "the reader and assign it to a door. Test it with a member's badge before removing the old "
        "reader.",
    ),
    (
        "Headset Pro pairing and audio problems",
        "headset pro, headset, bluetooth, pairing, audio, microphone, troubleshooting",
        "To pair the Headset Pro, hold the power button for six seconds until the light flashes blue "
        "and red, then choose it in your computer's Bluetooth settings. If others cannot hear you, "
        "select 'Headset Pro' as the microphone in your call app. Crackling audio usually means "
        "interference: keep the USB dongle away from USB 3 ports. Reset the headset by holding both "
        "volume buttons for ten seconds.",
    ),
    (
        "Set up the Room Display 10-inch",
        "room display, display, setup, meeting room, calendar, device",
        "Mount the Room Display outside the meeting room and power it over PoE. In the app, add it under "
        "Devices and connect it to the room's calendar. The display shows whether the room is free and "
        "lets people book it on the spot. It updates its firmware automatically at night.",
    ),
    (
        "Set up the Smart Dock",
        "smart dock, dock, setup, usb-c, monitor, device",
        "Connect the Smart Dock to power, then to your laptop with the USB-C cable. It charges the "
        "laptop with up to 96 watts and drives two monitors over HDMI. If a monitor stays black, check "
        "that your laptop's USB-C port supports video output. The dock also connects a Conference Cam "
        "and a Headset Pro without extra cables.",
    ),
    (
        "Door Sensor Kit installation",
        "door sensor, sensor, setup, install, device",
        "The Door Sensor Kit contains two sensors and magnets. Stick the sensor to the door frame and "
        "the magnet to the door, no more than 1 cm apart when closed. Pair each sensor with a Desk Hub "
        "under Devices > Add device. Batteries last about two years and the app warns you a month "
        "before they run out.",
    ),
    (
        "Firmware updates for devices",
        "firmware, update, device, desk hub, camera, security",
        "Devices check for firmware updates every night and install them between 2 and 4 a.m. local "
        "time. You can start an update at any time from the device page in the app. Do not unplug a "
        "device while the light is pulsing during an update. Release notes are published on the status "
        "page.",
    ),
    (
        "Device warranty",
        "warranty, defective, repair, replacement, device",
        "Every device has a two-year limited warranty from its delivery date. The warranty covers "
        "hardware defects, not accidental damage or wear. To make a claim, contact support with the "
        "order number and a short description of the fault; we replace the device after diagnosis. "
        "Within the first 30 days you can simply return it instead.",
    ),
    (
        "Workspace roles and permissions",
        "roles, permissions, owner, admin, member, viewer, workspace",
        "Every workspace member has one role. Owners control billing, plan and account closure and can "
        "change anyone's role. Admins manage members, devices and settings but not billing. Members use "
        "the workspace and manage their own devices, and viewers can only see. A workspace always keeps "
        "at least one owner: make someone else owner before changing the last owner's role.",
    ),
    (
        "Invite and remove workspace members",
        "invite, members, remove member, workspace, users, offboarding",
        "Owners and admins invite people under Workspace > Members > Invite, choosing their role. An "
        "invitation is valid for seven days. Removing a member signs them out immediately and keeps the "
        "content they created. To offboard someone who left the company, remove them or change their "
        "role to viewer.",
    ),
    (
        "Transfer workspace ownership",
        "owner, ownership, transfer, roles, workspace",
        "To hand a workspace to someone else, first give them the owner role, then change your own role "
        "if you wish. Support can change roles on request from the account email address. Only owners "
        "can close the account or change the plan. A workspace can have several owners.",
    ),
    (
        "Close your account",
        "close account, cancel account, delete account, account closure",
        "An owner can close the account under Settings > Account, or ask support. All open invoices "
        "must be paid first. Closing the account cancels the subscription at once, signs every member "
        "out and stops all future invoices. Export your data before closing: it is kept for 30 days and "
        "then deleted permanently.",
    ),
    (
        "Export your data",
        "export, data export, download, backup, gdpr",
        "Owners and admins can export all workspace data under Settings > Data export. The export is a "
        "ZIP of CSV and JSON files and is ready within an hour; we email a download link valid for seven "
        "days. Device logs from the last 90 days are included. Exports are available for 30 days after "
        "an account is closed.",
    ),
    (
        "Data retention and deletion",
        "retention, deletion, privacy, gdpr, closed account, data",
        "We keep workspace data while the account is active. After an account is closed, data is kept "
        "for 30 days so it can be exported or the account reopened, then deleted from all systems "
        "within another 30 days. Invoices are kept for seven years because tax law requires it. "
        "Enterprise plans can set custom retention periods.",
    ),
    (
        "Single sign-on (SSO) with SAML",
        "sso, saml, single sign-on, okta, azure ad, login, security",
        "Single sign-on is available on the Scale and Enterprise plans. An owner enables it under "
        "Settings > Security > SSO by entering the identity provider's metadata URL. Once SSO is "
        "enforced, members sign in through the identity provider and passwords are no longer used. Keep "
        "one owner able to sign in with a password as a break-glass account.",
    ),
    (
        "Contact support and response times",
        "support, ticket, contact, response time, priority, escalate",
        "Open a ticket from the Help menu or by email. We answer urgent tickets within one hour, high "
        "priority within four hours, normal within one business day and low within three business "
        "days. Scale and Enterprise customers get priority handling. Urgent means your whole workspace "
        "cannot work; a support agent can escalate a ticket to a senior engineer.",
    ),
    (
        "Service status and outages",
        "status, outage, down, incident, service",
        "Live service status and incident history are on our status page. During an incident we post "
        "updates at least every 30 minutes until it is resolved. After a major outage we publish a "
        "report within five business days. Customers affected by a long outage may receive an account "
        "credit.",
    ),
    (
        "Change your account email address",
        "email, change email, account, login, profile",
        "You can change the email address you sign in with under Profile > Email. We send a "
        "confirmation link to the new address, and the change takes effect once you click it. The old "
        "address receives a notice, so a takeover cannot go unnoticed. The account owner's email is "
        "also where invoices and security notices are sent.",
    ),
]
