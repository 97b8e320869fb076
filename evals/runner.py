"""``proctor eval``: the golden set through ``langsmith.evaluate`` with the real supervisor.

Offline (no ``LANGSMITH_API_KEY``) nothing leaves the machine: the examples live in memory and
the LangSmith client points at a closed local port. With a key, the golden set is uploaded as a
dataset and the experiment with it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from typing import TextIO
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from langsmith import Client, evaluate

from proctor.errors import ProctorError
from proctor.evals import dataset
from proctor.deployment import Deployment
from proctor.evals.baseline import Comparison, check_compatible, compare, load_baseline
from proctor.evals.desks import DeskCopies
from proctor.evals.evaluators import evaluators
from proctor.evals.cli import add_arguments
from proctor.evals.golden import SEED, GoldenSet, SplitChoice, load_golden
from proctor.evals.progress import Progress
from proctor.evals.report import Gate, GoldenRef, Report, by_route, failing, metrics, render, task_result
from proctor.evals.settings import EvalSettings
from proctor.evals.target import make_target
from proctor.evals.task import Task
from proctor.chat_models import chat_model
from proctor.releases.bundle import Release
from proctor.releases.gate import report_path
from proctor.releases.store import ReleaseStore
from proctor.settings import OFFLINE_MODEL, Settings

REGRESSION = 1
ERROR = 2


def offline_client() -> Client:
    """A client that cannot reach anything: no background calls, no batching, nothing sampled."""
    return Client(api_url="http://127.0.0.1:9", api_key="unused", auto_batch_tracing=False, tracing_sampling_rate=0.0)


def run_eval(
    golden: GoldenSet,
    tasks: Sequence[Task],
    *,
    split: SplitChoice,
    settings: Settings,
    eval_settings: EvalSettings,
    release: str,
    bundle: Release | None = None,
    concurrency: int = 1,
    progress_stream: TextIO | None = None,
) -> Report:
    """Run each task on its own fresh desk and score it; the desks are deleted afterwards."""
    Deployment(settings, release=bundle).classifier  # noqa: B018  # trained once here, not by each worker thread
    # PROCTOR_EVAL_JUDGE_MODEL=offline: the deterministic rubric check even with a real desk model.
    offline_judge = settings.offline or eval_settings.judge_model == OFFLINE_MODEL
    judge = None if offline_judge else chat_model(settings, eval_settings.judge_model)
    started, clock = datetime.now(UTC), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="proctor-eval-") as root:
        desks = DeskCopies(Path(root), settings, SEED)
        if eval_settings.upload:
            client = Client()
            data = dataset.uploaded_examples(client, golden, tasks)
        else:
            client, data = offline_client(), dataset.examples(golden, tasks)
        # langsmith prints progress to stdout, which is the report's when --json is given.
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'upload_runs' parameter is in beta")
            results = evaluate(  # not blocking: rows arrive as tasks finish, for the progress line
                make_target(desks, bundle),
                data=data,
                evaluators=evaluators(Deployment(settings, bundle).policy, judge),
                client=client,
                upload_results=eval_settings.upload,
                max_concurrency=concurrency,
                experiment_prefix=release,
                metadata={"golden_version": golden.version, "golden_sha256": golden.sha256, "split": split},
                blocking=False,
            )
            progress = Progress(len(tasks), stream=progress_stream or sys.stderr)
            done = []
            try:
                for row in results:
                    done.append(task_result(row))
                    progress.advance(failed=not done[-1].success)
            finally:
                progress.close()
    order = {t.id: i for i, t in enumerate(tasks)}
    done.sort(key=lambda t: order[t.id])
    figures = metrics(done)
    return Report(
        golden=GoldenRef(version=golden.version, sha256=golden.sha256, split=split),
        release=release,
        success_rate=figures.success_rate,
        model=settings.model,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - clock, 2),
        concurrency=concurrency,
        metrics=figures,
        by_route=by_route(done),
        tasks=done,
    )


def handle(args: argparse.Namespace) -> int:
    """Run, write and print the report; 1 when the baseline check fails."""
    settings, eval_settings = Settings(), EvalSettings()
    golden = load_golden(args.golden, settings)  # default: the desk's golden set
    baseline = load_baseline(args.baseline) if args.baseline else None
    if baseline is not None:  # fail before the run, not after it
        check_compatible(baseline, golden.version, golden.sha256)
    bundle = ReleaseStore(Deployment(settings).db).get(args.release) if args.release else None
    report = run_eval(
        golden,
        golden.split(args.split, args.tasks),
        split=args.split,
        settings=settings,
        eval_settings=eval_settings,
        release=bundle.id if bundle else f"proctor-{version('proctor')}",
        bundle=bundle,
        concurrency=args.concurrency,
    )
    comparison = compare(report, baseline, eval_settings.tolerance) if baseline is not None else None
    report.gate = _gate(report, comparison)
    outs = [args.out or settings.resolved_data_dir() / "eval-report.json"]
    if bundle is not None:  # where the release gate looks for it: the latest, and the latest on this split
        reports_dir = settings.releases.reports_dir(settings.data_dir)
        outs += [report_path(reports_dir, bundle.id), report_path(reports_dir, bundle.id, args.split)]
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        print(f"report written to {out}", file=sys.stderr)
    if args.json:  # stdout is the report's; the failing tasks go to the terminal
        print(report.model_dump_json(indent=2))
        print("\n".join(failing(report)), file=sys.stderr)
    else:
        print(render(report))
    for line in comparison.lines if comparison else []:
        print(f"baseline {args.baseline}: {line}", file=sys.stderr)
    return 0 if comparison is None or comparison.ok else REGRESSION


def _gate(report: Report, comparison: Comparison | None) -> Gate:
    reasons = [f"{report.metrics.safety_violations} safety violations"] if report.metrics.safety_violations else []
    if comparison is not None and not comparison.ok:
        reasons += comparison.lines
    return Gate(passed=not reasons, reasons=reasons)


def main(argv: Sequence[str] | None = None) -> int:
    """``proctor eval`` on its own (``python -m proctor.evals.runner``), with the CLI's error convention."""
    parser = argparse.ArgumentParser(prog="proctor eval", description="Score the desk on the golden set.")
    add_arguments(parser)
    try:
        return handle(parser.parse_args(argv))
    except ProctorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ERROR


if __name__ == "__main__":
    sys.exit(main())
