"""The trained classifier: a linear model over window n-grams and rule signals, loaded from its artifact.

The artifact (``scanner-v*.npz``, made by ``python -m proctor.guards.injection.train``) holds only
weights: hashed n-gram slots and their weights, one weight per rule signal, a bias. Loading is a
numpy read, offline, a few milliseconds. A text's score is the probability of its worst window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from proctor.guards.injection import features
from proctor.guards.injection.rules import RULE_FAMILIES, Hit, noisy_or

ARTIFACT = Path(__file__).with_name("scanner-v1.npz")


def rule_signals(hits: list[Hit]) -> np.ndarray:
    """Per rule family, its strongest hit; then the rules' combined score: the rules as features."""
    strongest = {family: 0.0 for family in RULE_FAMILIES}
    for hit in hits:
        strongest[hit.family] = max(strongest[hit.family], hit.weight)
    return np.array([*strongest.values(), noisy_or(h.weight for h in hits)])


@dataclass(frozen=True)
class Classifier:
    table: np.ndarray  # 2**BITS weights, one per n-gram slot
    rule_weights: np.ndarray
    bias: float
    info: dict

    @classmethod
    def load(cls, path: Path = ARTIFACT) -> Classifier:
        with np.load(path, allow_pickle=False) as saved:
            table = np.zeros(1 << int(saved["bits"]), dtype=np.float32)
            table[saved["slots"]] = saved["weights"].astype(np.float32)
            return cls(table, saved["rule_weights"].astype(np.float64), float(saved["bias"]),
                       json.loads(str(saved["info"])))  # fmt: skip

    def windows(self, text: str, signals: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Every window of the text and its probability of being an injected instruction."""
        spans = features.windows(text)
        total, count = features.window_sums(text, spans, self.table)
        logits = total / np.sqrt(np.maximum(count, 1.0)) + float(signals @ self.rule_weights) + self.bias
        return spans, 1.0 / (1.0 + np.exp(-logits))


@cache
def classifier() -> Classifier | None:
    """The packaged classifier, or None when the artifact is missing (the rules alone then decide)."""
    return Classifier.load() if ARTIFACT.exists() else None
