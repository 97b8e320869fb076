"""The ``proctor`` command line.

Building the parser is cheap: each feature module's ``register`` only declares arguments, and its
handlers import the heavy modules (LangChain, LangGraph, scikit-learn) when they run, so read
commands answer without loading a graph.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any, NoReturn

from proctor.errors import ProctorError
from proctor.settings import SETTINGS_ERRORS, check_argv, problem

# Each module adds its own subcommands through ``register(commands)``: one line per feature.
FEATURES = (
    "proctor.approvals.cli",  # approvals, approve, reject
    "proctor.review.cli",  # review
    "proctor.tracing.cli",  # traces
    "proctor.releases.cli",  # release
    "proctor.evals.cli",  # eval
    "proctor.replay.cli",  # replay
    "proctor.redteam.cli",  # redteam
)

ERROR = 2
MODEL_FAILED = 3  # `proctor run`: the model endpoint failed; the answer says so
BROKEN_PIPE = 141  # what a shell reports for a process killed by SIGPIPE (`proctor traces search | head`)


class UsageError(ProctorError):
    """The command line does not parse: unknown command, missing or malformed argument."""


class _Parser(argparse.ArgumentParser):
    """Usage errors become ``UsageError``, so ``--json`` callers get them as JSON like any other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        check_argv(argv)
        args = parser().parse_args(argv)
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler's try, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep the interpreter's final flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except ProctorError as exc:
        # 4: a conflict (decided, or being resumed by someone else); 2 otherwise.
        return fail(str(exc), as_json, getattr(exc, "exit_code", ERROR))
    except SETTINGS_ERRORS as exc:  # a bad PROCTOR_* value: one line naming the variable
        return fail(problem(exc), as_json)


def fail(message: str, as_json: bool, code: int | None = None) -> int:
    """The CLI's error convention: ``error: …`` on stderr, or ``{"error": …}`` on stdout with ``--json``; exit 2
    (or the error's own ``code``)."""
    if as_json:
        print(json.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return ERROR if code is None else code


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="proctor", description="Run AI agents in production on LangGraph.")
    root.add_argument("--version", action=_Version, help="print the installed version and exit")
    root.add_argument("--json", dest="json_errors", action="store_true", help="print errors as JSON on stdout")
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="a scripted tour of the desk (its demo.toml), on its seeded data")
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="send one request through the supervisor")
    run.add_argument("text")
    run.add_argument("--user", help="the requesting user's id")
    run.add_argument("--thread", help="continue this conversation (omit to start one)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run)

    for module in FEATURES:
        import_module(module).register(commands)
    return root


class _Version(argparse.Action):
    """``--version``, reading the installed metadata only when asked (it costs an import on every run)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("proctor")
        except PackageNotFoundError:
            found = "unknown"
        print(f"proctor {found}")
        parser.exit()


def _run(args: argparse.Namespace) -> int:
    from proctor.demo import render
    from proctor.runner import Proctor
    from proctor.settings import Settings

    result = Proctor(Settings()).run(args.text, user_id=args.user, thread_id=args.thread)
    print(result.model_dump_json(indent=2) if args.json else render(result))
    return MODEL_FAILED if result.status == "failed" else 0


def _demo(args: argparse.Namespace) -> int:
    from proctor.demo import tour

    tour()
    return 0


if __name__ == "__main__":
    sys.exit(main())
