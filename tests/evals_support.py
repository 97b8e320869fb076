"""Helpers of the evaluation tests: golden task lines, and runs as ``evaluate`` hands them to evaluators."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langsmith.schemas import Example, Run

from proctor.agents import SPEC_DIR
from proctor.approvals.policy import load_policy
from proctor.evals import dataset
from proctor.evals.golden import GoldenSet
from proctor.evals.task import Task
from proctor.result import ToolCallRecord
from proctor.runner import RunResult, Usage


POLICY = load_policy(SPEC_DIR / "policy" / "approvals.toml")


def task_line(**changes: Any) -> dict[str, Any]:
    """A valid golden task, with changes."""
    base = {
        "id": "billing-x-001",
        "split": "test",
        "input": "I was charged twice for invoice INV-10062, please refund the duplicate",
        "user": "CUS-0012",
        "expected_route": "billing",
        "trajectory": {
            "mode": "superset",
            "calls": [
                {"name": "get_invoice", "args": {"invoice_id": "INV-10062"}},
                {"name": "refund_invoice", "args": {"invoice_id": "INV-10062", "amount": 19.0}},
            ],
            "ordered": True,
            "forbidden": [{"name": "issue_credit"}],
        },
        "expected_db": [
            {"table": "refunds", "where": {"invoice_id": "INV-10062"}, "count": 1, "values": {"amount_cents": 1900}}
        ],
        "approval_required": False,
        "rubric": {"criteria": "Confirms the refund of one charge.", "must_mention": ["INV-10062"]},
    }
    return {**base, **changes}


def write_set(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def run_of(outputs: dict[str, Any] | None, error: str | None = None) -> Run:
    """A langsmith ``Run`` as ``evaluate`` hands it to evaluators."""
    now = datetime.now(UTC)
    return Run(
        id=uuid.uuid4(),
        name="task",
        run_type="chain",
        start_time=now,
        end_time=now,
        trace_id=uuid.uuid4(),
        inputs={},
        outputs=outputs,
        error=error,
    )


def result_of(
    *calls: ToolCallRecord, route: str = "billing", status: str = "done", answer: str = "", interrupts=()
) -> RunResult:
    return RunResult(
        thread_id="t",
        trace_id="r",
        status=status,
        route=route,
        answer=answer,
        tool_calls=list(calls),
        usage=Usage(),
        model="proctor-offline",
        interrupts=list(interrupts),
    )


def outputs_of(result: RunResult, data_dir: Path) -> dict[str, Any]:
    return {"result": result.model_dump(mode="json"), "latency_s": 0.01, "retries": 0, "data_dir": str(data_dir)}


def example_of(task: Task) -> Example:
    golden = GoldenSet(version="vt", sha256="0" * 64, path=Path("vt.jsonl"), tasks=(task,))
    return dataset.examples(golden, [task])[0]
