"""Deciding approval requests and resuming their threads: what the CLI and the web page call.

A decision always reaches its thread: a thread in this desk's checkpoints resumes here, one at a
time (a thread lock across processes); a thread that lives on a LangGraph server resumes through
that server's API (``PROCTOR_SERVER_URL`` and a reviewer's ``PROCTOR_SERVER_TOKEN``). Until then
the request is listed as decided, not yet applied (``proctor approvals list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from proctor.approvals.ledger import ApprovalError, ApprovalRequest, Decision
from proctor.runner import Proctor, RunResult, Usage


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
        """Resume the thread of a decided request; safe to repeat after a crash, one at a time."""
        request = self.ledger.get(request_id)
        if request.status == "pending":
            raise NotResumable(f"{request_id} is still pending: approve, edit or reject it first")
        if not self.desk.thread_exists(request.thread_id):
            return self._resume_on_server(request)
        with self.ledger.thread_lock(request.thread_id):
            interrupt_id = self._waiting_interrupt(request)
            if interrupt_id is None:
                raise NotResumable(f"thread {request.thread_id} is not waiting on {request_id}: nothing to resume")
            value = {interrupt_id: resume_value(request)}
            return self.desk.resume(request.thread_id, value, actor=request.decided_by)

    def _waiting_interrupt(self, request: ApprovalRequest) -> str | None:
        graph = self.desk.graph_for(request.thread_id)
        state = graph.get_state({"configurable": {"thread_id": request.thread_id}})
        return waiting_on(state.interrupts, request)

    def _resume_on_server(self, request: ApprovalRequest) -> RunResult:
        settings = self.desk.settings
        if not settings.server_url:
            raise NotResumable(
                f"thread {request.thread_id} is not in this desk's checkpoints: it lives on a LangGraph server. "
                f"The decision is recorded; set PROCTOR_SERVER_URL (and a reviewer's PROCTOR_SERVER_TOKEN), then "
                f"`proctor approvals resume {request.id}`"
            )
        from langgraph_sdk import get_sync_client

        token = settings.server_token
        client = get_sync_client(url=settings.server_url, api_key=None, headers={"Authorization": f"Bearer {token}"} if token else None)
        with self.ledger.thread_lock(request.thread_id):
            state = client.threads.get_state(request.thread_id)
            interrupt_id = waiting_on(state.get("interrupts") or [], request)
            if interrupt_id is None:
                raise NotResumable(f"thread {request.thread_id} is not waiting on {request.id}: nothing to resume")
            run = client.runs.create(request.thread_id, "proctor", command={"resume": {interrupt_id: resume_value(request)}})
            client.runs.join(request.thread_id, run["run_id"])
            state = client.threads.get_state(request.thread_id)
        values = cast(dict[str, Any], state.get("values") or {})  # the supervisor's state: a dict
        last: dict[str, Any] = next((m for m in reversed(values.get("messages") or []) if m.get("type") == "ai" and m.get("content")), {})
        return RunResult(
            thread_id=request.thread_id,
            trace_id=run["run_id"],
            status="interrupted" if state.get("interrupts") else "done",
            route=values.get("route"),
            answer=str(last.get("content", "")),
            tool_calls=[],
            usage=Usage(),
            model="server",
            interrupts=[i.get("value") for i in state.get("interrupts") or []],
        )


def waiting_on(interrupts: Sequence[Any], request: ApprovalRequest) -> str | None:
    """The id of the interrupt that waits on ``request``, if the thread waits on it."""
    for pending in interrupts:
        value = pending.get("value") if isinstance(pending, dict) else pending.value
        if isinstance(value, dict) and (value.get("request") or {}).get("id") == request.id:
            return pending.get("id") if isinstance(pending, dict) else pending.id
    return None


def resume_value(request: ApprovalRequest) -> dict[str, Any]:
    """A wake-up in LangChain's decision format, naming no reviewer: the gate applies the ledger's decision."""
    if request.status == "rejected":
        return {"type": "reject", "message": request.reason or ""}
    if request.status == "edited":
        return {"type": "edit", "edited_action": {"name": request.tool, "args": request.decided_args}}
    return {"type": "approve"}
