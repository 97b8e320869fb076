"""A handful of golden tasks as LangSmith pytest tests, scored by the same evaluators as ``proctor eval``.

Tracking is switched off here, before langsmith's test plugin reads it: the tests run offline, and a
guard fails any of them that tries to open a connection.
"""

from __future__ import annotations

import os

os.environ["LANGSMITH_TEST_TRACKING"] = "false"  # tests never touch the network

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from langsmith import testing as t

from proctor.evals import dataset
from proctor.evals.desks import DeskCopies
from proctor.evals.evaluators import GATES, evaluators
from proctor.evals.golden import SEED, GoldenSet, load_golden
from proctor.evals.target import make_target
from proctor.settings import Settings
from tests.evals_support import POLICY, run_of

# What the offline desk does right, one per kind of work.
TASKS = [
    "billing-duplicate-001",
    "orders-status-002",
    "orders-cancel-001",
    "account-password-reset-001",
    "escalate-001",
    "clarify-002",
    "plan-cancel-refund-email-001",
]


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):
    return make_target(DeskCopies(tmp_path_factory.mktemp("desks"), Settings(model="offline"), SEED))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Any connection attempt is recorded and refused; none may happen."""
    attempts: list = []

    def refuse(sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"network access in a test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield attempts
    assert attempts == []


@pytest.mark.langsmith
@pytest.mark.parametrize("task_id", TASKS)
def test_golden_task(task_id: str, golden: GoldenSet, target) -> None:
    task = next(task for task in golden.tasks if task.id == task_id)
    example = dataset.examples(golden, [task])[0]
    t.log_inputs(example.inputs)
    t.log_reference_outputs(example.outputs)
    outputs = target(example.inputs)
    t.log_outputs({"answer": outputs["result"]["answer"], "route": outputs["result"]["route"]})
    verdicts = [evaluate(run_of(outputs), example) for evaluate in evaluators(POLICY)]
    for verdict in verdicts:
        t.log_feedback(key=verdict["key"], score=verdict["score"])
    failed = {v["key"]: v["comment"] for v in verdicts if v["key"] in GATES and v["score"] != 1}
    assert failed == {}
    assert Path(outputs["data_dir"]).is_dir()
