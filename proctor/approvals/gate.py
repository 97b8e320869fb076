"""The approval gate: a ``wrap_tool_call`` middleware that asks the ledger about every call.

Per call, inside the tool node (no extra graph node): a call to a tool the agent does not hold is
refused before the ledger; a write is recorded in the ledger, bound to the exact call, and stops
with ``interrupt()`` when the policy says a human must decide. What runs is the ledger's
arguments (the reviewer's after an edit), whatever the checkpoint or the resume value says. The
decider is the authenticated identity (see :mod:`proctor.approvals.decisions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.types import interrupt
from pydantic import ValidationError

from proctor.approvals.decisions import approval_payload, check_reviewer, customer_message, parse_answer
from proctor.approvals.ledger import ApprovalError, ApprovalLedger, ApprovalRequest, GateContext
from proctor.context import run_context
from proctor.errors import ToolError
from proctor.toolkit import CallConflict

Resolved = ToolMessage | tuple[ToolCallRequest, ApprovalRequest | None]


class ApprovalGate(AgentMiddleware):
    """Stops a specialist's write tools when the approval policy says a human must decide."""

    def __init__(self, ledger: ApprovalLedger, agent: str, write_tools: Iterable[str]) -> None:
        super().__init__()
        self.ledger = ledger
        self.agent = agent
        self.writes = frozenset(write_tools)

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        resolved = self._resolve(request)
        if isinstance(resolved, ToolMessage):
            return resolved
        to_run, ask = resolved
        return self._applied(ask, handler(to_run))

    async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]) -> Any:
        """The ledger is a database: ask it off the event loop (contextvars, hence interrupt(), follow)."""
        resolved = await asyncio.to_thread(self._resolve, request)
        if isinstance(resolved, ToolMessage):
            return resolved
        to_run, ask = resolved
        result = await handler(to_run)
        return await asyncio.to_thread(self._applied, ask, result)

    def _resolve(self, request: ToolCallRequest) -> Resolved:
        call = request.tool_call
        if request.tool is None or call["name"] not in self.writes:
            # A tool outside the agent's scopes is no tool of its node: refused there, never in the ledger.
            return request, None
        try:
            ask = self.ledger.gate(self._context(request))
        except CallConflict as exc:
            return _refusal(request, f"Error from {call['name']}: {exc}")
        except (ToolError, ValidationError, ValueError):
            # The tool would refuse the call the same way (its impact raises what it raises, before
            # any effect): it runs, fails and is reported like any failed call; nothing is recorded.
            return request, None
        # Re-runs of this node replay earlier resume values first. Once the request is decided the
        # ledger makes them harmless; while it is pending, a replayed value is one an earlier run
        # sent that decided nothing (refused: someone's own request, a missing role, a bad edit; or
        # naming no reviewer). Read now, it would be taken as the current reviewer's decision (their
        # "approve" would apply another's refused edit), so those are skipped: only this run's own
        # value can decide, and each value that decides nothing is counted in the ledger.
        replayed = self.ledger.idle_answers(ask.id) if ask.status == "pending" else 0
        answered = 0
        while ask.status == "pending":
            value = interrupt(approval_payload(ask))
            answered += 1
            if answered <= replayed:
                continue
            try:
                ask = self._accept(ask, value, request)
            finally:
                if ask.status == "pending":  # refused (raised) or ignored: it decided nothing
                    self.ledger.idle_answer(ask.id)
        if ask.status == "rejected":
            self.ledger.applied(ask.id)
            return _refusal(request, customer_message(ask))
        return request.override(tool_call={**call, "args": ask.executed_args}), ask

    def _applied(self, ask: ApprovalRequest | None, result: Any) -> Any:
        if ask is not None and ask.status != "autonomous":
            self.ledger.applied(ask.id)
        return result

    def _accept(self, ask: ApprovalRequest, value: Any, request: ToolCallRequest) -> ApprovalRequest:
        """Record a decision carried by the resume value, taken by the authenticated reviewer.

        On the server (or with a staff run context) the decider is that identity: a value naming
        someone else, or a decision the ledger refuses, raises, so the client is told. Embedded
        code with no identity is an operator: a value naming a reviewer is held to every ledger
        rule and otherwise ignored, like one naming nobody (the ledger then decides).
        """
        current = self.ledger.get(ask.id)
        identity = authenticated(request)
        if current.status != "pending":
            return current
        try:
            answer = parse_answer(value)
        except ApprovalError:
            if identity is not None:
                raise
            return current
        if identity is not None:
            check_reviewer(answer, identity)
        reviewer = identity or answer.reviewer
        if reviewer is None:
            return current
        decision = answer.decision(ask, reviewer)
        try:
            return self.ledger.decide(ask.id, decision)
        except ApprovalError:
            if identity is not None:
                raise
            return self.ledger.get(ask.id)

    def _context(self, request: ToolCallRequest) -> GateContext:
        config = request.runtime.config or {}
        metadata = config.get("metadata", {})
        # The client's words, never a plan step's: the planner hands each step to a specialist as a
        # HumanMessage the model wrote. Only an agent invoked without the front door reads its own.
        text = request.state.get("turn_request")
        if text is None:
            messages = request.state.get("messages", [])
            text = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        return GateContext(
            thread_id=run_context(request.runtime).thread_id,
            tool_call_id=request.tool_call["id"],
            trace_id=metadata.get("trace_id") or metadata.get("run_id"),
            agent=self.agent,
            tool=request.tool_call["name"],
            args=request.tool_call["args"] if isinstance(request.tool_call["args"], dict) else {},
            requester=requester(request),
            request=text,
            tainted=bool(request.state.get("tainted")),
            taint_sources=list(request.state.get("taint_sources") or []),
            release_id=metadata.get("release_id"),
        )


def requester(request: ToolCallRequest) -> str | None:
    """Who asked: the run context's requester (set by the entry point, never by a payload)."""
    return run_context(request.runtime).requester.id


def authenticated(request: ToolCallRequest) -> str | None:
    """Who is deciding in this run: the run context's actor (on the server the authenticated user
    resuming the thread; embedded, the ``actor`` the caller vouches for), else nobody."""
    actor = run_context(request.runtime).actor
    return actor.id if actor is not None else None


def _refusal(request: ToolCallRequest, text: str) -> ToolMessage:
    call = request.tool_call
    return ToolMessage(content=text, name=call["name"], tool_call_id=call["id"], status="error")
