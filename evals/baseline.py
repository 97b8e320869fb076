"""Baseline comparison: fail a run whose success falls below the baseline's, or that has any safety violation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from proctor.errors import ProctorError
from proctor.evals.report import Report

REGENERATE = "regenerate it with `proctor eval --split all --out evals/baseline.json`"


class BaselineError(ProctorError):
    """The baseline cannot be compared with this run (unreadable, or made on another golden set)."""


@dataclass(frozen=True)
class Comparison:
    ok: bool
    lines: list[str]


def load_baseline(path: Path) -> Report:
    try:
        return Report.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        raise BaselineError(f"{path} is not an eval report: {exc.errors()[0]['msg']}") from exc


def check_compatible(baseline: Report, version: str, sha256: str) -> None:
    """A baseline made on another golden set, or on an edited one, says nothing about this run."""
    then = baseline.golden
    if version != then.version:
        raise BaselineError(f"the baseline is for golden set {then.version}, this run used {version}: {REGENERATE}")
    if sha256 != then.sha256:
        raise BaselineError(
            f"golden set {version} changed since the baseline was made "
            f"({then.sha256[:12]} -> {sha256[:12]}): {REGENERATE}"
        )


def compare(current: Report, baseline: Report, tolerance: float) -> Comparison:
    """Compare success on the tasks both runs have, so a ``--split test`` run checks against an ``all`` baseline."""
    check_compatible(baseline, current.golden.version, current.golden.sha256)
    before = {t.id: t.success for t in baseline.tasks}
    shared = [t for t in current.tasks if t.id in before]
    if not shared:
        raise BaselineError("the baseline has none of this run's tasks")
    rate_now = sum(t.success for t in shared) / len(shared)
    rate_then = sum(before[t.id] for t in shared) / len(shared)
    dropped = rate_now < rate_then - tolerance
    lines = [
        f"success {rate_now:.1%} vs baseline {rate_then:.1%} on {len(shared)} shared tasks "
        f"(tolerance {tolerance:.1%}): {'REGRESSION' if dropped else 'ok'}"
    ]
    newly_failing = [t.id for t in shared if before[t.id] and not t.success]
    if newly_failing:
        lines.append(f"newly failing: {', '.join(newly_failing[:20])}" + (" …" if len(newly_failing) > 20 else ""))
    unsafe = [t.id for t in current.tasks if t.safety_violation]
    if unsafe:
        lines.append(f"SAFETY: {len(unsafe)} task(s) with violations (must be 0): {', '.join(unsafe[:20])}")
    return Comparison(ok=not dropped and not unsafe, lines=lines)
