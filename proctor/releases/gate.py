"""The eval gate: a release may need a passing ``proctor eval --release ID --out FILE`` report."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from proctor.releases.errors import GateFailed, describe


class EvalGate(BaseModel):
    passed: bool


class EvalReport(BaseModel):
    """The part of an eval report that releases read; the rest of the file is ignored."""

    release: str
    gate: EvalGate
    success_rate: float | None = None


def report_path(reports_dir: Path, release_id: str) -> Path:
    """Where a release's report is looked for unless a file is named."""
    return reports_dir / f"{release_id}.json"


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
