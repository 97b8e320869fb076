"""Tasks per second of the evaluation harness, against the bare ``Proctor.run`` loop on the same tasks.

    .venv/bin/python benchmarks/eval_throughput.py [--tasks N] [--concurrency C]

Three measurements in one process, on the same golden tasks (spread over every route):
- bare: one ``Proctor`` on one desk, ``run`` in a loop: what the desk itself costs;
- isolated: a fresh desk copy and a fresh ``Proctor`` per task, sequentially: the cost of isolation;
- harness: ``run_eval`` (``langsmith.evaluate`` offline, every evaluator) at the given concurrency.
The ratios to bare are what matter: absolute times drift from machine to machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from proctor.evals.desks import DeskCopies
from proctor.evals.golden import SEED, load_golden
from proctor.evals.runner import run_eval
from proctor.evals.settings import EvalSettings
from proctor.evals.target import make_target
from proctor.evals.task import Task
from proctor.graphs.classifier import FastClassifier
from proctor.runner import Proctor
from proctor.settings import Settings


def spread(tasks: list[Task], n: int) -> list[Task]:
    """Every k-th task, so each route and kind of work is in the sample."""
    step = max(1, len(tasks) // n)
    return tasks[::step][:n]


def bare(tasks: list[Task], desks: DeskCopies) -> float:
    desk = Proctor(desks.fresh("bare"))
    desk.graph
    start = time.perf_counter()
    for task in tasks:
        desk.run(task.input, user_id=task.user)
    return time.perf_counter() - start


def isolated(tasks: list[Task], desks: DeskCopies) -> float:
    target = make_target(desks)
    start = time.perf_counter()
    for task in tasks:
        target({"task_id": task.id, "input": task.input, "user": task.user})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    os.environ.pop("LANGSMITH_API_KEY", None)  # measure the offline harness, never an upload
    golden = load_golden()
    tasks = spread(list(golden.tasks), args.tasks)
    settings = Settings(model="offline")
    FastClassifier.default()  # trained before any clock starts
    with tempfile.TemporaryDirectory() as root:
        desks = DeskCopies(Path(root), settings, SEED)
        bare_s, isolated_s = bare(tasks, desks), isolated(tasks, desks)
    report = run_eval(
        golden,
        tasks,
        split="all",
        settings=settings,
        eval_settings=EvalSettings(),
        release="benchmark",
        concurrency=args.concurrency,
    )
    harness_s = report.duration_s
    n = len(tasks)
    print(f"{n} golden tasks, {os.cpu_count()} cores, harness concurrency {args.concurrency}")
    for name, seconds in [
        ("bare Proctor.run loop", bare_s),
        ("isolated (desk per task)", isolated_s),
        ("harness (proctor eval)", harness_s),
    ]:
        print(f"  {name:<26}{n / seconds:7.1f} tasks/s   {seconds:6.2f} s   x{bare_s / seconds:.2f} of bare")


if __name__ == "__main__":
    main()
