"""Release settings; meant to nest into ``Settings`` as ``releases`` (``PROCTOR_RELEASES__<NAME>``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ReleaseSettings(BaseModel):
    require_eval_for_promote: bool = Field(
        True, description="Promoting a canary needs a passing `proctor eval` report for it."
    )
    require_eval_for_activate: bool = Field(
        False, description="Activating a release needs a passing `proctor eval` report for it."
    )
    max_success_drop: float = Field(
        0.02, ge=0, le=1, description="How far a canary's eval success may fall below the active release's to promote."
    )
    eval_reports_dir: Path | None = Field(
        None, description="Where `<release id>.json` eval reports are looked for; default: data_dir/evals."
    )

    def reports_dir(self, data_dir: Path) -> Path:
        return self.eval_reports_dir or data_dir / "evals"
