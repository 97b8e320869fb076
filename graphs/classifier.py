"""Fast tier of the front-door classifier: which desk route a request belongs to.

A small TF-IDF + calibrated linear SVM trained on the desk's routing examples answers in a few
milliseconds. Its top-class probability is the confidence the router compares with
``Settings.classifier_threshold`` before asking the slower LLM tier. ``split_parts`` flags
requests that carry several independent actions, so the router can handle them one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from proctor.errors import ProctorError
from proctor.graphs.linear_scorer import LinearScorer, compile_scorer

if TYPE_CHECKING:
    from proctor.specialists import AgentSpec

ESCALATE, CLARIFY = "escalate", "clarify"  # routes the front door takes itself; every other is an agent


class InvalidExamples(ProctorError):
    """The labelled examples file has a line that is not a valid example."""


class Example(BaseModel):
    """One labelled request: of a desk's routing examples file, or of an agent spec's ``examples``."""

    text: str = Field(min_length=1)
    route: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="An agent's name, or escalate or clarify.")


def with_agent_examples(examples: Sequence[Example], agents: Iterable[AgentSpec]) -> list[Example]:
    """The desk's examples plus those each agent spec carries for itself."""
    return [*examples, *(Example(text=text, route=agent.name) for agent in agents for text in agent.examples)]


def check_routes(examples: Sequence[Example], agents: Iterable[str]) -> None:
    """Raise ``InvalidExamples`` when an example names a route the desk does not have: the
    classifier would learn a destination the front door can never take."""
    unknown = sorted({e.route for e in examples} - {*agents, ESCALATE, CLARIFY})
    if unknown:
        raise InvalidExamples(
            f"routing examples name {unknown}, which are not agents of this desk (nor escalate or clarify):"
            " add the agent, or fix the example's route"
        )


class RouteDecision(BaseModel):
    """Where a request goes, how sure the deciding tier is, and which tier decided.

    ``route`` is a string, not ``Route``: the planner and user-added agents are routes too.
    """

    route: str
    confidence: float = Field(ge=0, le=1)
    tier: Literal["fast", "llm", "rule"]
    reason: str = ""


# Ids are unique per request, so as features they would only memorise the training set; an id's
# prefix says what kind of record it names, so it stays as a word (INV-10001 -> INV _number_). Emails go first
# because they may contain digits; bare numbers go last.
_ID_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), " _email_ "),
    (re.compile(r"\b([A-Za-z]{2,5})-\d+\b"), r" \1 _number_ "),
    (re.compile(r"\b\d+(?:[.,]\d+)*\b"), " _number_ "),
]


def mask_ids(text: str) -> str:
    """Replace emails and numbers by placeholders; a record id keeps its prefix (``LAP-0040`` -> ``LAP _number_``)."""
    for pattern, placeholder in _ID_PATTERNS:
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


def _preprocess(text: str) -> str:
    return mask_ids(text).lower()


def _pipeline() -> Pipeline:
    # Word n-grams carry the intent; char n-grams survive typos and unseen inflections.
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(preprocessor=_preprocess, ngram_range=(1, 2), sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=_preprocess,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                ),
            ),
        ]
    )
    # A linear SVM trains several times faster than logistic regression on these sparse
    # features; calibration turns its margins into probabilities the threshold can use.
    # ensemble=False: one calibrated model, not three, so a prediction costs a third.
    model = CalibratedClassifierCV(LinearSVC(random_state=0), cv=3, ensemble=False)
    return Pipeline([("features", features), ("model", model)])


class FastClassifier:
    """Routes a request with a linear model; deterministic for a given set of examples."""

    def __init__(self, pipeline: Pipeline, scorer: LinearScorer | None = None) -> None:
        self._pipeline = pipeline
        self._scorer = scorer

    @classmethod
    def from_examples(cls, examples: Sequence[Example]) -> FastClassifier:
        pipeline = _pipeline()
        texts = [e.text for e in examples]
        pipeline.fit(texts, [e.route for e in examples])
        return cls(pipeline, compile_scorer(pipeline, texts))

    def classify(self, text: str) -> RouteDecision:
        if self._scorer is not None:
            probabilities = self._scorer.probabilities(text)
        else:
            probabilities = self._pipeline.predict_proba([text])[0]
        ranked = sorted(zip(self._pipeline.classes_, probabilities), key=lambda p: -p[1])
        (route, confidence), (runner_up, runner_up_p) = ranked[0], ranked[1]
        return RouteDecision(
            route=route,
            confidence=float(confidence),
            tier="fast",
            reason=f"{route} p={confidence:.2f}, next {runner_up} p={runner_up_p:.2f}",
        )


def load_examples(path: Path | str) -> list[Example]:
    """Read one ``{"text": ..., "route": ...}`` object per line; blank lines are skipped."""
    path = Path(path)
    examples = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(Example.model_validate_json(line))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "json"
            raise InvalidExamples(f"{path} line {lineno}: {where}: {error['msg']}") from exc
    return examples


def split_holdout(
    examples: Sequence[Example], fraction: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Split into (train, holdout), stratified by route so every route is measured."""
    train, holdout = train_test_split(
        list(examples),
        test_size=fraction,
        random_state=seed,
        stratify=[e.route for e in examples],
    )
    return train, holdout


def evaluate(classifier: FastClassifier, examples: Sequence[Example]) -> float:
    """Accuracy of the classifier's top route on the examples."""
    if not examples:
        raise ValueError("no examples to evaluate")
    correct = sum(classifier.classify(e.text).route == e.route for e in examples)
    return correct / len(examples)


# Clause boundaries: commas and semicolons (not inside numbers like 1,200), sentence ends,
# and the connectives that chain requests.
_CLAUSE_BREAK = re.compile(r"\s*(?:[,;](?!\d)|(?<=[.!?])\s|\b(?:and|then|also)\b)\s*", re.I)
# Imperative forms only: "cancelled" or "was charged" describe the past, not a new request, and
# after a determiner the word is a noun ("my email is", "the refund").
_ACTION_VERB = re.compile(
    r"(?<!\bmy\s)(?<!\bthe\s)(?<!\byour\s)(?<!\bour\s)(?<!\ba\s)(?<!\ban\s)(?<!\bthis\s)"
    r"\b(?:cancel|refund|email|send|resend|change|update|reset|close|return|upgrade|downgrade"
    r"|credit|grant|remove|add|delete|invite|unlock|revoke|transfer|switch|apply|export|replace"
    r"|exchange|ship|expedite|pause|reactivate|renew|waive|enable|disable|deactivate|move)\b",
    re.I,
)


def _clause_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _names_action(text: str, span: tuple[int, int]) -> bool:
    return _ACTION_VERB.search(text, *span) is not None


def split_parts(text: str) -> list[str]:
    """Split a request into independent action clauses.

    A clause becomes its own part only when both it and the part before it name an action;
    otherwise it is context for, or a consequence of, its neighbour ("I was charged twice,
    please refund the duplicate" is one request).
    """
    parts: list[tuple[int, int]] = []
    for span in _clause_spans(text):
        if parts and not (_names_action(text, span) and _names_action(text, parts[-1])):
            parts[-1] = (parts[-1][0], span[1])
        else:
            parts.append(span)
    stripped = (text[start:end].strip() for start, end in parts)
    return [part for part in stripped if part]


def is_multi_part(text: str) -> bool:
    return len(split_parts(text)) >= 2
