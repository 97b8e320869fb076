"""A plug-in tool module (``PROCTOR_TOOL_MODULES``) whose write calls an outside service on loopback.

The service's URL comes from ``LOOPBACK_SERVICE_URL``; every call is one POST there, so the
service's counter is the evidence of every effect the tool had, database or not.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.request
from typing import Any

from pydantic import BaseModel, Field

from proctor.guards.provenance import DeskText, Id
from proctor.ownership import by_argument
from proctor.toolkit import Impact, desk_tool


class WireArgs(BaseModel):
    customer_id: str = Field(pattern=r"^CUS-\d{4}$")
    amount: float = Field(gt=0, le=10_000)


class WireResult(BaseModel):
    wire_id: Id
    summary: DeskText


def _impact(conn: sqlite3.Connection, args: WireArgs) -> Impact:
    return Impact(amount=args.amount, customer_id=args.customer_id)


@desk_tool(WireArgs, scopes=["billing:write"], effect="write", result=WireResult, impact=_impact,
           owner=by_argument("customer_id"))
def wire_refund(conn: sqlite3.Connection, args: WireArgs) -> dict[str, Any]:
    """Send a refund by bank wire through the payments service."""
    body = json.dumps(args.model_dump()).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(os.environ["LOOPBACK_SERVICE_URL"], data=body), timeout=10) as reply:
        wire = json.loads(reply.read())
    return {"wire_id": wire["id"], "summary": f"Wired {args.amount:.2f} USD to {args.customer_id} (wire {wire['id']})."}


TOOLS = [wire_refund]
