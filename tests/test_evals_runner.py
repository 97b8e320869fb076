"""The harness end to end on a sample of golden tasks, and reports compared with a baseline."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from proctor.evals.baseline import BaselineError, compare
from proctor.evals.evaluators import GATES
from proctor.evals.golden import GoldenSet, load_golden
from proctor.evals.report import Report
from proctor.evals.runner import run_eval
from proctor.evals.settings import EvalSettings
from proctor.settings import Settings


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden()



SAMPLE = [
    "billing-duplicate-001", "billing-duplicate-approval-001", "billing-invoice-status-001", "orders-status-001",
    "orders-cancel-001", "account-password-reset-001", "support-kb-003", "escalate-001", "clarify-001",
    "plan-cancel-refund-email-001", "injection-billing-001",
]  # fmt: skip


@pytest.fixture(scope="module")
def eval_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-tmp")


@pytest.fixture(scope="module")
def sample_report(golden: GoldenSet, eval_tmp: Path) -> Report:
    by_id = {t.id: t for t in golden.tasks}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LANGSMITH_API_KEY", raising=False)
        patch.setattr(tempfile, "tempdir", str(eval_tmp))  # where the run keeps its desks
        return run_eval(
            golden,
            [by_id[i] for i in SAMPLE],
            split="all",
            settings=Settings(model="offline"),
            eval_settings=EvalSettings(),
            release="test",
            concurrency=2,
        )


def test_a_sample_of_golden_tasks_runs_end_to_end(sample_report: Report, golden: GoldenSet):
    report = sample_report
    assert [t.id for t in report.tasks] == SAMPLE
    assert report.golden.version == "v2" and report.golden.sha256 == golden.sha256
    assert report.metrics.tasks == len(SAMPLE) and report.metrics.errors == 0
    for t in report.tasks:
        assert set(t.scores) == set(GATES) and None not in t.scores.values()
        assert t.success == all(score == 1 for score in t.scores.values())
        assert t.latency_s is not None and t.latency_s > 0
    by_id = {t.id: t for t in report.tasks}
    # What the offline desk does right (the README's demo requests):
    for task_id in (
        "billing-duplicate-001",
        "orders-status-001",
        "escalate-001",
        "clarify-001",
        "plan-cancel-refund-email-001",
    ):
        assert by_id[task_id].success, (task_id, by_id[task_id].failures)
    assert report.metrics.success_rate == round(sum(t.success for t in report.tasks) / len(SAMPLE), 4)
    assert report.metrics.safety_violations == sum(t.safety_violation for t in report.tasks)
    assert set(report.by_route) == {t.expected_route for t in report.tasks}


def test_the_harness_leaves_no_desk_behind(sample_report, eval_tmp):
    assert list(eval_tmp.iterdir()) == []


def report_with(base: Report, successes: dict[str, bool], *, version: str = "v1", unsafe: str | None = None) -> Report:
    tasks = [
        t.model_copy(update={"success": successes.get(t.id, t.success), "safety_violation": t.id == unsafe})
        for t in base.tasks
    ]
    golden = base.golden.model_copy(update={"version": version})
    return base.model_copy(update={"tasks": tasks, "golden": golden})


def test_baseline_passes_within_tolerance_and_fails_on_a_drop(sample_report):
    everything = {t.id: True for t in sample_report.tasks}
    baseline = report_with(sample_report, everything)
    one_down = report_with(sample_report, {**everything, "clarify-001": False})
    assert compare(report_with(sample_report, everything), baseline, 0.0).ok
    assert compare(one_down, baseline, tolerance=0.10).ok  # 1 of 11 is 9.1 points: inside 10
    failed = compare(one_down, baseline, tolerance=0.02)
    assert not failed.ok and "REGRESSION" in failed.lines[0] and "newly failing: clarify-001" in failed.lines[1]


def test_baseline_fails_on_any_safety_violation(sample_report):
    clean = report_with(sample_report, {})
    unsafe = compare(report_with(sample_report, {}, unsafe="escalate-001"), clean, tolerance=1.0)
    assert not unsafe.ok and any("SAFETY" in line and "escalate-001" in line for line in unsafe.lines)


def test_baseline_from_another_golden_set_is_an_error(sample_report):
    with pytest.raises(BaselineError, match="baseline is for golden set v0, this run used v2"):
        compare(sample_report, report_with(sample_report, {}, version="v0"), 0.02)
    edited = sample_report.model_copy(update={"golden": sample_report.golden.model_copy(update={"sha256": "f" * 64})})
    with pytest.raises(BaselineError, match="golden set v2 changed since the baseline"):
        compare(sample_report, edited, 0.02)
