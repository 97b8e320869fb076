"""The ledger's vocabulary: a gated call's request, a reviewer's decision, what the gate knows, the errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from proctor.approvals.policy import RiskClass
from proctor.errors import ProctorError

COUNTED = ("pending", "approved", "edited", "autonomous")  # amounts that may move or moved

Status = Literal["pending", "approved", "edited", "rejected", "autonomous", "superseded"]
Listing = Literal["pending", "approved", "edited", "rejected", "autonomous", "superseded", "decided", "open"]
"""``decided``: decided but not yet applied by its thread; ``open``: pending or decided."""
SUPERSEDED_BY = "proctor"  # who "decides" a request its thread moved past: no reviewer did


class ApprovalError(ProctorError):
    """A decision that cannot be taken; nothing was changed."""


class UnknownRequest(ApprovalError):
    pass


class AlreadyDecided(ApprovalError):
    """Conflict: the request was decided before."""

    exit_code = 4


class ResumeInProgress(ApprovalError):
    """Conflict: another process is resuming this thread right now."""

    exit_code = 4


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
    rule: RiskClass | None = Field(None, description="The first (strongest) rule that fired.")
    rules: list[RiskClass] = Field(default_factory=list, description="Every rule that fired: each one's role is needed.")
    why: str | None = None
    amount: float | None = Field(None, description="What moves (after an edit, the edited amount).")
    currency: str | None = None
    customer_id: str | None = Field(None, description="The customer whose records the call changes.")
    policy_version: str
    release_id: str | None = None
    status: Status
    decided_by: str | None = None
    decided_at: str | None = None
    decided_args: dict[str, Any] | None = None
    reason: str | None = Field(None, description="The reviewer's internal note; never shown to the customer.")
    message: str | None = Field(None, description="What the customer is told of the decision.")
    applied_at: str | None = Field(None, description="When the thread applied the decision (None: not yet).")
    created_at: str

    @property
    def executed_args(self) -> dict[str, Any]:
        """What runs: the reviewer's arguments after an edit, else the recorded call's."""
        return self.decided_args if self.status == "edited" and self.decided_args is not None else self.args


class Decision(BaseModel):
    """A reviewer's answer, in the vocabulary of LangChain's HumanInTheLoopMiddleware."""

    type: Literal["approve", "edit", "reject"]
    reviewer: str
    args: dict[str, Any] | None = Field(None, description="The changed arguments, for an edit.")
    reason: str | None = Field(None, description="Why, for a rejection: an internal note for the record.")
    message: str | None = Field(None, description="For the customer; a neutral default when omitted.")


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
