"""The approvals ledger: every gated call, who decided what and when, in the database.

The ledger, not the resume value, is the authority on a decision. A request is decided at
most once (a conditional UPDATE), so double or concurrent submissions get ``AlreadyDecided``,
and a stale or forged resume value can never turn a rejection into an execution.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from proctor.approvals.policy import ActionContext, ApprovalPolicy, RiskClass, Verdict, evaluate
from proctor.db import Database, Migration
from proctor.errors import ProctorError, ToolError

if TYPE_CHECKING:  # the toolkit imports LangChain: reading the ledger (`proctor approvals list`) needs none
    from proctor.toolkit import ToolSpec

MIGRATIONS = [
    Migration(
        "approvals",
        1,
        """
        CREATE TABLE approval_requests (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            tool_call_id TEXT NOT NULL,
            trace_id TEXT,
            agent TEXT NOT NULL,
            tool TEXT NOT NULL,
            args TEXT NOT NULL,
            requester TEXT,
            rule TEXT,
            why TEXT,
            amount REAL,
            currency TEXT,
            policy_version TEXT NOT NULL,
            release_id TEXT,
            status TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            decided_args TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (thread_id, tool_call_id)
        );
        CREATE INDEX approval_requests_status ON approval_requests (status, created_at);
        CREATE INDEX approval_requests_tool ON approval_requests (tool, status)
        """,
    )
]

Status = Literal["pending", "approved", "edited", "rejected", "autonomous"]


class ApprovalError(ProctorError):
    """A decision that cannot be taken; nothing was changed."""


class UnknownRequest(ApprovalError):
    pass


class AlreadyDecided(ApprovalError):
    """Conflict: the request was decided before."""


class NotAllowed(ApprovalError):
    """The reviewer is unknown, lacks the role, or exceeds their amount limit."""


class SelfApproval(ApprovalError):
    """Separation of duties: nobody decides on their own request."""


class InvalidEdit(ApprovalError):
    """Edited arguments break the tool's schema or preconditions."""


class ApprovalRequest(BaseModel):
    """One gated tool call: the payload reviewers see and the row the ledger keeps."""

    id: str
    thread_id: str
    tool_call_id: str
    trace_id: str | None = None
    agent: str
    tool: str
    args: dict[str, Any]
    requester: str | None = None
    rule: RiskClass | None = None
    why: str | None = None
    amount: float | None = None
    currency: str | None = None
    policy_version: str
    release_id: str | None = None
    status: Status
    decided_by: str | None = None
    decided_at: str | None = None
    decided_args: dict[str, Any] | None = None
    reason: str | None = None
    created_at: str


class Decision(BaseModel):
    """A reviewer's answer, in the vocabulary of LangChain's HumanInTheLoopMiddleware."""

    type: Literal["approve", "edit", "reject"]
    reviewer: str
    args: dict[str, Any] | None = Field(None, description="The changed arguments, for an edit.")
    reason: str | None = Field(None, description="Why, for a rejection (the agent tells the user).")


class GateContext(BaseModel):
    """What the gate knows of a call when it asks the ledger."""

    thread_id: str
    tool_call_id: str
    trace_id: str | None
    agent: str
    tool: str
    args: dict[str, Any]
    requester: str | None
    request: str
    tainted: bool = False
    taint_sources: list[str] = Field(default_factory=list)
    release_id: str | None = None


