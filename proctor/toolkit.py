"""Declaring tools: typed arguments, scopes, read/write effect, declared impact, exactly-once writes.

A tool is a plain function ``fn(conn, args) -> dict`` plus a :class:`ToolSpec`. Binding a
spec to a :class:`~proctor.db.Database` gives a LangChain tool. Write tools run inside one
transaction together with their idempotency record, so a re-executed tool call (a resume,
a retry, a crash between checkpoint writes) returns the first result instead of acting twice,
and a different call under a used key is refused. A write tool may declare its ``impact``: a
pure function of its arguments (amount, currency, affected customer), evaluated read-only, so
the approval gate knows what a call would do without running any of it.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from datetime import UTC, datetime
from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from proctor.context import Requester, RunContext, run_context
from proctor.db import Database, Migration
from proctor.errors import SemanticToolError
from proctor.guards.provenance import Shape, result_shape
from proctor.ownership import UNDECLARED, Owner, permit

Effect = Literal["read", "write"]
ToolFn = Callable[[sqlite3.Connection, Any], dict[str, Any]]


class Impact(BaseModel, frozen=True):
    """What a write would do, known before it runs."""

    amount: float | None = Field(None, ge=0, allow_inf_nan=False, description="Money moved; None: none.")
    currency: str = "USD"
    customer_id: str | None = Field(None, description="The customer whose records it changes.")


ImpactFn = Callable[[sqlite3.Connection, Any], Impact]


class CallConflict(SemanticToolError):
    """A tool call id was reused for a different call: the first call's record stands."""


MIGRATIONS = [
    Migration(
        "proctor",
        1,
        """
        CREATE TABLE tool_effects (
            idempotency_key TEXT PRIMARY KEY,
            tool TEXT NOT NULL,
            args TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            args TEXT NOT NULL,
            result TEXT NOT NULL,
            idempotency_key TEXT
        );
        CREATE INDEX audit_log_action ON audit_log (action, at)
        """,
    )
]


@dataclass(frozen=True)
class ToolSpec:
    """What a tool is, independent of where its data lives."""

    name: str
    description: str
    args_schema: type[BaseModel]
    fn: ToolFn
    scopes: frozenset[str]
    effect: Effect
    result: type[BaseModel] | None = None
    """What it returns, field by field: which fields a customer or an outsider could have written
    (proctor.guards.provenance). Required: a tool returning unclassified text is refused here."""
    impact: ImpactFn | None = None
    """Pure and read-only: what a call would do. It raises what the tool would raise, before any effect."""
    owner: Owner | None = UNDECLARED
    """Whose records it reads or changes (see proctor.ownership); None: public data."""

    def __post_init__(self) -> None:
        self.shape  # noqa: B018  # the load-time check: raises UnclassifiedResult

    @cached_property
    def shape(self) -> dict[str, Shape]:
        return result_shape(self.name, self.result)

    @property
    def untrusted(self) -> bool:
        """Some field of its result holds text from outside the company: reading it taints the run."""
        return _any_untrusted(self.shape)

    def bind(self, db: Database) -> BaseTool:
        schema = type(
            self.args_schema.__name__,
            (self.args_schema,),
            {
                "__annotations__": {"runtime": ToolRuntime[RunContext]},
                "model_config": ConfigDict(arbitrary_types_allowed=True),
                "__module__": self.args_schema.__module__,
            },
        )

        def run(runtime: ToolRuntime, **kwargs: Any) -> dict[str, Any]:
            args = self.args_schema.model_validate(kwargs)
            requester = run_context(runtime).requester
            if self.effect == "read":
                with db.reading() as conn:
                    permit(conn, self, args, requester)
                    return self.fn(conn, args)
            return execute_once(db, self, args, idempotency_key(runtime), requester=requester)

        return StructuredTool.from_function(
            func=run,
            name=self.name,
            description=self.description,
            args_schema=schema,
            metadata={
                "scopes": sorted(self.scopes),
                "effect": self.effect,
                "untrusted": self.untrusted,
                "untrusted_fields": _untrusted_paths(self.shape),
            },
            response_format="content",
        )


class _Rollback(Exception):
    """Raised to undo a dry run's transaction."""


