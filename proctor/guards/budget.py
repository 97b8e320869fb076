"""Step bound, per-run budgets and the run's deadline, checked before every specialist model call.

The limits are the run's, not the agent's: the counters live in the run-wide guard state
(``proctor.guards.state``) and the same ``Meter`` admits the router, planner and verifier calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ExtendedModelResponse, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.types import Command

from proctor.guards.meter import Meter, stop_text
from proctor.guards.settings import GuardSettings
from proctor.guards.state import GuardState, emit, run_marker
from proctor.pricing import ModelPrice

Escalate = Callable[[ModelRequest, str], str]


class RunBudget(AgentMiddleware):
    """Stops a run at its step limit or deadline; on a token or dollar cap, swaps in the fallback model.

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
        self.meter = Meter(settings, prices)
        self.fallback = fallback
        self.escalate = escalate

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        run = _run()
        admitted = self._admit(request, run)
        if isinstance(admitted, ModelResponse):
            return admitted
        return self._settle(request, handler(admitted), run)

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        run = _run()
        admitted = await asyncio.to_thread(self._admit, request, run)  # may write an escalation
        if isinstance(admitted, ModelResponse):
            return admitted
        return self._settle(request, await handler(admitted), run)

    def _admit(self, request: ModelRequest, run: str) -> ModelRequest | ModelResponse:
        """The request to send (maybe to the fallback model), or the answer that stops the run."""
        state = request.state
        calls = state.get("turn_model_calls", 0)
        mine = _calls_by(request)
        over = self.meter.over(state, run)
        if over == "step" or (self.agent_limit is not None and mine >= self.agent_limit):
            emit("step_limit", calls=calls, agent_calls=mine, limit=self.settings.step_limit)
            ref = self.escalate(request, f"stopped after {calls} model calls (step limit)")
            return _stop(f"I stopped because this request took more steps than allowed; a human colleague will take it over (reference {ref}).")
        if over == "time":
            emit("deadline", seconds=self.settings.run_deadline_s)
            return _stop(stop_text("time"))
        if not over:
            return request
        if self.fallback is None or request.model is self.fallback:
            emit("budget_stop", reason=over)
            return _stop(stop_text(over))
        emit("budget_fallback", reason=over, model=_name(self.fallback))
        return request.override(model=self.fallback)

    def _settle(self, request: ModelRequest, response: ModelResponse, run: str) -> ExtendedModelResponse:
        update = self.meter.charge(request.state, response.result, run)
        return ExtendedModelResponse(model_response=response, command=Command(update=update))


def _run() -> str:
    try:
        return run_marker(get_config())
    except RuntimeError:
        return ""  # outside a runnable context (unit use)


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
