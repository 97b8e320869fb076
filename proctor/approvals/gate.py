"""The approval gate: LangChain's HumanInTheLoopMiddleware, per call, driven by policy and ledger.

Per-call mode raises the interrupt inside ``wrap_tool_call`` (no extra graph node). What we
add: the policy decides which calls stop (``when`` is not enough: the verdict must be sticky
and recorded), the interrupt carries a typed ``ApprovalRequest``, and the decision that is
applied is the one in the ledger, whatever the resume value says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, HumanInTheLoopMiddleware, InterruptOnConfig
from langchain.agents.middleware.human_in_the_loop import Action, ToolApprovalRequest, _answer_message
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.types import interrupt
from pydantic import ValidationError

from proctor.context import run_context
from proctor.approvals.ledger import ApprovalError, ApprovalLedger, ApprovalRequest, Decision, GateContext

DECISIONS: list = ["approve", "edit", "reject"]


class ApprovalGate(HumanInTheLoopMiddleware):
    """Stops a specialist's write tools when the approval policy says a human must decide."""

    # Per-call mode never uses the batched ``after_model`` hook; restoring the base hooks keeps
    # create_agent from adding a graph node (a step per model call) for it.
    after_model = AgentMiddleware.after_model
    aafter_model = AgentMiddleware.aafter_model

    def __init__(self, ledger: ApprovalLedger, agent: str, write_tools: list[str]) -> None:
        super().__init__(
            interrupt_on={name: InterruptOnConfig(allowed_decisions=DECISIONS) for name in write_tools},
            interrupt_mode="per_call",
        )
        self.ledger = ledger
        self.agent = agent

    def _resolve_per_call(self, request: ToolCallRequest) -> tuple[ToolCallRequest, Action | None] | ToolMessage:
        if request.tool_call["name"] not in self.interrupt_on:
            return request, None
        ask = self.ledger.gate(self._context(request))
        if ask is None:
            return request, None
        while ask.status == "pending":
            # Re-runs of this node replay earlier resume values first: the ledger makes them harmless.
            ask = self._accept(ask, interrupt(approval_payload(ask)))
        return self._apply(request, ask)

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]) -> Any:
        """The ledger is a database: ask it off the event loop (contextvars, hence interrupt(), follow)."""
        resolved = await asyncio.to_thread(self._resolve_per_call, request)
        if isinstance(resolved, ToolMessage):
            return resolved
        to_run, executed = resolved
        return self._annotate_edited_result(await handler(to_run), to_run, executed)

    def _accept(self, ask: ApprovalRequest, answer: Any) -> ApprovalRequest:
        """Record a decision carried by the resume value (e.g. from Studio) if it passes every check."""
        current = self.ledger.get(ask.id)
        if current.status != "pending" or not isinstance(answer, dict) or "reviewer" not in answer:
            return current
        try:
            return self.ledger.decide(ask.id, Decision.model_validate(answer))
        except (ApprovalError, ValidationError):
            return self.ledger.get(ask.id)

    def _apply(self, request: ToolCallRequest, ask: ApprovalRequest) -> tuple[ToolCallRequest, Action | None] | ToolMessage:
        if ask.status == "approved":
            return request, None
        if ask.status == "edited":
            executed = Action(name=ask.tool, args=ask.decided_args or {})
            return self._apply_edit(request, executed), executed
        return _answer_message(request.tool_call, {"type": "reject", "message": ask.reason or "no reason given"})

    def _context(self, request: ToolCallRequest) -> GateContext:
        config = request.runtime.config or {}
        metadata = config.get("metadata", {})
        messages = request.state.get("messages", [])
        text = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        return GateContext(
            thread_id=config.get("configurable", {}).get("thread_id", "no-thread"),
            tool_call_id=request.tool_call["id"],
            trace_id=metadata.get("trace_id") or metadata.get("run_id"),
            agent=self.agent,
            tool=request.tool_call["name"],
            args=request.tool_call["args"],
            requester=run_context(request.runtime).requester.id,  # set by the entry point, never by a payload
            request=text,
            tainted=bool(request.state.get("tainted")),
            taint_sources=list(request.state.get("taint_sources") or []),
            release_id=metadata.get("release_id"),
        )


def approval_payload(ask: ApprovalRequest) -> dict[str, Any]:
    """LangChain's per-call ``ToolApprovalRequest``, plus proctor's typed request under ``request``."""
    base = ToolApprovalRequest(
        type="tool_approval",
        tool_call_id=ask.tool_call_id,
        name=ask.tool,
        args=ask.args,
        description=f"{ask.why}. Approve, edit or reject {ask.id}.",
    )
    return {**base, "request": ask.model_dump(mode="json")}