def impact_of(db: Database, spec: ToolSpec, args: BaseModel) -> Impact:
    """The call's declared impact, in a read-only transaction: nothing of the call runs."""
    if spec.impact is None:
        return Impact()
    with read_only(db) as conn:
        return Impact.model_validate(spec.impact(conn, args))


@contextmanager
def read_only(db: Database) -> Iterator[Any]:
    """A connection that refuses writes (SQLite ``query_only``; Postgres ``READ ONLY``)."""
    with db.reading() as conn:
        if db.dialect == "sqlite":
            conn.execute("PRAGMA query_only = ON")
            try:
                yield conn
            finally:
                conn.execute("PRAGMA query_only = OFF")
            return
        conn.execute("BEGIN READ ONLY")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")


def dry_run(db: Database, spec: ToolSpec, args: BaseModel) -> dict[str, Any]:
    """What the call would do, undone (replays on a copy use it; approvals use :func:`impact_of`)."""
    outcome: dict[str, Any] = {}
    try:
        with db.transaction() as conn:
            outcome = spec.fn(conn, args)
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def desk_tool(
    args: type[BaseModel],
    *,
    scopes: Iterable[str],
    effect: Effect,
    result: type[BaseModel] | None = None,
    impact: ImpactFn | None = None,
    owner: Owner | None = UNDECLARED,
) -> Callable[[ToolFn], ToolSpec]:
    """Declare a tool: its docstring is the description the model reads; ``result`` says who wrote
    what; ``owner`` says whose records it touches (required: ``None`` for public data; see
    proctor.ownership)."""

    def wrap(fn: ToolFn) -> ToolSpec:
        return ToolSpec(
            name=fn.__name__,
            description=inspect.cleandoc(fn.__doc__ or fn.__name__),
            args_schema=args,
            fn=fn,
            scopes=frozenset(scopes),
            effect=effect,
            result=result,
            impact=impact,
            owner=owner,
        )

    return wrap


def _any_untrusted(shape: Shape) -> bool:
    return any(map(_any_untrusted, shape.values())) if isinstance(shape, dict) else shape is not False


def _untrusted_paths(shape: Shape, prefix: str = "") -> list[str]:
    if not isinstance(shape, dict):
        return [prefix] if shape is not False else []
    return [p for key, inner in shape.items() for p in _untrusted_paths(inner, f"{prefix}.{key}" if prefix else key)]


def idempotency_key(runtime: ToolRuntime) -> str:
    """The run's thread plus the model's tool call id: stable across re-executions."""
    return f"{run_context(runtime).thread_id}:{runtime.tool_call_id}"


def execute_once(
    db: Database, spec: ToolSpec, args: BaseModel, key: str, *, requester: Requester | None = None
) -> dict[str, Any]:
    """Run a write tool at most once per key; the effect and its record commit together. With a
    requester, ownership is checked in the same transaction, right before the effect.

    The key's first call is the only one it ever stands for: another tool or other arguments
    under it are a :class:`CallConflict`, never the first call's result nor a second effect.
    """
    args_json = args.model_dump_json()
    with db.transaction() as conn:
        if requester is not None:
            permit(conn, spec, args, requester)
        done = conn.execute(
            "SELECT tool, args, result FROM tool_effects WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if done is not None:
            if done["tool"] != spec.name or json.loads(done["args"]) != json.loads(args_json):
                raise CallConflict(
                    f"tool call id {key.rsplit(':', 1)[-1]!r} was already used for another call "
                    f"({done['tool']}); nothing was done: issue a new tool call"
                )
            return {**json.loads(done["result"]), "replayed": True}
        result = spec.fn(conn, args)
        result_json = json.dumps(result, default=str)
        now = datetime.now(UTC).isoformat()
        conn.execute(
            "INSERT INTO tool_effects VALUES (?, ?, ?, ?, ?)",
            (key, spec.name, args_json, result_json, now),
        )
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, args, result, idempotency_key)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now, requester.key if requester else "agent", spec.name, args_json, result_json, key),
        )
        return result


def granted(specs: Iterable[ToolSpec], scopes: Iterable[str]) -> list[ToolSpec]:
    """Least privilege: only the tools whose every scope the agent holds."""
    held = frozenset(scopes)
    return [s for s in specs if s.scopes <= held]
