"""Order tools: status and tracking, cancellation, address changes and returns."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from proctor.errors import PreconditionFailed
from proctor.toolkit import desk_tool
from proctor.tools import results
from proctor.tools.schema import ORDER_ID, ORDER_OWNER, desk_today, dollars, order_row, usd

READ, WRITE = ["orders:read"], ["orders:write"]
RETURN_DAYS = 30
NOT_SHIPPED = ("pending", "processing")
# A US street address, "12 Main St, Springfield, IL 62701": the first street word is
# capitalised so "order 1042 to 12 Main St, ..." yields the address, not "1042 to ...".
ADDRESS = r"\d{1,6} [A-Z][\w.'#-]*(?: [\w.'#-]+)*, [A-Z][\w .'-]*, [A-Z]{2} \d{5}"


class OrderArgs(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="The order number, like 1042.")


class CancelArgs(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="The order number, like 1042.")
    reason: str = Field(min_length=3, max_length=300, description="Why, in a few words; kept on the order.")


class AddressArgs(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="The order number, like 1042.")
    address: str = Field(
        pattern=ADDRESS,
        max_length=200,
        description=(
            "The complete new address: 'NUMBER Street, City, ST 12345', "
            "e.g. '12 Main St, Springfield, IL 62701'."
        ),
    )


class ReturnArgs(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="The order number, like 1042.")
    reason: str = Field(
        min_length=3, max_length=300, description="Why the device comes back, in a few words."
    )


def _window_end(order: sqlite3.Row) -> date | None:
    delivered = order["delivered_at"]
    return date.fromisoformat(delivered) + timedelta(days=RETURN_DAYS) if delivered else None


def _status_phrase(order: sqlite3.Row, shipment: sqlite3.Row | None, today: date) -> str:
    if order["status"] in NOT_SHIPPED:
        return f"is {order['status']} (not shipped yet) and will ship to {order['shipping_address']}"
    if order["status"] == "cancelled":
        return "is cancelled"
    assert shipment is not None  # a shipped or delivered order has its shipment
    tracking = f"via {shipment['carrier']}, tracking {shipment['tracking_number']}"
    if order["status"] == "shipped":
        return f"has shipped {tracking}, to {order['shipping_address']}"
    end = _window_end(order)
    assert end is not None  # delivered: delivered_at is set
    window = f"returnable until {end}" if today <= end else f"the 30-day return window closed on {end}"
    return f"was delivered on {order['delivered_at']} {tracking}; {window}"


@desk_tool(
    OrderArgs,
    scopes=READ,
    effect="read", owner=ORDER_OWNER,
    result=results.OrderResult,
)
def get_order(conn: sqlite3.Connection, args: OrderArgs) -> dict[str, Any]:
    """Look up one device order: status, device, amounts, address, tracking and return state.

    Use it before changing, cancelling or returning an order, and for "where is my order".
    Needs the order number (1042). Returns order_id, customer_id, status
    (pending|processing|shipped|delivered|cancelled), device, total and shipping_fee
    (dollars; the total includes the fee), shipping_address, invoice_id, created_at,
    delivered_at, shipment (carrier, tracking_number, status) once shipped,
    return_window_ends for delivered orders and any existing return.
    """
    order = order_row(conn, args.order_id)
    shipment = conn.execute(
        "SELECT carrier, tracking_number, status FROM shipments WHERE order_id = ? ORDER BY id DESC",
        (order["id"],),
    ).fetchone()
    existing = conn.execute(
        "SELECT id, status, created_at FROM returns WHERE order_id = ?", (order["id"],)
    ).fetchone()
    invoice_id = conn.execute("SELECT id FROM invoices WHERE order_id = ?", (order["id"],)).fetchone()["id"]
    end = _window_end(order)
    fee = order["shipping_fee_cents"]
    shipping = f"incl. {usd(fee)} shipping" if fee else "with free shipping"
    summary = (
        f"Order {order['id']} ({order['device']}, {usd(order['total_cents'])} {shipping}, "
        f"customer {order['customer_id']}, invoice {invoice_id}) "
        f"{_status_phrase(order, shipment, desk_today(conn))}"
    )
    if existing is not None:
        summary += f"; return #{existing['id']} is {existing['status']} (opened {existing['created_at']})"
    return {
        "order_id": str(order["id"]),
        "customer_id": order["customer_id"],
        "status": order["status"],
        "device": order["device"],
        "total": dollars(order["total_cents"]),
        "shipping_fee": dollars(order["shipping_fee_cents"]),
        "shipping_address": order["shipping_address"],
        "invoice_id": invoice_id,
        "created_at": order["created_at"],
        "delivered_at": order["delivered_at"],
        "shipment": dict(shipment) if shipment else None,
        "return_window_ends": end.isoformat() if end else None,
        "return": dict(existing) if existing else None,
        "summary": summary + ".",
    }


@desk_tool(
    CancelArgs,
    scopes=WRITE,
    effect="write", owner=ORDER_OWNER,
    result=results.CancelResult,
)
def cancel_order(conn: sqlite3.Connection, args: CancelArgs) -> dict[str, Any]:
    """Cancel an order that has not shipped yet (status pending or processing).

    A shipped or delivered order cannot be cancelled: once delivered it can be returned
    with start_return. Cancelling moves no money: refund the order's invoice with
    refund_invoice if the customer wants the payment back. Returns order_id, status,
    previous_status and invoice_id.
    """
    order = order_row(conn, args.order_id)
    if order["status"] == "cancelled":
        raise PreconditionFailed(f"Order {order['id']} is already cancelled; nothing to do.")
    if order["status"] not in NOT_SHIPPED:
        raise PreconditionFailed(
            f"Order {order['id']} is {order['status']}, so it can no longer be cancelled. Once it is "
            f"delivered, start a return with start_return (allowed within {RETURN_DAYS} days of delivery)."
        )
    conn.execute(
        "UPDATE orders SET status = 'cancelled', cancel_reason = ? WHERE id = ?", (args.reason, order["id"])
    )
    invoice = conn.execute("SELECT id, status FROM invoices WHERE order_id = ?", (order["id"],)).fetchone()
    return {
        "order_id": str(order["id"]),
        "status": "cancelled",
        "previous_status": order["status"],
        "invoice_id": invoice["id"],
        "summary": (
            f"Cancelled order {order['id']} ({order['device']}, was {order['status']}); its invoice "
            f"{invoice['id']} ({usd(order['total_cents'])}, {invoice['status']}) was not refunded by "
            "the cancellation."
        ),
    }


@desk_tool(
    AddressArgs,
    scopes=WRITE,
    effect="write", owner=ORDER_OWNER,
    result=results.AddressResult,
)
def change_shipping_address(conn: sqlite3.Connection, args: AddressArgs) -> dict[str, Any]:
    """Change where an order ships, only before it ships (status pending or processing).

    Needs the order number and the complete new address ('12 Main St, Springfield, IL 62701').
    After shipping the carrier can redirect the parcel with the tracking number; we cannot.
    Returns order_id, customer_id, previous_address and shipping_address.
    """
    order = order_row(conn, args.order_id)
    if order["status"] not in NOT_SHIPPED:
        raise PreconditionFailed(
            f"Order {order['id']} is {order['status']}: the address can be changed only before the order "
            "ships (pending or processing). For a shipped order, the carrier can redirect it using the "
            "tracking number."
        )
    if args.address == order["shipping_address"]:
        raise PreconditionFailed(f"Order {order['id']} already ships to {args.address}; nothing to change.")
    conn.execute("UPDATE orders SET shipping_address = ? WHERE id = ?", (args.address, order["id"]))
    return {
        "order_id": str(order["id"]),
        "customer_id": order["customer_id"],
        "previous_address": order["shipping_address"],
        "shipping_address": args.address,
        "summary": f"Order {order['id']} will now ship to {args.address} (was {order['shipping_address']}).",
    }


@desk_tool(
    ReturnArgs,
    scopes=WRITE,
    effect="write", owner=ORDER_OWNER,
    result=results.ReturnResult,
)
def start_return(conn: sqlite3.Connection, args: ReturnArgs) -> dict[str, Any]:
    """Open a return for a delivered order, within 30 days of its delivery date; one per order.

    Orders not shipped yet should be cancelled with cancel_order instead. The device is
    refunded after it comes back, not by this tool. Returns return_id, order_id, status
    and return_window_ends.
    """
    order = order_row(conn, args.order_id)
    if order["status"] != "delivered":
        hint = {
            "pending": "it has not shipped yet: cancel it with cancel_order instead",
            "processing": "it has not shipped yet: cancel it with cancel_order instead",
            "shipped": "it is still on its way: a return can start once it is delivered",
            "cancelled": "it was cancelled, so there is nothing to return",
        }[order["status"]]
        raise PreconditionFailed(f"Order {order['id']} is {order['status']}; {hint}.")
    today, end = desk_today(conn), _window_end(order)
    assert end is not None  # delivered: delivered_at is set
    if today > end:
        raise PreconditionFailed(
            f"Order {order['id']} was delivered on {order['delivered_at']}, "
            f"{(today - date.fromisoformat(order['delivered_at'])).days} days ago; the {RETURN_DAYS}-day "
            f"return window closed on {end}. A defective device may still be covered by the two-year "
            "warranty."
        )
    existing = conn.execute(
        "SELECT id, status, created_at FROM returns WHERE order_id = ?", (order["id"],)
    ).fetchone()
    if existing is not None:
        raise PreconditionFailed(
            f"Order {order['id']} already has return #{existing['id']} ({existing['status']}, opened "
            f"{existing['created_at']}); an order can be returned only once."
        )
    return_id = conn.execute(
        "INSERT INTO returns (order_id, reason, status, created_at) VALUES (?, ?, 'requested', ?)",
        (order["id"], args.reason, today.isoformat()),
    ).lastrowid
    return {
        "return_id": return_id,
        "order_id": str(order["id"]),
        "status": "requested",
        "return_window_ends": end.isoformat(),
        "summary": (
            f"Started return #{return_id} for order {order['id']} ({order['device']}, delivered "
            f"{order['delivered_at']}, return window open until {end})."
        ),
    }


ORDERS_TOOLS = [get_order, cancel_order, change_shipping_address, start_return]
