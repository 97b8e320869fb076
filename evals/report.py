"""The evaluation report: per-task results from ``langsmith.evaluate`` rows, and their aggregates."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from proctor.evals.evaluators import GATES
from proctor.evals.safety import attempts
from proctor.evals.task import Expected
from proctor.runner import RunResult


class TaskResult(BaseModel):
    id: str
    split: str
    expected_route: str
    route: str | None
    status: str | None
    success: bool
    scores: dict[str, float | None]
    failures: dict[str, str] = {}
    latency_s: float | None
    cost_usd: float
    tool_calls: int
    tool_errors: int
    retries: int
    approval_expected: bool
    approval_requested: bool
    safety_violation: bool
    """A forbidden or sensitive effect got past the guardrails."""
    forbidden_attempts: int = 0
    """Forbidden calls the guardrails stopped (a tool refused them, or the gate held them)."""
    error: str | None = None


class Metrics(BaseModel):
    tasks: int
    success_rate: float
    trajectory_score: float
    route_accuracy: float
    cost_per_success_usd: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    tool_call_error_rate: float
    retry_rate: float
    approvals_expected: int
    approvals_requested: int
    safety_violations: int
    forbidden_attempts: int = 0
    errors: int


class GoldenRef(BaseModel):
    version: str
    sha256: str
    split: str


class Gate(BaseModel):
    """What ``proctor release promote`` checks: no safety violation, no regression against the baseline."""

    passed: bool
    reasons: list[str] = []


class Report(BaseModel):
    golden: GoldenRef
    release: str
    success_rate: float = 0.0
    gate: Gate = Gate(passed=False, reasons=["not gated yet"])
    model: str
    started_at: str
    duration_s: float
    concurrency: int
    metrics: Metrics
    by_route: dict[str, Metrics]
    tasks: list[TaskResult]


def task_result(row: Mapping[str, Any]) -> TaskResult:
    """One row of ``ExperimentResults``: the run, its example and the evaluators' results."""
    run, example = row["run"], row["example"]
    evaluations = {r.key: r for r in row["evaluation_results"]["results"]}
    scores = {key: evaluations[key].score if key in evaluations else None for key in GATES}
    failures = {key: (evaluations[key].comment or "") for key in GATES if key in evaluations and scores[key] != 1}
    broken = [f"{r.key}: {r.comment}" for r in evaluations.values() if (r.extra or {}).get("error")]
    outputs = run.outputs or {}
    result = RunResult.model_validate(outputs["result"]) if "result" in outputs else None
    calls = result.tool_calls if result else []
    return TaskResult(
        id=example.inputs["task_id"],
        split=example.metadata["split"],
        expected_route=example.outputs["expected_route"],
        route=result.route if result else None,
        status=result.status if result else None,
        success=all(scores[key] == 1 for key in GATES),
        scores=scores,
        failures=failures,
        latency_s=outputs.get("latency_s"),
        cost_usd=result.usage.cost_usd if result else 0.0,
        tool_calls=len(calls),
        tool_errors=sum(not c.ok for c in calls),
        retries=outputs.get("retries", 0),
        approval_expected=example.outputs["approval_required"],
        approval_requested=result is not None and result.status == "interrupted",
        safety_violation=scores["safety"] != 1,
        forbidden_attempts=len(attempts(calls, result.interrupts, Expected.model_validate(example.outputs).trajectory))
        if result
        else 0,
        error="; ".join(filter(None, [run.error, *broken])) or None,
    )


def metrics(tasks: Sequence[TaskResult]) -> Metrics:
    n = len(tasks)
    successes = sum(t.success for t in tasks)
    latencies = sorted(t.latency_s for t in tasks if t.latency_s is not None)
    calls = sum(t.tool_calls for t in tasks)
    return Metrics(
        tasks=n,
        success_rate=_rate(successes, n),
        trajectory_score=_rate(sum(t.scores["trajectory"] == 1 for t in tasks), n),
        route_accuracy=_rate(sum(t.scores["route"] == 1 for t in tasks), n),
        cost_per_success_usd=round(sum(t.cost_usd for t in tasks) / successes, 6) if successes else None,
        latency_p50_s=_percentile(latencies, 0.50),
        latency_p95_s=_percentile(latencies, 0.95),
        tool_call_error_rate=_rate(sum(t.tool_errors for t in tasks), calls),
        retry_rate=_rate(sum(t.retries for t in tasks), calls),
        approvals_expected=sum(t.approval_expected for t in tasks),
        approvals_requested=sum(t.approval_requested for t in tasks),
        safety_violations=sum(t.safety_violation for t in tasks),
        forbidden_attempts=sum(t.forbidden_attempts for t in tasks),
        errors=sum(t.error is not None for t in tasks),
    )


def by_route(tasks: Iterable[TaskResult]) -> dict[str, Metrics]:
    groups: dict[str, list[TaskResult]] = {}
    for t in tasks:
        groups.setdefault(t.expected_route, []).append(t)
    return {route: metrics(group) for route, group in sorted(groups.items())}


def render(report: Report) -> str:
    """The report for a terminal: headline metrics, a table by route, then what needs a look."""
    m, g = report.metrics, report.golden
    lines = [
        f"proctor eval: golden {g.version} ({g.sha256[:12]}), split {g.split}, {m.tasks} tasks, "
        f"release {report.release}, model {report.model}, {report.duration_s:.1f}s",
        f"  success {_pct(m.success_rate)}   trajectory {_pct(m.trajectory_score)}   route {_pct(m.route_accuracy)}"
        f"   cost/success {_usd(m.cost_per_success_usd)}   latency p50 {_sec(m.latency_p50_s)}"
        f" p95 {_sec(m.latency_p95_s)}",
        f"  tool-call errors {_pct(m.tool_call_error_rate)}   retries {_pct(m.retry_rate)}   approvals requested "
        f"{m.approvals_requested} (expected {m.approvals_expected})   safety violations {m.safety_violations}"
        f" (stopped attempts {m.forbidden_attempts})   errors {m.errors}",
        "",
        f"  {'route':<10}{'tasks':>6}{'success':>9}{'routing':>9}{'traj.':>8}{'p50':>8}{'safety':>8}",
    ]
    for route, r in report.by_route.items():
        lines.append(
            f"  {route:<10}{r.tasks:>6}{_pct(r.success_rate):>9}{_pct(r.route_accuracy):>9}"
            f"{_pct(r.trajectory_score):>8}{_sec(r.latency_p50_s):>8}{r.safety_violations:>8}"
        )
    for t in report.tasks:
        if t.safety_violation or t.error:
            lines.append(f"  ! {t.id}: {t.error or t.failures.get('safety')}")
    return "\n".join([*lines, "", *failing(report)])


def failing(report: Report) -> list[str]:
    """The failing tasks, one line each: the id and why (the first failed check's comment)."""
    failed = [t for t in report.tasks if not t.success]
    if not failed:
        return [f"all {len(report.tasks)} tasks passed"]
    return [f"{len(failed)} failing tasks:", *(f"  {t.id:<40} {reason(t)}" for t in failed)]


def reason(task: TaskResult, limit: int = 110) -> str:
    if task.error:
        text = f"error: {task.error}"
    else:
        first = next((key for key in GATES if key in task.failures), None)
        text = f"{first}: {task.failures[first]}" if first else "failed"
        if len(task.failures) > 1:
            text += f" (also {', '.join(k for k in task.failures if k != first)})"
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    return values[max(0, math.ceil(q * len(values)) - 1)] if values else None


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"
