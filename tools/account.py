"""Account tools: customer lookup, password resets, workspace roles and account closure."""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from proctor.errors import NotFound, PreconditionFailed
from proctor.toolkit import desk_tool
from proctor.tools import results
from proctor.tools.schema import (
    CUSTOMER_ID,
    CUSTOMER_OWNER,
    EMAIL,
    WORKSPACE_ID,
    customer_row,
    desk_today,
    dollars,
    plural,
    usd,
)

READ, WRITE = ["account:read"], ["account:write"]
Role = Literal["owner", "admin", "member", "viewer"]
RESET_BODY = (
    "Someone asked to reset the password for {email}. Open https://desk.example.com/reset to choose a "
    "new password; the link is valid for 60 minutes and can be used once. If you did not ask for this, "
    "ignore this email: your password stays the same."
)


class CustomerLookupArgs(BaseModel):
    customer_id: str | None = Field(None, pattern=CUSTOMER_ID, description="The customer id, like CUS-0001.")
    email: str | None = Field(None, pattern=EMAIL, description="The customer's account email.")

    @model_validator(mode="after")
    def _exactly_one(self) -> CustomerLookupArgs:
        if (self.customer_id is None) == (self.email is None):
            raise ValueError(
                "give exactly one of customer_id (like CUS-0001) or email, not both and not neither"
            )
        return self


class EmailArgs(BaseModel):
    email: str = Field(pattern=EMAIL, description="The email address the user signs in with.")


class RoleArgs(BaseModel):
    workspace_id: str = Field(pattern=WORKSPACE_ID, description="The workspace id, like WS-0001.")
    user_email: str = Field(pattern=EMAIL, description="Email of the member whose role changes.")
    role: Role = Field(description="The member's new role.")


class CloseArgs(BaseModel):
    customer_id: str = Field(pattern=CUSTOMER_ID, description="The customer id, like CUS-0001.")
    reason: str = Field(min_length=3, max_length=300, description="Why the customer leaves, in a few words.")


def _by_email(conn: sqlite3.Connection, email: str) -> tuple[sqlite3.Row, str]:
    """The customer whose account email this is, else the one owning a workspace it is a member
    of, with a note for the summary saying how the email matched."""
    row = conn.execute("SELECT * FROM customers WHERE email = ?", (email,)).fetchone()
    if row is not None:
        return row, ""
    member = conn.execute(
        "SELECT w.id, w.customer_id, m.role FROM workspace_members m"
        " JOIN workspaces w ON w.id = m.workspace_id"
        " WHERE m.email = ? ORDER BY w.id",
        (email,),
    ).fetchone()
    if member is None:
        raise NotFound(
            f"No customer or workspace member uses {email}. Check the spelling, or ask for the "
            "customer id (like CUS-0001)."
        )
    return customer_row(
        conn, member["customer_id"]
    ), f"{email} is a member ({member['role']}) of workspace {member['id']}. "


def _customer_id_by_email(conn: sqlite3.Connection, email: str) -> str | None:
    """Whose account ``_by_email`` finds: the account email's customer, else the customer of the
    first workspace the email is a member of."""
    row = conn.execute("SELECT id FROM customers WHERE email = ?", (email,)).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT w.customer_id FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
            " WHERE m.email = ? ORDER BY w.id",
            (email,),
        ).fetchone()
    return row[0] if row else None


def lookup_owner(conn: sqlite3.Connection, args: CustomerLookupArgs) -> str | None:
    return args.customer_id or _customer_id_by_email(conn, (args.email or "").lower())


def reset_owners(conn: sqlite3.Connection, args: EmailArgs) -> list[str]:
    """A reset goes to the email's own inbox; it is the business of the account it signs in to
    (the customer, or the customer of a workspace it is a member of)."""
    email = args.email.lower()
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM customers WHERE email = ? UNION SELECT w.customer_id FROM workspace_members m"
            " JOIN workspaces w ON w.id = m.workspace_id WHERE m.email = ?",
            (email, email),
        )
    ]


