"""What each desk tool returns, field by field, and who could have written it.

Plain ``str`` is free text an outsider could have written (a ticket, a help article): it taints
the run. ``CustomerText`` is what the record's own customer wrote (a shipping address, a display
name, a workspace name): it taints the run unless that customer is the one asking. ``Id``,
``DeskText``, numbers, dates and ``Literal`` values are the desk's own; ``OwnerId`` (``customer_id``)
names whose record a result is. Either way the text reaches
the model inside delimiters. A summary that quotes free text is free text of the same kind.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from proctor.guards.provenance import CustomerText, DeskText, Id, OwnerId

OrderStatus = Literal["pending", "processing", "shipped", "delivered", "cancelled"]
Role = Literal["owner", "admin", "member", "viewer"]


class Shipment(BaseModel):
    carrier: Id
    tracking_number: Id
    status: Id


class ReturnRecord(BaseModel):
    id: int
    status: Id
    created_at: Id


class OrderResult(BaseModel):
    order_id: Id
    customer_id: OwnerId
    status: OrderStatus
    device: Id  # the desk's catalogue name
    total: float
    shipping_fee: float
    shipping_address: CustomerText  # typed by the customer at checkout
    invoice_id: Id
    created_at: Id
    delivered_at: Id | None
    shipment: Shipment | None
    return_window_ends: Id | None
    return_: ReturnRecord | None = Field(None, alias="return")  # "return" is a keyword
    summary: CustomerText  # quotes the shipping address


class CancelResult(BaseModel):
    order_id: Id
    status: OrderStatus
    previous_status: OrderStatus
    invoice_id: Id
    summary: DeskText


class AddressResult(BaseModel):
    order_id: Id
    customer_id: OwnerId
    previous_address: CustomerText  # typed by the order's customer
    shipping_address: DeskText  # the caller's own argument
    summary: CustomerText  # quotes the previous address


class ReturnResult(BaseModel):
    return_id: int
    order_id: Id
    status: Id
    return_window_ends: Id
    summary: DeskText


class PaymentLine(BaseModel):
    payment_id: Id
    amount: float
    paid_at: Id
    refunded: float


class InvoiceResult(BaseModel):
    invoice_id: Id
    customer_id: OwnerId
    order_id: Id | None
    status: Id
    currency: Id
    issued_at: Id
    amount: float
    amount_paid: float
    amount_refunded: float
    refundable: float
    payment_count: int
    duplicate_charge: bool
    payments: list[PaymentLine]
    summary: DeskText


class InvoiceLine(BaseModel):
    invoice_id: Id
    status: Id
    amount: float
    issued_at: Id
    order_id: Id | None
    duplicate_charge: bool
    amount_refunded: float


class InvoiceListResult(BaseModel):
    customer_id: OwnerId
    invoices: list[InvoiceLine]
    count: int
    open_total: float
    summary: DeskText


class RefundResult(BaseModel):
    refund_id: int
    invoice_id: Id
    customer_id: OwnerId
    amount: float
    refundable: float
    summary: DeskText


class ShippingRefundResult(BaseModel):
    refund_id: int
    order_id: Id
    invoice_id: Id
    amount: float
    summary: DeskText


class CreditResult(BaseModel):
    credit_id: int
    customer_id: OwnerId
    amount: float
    credits_total: float
    summary: DeskText


class PlanResult(BaseModel):
    customer_id: OwnerId
    previous_plan: Id
    plan_code: Id
    monthly_price: float
    summary: DeskText


class Member(BaseModel):
    email: CustomerText  # added by the customer's workspace admins
    role: Role


class Workspace(BaseModel):
    workspace_id: Id
    name: CustomerText  # named by the customer
    members: list[Member]


class CustomerResult(BaseModel):
    customer_id: OwnerId
    name: CustomerText  # the customer's display name
    email: CustomerText
    status: Id
    created_at: Id
    plan: Id
    plan_name: Id
    monthly_price: float
    subscription_status: Id
    workspace_id: Id | None
    workspaces: list[Workspace]
    summary: CustomerText  # quotes the name, the email and the workspaces


class ResetResult(BaseModel):
    email_id: int
    to_email: DeskText  # the caller's own argument, checked against the email pattern
    summary: DeskText


class RoleResult(BaseModel):
    workspace_id: Id
    user_email: DeskText  # the caller's own argument
    previous_role: Role
    role: Role
    summary: CustomerText  # quotes the workspace name (no customer_id here: it taints)


class CloseResult(BaseModel):
    customer_id: OwnerId
    status: Id
    summary: CustomerText  # quotes the customer's name


class ArticleHit(BaseModel):
    article_id: Id
    title: str  # help articles are edited by many hands and imported from outside
    excerpt: str
    score: float


class SearchResult(BaseModel):
    articles: list[ArticleHit]
    article_id: Id | None
    summary: str


class ArticleResult(BaseModel):
    article_id: Id
    title: str
    body: str
    tags: str
    summary: str


class TicketLine(BaseModel):
    ticket_id: Id
    subject: str  # the customer's words
    message: str
    status: Id
    priority: Id
    escalated: bool
    created_at: Id


class TicketHistoryResult(BaseModel):
    customer_id: OwnerId
    tickets: list[TicketLine]
    count: int
    summary: str  # quotes the subjects


class TicketResult(BaseModel):
    ticket_id: Id
    customer_id: OwnerId
    status: Id
    priority: Id
    escalated: bool
    summary: DeskText  # the caller's own subject


class EmailResult(BaseModel):
    email_id: int
    to_email: DeskText  # the caller's own argument, an account email
    customer_id: OwnerId
    summary: DeskText
