"""One run-wide budget: every model call of a run is admitted against it and charged to it.

Specialists (through ``RunBudget``), the front door's LLM tier, the planner, the re-planner and
the grounding verifier all go through a ``Meter``: the step limit, the token and dollar caps and
the wall-clock deadline hold for the run as a whole, whatever part of the graph makes the call.
What a model reports about its own usage is clamped: never negative, never absurd.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from pydantic import BaseModel

from proctor.guards.settings import GuardSettings
from proctor.guards.state import emit
from proctor.pricing import ModelPrice, cost_usd

MAX_TOKENS_PER_CALL = 2_000_000
"""Sanity bound on the tokens one call may report (input or output): more is a lie or a bug."""
MERGED_CALLS = "proctor_model_calls"
"""``response_metadata`` key: how many model calls a message's usage adds up (a re-plan, a verifier)."""

Stop = Literal["step", "time", "token", "dollar"]


class BudgetSpent(Exception):
    """A call was refused: the run is over a limit and no fallback model can take the call."""

    def __init__(self, reason: Stop) -> None:
        super().__init__(reason)
        self.reason = reason


def tokens(value: Any) -> int:
    """A reported token count as a usable one: negative, NaN or non-numeric is 0; huge is bounded."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    if math.isnan(number) or number <= 0:
        return 0
    return int(min(number, MAX_TOKENS_PER_CALL))


def calls_in(message: BaseMessage) -> int:
    merged = (getattr(message, "response_metadata", None) or {}).get(MERGED_CALLS, 1)
    return max(1, min(tokens(merged), 10))


def merge_usage(kept: AIMessage, spent: Sequence[BaseMessage]) -> AIMessage:
    """``kept`` carrying the usage (and call count) of ``spent`` too: the budget sees every call."""
    used = [m for m in spent if isinstance(m, AIMessage) and m is not kept]
    if not used:
        return kept
    usage: dict[str, Any] = dict(kept.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
    for m in used:
        reported: Mapping[str, Any] = m.usage_metadata or {}
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            usage[key] = tokens(usage.get(key)) + tokens(reported.get(key))
    kept.usage_metadata = cast(UsageMetadata, usage)  # kept's own usage, its three counts summed
    metadata = {**(used[-1].response_metadata or {}), **(kept.response_metadata or {})}
    metadata[MERGED_CALLS] = calls_in(kept) + sum(calls_in(m) for m in used)
    kept.response_metadata = metadata
    return kept


class Meter:
    """The limits of one deployment, applied to the guard keys of a run's state."""

    def __init__(self, settings: GuardSettings, prices: dict[str, ModelPrice]) -> None:
        self.settings = settings
        self.prices = prices

    def over(self, state: Mapping[str, Any], run: str, now: float | None = None) -> Stop | None:
        """The limit the run has reached, if any. Step and time limits end the run; token and
        dollar caps send further calls to the fallback model."""
        if state.get("turn_model_calls", 0) >= self.settings.step_limit:
            return "step"
        if self.elapsed(state, run, now) >= self.settings.run_deadline_s:
            return "time"
        if state.get("turn_tokens", 0) >= self.settings.max_tokens_per_run:
            return "token"
        if state.get("turn_cost_usd", 0.0) >= self.settings.max_usd_per_run:
            return "dollar"
        return None

    @staticmethod
    def elapsed(state: Mapping[str, Any], run: str, now: float | None = None) -> float:
        if state.get("turn_run", "") != run or "turn_started_at" not in state:
            return 0.0  # a run resumed after an approval: its clock starts now
        return (time.time() if now is None else now) - state["turn_started_at"]

    def charge(self, state: Mapping[str, Any], messages: Sequence[BaseMessage], run: str) -> dict[str, Any]:
        """The state update that books these model replies against the run."""
        calls, spent, dollars = 0, 0, 0.0
        for message in messages:
            if not isinstance(message, AIMessage):
                continue
            usage: Mapping[str, Any] = message.usage_metadata or {}
            model = str((message.response_metadata or {}).get("model_name") or "unknown")
            inp, out = tokens(usage.get("input_tokens")), tokens(usage.get("output_tokens"))
            calls += calls_in(message)
            spent += inp + out
            dollars += cost_usd(self.prices, model, inp, out)
        update = {
            "turn_model_calls": state.get("turn_model_calls", 0) + max(calls, 1),
            "turn_tokens": state.get("turn_tokens", 0) + spent,
            "turn_cost_usd": state.get("turn_cost_usd", 0.0) + dollars,
        }
        if state.get("turn_run", "") != run or "turn_started_at" not in state:
            update.update(turn_run=run, turn_started_at=time.time())
        return update

    def structured(
        self,
        model: BaseChatModel,
        schema: type[BaseModel],
        messages: list[BaseMessage],
        state: Mapping[str, Any],
        run: str,
        *,
        fallback: BaseChatModel | None,
        caller: str,
    ) -> tuple[BaseModel | None, dict[str, Any]]:
        """A structured-output call made by a graph node (router, planner, verifier), admitted and
        charged like a specialist's. Raises ``BudgetSpent`` when the run may make no more calls;
        the parsed value is None when the model's output did not parse."""
        reason = self.over(state, run)
        if reason is not None:
            if reason in ("step", "time") or fallback is None or model is fallback:
                emit("budget_stop", reason=reason, caller=caller)
                raise BudgetSpent(reason)
            emit("budget_fallback", reason=reason, caller=caller)
            model = fallback
        out = model.with_structured_output(schema, include_raw=True).invoke(messages)
        raw = out.get("raw") if isinstance(out, dict) else None
        update = self.charge(state, [raw] if isinstance(raw, AIMessage) else [], run)
        parsed = out.get("parsed") if isinstance(out, dict) else out
        return (parsed if isinstance(parsed, schema) else None), update


def stop_text(reason: Stop) -> str:
    if reason == "time":
        return "I have to stop here: this request ran past its time limit. A human colleague can continue it."
    if reason == "step":
        return "I stopped because this request took more steps than allowed; a human colleague can take it over."
    return f"I have to stop here: this request reached its {reason} budget. A human colleague can continue it."
