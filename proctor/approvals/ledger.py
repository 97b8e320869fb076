"""The approvals ledger: every write call, its verdict, who decided what and when, in the database.

The ledger, not the resume value nor the checkpoint, is the authority on a call. A verdict
binds to the exact call (thread, tool-call id, tool, canonical arguments, agent): a different
call under a used id is a ``CallConflict``. What executes is the ledger's arguments (the
reviewer's, after an edit). A request is decided at most once (a conditional UPDATE), so double
or concurrent submissions get ``AlreadyDecided``, and a stale or forged resume value can never
turn a rejection into an execution. Amounts are counted from the ledger, so cumulative limits
hold across calls, plan steps, hand-offs and turns.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from proctor.approvals.policy import ActionContext, ApprovalPolicy, Reviewer, RiskClass, evaluate
from proctor.approvals.requests import (
    COUNTED,
    SUPERSEDED_BY,
    AlreadyDecided,
    ApprovalError,
    ApprovalRequest,
    Decision,
    GateContext,
    InvalidEdit,
    Listing,
    NotAllowed,
    ResumeInProgress,
    SelfApproval,
    Status,
    UnknownRequest,
)
from proctor.approvals.schema import MIGRATIONS
from proctor.db import Database
from proctor.errors import ToolError

if TYPE_CHECKING:  # the toolkit imports LangChain: reading the ledger (`proctor approvals list`) needs none
    from proctor.toolkit import Impact, ToolSpec

__all__ = [  # the ledger's vocabulary lives in requests.py; importers may name it from here
    "AlreadyDecided", "ApprovalError", "ApprovalLedger", "ApprovalRequest", "Decision", "GateContext", "InvalidEdit",
    "Listing", "NotAllowed", "ResumeInProgress", "SelfApproval", "Status", "UnknownRequest", "canonical_args",
]  # fmt: skip


class ApprovalLedger:
    def __init__(self, db: Database, policy: ApprovalPolicy, tools: dict[str, ToolSpec]) -> None:
        self.db = db
        self.policy = policy
        self.tools = tools
        db.migrate(MIGRATIONS)

    # The gate's side.

    def gate(self, ctx: GateContext) -> ApprovalRequest:
        """The ledger's record of this call: ``autonomous``, or a request to decide.

        Sticky and bound: the first verdict for a (thread, tool-call id) is recorded and returned
        on every re-run of the node, so a resume can never flip a gated call to autonomous; a
        different call under that id (another tool, other arguments, another agent, e.g. a pending
        call edited in the checkpoint) raises ``CallConflict``, and so does any call under the id of a
        superseded request (it was never approved). Raises the tool's own errors
        (``ValidationError``, ``ToolError``) for a call that would fail: nothing is recorded then.
        """
        from proctor.toolkit import CallConflict, impact_of  # a call is checked: the toolkit is loaded

        spec = self.tools[ctx.tool]
        args = canonical_args(spec, ctx.args)
        existing = self._find(ctx.thread_id, ctx.tool_call_id)
        if existing is None:
            impact = impact_of(self.db, spec, spec.args_schema.model_validate(args))
            existing = self._record(ctx.model_copy(update={"args": args}), impact)
        if existing.status == "superseded":  # never approved: a verdict no call may inherit, the same one included
            raise CallConflict(
                f"tool call id {ctx.tool_call_id!r} is recorded for {existing.id}, superseded when the requester wrote"
                " again before a decision: nothing was done; a new call is a new request"
            )
        if (existing.tool, existing.args, existing.agent) != (ctx.tool, args, ctx.agent):
            raise CallConflict(
                f"tool call id {ctx.tool_call_id!r} is recorded for {existing.tool} ({existing.id}, "
                f"{existing.status}); this different call under it is refused: nothing was done"
            )
        return existing

    def _record(self, ctx: GateContext, impact: Impact) -> ApprovalRequest:
        """Evaluate and insert in one write transaction: concurrent calls count each other."""
        digest = hashlib.sha256(f"{ctx.thread_id}\n{ctx.tool_call_id}".encode()).hexdigest()[:12]
        customer = impact.customer_id or ctx.requester
        track_record = self.track_record(ctx.tool)
        with self.db.transaction() as conn:
            run_total, customer_total = self._totals(conn, ctx.thread_id, customer, impact.currency)
            verdicts = evaluate(
                self.policy,
                ActionContext(
                    tool=ctx.tool,
                    args=ctx.args,
                    request=ctx.request,
                    amount=impact.amount,
                    currency=impact.currency,
                    amount_known=self.tools[ctx.tool].impact is not None,
                    run_total=run_total,
                    customer_total=customer_total,
                    tainted=ctx.tainted,
                    taint_sources=ctx.taint_sources,
                    approvals_of_class=track_record,
                ),
            )
            request = ApprovalRequest(
                id=f"APR-{digest.upper()}",
                thread_id=ctx.thread_id,
                tool_call_id=ctx.tool_call_id,
                trace_id=ctx.trace_id,
                agent=ctx.agent,
                tool=ctx.tool,
                args=ctx.args,
                requester=ctx.requester,
                rule=verdicts[0].rule if verdicts else None,
                rules=[v.rule for v in verdicts],
                why="; ".join(v.why for v in verdicts) or None,
                amount=impact.amount,
                currency=impact.currency if impact.amount is not None else None,
                customer_id=customer,
                policy_version=self.policy.version,
                release_id=ctx.release_id,
                status="pending" if verdicts else "autonomous",
                created_at=_now(),
            )
            row = request.model_dump()
            row["args"], row["rules"] = json.dumps(request.args), json.dumps(request.rules)
            conn.execute(
                f"INSERT OR IGNORE INTO approval_requests ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        found = self._find(ctx.thread_id, ctx.tool_call_id)  # another process may have won the insert
        assert found is not None  # this insert's row, or the winner's
        return found

    @staticmethod
    def _totals(conn: Any, thread_id: str, customer: str | None, currency: str) -> tuple[float, float]:
        statuses = ", ".join(f"'{s}'" for s in COUNTED)
        run = conn.execute(
            f"SELECT COALESCE(SUM(amount), 0) FROM approval_requests WHERE thread_id = ? AND currency = ?"
            f" AND status IN ({statuses})",
            (thread_id, currency),
        ).fetchone()[0]
        if customer is None:
            return float(run), 0.0
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        day = conn.execute(
            f"SELECT COALESCE(SUM(amount), 0) FROM approval_requests WHERE customer_id = ? AND currency = ?"
            f" AND created_at >= ? AND status IN ({statuses})",
            (customer, currency, since),
        ).fetchone()[0]
        return float(run), float(day)

    def applied(self, request_id: str) -> None:
        """The thread applied the decision (ran the call, or told the model it was rejected)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE approval_requests SET applied_at = ? WHERE id = ? AND applied_at IS NULL", (_now(), request_id)
            )

    def supersede(self, thread_id: str) -> list[str]:
        """A new message on ``thread_id`` starts its turn over: LangGraph drops the interrupted run, so
        the requests still pending there can never be applied. They leave the inbox and stop counting
        toward limits (a reviewer deciding one gets ``AlreadyDecided``); their ids are returned."""
        rows = self.db.query("SELECT id FROM approval_requests WHERE thread_id = ? AND status = 'pending'", (thread_id,))
        if not rows:
            return []  # the usual case: one indexed read, no write
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE approval_requests SET status = 'superseded', decided_by = ?, decided_at = ?, reason = ?"
                " WHERE thread_id = ? AND status = 'pending'",
                (SUPERSEDED_BY, _now(), "the requester sent a new message before a decision: the call was never made", thread_id),
            )
        return [row["id"] for row in rows]

    def idle_answers(self, request_id: str) -> int:
        """How many resume values reached this request while it was pending and decided nothing."""
        return self.db.query("SELECT idle_answers AS n FROM approval_requests WHERE id = ?", (request_id,))[0]["n"]

    def idle_answer(self, request_id: str) -> None:
        """Count a resume value that decided nothing (refused or naming no reviewer). LangGraph keeps
        every value an ``interrupt()`` returned and replays them, in order, each time the node re-runs:
        the gate skips this many, so an old value never becomes the decision of whoever resumes next."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE approval_requests SET idle_answers = idle_answers + 1 WHERE id = ? AND status = 'pending'",
                (request_id,),
            )

    # The reviewer's side.

    def decide(self, request_id: str, decision: Decision) -> ApprovalRequest:
        """Record a decision after every check; exactly one decision per request."""
        request = self.get(request_id)
        if request.status != "pending":
            raise AlreadyDecided(
                f"{request_id} was already {request.status} by {request.decided_by} at {request.decided_at}"
            )
        final_args, amount = self.check(request, decision)
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE approval_requests SET status = ?, decided_by = ?, decided_at = ?, decided_args = ?,"
                " reason = ?, message = ?, amount = ? WHERE id = ? AND status = 'pending'",
                (
                    {"approve": "approved", "edit": "edited", "reject": "rejected"}[decision.type],
                    decision.reviewer,
                    _now(),
                    json.dumps(final_args) if final_args is not None else None,
                    decision.reason,
                    decision.message,
                    amount,
                    request_id,
                ),
            ).rowcount
        if changed != 1:
            raise AlreadyDecided(f"{request_id} was decided concurrently by someone else")
        return self.get(request_id)

    def check(self, request: ApprovalRequest, decision: Decision) -> tuple[dict[str, Any] | None, float | None]:
        """(edited arguments, the amount that will move) once the reviewer may decide this; records
        nothing (``decide`` records after it; the server's pre-check only asks)."""
        reviewer = self.may_decide(request, decision.reviewer)
        if decision.type == "reject":
            if not decision.reason:
                raise ApprovalError("a rejection needs a reason (an internal note; --message is what the customer reads)")
            return None, request.amount
        args = request.args
        if decision.type == "edit":
            if decision.args is None:
                raise InvalidEdit("an edit needs the changed arguments")
            args = canonical_args(self.tools[request.tool], decision.args, edit=True)
        impact = self._impact(request.tool, args)
        self._check_amount(reviewer, impact)
        return (args if decision.type == "edit" else None), impact.amount

    def may_decide(self, request: ApprovalRequest, reviewer_id: str) -> Reviewer:
        """The reviewer, if they may decide this request at all: every role it needs, never their own."""
        reviewer = self.policy.reviewer(reviewer_id)
        if reviewer is None:
            raise NotAllowed(f"{reviewer_id!r} is not a reviewer in policy {self.policy.version}")
        if request.requester and reviewer_id == request.requester:
            raise SelfApproval(f"{reviewer_id} requested {request.id} and cannot decide on it")
        needed: Sequence[RiskClass | None] = request.rules or [request.rule]
        missing = [rule for rule in needed if rule not in reviewer.roles]
        if missing:
            raise NotAllowed(f"{reviewer.id} may decide {reviewer.roles}; {request.id} also needs {missing}")
        from proctor.toolkit import Impact

        self._check_amount(reviewer, Impact(amount=request.amount, currency=request.currency or "USD"))
        return reviewer

    def _impact(self, tool: str, args: dict[str, Any]) -> Impact:
        from proctor.toolkit import impact_of

        spec = self.tools[tool]
        try:
            return impact_of(self.db, spec, spec.args_schema.model_validate(args))
        except (ToolError, ValidationError, ValueError) as exc:
            raise InvalidEdit(f"the call to {tool} with {json.dumps(args)} would fail: {exc}") from exc

    @staticmethod
    def _check_amount(reviewer: Reviewer, impact: Impact) -> None:
        if impact.amount and not reviewer.may_move(impact.amount, impact.currency):
            limit = reviewer.max_amount.get(impact.currency, 0.0)
            raise NotAllowed(
                f"{reviewer.id} may approve up to {limit:.2f} {impact.currency}, not {impact.amount:.2f}"
            )

    @contextmanager
    def thread_lock(self, thread_id: str) -> Iterator[None]:
        """One resume of a thread at a time, across processes; a dead holder's lock is taken over."""
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT holder, acquired_at FROM approval_thread_locks WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            if row is not None and _alive(row["holder"], row["acquired_at"]):
                raise ResumeInProgress(
                    f"thread {thread_id} is being resumed by {row['holder']} since {row['acquired_at']}; "
                    "try again when it is done"
                )
            conn.execute("DELETE FROM approval_thread_locks WHERE thread_id = ?", (thread_id,))
            conn.execute("INSERT INTO approval_thread_locks VALUES (?, ?, ?)", (thread_id, holder, _now()))
        try:
            yield
        finally:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM approval_thread_locks WHERE thread_id = ? AND holder = ?", (thread_id, holder))

    # Queries.

    def get(self, request_id: str) -> ApprovalRequest:
        rows = self.db.query("SELECT * FROM approval_requests WHERE id = ?", (request_id,))
        if not rows:
            raise UnknownRequest(f"no approval request {request_id!r}; see `proctor approvals list`")
        return _parse(rows[0])

    def requests(
        self, status: Listing | None = "pending", since_days: int | None = None, thread_id: str | None = None
    ) -> list[ApprovalRequest]:
        where, params = ["1 = 1"], []
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(thread_id)
        decided = "(status IN ('approved', 'edited', 'rejected') AND applied_at IS NULL)"
        if status == "decided":
            where.append(decided)
        elif status == "open":
            where.append(f"(status = 'pending' OR {decided})")
        elif status:
            where.append("status = ?")
            params.append(status)
        if since_days is not None:
            where.append("created_at >= ?")
            params.append((datetime.now(UTC) - timedelta(days=since_days)).isoformat())
        sql = f"SELECT * FROM approval_requests WHERE {' AND '.join(where)} ORDER BY created_at"
        return [_parse(r) for r in self.db.query(sql, params)]

    def track_record(self, tool: str) -> int:
        return self.db.query(
            "SELECT COUNT(*) AS n FROM approval_requests WHERE tool = ? AND status IN ('approved', 'edited')",
            (tool,),
        )[0]["n"]

    def _find(self, thread_id: str, tool_call_id: str) -> ApprovalRequest | None:
        rows = self.db.query(
            "SELECT * FROM approval_requests WHERE thread_id = ? AND tool_call_id = ?", (thread_id, tool_call_id)
        )
        return _parse(rows[0]) if rows else None


def canonical_args(spec: ToolSpec, args: Any, *, edit: bool = False) -> dict[str, Any]:
    """The arguments as the tool's schema reads them (types coerced, defaults filled), as JSON."""
    if edit:  # a reviewer's edit meets the same argument guard as the model's calls (1e999, lists)
        from proctor.guards.malformed import argument_problem

        problem = argument_problem(spec.args_schema, args)
        if problem:
            raise InvalidEdit(f"the edited call to {spec.name} would fail: {problem}")
    try:
        return spec.args_schema.model_validate(args).model_dump(mode="json")
    except ValidationError as exc:
        if edit:
            raise InvalidEdit(f"the edited call to {spec.name} would fail: {exc}") from exc
        raise


def _parse(row: dict[str, Any]) -> ApprovalRequest:
    row = dict(row)
    row["args"] = json.loads(row["args"])
    row["decided_args"] = json.loads(row["decided_args"]) if row["decided_args"] else None
    row["rules"] = json.loads(row["rules"]) if row.get("rules") else ([row["rule"]] if row.get("rule") else [])
    return ApprovalRequest.model_validate(row)


LOCK_LEASE = timedelta(minutes=15)


def _alive(holder: str, acquired_at: str) -> bool:
    """A lock holds while its process lives (same host) or, elsewhere, for its lease."""
    host, pid, _ = holder.split(":")
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return datetime.now(UTC) - datetime.fromisoformat(acquired_at) < LOCK_LEASE


def _now() -> str:
    return datetime.now(UTC).isoformat()
