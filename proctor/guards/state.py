"""Run-wide guard state, kept in the graph state so it is checkpointed and crosses subgraphs.

Every graph that runs model calls (the supervisor, the planner, each specialist) declares these
keys, so a subgraph starts from its parent's values and hands its own back: a hand-off to the
planner and every plan step read and extend the same counters and taint. The front door starts
a turn's counters; taint never resets (what the model has read stays in its conversation). No
client writes them: the graphs' input schema is the request alone, and the server refuses
state edits and commands from non-reviewers (``proctor.server_auth``).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping
from typing import Annotated, Any

from typing_extensions import TypedDict

from langchain.agents.middleware import AgentState
from langchain_core.callbacks.manager import dispatch_custom_event
from langchain_core.runnables import RunnableConfig

GUARD_EVENT = "proctor_guard"


def _union(kept: list[str] | None, new: list[str] | None) -> list[str]:
    """Taint sources only accumulate: writers send what they knew plus theirs, in parallel too."""
    merged = list(kept or [])
    return merged + [s for s in (new or []) if s not in merged]


class TurnGuards(TypedDict, total=False):
    """The keys; graph states that carry guard state (supervisor, planner) mix this in."""

    turn_model_calls: int
    turn_tokens: int
    turn_cost_usd: float
    turn_started_at: float
    """Wall clock (epoch seconds) at which the current run started, for its deadline."""
    turn_run: str
    """The run the clock belongs to: a resumed run (after an approval) starts its own clock."""
    tainted: Annotated[bool, operator.or_]
    """Sticky: parallel untrusted results may each set it, and nothing un-sets it."""
    taint_sources: Annotated[list[str], _union]  # why the run is tainted, in words a reviewer reads
    tool_signatures: list[str]
    loop_warned: bool
    turn_request: str
    """The client's request this turn, as the front door read it. The approval gate judges every
    write against it: a plan step or a hand-off is model-written text and never replaces it."""


class GuardState(AgentState, TurnGuards):
    """A specialist's state with the guard keys, for the guard middleware's ``state_schema``."""


GUARD_KEYS = tuple(TurnGuards.__annotations__)


def fresh_turn(run: str = "", now: float | None = None, request: str = "") -> dict[str, Any]:
    """The counters of a new turn (taint is not among them: it outlives the turn)."""
    return {
        "turn_request": request,
        "turn_model_calls": 0,
        "turn_tokens": 0,
        "turn_cost_usd": 0.0,
        "turn_started_at": time.time() if now is None else now,
        "turn_run": run,
        "tool_signatures": [],
        "loop_warned": False,
    }


# What a guard key reads as while unwritten: writing this value changes nothing.
_UNWRITTEN: dict[str, Any] = {"turn_model_calls": 0, "turn_tokens": 0, "turn_cost_usd": 0.0, "turn_run": "",
                              "tool_signatures": [], "loop_warned": False, "tainted": False, "taint_sources": []}  # fmt: skip
_ABSENT = object()


def written(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values without the guard keys that read the same unwritten: a subgraph's input, each key left
    out a checkpoint write saved."""
    return {k: v for k, v in values.items() if _UNWRITTEN.get(k, _ABSENT) != v}


def changes(state: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``update`` that changes ``state`` (an absent key is a change: a final state keeps
    every key the front door sets); of ``messages``, the new and edited ones only (``add_messages``
    merges by id, so the rest would be rewritten as they are)."""
    out = {k: v for k, v in update.items() if k != "messages" and state.get(k, _ABSENT) != v}
    if "messages" in update:
        before = {m.id: m for m in state.get("messages", ())}
        fresh = [m for m in update["messages"] if m.id not in before or before[m.id] != m]
        if fresh:
            out["messages"] = fresh
    return out


def carried(state: Mapping[str, Any]) -> dict[str, Any]:
    """The guard keys of a state, to hand to (or take back from) an agent invoked by hand."""
    return {k: state[k] for k in GUARD_KEYS if k in state}


def run_marker(config: RunnableConfig | None) -> str:
    """What identifies the current run (not the thread): the server's run id, or the embedded
    runner's trace id; '' for a bare ``graph.invoke`` (its clock is the front door's)."""
    config = config or {}
    configurable = config.get("configurable") or {}
    metadata = config.get("metadata") or {}
    return str(configurable.get("run_id") or metadata.get("trace_id") or "")


def emit(kind: str, **detail: Any) -> None:
    """A guardrail firing: a custom callback event, so traces (ours and LangSmith's) show it."""
    try:
        dispatch_custom_event(GUARD_EVENT, {"kind": kind, **detail})
    except RuntimeError:
        pass  # outside a run (unit use): nothing to attach the event to
