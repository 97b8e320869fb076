"""Step bound and per-run budgets, checked before every model call across the whole supervisor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ExtendedModelResponse, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from proctor.guards.settings import GuardSettings
from proctor.guards.state import GuardState, emit
from proctor.pricing import ModelPrice, cost_usd

Escalate = Callable[[ModelRequest, str], str]


class RunBudget(AgentMiddleware):
    """Stops a run at its step limit; on a token or dollar cap, swaps in the fallback model.

    Usage is added after each call, so a run overshoots a cap by at most one call. When no
    fallback is possible the run stops with an honest answer.
    """

    state_schema = GuardState

    def __init__(
        self,
        settings: GuardSettings,
        prices: dict[str, ModelPrice],
        fallback: BaseChatModel | None,
        escalate: Escalate,
        agent_limit: int | None = None,
    ) -> None:
        super().__init__()
        self.agent_limit = agent_limit
        self.settings = settings
        self.prices = prices
        self.fallback = fallback
        self.escalate = escalate

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        admitted = self._admit(request)
        if isinstance(admitted, ModelResponse):
            return admitted
        return self._settle(request, handler(admitted))

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        admitted = await asyncio.to_thread(self._admit, request)  # may write an escalation
        if isinstance(admitted, ModelResponse):
            return admitted
        return self._settle(request, await handler(admitted))

    def _admit(self, request: ModelRequest) -> ModelRequest | ModelResponse:
        """The request to send (maybe to the fallback model), or the answer that stops the run."""
        state = request.state
        calls = state.get("turn_model_calls", 0)
        mine = _calls_by(request)
        if calls >= self.settings.step_limit or (self.agent_limit is not None and mine >= self.agent_limit):
            emit("step_limit", calls=calls, agent_calls=mine, limit=self.settings.step_limit)
            ref = self.escalate(request, f"stopped after {calls} model calls (step limit)")
            return _stop(f"I stopped because this request took more steps than allowed; a human colleague will take it over (reference {ref}).")
        over = self._over_budget(state)
        if not over:
            return request
        if self.fallback is None or request.model is self.fallback:
            emit("budget_stop", reason=over)
            return _stop(f"I have to stop here: this request reached its {over} budget. A human colleague can continue it.")
        emit("budget_fallback", reason=over, model=_name(self.fallback))
        return request.override(model=self.fallback)

    def _settle(self, request: ModelRequest, response: ModelResponse) -> ExtendedModelResponse:
        return ExtendedModelResponse(model_response=response, command=Command(update=self._usage(request.state, response)))

    def _over_budget(self, state: dict[str, Any]) -> str | None:
        if state.get("turn_tokens", 0) >= self.settings.max_tokens_per_run:
            return "token"
        if state.get("turn_cost_usd", 0.0) >= self.settings.max_usd_per_run:
            return "dollar"
        return None

    def _usage(self, state: dict[str, Any], response: ModelResponse) -> dict[str, Any]:
        tokens, dollars = 0, 0.0
        for message in response.result:
            usage = getattr(message, "usage_metadata", None) or {}
            model = (getattr(message, "response_metadata", None) or {}).get("model_name", "unknown")
            inp, out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
            tokens += inp + out
            dollars += cost_usd(self.prices, model, inp, out)
        return {
            "turn_model_calls": state.get("turn_model_calls", 0) + 1,
            "turn_tokens": state.get("turn_tokens", 0) + tokens,
            "turn_cost_usd": state.get("turn_cost_usd", 0.0) + dollars,
        }


def _calls_by(request: ModelRequest) -> int:
    """This agent's model calls in the current turn (create_agent names its messages)."""
    count = 0
    for message in reversed(request.messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            count += 1
    return count


def _stop(text: str) -> ModelResponse:
    return ModelResponse(result=[AIMessage(text)])


def _name(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or type(model).__name__
