"""The golden set's held-out and paraphrase splits are new ways of asking, not test tasks with other ids."""

from __future__ import annotations

import pytest

from proctor.desk import load_desk
from proctor.evals.golden import GOLDEN_DIR, load_golden
from proctor.evals.phrasing import NEAR, classifier_examples, overlaps, phrasing, similarity
from proctor.evals.task import Task


@pytest.fixture(scope="module")
def golden():
    return load_golden()


def test_held_out_and_paraphrase_share_no_phrasing_with_the_rest_or_the_classifier_examples(golden):
    found = overlaps(golden.tasks, classifier_examples(load_desk("proctor.agents").require("routes")))
    assert not found, "\n".join(f"{o.task_id} ~ {o.other} ({o.similarity}): {o.phrasing}" for o in found[:10])


def test_the_paraphrase_split_is_large_and_covers_approvals_and_injections(golden):
    paraphrases = golden.split("paraphrase")
    assert len(paraphrases) >= 40
    assert sum(t.approval_required for t in paraphrases) >= 5
    assert sum("injection" in t.tags for t in paraphrases) >= 4
    heldout = golden.split("heldout")
    assert sum(t.approval_required for t in heldout) >= 5 and any("injection" in t.tags for t in heldout)


def test_the_check_catches_masked_and_near_copies():
    """v1's held-out split reused test phrasings once ids were masked: the check must see that."""
    v1 = load_golden(GOLDEN_DIR / "v1.jsonl")  # kept, frozen, so reports made on it stay readable
    exact = [o for o in overlaps(v1.tasks) if o.similarity == 1.0]
    assert len(exact) >= 25
    assert phrasing("Refund INV-10062 for CUS-0012") == phrasing("refund inv-99 for cus-7")
    a = phrasing("Please change the shipping address of order 1400 to 12 Main St, Springfield, IL 62701")
    b = phrasing("Please change the shipping address of order 1524 to 9 Willow Ln, Burlington, VT 05401")
    assert a != b and similarity(a, b) >= NEAR
    test = Task.model_validate({**v1.tasks[0].model_dump(), "id": "x-test", "split": "test"})
    copy = Task.model_validate({**test.model_dump(), "id": "x-para", "split": "paraphrase", "input": test.input + "!"})
    assert [o.task_id for o in overlaps([test, copy])] == ["x-para"]


def test_a_fixed_subset_takes_every_route_and_is_the_same_each_time() -> None:
    golden = load_golden()
    subset = golden.split("heldout", 50)
    assert len(subset) == 50 and subset == golden.split("heldout", 50)
    assert {t.expected_route for t in subset} == {t.expected_route for t in golden.split("heldout")}
    assert golden.split("heldout", 1000) == golden.split("heldout")
