"""The approval policy as data: which tool calls need a human, decided from the call and its context."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from proctor.errors import ProctorError
from proctor.tomlfile import load_toml

RiskClass = Literal["money", "communication", "access", "tagged", "first_time", "tainted", "unrequested", "always"]


class PolicyError(ProctorError):
    """The policy file is malformed."""


class MoneyRule(BaseModel):
    """Monetary impact above a limit: per call (per tool and currency), and cumulative.

    The cumulative limits add every call's amount that is pending, approved or ran on its own:
    ``per_run`` over one conversation (every turn, plan step and hand-off of a thread),
    ``per_customer_per_day`` over the affected customer's last 24 hours. A currency a limit
    does not name has a limit of 0 there: every amount in it needs a human.
    """

    tools: list[str]
    threshold: dict[str, float] = Field(default_factory=lambda: {"USD": 100.0}, description="By currency.")
    per_tool: dict[str, dict[str, float]] = Field(default_factory=dict, description="tool -> currency -> limit.")
    per_run: dict[str, float] | None = Field(None, description="Cumulative per thread, by currency.")
    per_customer_per_day: dict[str, float] | None = Field(
        None, description="Cumulative per affected customer over a rolling 24 hours, by currency."
    )

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
    max_amount: dict[str, float] = Field(
        default_factory=dict, description="Largest amount by currency; a currency not named: none at all."
    )

    def may_move(self, amount: float, currency: str) -> bool:
        return amount <= self.max_amount.get(currency, 0.0)


class ApprovalPolicy(BaseModel):
    """Everything the approval gate decides with. Versioned with the deployment."""

    version: str
    money: MoneyRule
    communication: CommunicationRule
    access: list[str] = Field(description="Tools that change accounts, roles, permissions or access.")
    always: list[str] = Field(
        default_factory=list, description="Tools a human decides every call of, whatever their track record."
    )
    tags: TagRule
    first_time: FirstTimeRule = FirstTimeRule()
    taint_exempt: list[str] = Field(
        default_factory=list, description="Writes that stay autonomous in a tainted run (low-risk internal records)."
    )
    requested: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Write -> words one of which the client's request must contain for it to run on its own"
        " (matched at the start of a word: 'refund' matches 'refunded'). A write not listed is not checked.",
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
    amount: float | None = Field(None, description="Monetary impact, from the tool's declared impact.")
    currency: str = "USD"
    amount_known: bool = Field(True, description="False: a money tool that declares no impact.")
    run_total: float = Field(0.0, description="Amounts already pending or moved in this thread.")
    customer_total: float = Field(0.0, description="Amounts pending or moved for the customer in 24 hours.")
    tainted: bool = Field(False, description="Untrusted content has entered this run.")
    taint_sources: list[str] = Field(default_factory=list, description="Why the run is tainted, for the reviewer.")
    approvals_of_class: int = 0


def evaluate(policy: ApprovalPolicy, action: ActionContext) -> list[Verdict]:
    """Every rule that fires, strongest first (each one's role is required to decide); [] runs autonomously."""
    rules = (_tagged, _access, _always, _money, _communication, _tainted, _unrequested, _first_time)
    return [v for v in (rule(policy, action) for rule in rules) if v is not None]


def _access(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    if a.tool in policy.access:
        return Verdict(rule="access", why=f"{a.tool} changes an account, role, permission or access")
    return None


def _always(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    if a.tool in policy.always:
        return Verdict(rule="always", why=f"a human decides every call of {a.tool}")
    return None


def _money(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    rule, c = policy.money, a.currency
    if a.tool in rule.tools and not a.amount_known:
        return Verdict(rule="money", why=f"{a.tool} moves money and declares no impact: the amount is unknown")
    if a.amount is None or (a.tool not in rule.tools and a.amount == 0):
        return None
    moves = f"{a.tool} moves {a.amount:.2f} {c}"
    why = None
    if a.amount > (limit := rule.limit(a.tool, c)):
        why = f"{moves}, above the {limit:.2f} {c} limit per call"
    elif rule.per_run is not None and a.run_total + a.amount > (limit := rule.per_run.get(c, 0.0)):
        why = f"{moves}, bringing this conversation to {a.run_total + a.amount:.2f} {c}, above its {limit:.2f} {c} limit"
    elif rule.per_customer_per_day is not None and a.customer_total + a.amount > (
        limit := rule.per_customer_per_day.get(c, 0.0)
    ):
        why = f"{moves}, bringing the customer's last 24 hours to {a.customer_total + a.amount:.2f} {c}, above the {limit:.2f} {c} limit"
    return Verdict(rule="money", why=why, amount=a.amount, currency=c) if why else None


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


def _unrequested(policy: ApprovalPolicy, a: ActionContext) -> Verdict | None:
    # The model proposes, the client's request disposes: a write the request never asked for
    # (the model's own idea, a plan step's, injected text's) waits for a human however small.
    words = policy.requested.get(a.tool)
    if words is None or any(re.search(rf"(?<!\w){re.escape(w.strip())}", a.request, re.I) for w in words):
        return None
    return Verdict(rule="unrequested", why=f"the request did not ask for {a.tool} (it says none of: {', '.join(words)})")


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
