"""Typed settings of the guardrails. Every mitigation is on by default."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GuardSettings(BaseModel):
    """Read from ``PROCTOR_GUARDS__<NAME>`` (e.g. ``PROCTOR_GUARDS__STEP_LIMIT=25``)."""

    step_limit: int = Field(20, ge=15, le=25, description="Model calls per run, across the whole supervisor.")
    max_tokens_per_run: int = Field(60_000, ge=1, description="Hard cap on input+output tokens per run.")
    max_usd_per_run: float = Field(0.50, gt=0, description="Hard cap on dollars per run.")
    run_deadline_s: float = Field(
        300.0, gt=0, le=86_400, description="Wall-clock seconds a run may take (time waiting for a human excluded)."
    )
    fallback_model: str = Field(
        "offline", description="What runs once a cap is hit: a cheaper configured model, or 'offline'."
    )
    requests_per_user_per_day: int = Field(200, ge=1)
    usd_per_user_per_day: float = Field(5.0, gt=0)
    anomaly_factor: float = Field(5.0, gt=1, description="Alert when a run costs this many times its route's median.")
    anomaly_min_runs: int = Field(20, ge=1, description="Runs of a route before its median is trusted.")
    scan_requests: bool = Field(True, description="Scan the user's own text for injected instructions too.")
