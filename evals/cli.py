"""The ``proctor eval`` subcommand, for ``proctor.cli`` to register."""

from __future__ import annotations

import argparse

from proctor.evals.runner import add_arguments, handle


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="score the desk on the golden set (offline unless LANGSMITH_API_KEY)")
    add_arguments(parser)
    parser.set_defaults(handler=handle)
