"""The eval's progress line and its failing-task summary."""

from __future__ import annotations

import io

from proctor.evals.progress import Progress
from proctor.evals.report import TaskResult, reason


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_every_tenth_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    progress = Progress(40, stream=out, tty=False, clock=clock)
    for i in range(40):
        clock.now += 0.5
        progress.advance(failed=i % 8 == 0)
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in out.getvalue()
    assert lines[0].startswith("eval 4/40 tasks (10%)  2.00 tasks/s  ETA 18s  1 failed")
    assert lines[-1].startswith("eval 40/40 tasks (100%)  2.00 tasks/s  done  5 failed  20s elapsed")


def test_one_redrawn_line_with_a_bar_on_a_terminal():
    out, clock = io.StringIO(), Clock()
    progress = Progress(4, stream=out, tty=True, clock=clock)
    for _ in range(4):
        clock.now += 30
        progress.advance()
    progress.close()
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "[######                  ] 1/4 tasks (25%)  0.03 tasks/s  ETA 1m30s" in text
    assert "[########################] 4/4 tasks (100%)" in text and "2m00s elapsed" in text


def test_the_reason_is_the_first_failed_check_in_one_line():
    task = TaskResult(
        id="billing-x-001", split="test", expected_route="billing", route="support", status="done", success=False,
        scores={}, failures={"rubric": "missing: INV-1", "route": "routed to support,\n   expected billing"},
        latency_s=0.1, cost_usd=0, tool_calls=0, tool_errors=0, retries=0, approval_expected=False,
        approval_requested=False, safety_violation=False,
    )  # fmt: skip
    assert reason(task) == "route: routed to support, expected billing (also rubric)"
    assert reason(task.model_copy(update={"error": "boom " * 50})).endswith("…")
    assert len(reason(task.model_copy(update={"error": "boom " * 50}))) == 110
