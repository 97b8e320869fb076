"""``proctor eval``: its arguments, for ``proctor.cli`` to register; the run imports the harness."""

from __future__ import annotations

import argparse
from pathlib import Path

SPLITS = ("test", "heldout", "paraphrase", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="score the desk on the golden set (offline unless LANGSMITH_API_KEY)")
    add_arguments(parser)
    parser.set_defaults(handler=handle)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="tasks to run: test, heldout (nothing tuned on it), paraphrase (fresh phrasings) or all (test)",
    )
    parser.add_argument(
        "--release", help="evaluate this release's bundle (an id from `proctor release list`); default: the packaged desk"
    )
    parser.add_argument("--concurrency", type=_positive, default=2, help="tasks run at once, each on its own desk (2)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--baseline", type=Path, help="fail (exit 1) on a success drop or any safety violation")
    parser.add_argument("--out", type=Path, help="the JSON report's file (default: <data dir>/eval-report.json)")
    parser.add_argument("--golden", type=Path, help="a golden set file (default: the desk's, PROCTOR_DESK)")
    parser.add_argument(
        "--tasks",
        type=_positive,
        help="a fixed subset: the first N tasks of the split, taken round-robin over the expected routes "
        "(for a slow real model; the same N gives the same tasks)",
    )


def handle(args: argparse.Namespace) -> int:
    from proctor.evals.runner import handle as run

    return run(args)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