class ApprovalLedger:
    def __init__(self, db: Database, policy: ApprovalPolicy, tools: dict[str, ToolSpec]) -> None:
        self.db = db
        self.policy = policy
        self.tools = tools
        db.migrate(MIGRATIONS)

    # The gate's side.

    def gate(self, ctx: GateContext) -> ApprovalRequest | None:
        """The request for this call, or None when it runs autonomously.

        Sticky: the first verdict for a (thread, tool call) is recorded and returned on every
        re-run of the node, so a resume can never flip a gated call to autonomous.
        """
        existing = self._find(ctx.thread_id, ctx.tool_call_id)
        if existing is None:
            verdict = self._verdict(ctx)
            if verdict is False:
                return None  # the call will fail its own preconditions: nothing to approve
            existing = self._record(ctx, verdict)
        return None if existing.status == "autonomous" else existing

    def _verdict(self, ctx: GateContext) -> Verdict | None | Literal[False]:
        spec = self.tools[ctx.tool]
        try:
            preview = _dry_run(self.db, spec, spec.args_schema.model_validate(ctx.args))
        except (ToolError, ValidationError, ValueError):
            return False
        return evaluate(self.policy, self._action(ctx.tool, ctx.args, ctx.request, preview, ctx.tainted, ctx.taint_sources))

    def _action(
        self, tool: str, args: dict, request: str, preview: dict, tainted: bool, taint_sources: list[str] = ()
    ) -> ActionContext:
        return ActionContext(
            tool=tool,
            args=args,
            request=request,
            amount=preview.get("amount") if isinstance(preview.get("amount"), int | float) else None,
            tainted=tainted,
            taint_sources=list(taint_sources),
            approvals_of_class=self.track_record(tool),
        )

    def _record(self, ctx: GateContext, verdict: Verdict | None) -> ApprovalRequest:
        digest = hashlib.sha256(f"{ctx.thread_id}\n{ctx.tool_call_id}".encode()).hexdigest()[:12]
        request = ApprovalRequest(
            id=f"APR-{digest.upper()}",
            thread_id=ctx.thread_id,
            tool_call_id=ctx.tool_call_id,
            trace_id=ctx.trace_id,
            agent=ctx.agent,
            tool=ctx.tool,
            args=ctx.args,
            requester=ctx.requester,
            rule=verdict.rule if verdict else None,
            why=verdict.why if verdict else None,
            amount=verdict.amount if verdict else None,
            currency=verdict.currency if verdict and verdict.amount is not None else None,
            policy_version=self.policy.version,
            release_id=ctx.release_id,
            status="pending" if verdict else "autonomous",
            created_at=_now(),
        )
        row = request.model_dump()
        row["args"] = json.dumps(request.args)
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO approval_requests ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        return self._find(ctx.thread_id, ctx.tool_call_id)  # another process may have won the insert

    # The reviewer's side.

    def decide(self, request_id: str, decision: Decision) -> ApprovalRequest:
        """Record a decision after every check; exactly one decision per request."""
        request = self.get(request_id)
        if request.status != "pending":
            raise AlreadyDecided(
                f"{request_id} was already {request.status} by {request.decided_by} at {request.decided_at}"
            )
        final_args = self._check(request, decision)
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE approval_requests SET status = ?, decided_by = ?, decided_at = ?, decided_args = ?,"
                " reason = ? WHERE id = ? AND status = 'pending'",
                (
                    {"approve": "approved", "edit": "edited", "reject": "rejected"}[decision.type],
                    decision.reviewer,
                    _now(),
                    json.dumps(final_args) if final_args is not None else None,
                    decision.reason,
                    request_id,
                ),
            ).rowcount
        if changed != 1:
            raise AlreadyDecided(f"{request_id} was decided concurrently by someone else")
        return self.get(request_id)

    def _check(self, request: ApprovalRequest, decision: Decision) -> dict[str, Any] | None:
        reviewer = self.policy.reviewer(decision.reviewer)
        if reviewer is None:
            raise NotAllowed(f"{decision.reviewer!r} is not a reviewer in policy {self.policy.version}")
        if request.requester and decision.reviewer == request.requester:
            raise SelfApproval(f"{decision.reviewer} requested {request.id} and cannot decide on it")
        if request.rule not in reviewer.roles:
            raise NotAllowed(f"{reviewer.id} may decide {reviewer.roles}, not {request.rule} requests")
        if decision.type == "reject":
            if not decision.reason:
                raise ApprovalError("a rejection needs a reason: the agent tells the user")
            return None
        args = request.args
        if decision.type == "edit":
            if decision.args is None:
                raise InvalidEdit("an edit needs the changed arguments")
            args = self._check_edit(request, decision.args)
        self._check_amount(reviewer.id, reviewer.max_amount, request.tool, args)
        return args if decision.type == "edit" else None

    def _check_edit(self, request: ApprovalRequest, args: dict[str, Any]) -> dict[str, Any]:
        spec = self.tools[request.tool]
        try:
            validated = spec.args_schema.model_validate(args)
            _dry_run(self.db, spec, validated)
        except (ToolError, ValidationError, ValueError) as exc:
            raise InvalidEdit(f"the edited call to {request.tool} would fail: {exc}") from exc
        return validated.model_dump(mode="json")

    def _check_amount(self, reviewer_id: str, limits: dict[str, float], tool: str, args: dict[str, Any]) -> None:
        spec = self.tools[tool]
        preview = _dry_run(self.db, spec, spec.args_schema.model_validate(args))
        amount = preview.get("amount")
        if isinstance(amount, int | float) and limits and amount > limits.get("USD", 0.0):
            raise NotAllowed(f"{reviewer_id} may approve up to {limits.get('USD', 0.0):.2f} USD, not {amount:.2f}")

    # Queries.

    def get(self, request_id: str) -> ApprovalRequest:
        rows = self.db.query("SELECT * FROM approval_requests WHERE id = ?", (request_id,))
        if not rows:
            raise UnknownRequest(f"no approval request {request_id!r}; see `proctor approvals list`")
        return _parse(rows[0])

    def requests(self, status: Status | None = "pending", since_days: int | None = None) -> list[ApprovalRequest]:
        where, params = ["1 = 1"], []
        if status:
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


def _parse(row: dict[str, Any]) -> ApprovalRequest:
    row = dict(row)
    row["args"] = json.loads(row["args"])
    row["decided_args"] = json.loads(row["decided_args"]) if row["decided_args"] else None
    return ApprovalRequest.model_validate(row)


def _dry_run(db: Database, spec: ToolSpec, args: BaseModel) -> dict[str, Any]:
    from proctor.toolkit import dry_run  # imported when a call is checked, not when the ledger is read

    return dry_run(db, spec, args)


def _now() -> str:
    return datetime.now(UTC).isoformat()
