"""The guardrails a specialist runs with, assembled from a deployment's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ModelRequest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from proctor.context import run_context
from proctor.guards.budget import Escalate, RunBudget
from proctor.guards.grounding import GroundingCheck
from proctor.guards.loops import LoopBreaker
from proctor.guards.malformed import ToolArguments
from proctor.guards.provenance import owner_key
from proctor.guards.untrusted import UntrustedContent
from proctor.escalations import escalate
from proctor.chat_models import ModelNotConfigured

if TYPE_CHECKING:
    from proctor.deployment import Deployment
    from proctor.specialists import AgentSpec


def guardrails(deployment: Deployment, spec: AgentSpec) -> list[AgentMiddleware]:
    """Model-call guards outermost first (budget sees every call), then tool-result guards."""
    settings = deployment.settings
    to_human = _escalator(deployment)
    guards: list[AgentMiddleware] = [
        RunBudget(settings.guards, settings.prices, fallback_model(deployment), to_human, agent_limit=spec.limits.max_model_calls),
        LoopBreaker(to_human),
    ]
    grounding = deployment.grounding
    if spec.grounded and grounding is not None:
        citation, source = grounding
        verifier = None if settings.offline else deployment.model
        guards.append(GroundingCheck(citation, source, to_human, verifier=verifier))
    specs = deployment.tool_specs
    guards.append(UntrustedContent({t.name: t.shape for t in specs}, {t.name: owner_key(t.result) for t in specs}))
    return guards


def input_guards(deployment: Deployment) -> list[AgentMiddleware]:
    """Outside the approval gate: malformed tool arguments never reach it, nor a tool."""
    return [ToolArguments({t.name: t.args_schema for t in deployment.tool_specs})]


def fallback_model(deployment: Deployment) -> BaseChatModel | None:
    try:
        return deployment.chat_model(deployment.settings.guards.fallback_model)
    except ModelNotConfigured:
        return None


def _escalator(deployment: Deployment) -> Escalate:
    def to_human(request: ModelRequest, reason: str) -> str:
        context = run_context(request.runtime)
        text = next((m.text for m in reversed(request.messages) if isinstance(m, HumanMessage)), "")
        return escalate(
            deployment.db,
            thread_id=context.thread_id,
            user_id=context.requester.id,
            reason=reason,
            request=text,
        )

    return to_human
