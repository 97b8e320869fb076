"""The eval gate: a release may need a passing ``proctor eval --release ID --out FILE`` report, and
promoting a canary needs it to be no worse than the active release's report on the same split."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from proctor.releases.errors import EvalRegression, GateFailed, describe


class EvalGate(BaseModel):
    passed: bool


class GoldenRef(BaseModel):
    version: str
    sha256: str
    split: str


class TaskOutcome(BaseModel):
    id: str
    success: bool


class EvalReport(BaseModel):
    """The part of an eval report that releases read; the rest of the file is ignored."""

    release: str
    gate: EvalGate
    success_rate: float | None = None
    golden: GoldenRef | None = None
    tasks: list[TaskOutcome] = []


def report_path(reports_dir: Path, release_id: str, split: str | None = None) -> Path:
    """Where a release's report is looked for unless a file is named: its latest, or its latest on ``split``."""
    return reports_dir / (f"{release_id}.{split}.json" if split else f"{release_id}.json")


def load_report(path: Path, release_id: str) -> EvalReport:
    """The report at ``path``, which must be about ``release_id``; ``GateFailed`` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GateFailed(
            f"no eval report for {release_id} at {path}: run `proctor eval --release {release_id} --out {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateFailed(f"cannot read the eval report {path}: {exc}") from exc
    try:
        report = EvalReport.model_validate_json(text)
    except ValidationError as exc:
        raise GateFailed(f"{path} is not an eval report ({describe(exc)})") from exc
    if report.release != release_id:
        raise GateFailed(f"{path} evaluates release {report.release!r}, not {release_id}")
    return report


def require_passing(path: Path, release_id: str) -> EvalReport:
    report = load_report(path, release_id)
    if not report.gate.passed:
        success = "" if report.success_rate is None else f" (success {report.success_rate:.1%})"
        raise GateFailed(f"the eval report {path} for {release_id} did not pass its gate{success}")
    return report


def active_report(reports_dir: Path | None, active_id: str, split: str, named: Path | None = None) -> EvalReport:
    """The active release's report on ``split``: the named file, else its per-split or latest report."""
    if named is not None:
        return load_report(named, active_id)
    rerun = f"run `proctor eval --release {active_id} --split {split}`"
    if reports_dir is None:
        raise GateFailed(f"no eval report of the active release {active_id} to compare with: {rerun}")
    for path in (report_path(reports_dir, active_id, split), report_path(reports_dir, active_id)):
        if path.exists():
            report = load_report(path, active_id)
            if report.golden is not None and report.golden.split == split:
                return report
    raise GateFailed(f"no eval report of the active release {active_id} on the {split} split in {reports_dir}: {rerun}")


def require_no_regression(candidate: EvalReport, active: EvalReport, tolerance: float) -> None:
    """Refuse a candidate whose success on the tasks both reports share is below the active release's."""
    mine, theirs = candidate.golden, active.golden
    if mine is None or theirs is None:
        raise GateFailed("an eval report without its golden set and split cannot be compared: re-run `proctor eval`")
    if (mine.version, mine.sha256, mine.split) != (theirs.version, theirs.sha256, theirs.split):
        raise GateFailed(
            f"{candidate.release} was evaluated on golden {mine.version} ({mine.sha256[:12]}) split {mine.split},"
            f" the active {active.release} on {theirs.version} ({theirs.sha256[:12]}) split {theirs.split}:"
            f" run `proctor eval --release {active.release} --split {mine.split}` so they compare"
        )
    before = {t.id: t.success for t in active.tasks}
    shared = [t for t in candidate.tasks if t.id in before]
    if shared:
        now, then = (sum(t.success for t in shared) / len(shared), sum(before[t.id] for t in shared) / len(shared))
    else:  # reports without per-task results: their headline rates
        now, then = candidate.success_rate or 0.0, active.success_rate or 0.0
    if now < then - tolerance:
        newly = [t.id for t in shared if before[t.id] and not t.success]
        failing = f"; newly failing: {', '.join(newly[:10])}{' …' if len(newly) > 10 else ''}" if newly else ""
        raise EvalRegression(
            f"refusing to promote {candidate.release}: success {now:.1%} on the {mine.split} split against"
            f" {then:.1%} for the active release {active.release} ({len(shared) or 'all'} tasks, tolerance"
            f" {tolerance:.1%}){failing}"
        )
