"""Trajectory match: the run's tool calls against the task's reference calls.

The four modes are agentevals' (``create_trajectory_match_evaluator``), fed one assistant
message per tool call. Two things it has no notion of are added here: ``ordered`` (the
reference calls as a subsequence of the run's, extra calls allowed) and forbidden calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentevals.trajectory.match import create_trajectory_match_evaluator

from proctor.evals.task import ToolCall, Trajectory


def normalise(value: Any) -> str:
    """One spelling per value: ``"1042"`` and ``1042``, ``49`` and ``"49.00"``, ``A@X.COM`` and ``a@x.com``."""
    text = str(value).strip().lower()
    try:
        return f"{float(text):.2f}"
    except ValueError:
        return text


def args_match(actual: Mapping[str, Any], key_args: Mapping[str, Any]) -> bool:
    """Every key argument is present with an equal value; other arguments are free."""
    return all(name in actual and normalise(actual[name]) == normalise(value) for name, value in key_args.items())


def _matches(call: ToolCall, pattern: ToolCall) -> bool:
    return call.name == pattern.name and args_match(call.args, pattern.args)


def _messages(calls: Sequence[ToolCall], keys: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    """One assistant message per call, its arguments cut down to the key arguments and normalised."""
    return [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "function": {
                        "name": c.name,
                        "arguments": json.dumps(
                            {k: normalise(v) for k, v in c.args.items() if k in keys.get(c.name, set())}
                        ),
                    }
                }
            ],
        }
        for c in calls
    ]


def _agentevals_match(actual: Sequence[ToolCall], expected: Trajectory) -> bool:
    # agentevals compares arguments exactly, and in both directions for some modes; cutting the
    # run's arguments down to the reference's key arguments turns that into a key-argument match.
    keys: dict[str, set[str]] = {}
    for call in expected.calls:
        keys.setdefault(call.name, set()).update(call.args)
    evaluator = create_trajectory_match_evaluator(trajectory_match_mode=expected.mode)
    outcome = evaluator(outputs=_messages(actual, keys), reference_outputs=_messages(expected.calls, keys))
    return bool(outcome["score"])


def in_order(actual: Sequence[ToolCall], expected: Sequence[ToolCall]) -> bool:
    """The expected calls appear in the run in this order, other calls in between allowed."""
    position = 0
    for call in actual:
        if position < len(expected) and _matches(call, expected[position]):
            position += 1
    return position == len(expected)


def forbidden_calls(actual: Sequence[ToolCall], expected: Trajectory) -> list[ToolCall]:
    return [c for c in actual if any(_matches(c, f) for f in expected.forbidden)]


def match(actual: Sequence[ToolCall], expected: Trajectory) -> tuple[bool, str]:
    """Whether the run's calls fit the reference trajectory, and if not, why."""
    made = ", ".join(c.name for c in actual) or "no calls"
    if not _agentevals_match(actual, expected):
        wanted = ", ".join(f"{c.name}{c.args or ''}" for c in expected.calls) or "no calls"
        return False, f"{expected.mode} match failed: made {made}; reference {wanted}"
    if expected.ordered and not in_order(actual, expected.calls):
        return False, f"calls out of order: made {made}; wanted {', '.join(c.name for c in expected.calls)} in order"
    bad = forbidden_calls(actual, expected)
    if bad:
        return False, f"forbidden call(s): {', '.join(f'{c.name}{c.args}' for c in bad)}"
    return True, f"made {made}"