def workspace_admins(conn: sqlite3.Connection, args: RoleArgs) -> list[str]:
    """Roles change only by the workspace's owners or admins: the customers whose account email
    holds one of those roles in it."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT c.id FROM workspace_members m JOIN customers c ON c.email = m.email"
            " WHERE m.workspace_id = ? AND m.role IN ('owner', 'admin')",
            (args.workspace_id,),
        )
    ]


def _workspaces(conn: sqlite3.Connection, customer_id: str) -> list[dict[str, Any]]:
    workspaces = conn.execute(
        "SELECT id, name FROM workspaces WHERE customer_id = ? ORDER BY id", (customer_id,)
    )
    return [
        {
            "workspace_id": w["id"],
            "name": w["name"],
            "members": [
                dict(m)
                for m in conn.execute(
                    "SELECT email, role FROM workspace_members WHERE workspace_id = ?"
                    " ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1"
                    " WHEN 'member' THEN 2 ELSE 3 END, email",
                    (w["id"],),
                )
            ],
        }
        for w in workspaces.fetchall()
    ]


def _members_text(members: list[dict[str, Any]]) -> str:
    return ", ".join(f"{m['email']} ({m['role']})" for m in members)


@desk_tool(
    CustomerLookupArgs,
    scopes=READ,
    effect="read", owner=lookup_owner,
    result=results.CustomerResult,
)  # fmt: skip
def get_customer(conn: sqlite3.Connection, args: CustomerLookupArgs) -> dict[str, Any]:
    """Look up a customer by customer_id (CUS-0001) or by email: exactly one of the two.

    Use it to identify who is asking and before changing roles or closing an account. An
    email that is not a customer's account email finds the customer owning the workspace
    that person is a member of.
    Returns customer_id, name, email, status (active|closed), plan (starter|growth|scale|
    enterprise), plan_name, monthly_price, subscription_status, workspace_id (the first
    workspace) and workspaces with their members (email, role).
    """
    if args.customer_id:
        customer, note = customer_row(conn, args.customer_id), ""
    else:
        customer, note = _by_email(conn, (args.email or "").lower())
    plan = conn.execute(
        "SELECT p.code, p.name, p.monthly_price_cents, s.status FROM subscriptions s"
        " JOIN plans p ON p.code = s.plan_code WHERE s.customer_id = ? ORDER BY s.id DESC",
        (customer["id"],),
    ).fetchone()
    workspaces = _workspaces(conn, customer["id"])
    spaces = "; ".join(
        f"workspace {w['workspace_id']} '{w['name']}' has {plural(len(w['members']), 'member')}: "
        + _members_text(w["members"])
        for w in workspaces
    )
    return {
        "customer_id": customer["id"],
        "name": customer["name"],
        "email": customer["email"],
        "status": customer["status"],
        "created_at": customer["created_at"],
        "plan": plan["code"],
        "plan_name": plan["name"],
        "monthly_price": dollars(plan["monthly_price_cents"]),
        "subscription_status": plan["status"],
        "workspace_id": workspaces[0]["workspace_id"] if workspaces else None,
        "workspaces": workspaces,
        "summary": (
            f"{note}Customer {customer['id']} {customer['name']} <{customer['email']}> is "
            f"{customer['status']} on the {plan['name']} plan ({usd(plan['monthly_price_cents'])}/month, "
            f"subscription {plan['status']}); {spaces}."
        ),
    }


@desk_tool(
    EmailArgs,
    scopes=WRITE,
    effect="write", owner=reset_owners,
    result=results.ResetResult,
)
def send_password_reset(conn: sqlite3.Connection, args: EmailArgs) -> dict[str, Any]:
    """Email a password reset link to a user of an active account (a customer or a workspace member).

    Needs the email the user signs in with. It only queues the email; it never reveals or
    sets a password. Returns email_id (outbox id) and to_email.
    """
    email = args.email.lower()
    accounts = conn.execute(
        "SELECT status FROM customers WHERE email = ? UNION ALL"
        " SELECT c.status FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
        " JOIN customers c ON c.id = w.customer_id WHERE m.email = ?",
        (email, email),
    ).fetchall()
    if not accounts:
        raise NotFound(
            f"No user signs in with {email}. Check the spelling; get_customer shows a customer's "
            "workspace members."
        )
    if all(a["status"] == "closed" for a in accounts):
        raise PreconditionFailed(
            f"{email} belongs only to closed accounts, so there is nothing to sign in to."
        )
    email_id = conn.execute(
        "INSERT INTO email_outbox (to_email, subject, body, created_at) VALUES (?, ?, ?, ?)",
        (email, "Reset your password", RESET_BODY.format(email=email), desk_today(conn).isoformat()),
    ).lastrowid
    return {
        "email_id": email_id,
        "to_email": email,
        "summary": (
            f"Queued a password reset email to {email} (outbox #{email_id}); "
            "the link is valid for 60 minutes."
        ),
    }


@desk_tool(
    RoleArgs,
    scopes=WRITE,
    effect="write", owner=workspace_admins,
    result=results.RoleResult,
)  # fmt: skip
def change_user_role(conn: sqlite3.Connection, args: RoleArgs) -> dict[str, Any]:
    """Change the role of an existing member of a workspace (owner, admin, member or viewer).

    The member must already belong to the workspace (get_customer lists members). A
    workspace always keeps at least one owner: to demote the last owner, first make
    someone else owner. Returns workspace_id, user_email, previous_role and role.
    """
    workspace = conn.execute(
        "SELECT w.id, w.name, c.status FROM workspaces w"
        " JOIN customers c ON c.id = w.customer_id WHERE w.id = ?",
        (args.workspace_id,),
    ).fetchone()
    if workspace is None:
        raise NotFound(
            f"No workspace {args.workspace_id} exists. get_customer lists a customer's workspaces "
            "(ids like WS-0001)."
        )
    if workspace["status"] != "active":
        raise PreconditionFailed(
            f"Workspace {workspace['id']} belongs to a closed account; roles cannot change."
        )
    email = args.user_email.lower()
    members = conn.execute(
        "SELECT email, role FROM workspace_members WHERE workspace_id = ? ORDER BY email", (workspace["id"],)
    ).fetchall()
    member = next((m for m in members if m["email"] == email), None)
    if member is None:
        raise NotFound(
            f"{email} is not a member of workspace {workspace['id']}; its members are "
            f"{_members_text([dict(m) for m in members])}."
        )
    if member["role"] == args.role:
        raise PreconditionFailed(
            f"{email} is already {args.role} of workspace {workspace['id']}; nothing to change."
        )
    owners = sum(m["role"] == "owner" for m in members)
    if member["role"] == "owner" and owners == 1:
        raise PreconditionFailed(
            f"{email} is the only owner of workspace {workspace['id']}, and a workspace must keep at "
            "least one owner. Make another member owner first, then change this role."
        )
    conn.execute(
        "UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND email = ?",
        (args.role, workspace["id"], email),
    )
    return {
        "workspace_id": workspace["id"],
        "user_email": email,
        "previous_role": member["role"],
        "role": args.role,
        "summary": (
            f"Changed the role of {email} in workspace {workspace['id']} '{workspace['name']}' "
            f"from {member['role']} to {args.role}."
        ),
    }


@desk_tool(
    CloseArgs,
    scopes=WRITE,
    effect="write", owner=CUSTOMER_OWNER,
    result=results.CloseResult,
)
def close_account(conn: sqlite3.Connection, args: CloseArgs) -> dict[str, Any]:
    """Close a customer's account and cancel its subscription. Irreversible from the desk.

    Not allowed while the customer has open (unpaid) invoices: list_invoices shows them.
    Returns customer_id and status.
    """
    customer = customer_row(conn, args.customer_id)
    if customer["status"] == "closed":
        raise PreconditionFailed(f"Account {customer['id']} is already closed.")
    unpaid = conn.execute(
        "SELECT id, amount_cents FROM invoices WHERE customer_id = ? AND status = 'open' ORDER BY id",
        (customer["id"],),
    ).fetchall()
    if unpaid:
        raise PreconditionFailed(
            f"Account {customer['id']} has {plural(len(unpaid), 'open invoice')} totalling "
            f"{usd(sum(i['amount_cents'] for i in unpaid))} ({', '.join(i['id'] for i in unpaid)}); "
            "they must be paid before the account can be closed."
        )
    conn.execute(
        "UPDATE customers SET status = 'closed', closed_reason = ? WHERE id = ?",
        (args.reason, customer["id"]),
    )
    conn.execute(
        "UPDATE subscriptions SET status = 'cancelled' WHERE customer_id = ? AND status = 'active'",
        (customer["id"],),
    )
    return {
        "customer_id": customer["id"],
        "status": "closed",
        "summary": (
            f"Closed account {customer['id']} ({customer['name']}) and cancelled its subscription; "
            "no further invoices will be issued."
        ),
    }


ACCOUNT_TOOLS = [get_customer, send_password_reset, change_user_role, close_account]
