"""The approval policy as data: which tool calls need a human, decided from the call and its context."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from proctor.errors import ProctorError
from proctor.tomlfile import load_toml

RiskClass = Literal["money", "communication", "access", "tagged", "first_time", "tainted"]


class PolicyError(ProctorError):
    """The policy file is malformed."""


class MoneyRule(BaseModel):
    """Monetary impact above a threshold, per tool and per currency."""

    tools: list[str]
    threshold: dict[str, float] = Field(default_factory=lambda: {"USD": 100.0}, description="By currency.")
    per_tool: dict[str, dict[str, float]] = Field(default_factory=dict, description="tool -> currency -> limit.")

    def limit(self, tool: str, currency: str) -> float:
        return self.per_tool.get(tool, {}).get(currency, self.threshold.get(currency, 0.0))


class CommunicationRule(BaseModel):
    """External communications to customers on sensitive topics."""

    tools: list[str]
    sensitive_topics: list[str]


class TagRule(BaseModel):
    """Anything about legal, medical or safety matters, by keywords in the request or the call."""

    keywords: dict[str, list[str]]


class FirstTimeRule(BaseModel):
    """A write the deployment has no approval track record for needs approval until it has one."""

    approvals_needed: int = Field(3, ge=0)
    established: list[str] = Field(default_factory=list, description="Action classes with a track record.")


class Reviewer(BaseModel):
    id: str
    name: str
    roles: list[RiskClass] = Field(description="Risk classes this reviewer may approve.")
    max_amount: dict[str, float] = Field(default_factory=dict, description="Largest amount by currency.")


class ApprovalPolicy(BaseModel):
    """Everything the approval gate decides with. Versioned with the deployment."""

    version: str
    money: MoneyRule
    communication: CommunicationRule
    access: list[str] = Field(description="Tools that change accounts, roles, permissions or access.")
    tags: TagRule
    first_time: FirstTimeRule = FirstTimeRule()
    taint_exempt: list[str] = Field(
        default_factory=list, description="Writes that stay autonomous in a tainted run (low-risk internal records)."
    )
    reviewers: list[Reviewer] = Field(default_factory=list)

    def reviewer(self, reviewer_id: str) -> Reviewer | None:
        return next((r for r in self.reviewers if r.id == reviewer_id), None)


class Verdict(BaseModel):
    """Why a call needs a human."""

    rule: RiskClass
    why: str
    amount: float | None = None
    currency: str = "USD"


class ActionContext(BaseModel):
    """What the policy sees of one tool call."""

    tool: str
    args: dict
    request: str = ""
    amount: float | None = Field(None, description="Monetary impact, from a dry run of the call.")
    currency: str = "USD"
    tainted: bool = Field(False, description="Untrusted content has entered this run.")
    taint_sources: list[str] = Field(default_factory=list, description="Why the run is tainted, for the reviewer.")
    approvals_of_class: int = 0


def evaluate(policy: ApprovalPolicy, action: ActionContext) -> Verdict | None:
    """The first rule that fires, strongest first; None means the call runs autonomously."""
    for rule in (_tagged, _access, _money, _communication, _tainted, _first_time):
        verdict = rule(policy, action)
        if verdict is not None:
            return verdict
    return None


def _access(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    if a.tool in policy.access:
        return Verdict(rule="access", why=f"{a.tool} changes an account, role, permission or access")
    return None


def _money(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    if a.tool not in policy.money.tools or a.amount is None:
        return None
    limit = policy.money.limit(a.tool, a.currency)
    if a.amount > limit:
        return Verdict(
            rule="money",
            why=f"{a.tool} moves {a.amount:.2f} {a.currency}, above the {limit:.2f} {a.currency} limit",
            amount=a.amount,
            currency=a.currency,
        )
    return None


def _communication(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    if a.tool not in policy.communication.tools:
        return None
    text = " ".join(str(v) for v in a.args.values())
    topics = [t for t in policy.communication.sensitive_topics if _mentions(text, t)]
    if topics:
        return Verdict(rule="communication", why=f"a message to a customer about {', '.join(topics)}")
    return None


def _tagged(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    text = a.request + " " + " ".join(str(v) for v in a.args.values())
    for tag, words in policy.tags.keywords.items():
        hits = [w for w in words if _mentions(text, w)]
        if hits:
            return Verdict(rule="tagged", why=f"the matter is tagged {tag} ({', '.join(hits)})")
    return None


def _tainted(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    # Every gated call is a write: once untrusted text is in the run, none runs on its own
    # unless the policy exempts it.
    if a.tainted and a.tool not in policy.taint_exempt:
        sources = f": {'; '.join(a.taint_sources)}" if a.taint_sources else ""
        return Verdict(rule="tainted", why=f"untrusted content entered this run before this action{sources}")
    return None


def _first_time(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    rule = policy.first_time
    if a.tool in rule.established or a.approvals_of_class >= rule.approvals_needed:
        return None
    return Verdict(
        rule="first_time",
        why=f"{a.tool} has {a.approvals_of_class} of {rule.approvals_needed} approvals needed to run on its own",
    )


def _mentions(text: str, phrase: str) -> bool:
    """Whole words only: "sue" is not in "issue", "legal" is not in "northwindlegal.com"."""
    return re.search(rf"(?<![\w.@-]){re.escape(phrase.strip())}(?![\w@-])", text, re.I) is not None


def load_policy(path: Path) -> ApprovalPolicy:
    return load_toml(path, ApprovalPolicy, PolicyError, "approval policy")
