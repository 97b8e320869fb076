"""Per-run guard state, kept in the graph state so it is checkpointed and crosses subgraphs.

The supervisor resets it at the front door of every turn; specialists read and extend it
through their middleware; the planner passes it to the agents it invokes and back.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from langchain.agents.middleware import AgentState
from langchain_core.callbacks.manager import dispatch_custom_event

GUARD_EVENT = "proctor_guard"


class TurnGuards(TypedDict, total=False):
    """The keys; graph states that carry guard state (supervisor, planner) mix this in."""

    turn_model_calls: int
    turn_tokens: int
    turn_cost_usd: float
    tainted: bool
    taint_sources: list[str]  # why the run is tainted, in words a reviewer reads
    tool_signatures: list[str]
    loop_warned: bool


class GuardState(AgentState, TurnGuards):
    """A specialist's state with the guard keys, for the guard middleware's ``state_schema``."""


GUARD_KEYS = tuple(TurnGuards.__annotations__)


def fresh_turn(tainted: bool = False, taint_sources: list[str] | None = None) -> dict[str, Any]:
    return {
        "turn_model_calls": 0,
        "turn_tokens": 0,
        "turn_cost_usd": 0.0,
        "tainted": tainted,
        "taint_sources": list(taint_sources or []),
        "tool_signatures": [],
        "loop_warned": False,
    }


def carried(state: dict[str, Any]) -> dict[str, Any]:
    """The guard keys of a state, to hand to (or take back from) an agent invoked by hand."""
    return {k: state[k] for k in GUARD_KEYS if k in state}


def emit(kind: str, **detail: Any) -> None:
    """A guardrail firing: a custom callback event, so traces (ours and LangSmith's) show it."""
    try:
        dispatch_custom_event(GUARD_EVENT, {"kind": kind, **detail})
    except RuntimeError:
        pass  # outside a run (unit use): nothing to attach the event to
