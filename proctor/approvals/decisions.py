"""Decisions in the ecosystem's formats, and the interrupt payload their clients read.

Accepted resume values (one per gated call; a list or ``decisions`` list must hold exactly one):

- LangChain v1 HITL, per call: ``{"type": "approve"}``, ``{"type": "edit", "edited_action":
  {"name": TOOL, "args": {...}}}``, ``{"type": "reject", "message": "..."}``; batched:
  ``{"decisions": [one of those]}``.
- Agent Inbox ``HumanResponse``: ``{"type": "accept" | "edit" | "response" | "ignore", "args": ...}``
  (edit: ``{"action": TOOL, "args": {...}}``; response: text), alone or in a one-item list.
- proctor's own ``Decision``: ``{"type": ..., "reviewer": ..., "args": ..., "reason": ..., "message": ...}``.

Who decides is never read from the value: it is the authenticated identity. A value that names
another reviewer is a ``ReviewerMismatch`` (HTTP 403 on the server); anything else is a
``DecisionFormatError`` (HTTP 400) that lists these shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from proctor.approvals.ledger import ApprovalError, ApprovalLedger, ApprovalRequest, Decision

ACCEPTED = (
    'LangChain HITL {"type": "approve"} | {"type": "edit", "edited_action": {"name", "args"}} | '
    '{"type": "reject", "message"} (or {"decisions": [one of these]}); Agent Inbox HumanResponse '
    '{"type": "accept"|"edit"|"response"|"ignore", "args"}; proctor {"type": "approve"|"edit"|"reject", '
    '"args", "reason", "message"}'
)


class DecisionFormatError(ApprovalError):
    """A resume value in none of the accepted shapes."""

    status_code = 400


class ReviewerMismatch(ApprovalError):
    """A resume value that names a reviewer other than the authenticated one."""

    status_code = 403


class Answer(BaseModel):
    """One decision as read from a resume value; ``reviewer`` only if the value named one."""

    type: Literal["approve", "edit", "reject"]
    reviewer: str | None = None
    tool: str | None = None
    args: dict[str, Any] | None = None
    reason: str | None = None
    message: str | None = None

    def decision(self, request: ApprovalRequest, reviewer: str) -> Decision:
        """This answer as ``reviewer``'s decision on ``request``; an edit must keep the call's tool."""
        if self.tool not in (None, request.tool):
            raise ApprovalError(f"an edit of {request.id} must keep the tool {request.tool}, not {self.tool}")
        return Decision(type=self.type, reviewer=reviewer, args=self.args, reason=self.reason, message=self.message)


def parse_answer(value: Any) -> Answer:
    """The decision a resume value carries, in any accepted format."""
    if isinstance(value, list) or (isinstance(value, dict) and set(value) == {"decisions"}):
        items = value if isinstance(value, list) else value["decisions"]
        if not isinstance(items, list) or len(items) != 1:
            raise DecisionFormatError(f"expected exactly one decision for this call; accepted: {ACCEPTED}")
        value = items[0]
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise DecisionFormatError(f"not a decision: {str(value)[:80]!r}; accepted: {ACCEPTED}")
    kind, args = value["type"], value.get("args")
    reviewer = value.get("reviewer")
    if reviewer is not None and not isinstance(reviewer, str):
        raise DecisionFormatError("reviewer must be a string")
    common = {"reviewer": reviewer, "reason": _text(value.get("reason")), "message": _text(value.get("message"))}
    if kind in ("approve", "accept"):
        return Answer(type="approve", **common)
    if kind == "edit":
        action = value.get("edited_action") or (args if isinstance(args, dict) and "action" in args else None)
        if action is not None:  # LangChain {name, args} or Agent Inbox {action, args}
            if not isinstance(action, dict) or not isinstance(action.get("args"), dict):
                raise DecisionFormatError(f"an edit needs the changed arguments as an object; accepted: {ACCEPTED}")
            return Answer(type="edit", tool=action.get("name") or action.get("action"), args=action["args"], **common)
        if isinstance(args, dict):
            return Answer(type="edit", args=args, **common)
        raise DecisionFormatError(f"an edit needs the changed arguments; accepted: {ACCEPTED}")
    if kind == "reject":
        if "reason" not in value:  # LangChain's message is the reviewer's reason: an internal note
            common = {**common, "reason": common["message"], "message": None}
        return Answer(type="reject", **{**common, "reason": common["reason"] or "rejected"})
    if kind == "response":
        return Answer(type="reject", reviewer=reviewer, reason=_text(args) or "answered in the inbox")
    if kind == "ignore":
        return Answer(type="reject", reviewer=reviewer, reason="dismissed in the inbox")
    raise DecisionFormatError(f"unknown decision type {kind!r}; accepted: {ACCEPTED}")


def resume_answers(resume: Any) -> list[Any]:
    """The values of a ``Command(resume=...)``: a map of interrupt id to value, or one bare value."""
    if isinstance(resume, dict) and resume and all(_interrupt_id(k) for k in resume):
        return list(resume.values())
    return [resume]


def screen_resume(ledger: ApprovalLedger, thread_id: str, resume: Any, identity: str) -> None:
    """Before a server run resumes a thread: every value parses, names no one else, and a decision
    on the thread's pending request (an edit's arguments included) is one ``identity`` may take. A
    value for an already decided request is a wake-up: the ledger's decision applies. With several
    pending requests on the thread nothing here says which one a value answers: the gate decides."""
    waiting = ledger.requests("pending", thread_id=thread_id)
    for value in resume_answers(resume):
        answer = parse_answer(value)
        check_reviewer(answer, identity)
        if len(waiting) == 1:
            # Every check the ledger makes when the gate records the decision, not only whether this
            # reviewer may decide the request: an edit above their limit, or one the tool would
            # refuse, used to pass here and be refused only inside the run, which the server reports
            # as an HTTP 200 whose error says "An internal error occurred" (and the thread "error").
            ledger.check(waiting[0], answer.decision(waiting[0], identity))


def check_reviewer(answer: Answer, identity: str) -> None:
    if answer.reviewer is not None and answer.reviewer != identity:
        raise ReviewerMismatch(
            f"you are signed in as {identity!r}: a decision cannot be taken as {answer.reviewer!r}; "
            "leave out the reviewer (it is always the authenticated identity)"
        )


def approval_payload(ask: ApprovalRequest) -> dict[str, Any]:
    """LangChain's per-call ``ToolApprovalRequest`` + Agent Inbox's ``HumanInterrupt`` + proctor's request."""
    description = f"{ask.why}. Approve, edit or reject {ask.id}."
    return {
        "type": "tool_approval",
        "tool_call_id": ask.tool_call_id,
        "name": ask.tool,
        "args": ask.args,
        "description": description,
        "action_request": {"action": ask.tool, "args": ask.args},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "request": ask.model_dump(mode="json"),
    }


def customer_message(ask: ApprovalRequest) -> str:
    """What the model may tell the customer of a rejection: the reviewer's message, never the note."""
    return ask.message or "A colleague reviewed this action and did not approve it, so it was not done."


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _interrupt_id(key: Any) -> bool:
    return isinstance(key, str) and len(key) == 32 and all(c in "0123456789abcdef" for c in key)
