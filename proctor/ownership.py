"""Ownership by declaration: every tool says whose records it reads or changes, and proctor checks it.

A tool declares ``owner=`` in ``desk_tool``: a pure function ``(conn, args) -> customer id(s)``
(``lookup`` and ``by_argument`` build the usual ones), or ``None`` for public data (help
articles). A tool that declares nothing is refused when the deployment loads, so a team's own
tool cannot forget it. Before any preview or approval (``OwnershipGuard``, outermost around the
tool call) and again in the transaction of the effect (``toolkit``), the requester must be one
of the owners, or staff holding every scope of the tool. Otherwise the call fails with
``NotPermitted`` and one message, whether the record belongs to someone else or does not exist.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ValidationError

from proctor.context import Requester, run_context
from proctor.errors import NotPermitted, ProctorError

if TYPE_CHECKING:
    from proctor.db import Database
    from proctor.toolkit import ToolSpec

Owners = str | Iterable[str] | None
Owner = Callable[[sqlite3.Connection, Any], Owners]


class _Undeclared:
    def __repr__(self) -> str:
        return "UNDECLARED"


UNDECLARED: Any = _Undeclared()


class ToolDeclarationError(ProctorError):
    """A tool's declaration is incomplete (e.g. it does not say whose records it touches)."""


def lookup(sql: str, key: str | Callable[[Any], Any]) -> Owner:
    """The owners are the first column of ``sql`` (one ``?``), bound to argument ``key`` (a field
    name, or a function of the arguments), e.g. ``lookup("SELECT customer_id FROM invoices WHERE
    id = ?", "invoice_id")``. No row: no owner, so nobody but staff passes."""
    value = key if callable(key) else (lambda args: getattr(args, key))

    def owners(conn: sqlite3.Connection, args: Any) -> set[str]:
        return {row[0] for row in conn.execute(sql, (value(args),)).fetchall()}

    return owners


def by_argument(name: str) -> Owner:
    """The argument is the owning customer's id itself (``customer_id``)."""
    return lambda conn, args: getattr(args, name)


def not_yours(tool: str, args: BaseModel | dict[str, Any]) -> str:
    """One message for "someone else's" and "no such record", built from the call alone (the ids
    the caller gave, echoed): it cannot reveal which."""
    given = args if isinstance(args, dict) else args.model_dump()
    named = [str(v) for k, v in given.items() if v is not None and (k.endswith("_id") or "email" in k)]
    what = f" matches {', '.join(named)}" if named else " matches these arguments"
    return (
        f"Not permitted: {tool} reaches only the requester's own records, and none of them{what}. "
        "Ask the customer for an id from their own account."
    )


def permit(conn: sqlite3.Connection, spec: ToolSpec, args: BaseModel, requester: Requester) -> None:
    """Raise ``NotPermitted`` unless ``requester`` may run ``spec`` on ``args``."""
    if spec.owner is None or requester.holds(spec.scopes):
        return
    found = spec.owner(conn, args)
    owners = {found} if isinstance(found, str) else set(found or ())
    if requester.kind != "customer" or requester.id not in owners:
        raise NotPermitted(not_yours(spec.name, args))


def check_declared(specs: Iterable[ToolSpec]) -> None:
    """Refuse a tool set in which any tool does not say whose records it touches."""
    missing = [s.name for s in specs if s.owner is UNDECLARED]
    if missing:
        raise ToolDeclarationError(
            f"tools {missing} do not declare owner=: give desk_tool how to find the customer owning what "
            "the tool reads or changes (proctor.ownership.lookup / by_argument, or a function of "
            "(conn, args)), or owner=None for public data"
        )


class OwnershipGuard(AgentMiddleware):
    """Checks ownership before anything else sees the call: no approval request, no preview."""

    def __init__(self, db: Database, specs: Iterable[ToolSpec]) -> None:
        super().__init__()
        self.db = db
        self.specs = {s.name: s for s in specs}

    def refusal(self, request: ToolCallRequest) -> ToolMessage | None:
        call = request.tool_call
        spec = self.specs.get(call["name"])
        if request.tool is None or spec is None or spec.owner is None:
            return None  # not a tool this agent holds (it reports that itself), or public data
        try:
            args = spec.args_schema.model_validate(call["args"])
        except (ValidationError, TypeError, ValueError):
            return None  # the tool reports bad arguments itself
        try:
            with self.db.reading() as conn:
                permit(conn, spec, args, run_context(request.runtime).requester)
        except NotPermitted as exc:
            _record_refusal(spec, call, request.runtime.config, exc)
            return ToolMessage(f"Error from {spec.name}: {exc}", tool_call_id=call["id"], name=spec.name, status="error")
        return None

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable) -> Any:
        return self.refusal(request) or handler(request)

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable) -> Any:
        return await asyncio.to_thread(self.refusal, request) or await handler(request)


def _record_refusal(spec: ToolSpec, call: Mapping[str, Any], config: Any, error: NotPermitted) -> None:
    """Run a stand-in that fails as the tool would, so results and traces show the refused call."""

    def refuse(**_: Any) -> None:
        raise error

    stand_in = StructuredTool.from_function(
        func=refuse, name=spec.name, description=spec.description, args_schema=spec.args_schema
    )
    try:
        stand_in.invoke({**call, "type": "tool_call"}, config)
    except NotPermitted:
        pass
