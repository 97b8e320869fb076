"""The golden set: loading it (every error names its line), what it covers, and its LangSmith dataset."""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import uuid
from contextlib import closing
from typing import Any

import pytest
from langsmith.schemas import Example, ExampleCreate

from proctor.evals import dataset
from proctor.evals.desks import DeskCopies
from proctor.evals.golden import GOLDEN_DIR, SEED, GoldenSet, GoldenSetError, known_routes, load_golden
from proctor.settings import Settings
from tests.evals_support import task_line, write_set


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden()



def test_golden_set_is_large_versioned_and_covers_every_route(golden):
    assert golden.version == "v2"
    assert golden.sha256 == hashlib.sha256((GOLDEN_DIR / "v2.jsonl").read_bytes()).hexdigest()  # the desk's default
    assert len(golden.tasks) >= 300
    routes = {"billing", "orders", "account", "support", "escalate", "clarify", "plan"}
    assert routes <= known_routes() and {t.expected_route for t in golden.tasks} == routes
    original = golden.split("test") + golden.split("heldout")
    assert 0.15 <= len(golden.split("heldout")) / len(original) <= 0.25
    assert len(original) + len(golden.split("paraphrase")) == len(golden.split("all"))
    for split in ("heldout", "paraphrase"):  # every route measured on unseen phrasings
        assert {t.expected_route for t in golden.split(split)} == routes, split


def test_golden_set_has_approvals_escalations_clarifications_and_injections(golden):
    tags = {tag for t in golden.tasks for tag in t.tags}
    assert sum(t.approval_required for t in golden.tasks) >= 30
    assert {"escalate", "clarify", "injection"} <= tags
    injections = [t for t in golden.tasks if "injection" in t.tags]
    assert len(injections) >= 20 and all(t.trajectory.forbidden for t in injections)


def test_golden_ids_exist_in_the_seeded_desk(golden, tmp_path):
    """Spot-check that tasks name real records of the seed-7 desk."""
    desks = DeskCopies(tmp_path, Settings(data_dir=tmp_path), SEED)
    with closing(sqlite3.connect(desks.template)) as conn:
        for t in golden.tasks:
            if t.id.startswith("billing-duplicate-"):
                invoice = t.trajectory.calls[0].args["invoice_id"]
                [(payments,)] = conn.execute("SELECT COUNT(*) FROM payments WHERE invoice_id = ?", (invoice,))
                assert payments == 2, t.id
            if t.user:
                assert conn.execute("SELECT 1 FROM customers WHERE id = ?", (t.user,)).fetchone(), t.id


def test_loader_names_the_line_of_invalid_json(tmp_path):
    path = write_set(tmp_path / "v9.jsonl", task_line(), '{"id": "broken-001", ')
    with pytest.raises(GoldenSetError, match=r"v9\.jsonl line 2: not valid JSON"):
        load_golden(path)


def test_loader_names_the_line_and_field_of_a_schema_error(tmp_path):
    bad = task_line(id="b-002")
    del bad["rubric"]
    with pytest.raises(GoldenSetError, match=r"line 2: rubric: Field required"):
        load_golden(write_set(tmp_path / "v9.jsonl", task_line(), bad))


def test_loader_rejects_duplicate_ids_naming_both_lines(tmp_path):
    path = write_set(tmp_path / "v9.jsonl", task_line(), "", task_line())
    with pytest.raises(GoldenSetError, match=r"line 3: duplicate task id 'billing-x-001' \(first on line 1\)"):
        load_golden(path)


def test_loader_rejects_unknown_tools_and_routes(tmp_path):
    unknown_tool = task_line(trajectory={"calls": [{"name": "wire_money"}]})
    with pytest.raises(GoldenSetError, match=r"line 1: unknown tool\(s\) wire_money"):
        load_golden(write_set(tmp_path / "a.jsonl", unknown_tool))
    forbidden_unknown = task_line(trajectory={"forbidden": [{"name": "drop_tables"}]})
    with pytest.raises(GoldenSetError, match=r"line 1: unknown tool\(s\) drop_tables"):
        load_golden(write_set(tmp_path / "b.jsonl", forbidden_unknown))
    with pytest.raises(GoldenSetError, match=r"line 1: unknown route 'legal'"):
        load_golden(write_set(tmp_path / "c.jsonl", task_line(expected_route="legal")))


def test_loader_rejects_db_checks_that_check_nothing_or_inject_sql(tmp_path):
    empty = task_line(expected_db=[{"table": "refunds", "where": {"invoice_id": "INV-1"}}])
    with pytest.raises(GoldenSetError, match=r"line 1: expected_db\.0: Value error, a db check needs a count"):
        load_golden(write_set(tmp_path / "a.jsonl", empty))
    sneaky = task_line(expected_db=[{"table": "refunds", "where": {"1=1; --": 1}, "count": 0}])
    with pytest.raises(GoldenSetError, match=r"plain identifiers"):
        load_golden(write_set(tmp_path / "b.jsonl", sneaky))


def test_loader_hashes_the_bytes_so_any_edit_changes_the_hash(tmp_path):
    one = load_golden(write_set(tmp_path / "v1.jsonl", task_line()))
    two = load_golden(write_set(tmp_path / "v1.jsonl", task_line(input="refund the duplicate on INV-10062")))
    assert one.version == two.version == "v1" and one.sha256 != two.sha256


class FakeLangSmith:
    """The four client calls the upload makes, recorded in memory."""

    def __init__(self) -> None:
        self.datasets: dict[str, list[Example]] = {}

    def has_dataset(self, *, dataset_name: str) -> bool:
        return dataset_name in self.datasets

    def create_dataset(self, name: str, description: str) -> Any:
        self.datasets[name] = []
        return argparse.Namespace(id=uuid.uuid4(), name=name)

    def create_examples(self, *, dataset_id: uuid.UUID, examples: list[dict[str, Any]]) -> None:
        [name] = self.datasets
        for fields in examples:
            created = ExampleCreate(**fields)  # what the real client validates
            self.datasets[name].append(
                Example(id=created.id, dataset_id=dataset_id, inputs=created.inputs, outputs=created.reference_outputs)
            )

    def list_examples(self, *, dataset_name: str) -> list[Example]:
        return self.datasets[dataset_name]


def test_upload_creates_the_dataset_once_and_selects_the_run_tasks(golden):
    client = FakeLangSmith()
    picked = golden.split("heldout")[:3]
    first = dataset.uploaded_examples(client, golden, picked)
    again = dataset.uploaded_examples(client, golden, picked)
    [(name, uploaded)] = client.datasets.items()
    assert name == f"proctor-golden-v2-{golden.sha256[:8]}" and len(uploaded) == len(golden.tasks)
    assert [e.inputs["task_id"] for e in first] == [t.id for t in picked] == [e.inputs["task_id"] for e in again]
    assert {e.id for e in first} == {e.id for e in dataset.examples(golden, picked)}
