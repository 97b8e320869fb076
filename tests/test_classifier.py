from collections import Counter
import json
from pathlib import Path

import numpy as np
import pytest

from proctor.deployment import Deployment
from proctor.desk import load_desk
from proctor.settings import Settings
from proctor.graphs.classifier import (
    Example,
    FastClassifier,
    InvalidExamples,
    check_routes,
    evaluate,
    is_multi_part,
    load_examples,
    mask_ids,
    split_holdout,
    split_parts,
)
from proctor.graphs.linear_scorer import LinearScorer, compile_scorer
from proctor.evals.golden import GOLDEN_DIR


# The packaged desk's routes: its agents, plus the two the front door takes itself.
ROUTES = {"billing", "orders", "account", "support", "escalate", "clarify"}


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_examples(load_desk("proctor.agents").require("routes"))


def shipped() -> FastClassifier:
    """The reference desk's classifier (its routes file and its agents' examples)."""
    return Deployment(Settings()).classifier


def test_examples_are_unique_and_cover_every_route(examples: list[Example]) -> None:
    texts = [e.text for e in examples]
    assert len(texts) == len(set(texts))
    counts = Counter(e.route for e in examples)
    print(f"\nexamples per route: {dict(sorted(counts.items()))}")
    assert set(counts) == ROUTES
    assert min(counts.values()) >= 80


def test_holdout_accuracy(examples: list[Example]) -> None:
    train, holdout = split_holdout(examples, fraction=0.2, seed=0)
    classifier = FastClassifier.from_examples(train)
    accuracy = evaluate(classifier, holdout)
    print(f"\nheld-out accuracy: {accuracy:.3f} on {len(holdout)} examples (trained on {len(train)})")
    assert accuracy >= 0.85


def test_split_holdout_is_deterministic_and_stratified(examples: list[Example]) -> None:
    train, holdout = split_holdout(examples, fraction=0.2, seed=0)
    assert (train, holdout) == split_holdout(examples, fraction=0.2, seed=0)
    assert len(train) + len(holdout) == len(examples)
    assert set(e.route for e in holdout) == ROUTES


def test_a_desks_classifier_is_trained_once_per_process() -> None:
    assert shipped() is shipped()


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("If INV-10001 is not refunded by Friday I will sue you, my lawyer is ready", "escalate"),
        ("my charger started smoking and there is a burning smell", "escalate"),
        ("hello", "clarify"),
        ("refund INV-10001", "billing"),
        ("where is order 1042?", "orders"),
        ("I forgot my password and can't log in", "account"),
        ("how do I set up my Hub Pro?", "support"),
    ],
)
def test_obvious_routes(text: str, route: str) -> None:
    decision = shipped().classify(text)
    assert decision.route == route, decision
    assert decision.tier == "fast"
    assert 0 <= decision.confidence <= 1


def test_ids_do_not_change_the_decision() -> None:
    classifier = shipped()
    first = classifier.classify("refund INV-10001 for CUS-0042, email tom@acme.io")
    second = classifier.classify("refund INV-99999 for CUS-7777, email ana@mail.com")
    assert first == second
    assert mask_ids("order 1042 on WS-0042, see KB-012") == "order _number_ on WS _number_ , see KB _number_"
    assert mask_ids("LAP-0040 for EMP-4, a@b.co") == "LAP _number_ for EMP _number_ , _email_"


def test_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "routes.jsonl"
    path.write_text('{"text": "refund INV-10001", "route": "billing"}\n{"text": "oops"\n')
    with pytest.raises(InvalidExamples, match=r"line 2\b"):
        load_examples(path)


