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
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from proctor.evals.desks import DeskCopies
from proctor.evals.golden import SEED, load_golden
from proctor.evals.runner import run_eval
from proctor.evals.settings import EvalSettings
from proctor.evals.target import make_target
from proctor.evals.task import Task
from proctor.deployment import Deployment

from benchmarks.common import Figure, Report, table
from proctor.runner import Proctor
from proctor.settings import Settings


def spread(tasks: list[Task], n: int) -> list[Task]:
    """Every k-th task, so each route and kind of work is in the sample."""
    step = max(1, len(tasks) // n)
    return tasks[::step][:n]


def bare(tasks: list[Task], desks: DeskCopies) -> float:
    desk = Proctor(desks.fresh("bare"))
    _ = desk.graph  # built before the clock starts
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


def measure(n_tasks: int, concurrency: int) -> tuple[int, dict[str, float]]:
    """Seconds for the same tasks: the bare loop, desk-per-task isolation, and the harness."""
    os.environ.pop("LANGSMITH_API_KEY", None)  # measure the offline harness, never an upload
    golden = load_golden()
    tasks = spread(list(golden.tasks), n_tasks)
    settings = Settings(model="offline")
    Deployment(Settings()).classifier  # noqa: B018  # trained before any clock starts
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
        concurrency=concurrency,
    )
    return len(tasks), {
        "bare Proctor.run loop": bare_s,
        "isolated (desk per task)": isolated_s,
        f"harness (proctor eval, concurrency {concurrency})": report.duration_s,
    }


def run(quick: bool = False, n_tasks: int | None = None, concurrency: int = 2) -> Report:
    n, seconds = measure(n_tasks or (12 if quick else 60), concurrency)
    bare_s = seconds["bare Proctor.run loop"]
    rows = [[name, f"{n / s:.1f}", f"{s:.2f}", f"{bare_s / s:.2f}x"] for name, s in seconds.items()]
    harness = list(seconds)[-1]
    body = "\n".join([
        f"{n} golden tasks spread over every route, {os.cpu_count()} cores (wall time):\n",
        table(["loop", "tasks / s", "seconds", "throughput relative to bare"], rows),
    ])  # fmt: skip
    figures = [
        Figure("5 eval harness", f"{harness}, {n} tasks", f"{n / seconds[harness]:.1f} tasks/s"),
        Figure("5 eval harness", "harness throughput / bare Proctor.run loop", f"{bare_s / seconds[harness]:.2f}x"),
    ]
    return Report("5. Eval-harness throughput", body, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    print(run(n_tasks=args.tasks, concurrency=args.concurrency).markdown())


if __name__ == "__main__":
    main()
