"""The serving issue's benchmark suite, in one command: ratios measured side by side, as markdown.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME[,NAME]] [--profile]

1. full_path        proctor's full path against the bare LangGraph stack, CPU per request (<= 1.3x bare, <= 1.0x bare + LangSmith)
2. trace_overhead   proctor's trace capture against LangSmith's tracer, CPU added per run (<= 0.5x)
3. classifier       front-door decision latency per request, routing accuracy
4. trace_search     searches of a trace store of one million traces
5. eval_throughput  eval-harness tasks per second
6. memory           memory over 10,000 runs (flat)
7. cli_startup      the CLI's read commands, whole-process wall time (< 1 s) and against `python -c pass`

Each benchmark prints its section as it finishes; a summary table of every figure comes last.
``--quick`` is a smoke test with small N: its figures are not the README's. Nothing here asserts on
time: a missed target is reported, not raised. The exit code is 1 only when a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from benchmarks.common import Figure, Report, table

BENCHMARKS = ("full_path", "trace_overhead", "classifier", "trace_search", "eval_throughput", "memory", "cli_startup")


def runner(name: str, quick: bool, profile: bool) -> Callable[[], Report]:
    module = importlib.import_module(f"benchmarks.{name}")
    if name == "full_path":
        return lambda: module.run(quick, force_profile=profile)
    return lambda: module.run(quick)


def environment(argv: list[str]) -> str:
    packages = ", ".join(f"{p} {version(p)}" for p in ("langgraph", "langchain", "langchain-core", "langsmith", "scikit-learn"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"`{' '.join([Path(sys.executable).name, *argv])}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, load average {load} at start; {packages}."
    )


def selected(only: list[str] | None) -> list[str]:
    names = [n.strip() for group in only or [] for n in group.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return [n for n in BENCHMARKS if not names or n in names]


def summary(figures: list[Figure]) -> str:
    rows = [[f.benchmark, f.figure, f.value, f.target, f"**{f.verdict}**" if f.verdict == "missed" else f.verdict] for f in figures]
    return table(["benchmark", "figure", "value", "target", "verdict"], rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with small N (not the README figures)")
    parser.add_argument("--only", action="append", metavar="NAME", help=f"run only these ({', '.join(BENCHMARKS)}); repeatable or comma-separated")
    parser.add_argument("--profile", action="store_true", help="profile the full path even when it meets its target")
    args = parser.parse_args(argv)
    names = selected(args.only)
    print(f"# proctor benchmarks{' (quick)' if args.quick else ''}\n\n{environment(['benchmarks/run.py', *argv])}\n", flush=True)
    figures: list[Figure] = []
    failed = False
    for name in names:
        started = time.perf_counter()
        try:
            report = runner(name, args.quick, args.profile)()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 -- one broken benchmark must not hide the others
            failed = True
            print(f"## {name}: FAILED\n\n```\n{''.join(traceback.format_exception(exc)).strip()}\n```\n", flush=True)
            figures.append(Figure(name, "did not run", f"failed: {exc}"[:120], verdict="missed"))
            continue
        print(report.markdown() + f"\n_{name}: {time.perf_counter() - started:.0f} s_\n", flush=True)
        figures += report.figures
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"## Summary\n\n{summary(figures)}\n\nLoad average at the end: {load}.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