def test_a_malformed_route_is_named_by_line_and_an_unknown_one_by_the_desk(tmp_path: Path) -> None:
    path = tmp_path / "routes.jsonl"
    path.write_text('{"text": "refund INV-10001", "route": "billing"}\n\n{"text": "hi", "route": "Sales!"}\n')
    with pytest.raises(InvalidExamples, match=r"line 3: route"):
        load_examples(path)
    path.write_text('{"text": "refund INV-10001", "route": "billing"}\n{"text": "hi", "route": "sales"}\n')
    examples = load_examples(path)  # a route is any agent's name: the desk decides which exist
    with pytest.raises(InvalidExamples, match=r"\['sales'\], which are not agents"):
        check_routes(examples, ["billing"])
    check_routes(examples, ["billing", "sales"])


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "cancel order 1042, refund the shipping fee and email me a confirmation",
            ["cancel order 1042", "refund the shipping fee", "email me a confirmation"],
        ),
        (
            "reset my password and add anna@example.com as an admin to WS-0042",
            ["reset my password", "add anna@example.com as an admin to WS-0042"],
        ),
        (
            "Please upgrade WS-0042 to the Business plan; also send invoice INV-10234 to finance@acme.io",
            ["Please upgrade WS-0042 to the Business plan", "send invoice INV-10234 to finance@acme.io"],
        ),
        (
            "change the shipping address on order 1042 then update my email to tom@mail.com",
            ["change the shipping address on order 1042", "update my email to tom@mail.com"],
        ),
        (
            "Hi, cancel order 1042. Also, close account CUS-0042.",
            ["Hi, cancel order 1042.", "close account CUS-0042."],
        ),
        (
            "remove john@acme.io from WS-0042, grant maria@acme.io admin and downgrade us to Starter",
            ["remove john@acme.io from WS-0042", "grant maria@acme.io admin", "downgrade us to Starter"],
        ),
        (
            "my order 1042 is late, cancel it and refund me",
            ["my order 1042 is late, cancel it", "refund me"],
        ),
    ],
)
def test_split_parts_multi(text: str, parts: list[str]) -> None:
    assert split_parts(text) == parts
    assert is_multi_part(text)


@pytest.mark.parametrize(
    "text",
    [
        "I was charged twice for invoice INV-10001, please refund the duplicate",
        "my order hasn't arrived and I want to know where it is",
        "please add Anna and Marco as admins of WS-0042",
        "my package arrived damaged, can you send a replacement?",
        "my order was cancelled and I want a refund",
        "I was charged $1,200 and then charged again",
        "my password reset email never arrives and I can't log in",
        "refund INV-10001, thanks",
        "hello",
    ],
)
def test_split_parts_single(text: str) -> None:
    assert split_parts(text) == [text]
    assert not is_multi_part(text)


def test_split_parts_empty() -> None:
    assert split_parts("") == []
    assert split_parts("   ") == []


@pytest.fixture(scope="module")
def trained(examples: list[Example]) -> FastClassifier:
    return FastClassifier.from_examples(examples)


def test_the_fast_path_decides_exactly_as_the_pipeline_on_texts_it_never_saw(trained: FastClassifier) -> None:
    classifier = trained
    scorer, pipeline = classifier._scorer, classifier._pipeline
    assert scorer is not None  # the shipped model is one the fast path reads
    golden = [json.loads(line)["input"] for line in (GOLDEN_DIR / "v2.jsonl").read_text().splitlines() if line.strip()]
    unseen = [*golden, "", "   ", "ñandú 🦙 INV-1 " * 50, "refund refund refund"]
    expected = pipeline.predict_proba(unseen)
    for text, row in zip(unseen, expected, strict=True):
        assert np.max(np.abs(scorer.probabilities(text) - row)) < 1e-9, text


def test_a_model_the_fast_path_cannot_read_keeps_the_pipeline(trained: FastClassifier) -> None:
    two_routes = [Example(text=f"refund invoice {i}", route="billing") for i in range(6)]
    two_routes += [Example(text=f"where is order {i}", route="orders") for i in range(6)]
    classifier = FastClassifier.from_examples(two_routes)  # binary: one margin, not one per route
    assert classifier._scorer is None
    assert classifier.classify("please refund my invoice").route == "billing"
    assert compile_scorer(trained._pipeline, ["refund"]) is not None


def test_a_fast_path_that_disagrees_with_the_pipeline_is_never_used(monkeypatch, trained: FastClassifier) -> None:
    real = LinearScorer.probabilities
    monkeypatch.setattr(LinearScorer, "probabilities", lambda self, text: real(self, text) * 0.999 + 0.001 / 6)
    assert compile_scorer(trained._pipeline, ["I was charged twice, refund the duplicate"]) is None
