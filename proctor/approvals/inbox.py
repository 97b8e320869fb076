"""Deciding approval requests and resuming their threads: what the CLI and the web page call."""

from __future__ import annotations

from typing import Any

from proctor.approvals.ledger import ApprovalError, ApprovalRequest, Decision
from proctor.runner import Proctor, RunResult


class NotResumable(ApprovalError):
    """The request is decided but its thread is not waiting on it (already finished or pending)."""


class Inbox:
    def __init__(self, desk: Proctor) -> None:
        self.desk = desk
        self.ledger = desk.deployment.ledger

    def pending(self) -> list[ApprovalRequest]:
        return self.ledger.requests("pending")

    def decide(self, request_id: str, decision: Decision) -> RunResult:
        """Record the decision (exactly once), then let the thread go on."""
        self.ledger.decide(request_id, decision)
        return self.resume(request_id)

    def resume(self, request_id: str) -> RunResult:
        """Resume the thread of a decided request; safe to repeat after a crash."""
        request = self.ledger.get(request_id)
        if request.status == "pending":
            raise NotResumable(f"{request_id} is still pending: approve, edit or reject it first")
        interrupt_id = self._waiting_interrupt(request)
        if interrupt_id is None:
            raise NotResumable(f"thread {request.thread_id} is not waiting on {request_id}: nothing to resume")
        return self.desk.resume(request.thread_id, {interrupt_id: resume_value(request)})

    def _waiting_interrupt(self, request: ApprovalRequest) -> str | None:
        graph = self.desk.graph_for(request.thread_id)
        state = graph.get_state({"configurable": {"thread_id": request.thread_id}})
        for pending in state.interrupts:
            if isinstance(pending.value, dict) and pending.value.get("request", {}).get("id") == request.id:
                return pending.id
        return None


def resume_value(request: ApprovalRequest) -> dict[str, Any]:
    """HumanInTheLoopMiddleware's decision format; the gate applies what the ledger says."""
    if request.status == "rejected":
        return {"type": "reject", "message": request.reason or ""}
    if request.status == "edited":
        return {"type": "edit", "edited_action": {"name": request.tool, "args": request.decided_args}}
    return {"type": "approve"}
