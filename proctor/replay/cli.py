"""``proctor replay TRACE_ID [--model M] [--prompt-version V] [--release R] [--json]``: the two runs
side by side, what differs, and what changed in the configuration."""

from __future__ import annotations

import argparse
import json
import textwrap
from itertools import zip_longest
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a replay runs a graph: imported when the command runs
    from proctor.replay import Outcome, Replay, Step

COLUMN = 56  # two columns and the row labels fit a 132-column terminal
LABEL = 8


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``replay`` command to the ``proctor`` parser's subcommands."""
    command = commands.add_parser(
        "replay", help="re-run a recorded run (recorded tool results, no real writes) and diff the trajectories"
    )
    command.add_argument("trace_id", help="the trace of the run to replay (see `proctor traces search`)")
    command.add_argument("--model", help="run every agent on this model: 'offline', or one on the configured endpoint")
    command.add_argument(
        "--prompt-version", metavar="RELEASE", help="keep the release, take the agents' prompts from this one"
    )
    command.add_argument("--release", help="run on this release's bundle (default: the release the trace ran on)")
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from proctor.replay import ReplayConfig, replay
    from proctor.settings import Settings

    config = ReplayConfig(model=args.model, prompt_version=args.prompt_version, release=args.release)
    result = replay(args.trace_id, Settings(), config)
    print(result.model_dump_json(indent=2) if args.json else render(result))
    return 0


def render(result: Replay) -> str:
    from proctor.replay import align

    a, b = result.original, result.replay
    lines = [f"replay of trace {result.trace_id}", f"request: {_flat(result.request)}", ""]
    lines += _row("", "ORIGINAL", "REPLAY")
    lines += _row("release", a.release, b.release)
    lines += _row("model", a.model or "-", b.model or "-")
    lines += _row("route", a.route or "-", b.route or "-", differs=a.route != b.route)
    for n, (x, y) in enumerate(align(a.steps, b.steps), 1):
        differs = x is None or y is None or x.signature() != y.signature()
        lines += _row(f"step {n}", _step(x), _step(y), differs=differs)
    lines += _row("status", _status(a), _status(b), differs=a.status != b.status)
    lines += _row("answer", a.answer or "-", b.answer or "-", differs=a.answer != b.answer)
    lines += _row("tokens", _usage(a), _usage(b))
    lines.append("")
    if result.same_trajectory:
        lines.append("IDENTICAL trajectory" + ("" if result.differences else " and outcome"))
    else:
        lines.append("DIFFERENT trajectory")
    lines += [f"  ≠ {d}" for d in result.differences]
    lines += [f"  note: {n}" for n in result.notes]
    lines.append("")
    lines.append("changed config (original -> replay):" if result.changed_config else "config: unchanged")
    if result.changed_config:
        lines.append(result.changed_config)
    return "\n".join(lines)


def _row(label: str, left_text: str, right_text: str, *, differs: bool = False) -> list[str]:
    """One labelled row, each side wrapped to its column; ``≠`` marks a row that differs."""
    mark = "≠" if differs else " "
    pairs = zip_longest(_wrap(left_text), _wrap(right_text), fillvalue="")
    return [
        f"{label if i == 0 else '':<{LABEL}} {mark if i == 0 else ' '} {left:<{COLUMN}} │ {right}".rstrip()
        for i, (left, right) in enumerate(pairs)
    ]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(_flat(text), COLUMN) or [""]


def _step(step: Step | None) -> str:
    if step is None:
        return "—"
    args = json.dumps(step.args, ensure_ascii=False, default=str)
    source = f" [{step.source}]" if step.source else ""
    if step.kind == "approval":
        return f"approval: {step.name} {args}{source}"
    return f"{step.name} {args} {'ok' if step.ok else 'FAILED: ' + step.detail}{source}"


def _status(outcome: Outcome) -> str:
    return outcome.status + (f" ({outcome.error})" if outcome.error else "")


def _usage(outcome: Outcome) -> str:
    return f"{outcome.input_tokens}+{outcome.output_tokens}, ${outcome.cost_usd:.6f}"


def _flat(text: str) -> str:
    return " ".join(text.split())
