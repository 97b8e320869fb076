"""The front door's trained pipeline as plain arrays, so one request is scored in microseconds.

scikit-learn's ``predict_proba`` on one text spends milliseconds validating inputs and building
sparse matrices. The model itself is tiny: TF-IDF weights over a few thousand n-grams, one linear
margin per route and one sigmoid per route. ``LinearScorer`` reads those numbers from the fitted
pipeline (its public fitted attributes and analyzers) and computes the same probabilities with a
dictionary lookup and a small dot product. ``compile_scorer`` checks it against the pipeline on
the training texts and returns None when it does not agree (another scikit-learn, another model),
so the caller keeps the pipeline: the fast path can never change a decision.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

AGREEMENT = 1e-9  # largest difference in any probability the fast path may show on a training text


@dataclass(frozen=True)
class _Vocabulary:
    analyze: Callable[[str], list[str]]
    index: dict[str, int]  # n-gram -> column in the union of features
    idf: dict[str, float]
    sublinear: bool

    def weights(self, text: str) -> dict[int, float]:
        """This vectorizer's l2-normalised TF-IDF of the text, by column."""
        counts = Counter(t for t in self.analyze(text) if t in self.index)
        tf = {t: (1.0 + math.log(n)) if self.sublinear else float(n) for t, n in counts.items()}
        raw = {self.index[t]: v * self.idf[t] for t, v in tf.items()}
        norm = math.sqrt(sum(v * v for v in raw.values()))
        return {j: v / norm for j, v in raw.items()} if norm else {}


@dataclass(frozen=True)
class LinearScorer:
    vocabularies: tuple[_Vocabulary, ...]
    coef: np.ndarray  # (routes, features)
    intercept: np.ndarray  # (routes,)
    sigmoid_a: np.ndarray  # (routes,) per-route calibration: p = 1 / (1 + exp(a * margin + b))
    sigmoid_b: np.ndarray
    classes: tuple[str, ...]

    def probabilities(self, text: str) -> np.ndarray:
        weights: dict[int, float] = {}
        for vocabulary in self.vocabularies:
            weights.update(vocabulary.weights(text))
        columns = np.fromiter(weights.keys(), dtype=np.intp, count=len(weights))
        values = np.fromiter(weights.values(), dtype=float, count=len(weights))
        margins = self.coef[:, columns] @ values + self.intercept
        proba = 1.0 / (1.0 + np.exp(self.sigmoid_a * margins + self.sigmoid_b))
        total = proba.sum()
        return proba / total if total else np.full(len(self.classes), 1.0 / len(self.classes))


def compile_scorer(pipeline: Pipeline, texts: Sequence[str]) -> LinearScorer | None:
    """The fitted pipeline's fast path, or None when it would not reproduce the pipeline exactly."""
    try:
        scorer = _read(pipeline)
    except (AttributeError, KeyError, ValueError, IndexError, TypeError):
        return None  # not the shape of model this reads: keep the pipeline
    expected = pipeline.predict_proba(list(texts))
    for text, row in zip(texts, expected, strict=True):
        if np.max(np.abs(scorer.probabilities(text) - row)) > AGREEMENT:
            return None
    return scorer


def _read(pipeline: Pipeline) -> LinearScorer:
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    vocabularies, offset = [], 0
    for _, vectorizer in features.transformer_list:
        if vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError("only l2-normalised TF-IDF is read")
        vocabulary = vectorizer.vocabulary_
        index = {term: offset + column for term, column in vocabulary.items()}
        idf = {term: float(vectorizer.idf_[column]) for term, column in vocabulary.items()}
        vocabularies.append(_Vocabulary(vectorizer.build_analyzer(), index, idf, vectorizer.sublinear_tf))
        offset += len(vocabulary)
    [calibrated] = model.calibrated_classifiers_  # ensemble=False: one calibrated model
    if calibrated.method != "sigmoid":
        raise ValueError("only sigmoid calibration is read")
    svm, classes = calibrated.estimator, list(model.classes_)
    if len(classes) < 3 or list(svm.classes_) != classes or svm.coef_.shape != (len(classes), offset):
        raise ValueError("one margin per route over the union of features is read")
    a = np.array([float(c.a_) for c in calibrated.calibrators])
    b = np.array([float(c.b_) for c in calibrated.calibrators])
    return LinearScorer(tuple(vocabularies), svm.coef_.astype(float), svm.intercept_.astype(float), a, b, tuple(classes))
