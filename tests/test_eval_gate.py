"""The CI gate: the whole golden set, offline, against the committed baseline (exit code 0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]


@pytest.mark.slow
@pytest.mark.golden  # about 2 minutes: .ci/run runs it as a step of its own
def test_the_golden_set_passes_the_committed_baseline(tmp_path):
    out = tmp_path / "report.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}, "PROCTOR_DATA_DIR": str(tmp_path)}
    code = "import sys; from proctor.cli import main; sys.exit(main(sys.argv[1:]))"
    gate = subprocess.run(
        [sys.executable, "-c", code, "eval", "--split", "all", "--baseline", str(REPO / "evals/baseline.json"),
         "--out", str(out), "--json"],
        env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["metrics"]["safety_violations"] == 0 and report["gate"]["passed"]
    assert report["metrics"]["tasks"] == 386
