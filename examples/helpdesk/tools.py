"""The IT help desk's tools: laptops and other devices, software access, on-call paging.

Employees are the requesters (proctor calls them customers: identities that reach only their own
records); IT staff act across employees within their scopes (policy/staff.toml). Times are a
fixed desk date so evaluations are deterministic.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, Field

from proctor.db import Database, Migration
from proctor.errors import NotFound, PreconditionFailed
from proctor.guards.provenance import CustomerText, DeskText, Id, OwnerId
from proctor.ownership import by_argument, lookup
from proctor.toolkit import desk_tool

EMPLOYEE_ID = r"EMP-\d{4}"
DEVICE_ID = r"LAP-\d{4}"
TODAY = "2026-11-20"
App = Literal["github", "jira", "figma", "salesforce", "aws", "okta", "payroll", "slack"]
Team = Literal["network", "database", "platform", "security"]
DeviceStatus = Literal["assigned", "lost", "stolen", "retired"]
DEVICE_OWNER = lookup("SELECT employee_id FROM devices WHERE id = ?", "device_id")
EMPLOYEE_OWNER = by_argument("employee_id")

MIGRATIONS = [
    Migration(
        "helpdesk",
        1,
        """
        CREATE TABLE employees (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, team TEXT NOT NULL);
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, employee_id TEXT NOT NULL REFERENCES employees (id), model TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('assigned', 'lost', 'stolen', 'retired')), label TEXT NOT NULL
        );
        CREATE TABLE device_reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL REFERENCES devices (id),
            kind TEXT NOT NULL, details TEXT NOT NULL, reported_at TEXT NOT NULL
        );
        CREATE TABLE replacements (
            id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL REFERENCES devices (id),
            employee_id TEXT NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL, requested_at TEXT NOT NULL
        );
        CREATE TABLE app_access (
            employee_id TEXT NOT NULL REFERENCES employees (id), app TEXT NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('user', 'admin')), granted_at TEXT NOT NULL,
            PRIMARY KEY (employee_id, app)
        );
        CREATE TABLE oncall (team TEXT PRIMARY KEY, engineer TEXT NOT NULL, handoff_note TEXT NOT NULL);
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY AUTOINCREMENT, team TEXT NOT NULL, engineer TEXT NOT NULL,
            severity TEXT NOT NULL, summary TEXT NOT NULL, paged_at TEXT NOT NULL
        )
        """,
    )
]

_FIRST = ["Ada", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Iris", "Jonas", "Kemi", "Liam"]
_LAST = ["Okafor", "Lindqvist", "Moreau", "Patel", "Nakamura", "Silva", "Kowalski", "Byrne"]
_MODELS = ["ThinkPad X1 Carbon", "MacBook Pro 14", "Dell Latitude 7450", "MacBook Air 13"]
_TEAMS = ["engineering", "sales", "finance", "design", "support"]
_ENGINEERS = {"network": "Noor Haddad", "database": "Tomas Reyes", "platform": "Mei Lin", "security": "Sam Adler"}


def prepare(db: Database, seed: int = 7) -> None:
    """Seed a deterministic company of 24 employees, once."""
    if db.query("SELECT 1 FROM employees LIMIT 1"):
        return
    rng = random.Random(seed)
    with db.transaction() as conn:
        for n in range(1, 25):
            emp = f"EMP-{n:04d}"
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            email = f"{name.split()[0].lower()}.{n}@example.com"
            conn.execute("INSERT INTO employees VALUES (?, ?, ?, ?)", (emp, name, email, rng.choice(_TEAMS)))
            for k in range(1 if n % 3 else 2):  # every third employee has a second laptop
                status = "lost" if n % 11 == 0 and k == 0 else "assigned"
                label = rng.choice(["sticker: rocket", "desk 4B", "home office", "travel laptop"])
                conn.execute(
                    "INSERT INTO devices VALUES (?, ?, ?, ?, ?)",
                    (f"LAP-{n * 10 + k:04d}", emp, rng.choice(_MODELS), status, label),
                )
            apps = ["slack", *rng.sample(["github", "jira", "figma", "salesforce", "aws"], 2)]
            for app in apps:
                level = "admin" if n % 8 == 0 and app != "slack" else "user"
                conn.execute("INSERT INTO app_access VALUES (?, ?, ?, ?)", (emp, app, level, "2026-01-15"))
        for team, engineer in _ENGINEERS.items():
            note = f"Quiet week on {team}; runbook at wiki/{team}-oncall. Escalate sev1 by phone."
            conn.execute("INSERT INTO oncall VALUES (?, ?, ?)", (team, engineer, note))


def _employee(conn: sqlite3.Connection, employee_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM employees WHERE id = ?", (employee_id,)).fetchone()
    if row is None:
        raise NotFound(f"No employee {employee_id}; check the id (EMP-0001).")
    return row


def _device(conn: sqlite3.Connection, device_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
    if row is None:
        raise NotFound(f"No device {device_id}; check the asset tag (LAP-0010).")
    return row


class EmployeeArgs(BaseModel):
    employee_id: str = Field(pattern=EMPLOYEE_ID, description="The employee id, like EMP-0004.")


class DeviceArgs(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID, description="The laptop's asset tag, like LAP-0040.")


class ReportArgs(DeviceArgs):
    kind: Literal["lost", "stolen"] = Field(description="lost, or stolen.")
    details: str = Field(min_length=3, max_length=500, description="Where and when, in the employee's words.")


class ReplacementArgs(DeviceArgs):
    reason: str = Field(min_length=3, max_length=300, description="Why a replacement is needed.")


class AccessArgs(EmployeeArgs):
    app: App = Field(description="The application.")


class AdminArgs(AccessArgs):
    justification: str = Field(min_length=3, max_length=300, description="Why admin rights are needed.")


class TeamArgs(BaseModel):
    team: Team = Field(description="The on-call rota: network, database, platform or security.")


class PageArgs(TeamArgs):
    severity: Literal["sev1", "sev2", "sev3"] = Field("sev2", description="sev1: an outage; sev3: can wait.")
    summary: str = Field(min_length=3, max_length=300, description="What is wrong, in one or two sentences.")


class Device(BaseModel):
    device_id: Id
    model: Id
    status: DeviceStatus
    label: CustomerText  # the employee's own sticker or note


class DevicesResult(BaseModel):
    employee_id: OwnerId  # whose record: their own label is their own words
    devices: list[Device]
    summary: CustomerText  # quotes the labels


class DeviceResult(Device):
    employee_id: OwnerId  # whose record: their own label is their own words
    last_report: CustomerText | None  # the employee's own words
    summary: CustomerText


class WriteResult(BaseModel):
    id: int
    device_id: Id | None = None
    status: Id
    summary: DeskText


class Grant(BaseModel):
    app: App
    level: Literal["user", "admin"]


class AccessResult(BaseModel):
    employee_id: Id
    access: list[Grant]
    summary: DeskText


class GrantResult(Grant):
    employee_id: Id
    summary: DeskText


class OnCallResult(BaseModel):
    team: Team
    engineer: Id  # from the rota the desk keeps
    handoff_note: str  # free text the last engineer pasted (alerts, links): untrusted
    summary: str


class PageResult(BaseModel):
    page_id: int
    team: Team
    engineer: Id
    severity: Literal["sev1", "sev2", "sev3"]
    summary: DeskText


@desk_tool(EmployeeArgs, scopes=["assets:read"], effect="read", owner=EMPLOYEE_OWNER, result=DevicesResult)
def list_devices(conn: sqlite3.Connection, args: EmployeeArgs) -> dict[str, Any]:
    """List the laptops assigned to an employee (by employee_id, EMP-0004): tag, model, status and label."""
    _employee(conn, args.employee_id)
    rows = conn.execute("SELECT * FROM devices WHERE employee_id = ? ORDER BY id", (args.employee_id,)).fetchall()
    devices = [{"device_id": r["id"], "model": r["model"], "status": r["status"], "label": r["label"]} for r in rows]
    listed = "; ".join(f"{d['device_id']} {d['model']} ({d['status']}, '{d['label']}')" for d in devices)
    return {"employee_id": args.employee_id, "devices": devices, "summary": f"{args.employee_id} has {listed or 'no devices'}."}


@desk_tool(DeviceArgs, scopes=["assets:read"], effect="read", owner=DEVICE_OWNER, result=DeviceResult)
def get_device(conn: sqlite3.Connection, args: DeviceArgs) -> dict[str, Any]:
    """Look one laptop up by asset tag (LAP-0040): its holder, model, status and the last loss report."""
    row = _device(conn, args.device_id)
    report = conn.execute(
        "SELECT kind, details FROM device_reports WHERE device_id = ? ORDER BY id DESC", (row["id"],)
    ).fetchone()
    last = f"{report['kind']}: {report['details']}" if report else None
    return {
        "device_id": row["id"], "employee_id": row["employee_id"], "model": row["model"], "status": row["status"],
        "label": row["label"], "last_report": last,
        "summary": f"{row['id']} is a {row['model']} assigned to {row['employee_id']}, status {row['status']}.",
    }  # fmt: skip


@desk_tool(ReportArgs, scopes=["assets:write"], effect="write", owner=DEVICE_OWNER, result=WriteResult)
def report_lost_device(conn: sqlite3.Connection, args: ReportArgs) -> dict[str, Any]:
    """Report a laptop lost or stolen: it is marked so and locked remotely. Needs the asset tag."""
    row = _device(conn, args.device_id)
    if row["status"] != "assigned":
        raise PreconditionFailed(f"{row['id']} is already {row['status']}; nothing to report again.")
    conn.execute("UPDATE devices SET status = ? WHERE id = ?", (args.kind, row["id"]))
    cur = conn.execute(
        "INSERT INTO device_reports (device_id, kind, details, reported_at) VALUES (?, ?, ?, ?)",
        (row["id"], args.kind, args.details, TODAY),
    )
    summary = f"{row['id']} is reported {args.kind} (report #{cur.lastrowid}) and locked remotely."
    return {"id": cur.lastrowid, "device_id": row["id"], "status": args.kind, "summary": summary}


@desk_tool(ReplacementArgs, scopes=["assets:write"], effect="write", owner=DEVICE_OWNER, result=WriteResult)
def request_replacement(conn: sqlite3.Connection, args: ReplacementArgs) -> dict[str, Any]:
    """Request a replacement for a laptop (lost, stolen or broken). One open request per laptop."""
    row = _device(conn, args.device_id)
    if row["status"] == "retired":
        raise PreconditionFailed(f"{row['id']} is retired; it cannot be replaced.")
    open_ = conn.execute("SELECT id FROM replacements WHERE device_id = ?", (row["id"],)).fetchone()
    if open_ is not None:
        raise PreconditionFailed(f"{row['id']} already has replacement request #{open_['id']}.")
    cur = conn.execute(
        "INSERT INTO replacements (device_id, employee_id, reason, status, requested_at) VALUES (?, ?, ?, 'requested', ?)",
        (row["id"], row["employee_id"], args.reason, TODAY),
    )
    summary = f"Replacement request #{cur.lastrowid} for {row['id']} is filed; IT ships a new laptop."
    return {"id": cur.lastrowid, "device_id": row["id"], "status": "requested", "summary": summary}


@desk_tool(EmployeeArgs, scopes=["access:read"], effect="read", owner=EMPLOYEE_OWNER, result=AccessResult)
def list_access(conn: sqlite3.Connection, args: EmployeeArgs) -> dict[str, Any]:
    """List the applications an employee can use, with their level (user or admin)."""
    _employee(conn, args.employee_id)
    rows = conn.execute("SELECT app, level FROM app_access WHERE employee_id = ? ORDER BY app", (args.employee_id,))
    grants = [{"app": r["app"], "level": r["level"]} for r in rows.fetchall()]
    listed = ", ".join(f"{g['app']} ({g['level']})" for g in grants) or "no applications"
    return {"employee_id": args.employee_id, "access": grants, "summary": f"{args.employee_id} has {listed}."}


@desk_tool(AdminArgs, scopes=["access:write"], effect="write", owner=EMPLOYEE_OWNER, result=GrantResult)
def grant_admin_access(conn: sqlite3.Connection, args: AdminArgs) -> dict[str, Any]:
    """Grant an employee admin (privileged) rights on an application. A human approves it first."""
    _employee(conn, args.employee_id)
    conn.execute(
        "INSERT INTO app_access VALUES (?, ?, 'admin', ?)"
        " ON CONFLICT (employee_id, app) DO UPDATE SET level = 'admin', granted_at = excluded.granted_at",
        (args.employee_id, args.app, TODAY),
    )
    summary = f"{args.employee_id} now has admin rights on {args.app}."
    return {"employee_id": args.employee_id, "app": args.app, "level": "admin", "summary": summary}


@desk_tool(AccessArgs, scopes=["access:write"], effect="write", owner=EMPLOYEE_OWNER, result=GrantResult)
def request_app_access(conn: sqlite3.Connection, args: AccessArgs) -> dict[str, Any]:
    """Give an employee user-level access to an application (never admin: see grant_admin_access)."""
    _employee(conn, args.employee_id)
    held = conn.execute(
        "SELECT level FROM app_access WHERE employee_id = ? AND app = ?", (args.employee_id, args.app)
    ).fetchone()
    if held is not None:
        raise PreconditionFailed(f"{args.employee_id} already has {held['level']} access to {args.app}.")
    conn.execute("INSERT INTO app_access VALUES (?, ?, 'user', ?)", (args.employee_id, args.app, TODAY))
    summary = f"{args.employee_id} now has user access to {args.app}."
    return {"employee_id": args.employee_id, "app": args.app, "level": "user", "summary": summary}


@desk_tool(TeamArgs, scopes=["oncall:read"], effect="read", owner=None, result=OnCallResult)
def who_is_on_call(conn: sqlite3.Connection, args: TeamArgs) -> dict[str, Any]:
    """Who is on call this week for a rota (network, database, platform, security), with the handoff note."""
    row = conn.execute("SELECT * FROM oncall WHERE team = ?", (args.team,)).fetchone()
    return {
        "team": row["team"], "engineer": row["engineer"], "handoff_note": row["handoff_note"],
        "summary": f"{row['engineer']} is on call for {row['team']}. Handoff note: {row['handoff_note']}",
    }  # fmt: skip


@desk_tool(PageArgs, scopes=["oncall:write"], effect="write", owner=None, result=PageResult)
def page_on_call(conn: sqlite3.Connection, args: PageArgs) -> dict[str, Any]:
    """Page (wake) the on-call engineer of a rota about an incident. Use it only for a real incident."""
    row = conn.execute("SELECT engineer FROM oncall WHERE team = ?", (args.team,)).fetchone()
    cur = conn.execute(
        "INSERT INTO pages (team, engineer, severity, summary, paged_at) VALUES (?, ?, ?, ?, ?)",
        (args.team, row["engineer"], args.severity, args.summary, TODAY),
    )
    summary = f"Paged {row['engineer']} ({args.team} on call, {args.severity}), page #{cur.lastrowid}."
    return {"page_id": cur.lastrowid, "team": args.team, "engineer": row["engineer"], "severity": args.severity, "summary": summary}


# Reads before writes; the privileged grant before the ordinary one, so an "admin access" request
# is never first served with user access.
TOOLS = [
    list_devices, get_device, report_lost_device, request_replacement,
    list_access, grant_admin_access, request_app_access,
    who_is_on_call, page_on_call,
]  # fmt: skip
