"""Per-run guard state, kept in the graph state so it is checkpointed and crosses subgraphs.

The supervisor resets it at the front door of every turn; specialists read and extend it
through their middleware; the planner passes it to the agents it invokes and back.
"""

from __future__ import annotations

from typing import Any, NotRequired

from langchain.agents.middleware import AgentState
from langchain_core.callbacks.manager import dispatch_custom_event

GUARD_EVENT = "proctor_guard"


class GuardState(AgentState):
    turn_model_calls: NotRequired[int]
    turn_tokens: NotRequired[int]
    turn_cost_usd: NotRequired[float]
    tainted: NotRequired[bool]
    tool_signatures: NotRequired[list[str]]
    loop_warned: NotRequired[bool]


GUARD_KEYS = ("turn_model_calls", "turn_tokens", "turn_cost_usd", "tainted", "tool_signatures", "loop_warned")


def fresh_turn(tainted: bool = False) -> dict[str, Any]:
    return {
        "turn_model_calls": 0,
        "turn_tokens": 0,
        "turn_cost_usd": 0.0,
        "tainted": tainted,
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
