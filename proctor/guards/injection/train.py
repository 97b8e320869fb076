"""Train the injection classifier and write its artifact: deterministic, offline, about a minute.

    .venv/bin/python -m proctor.guards.injection.train [--out PATH]

It learns from the train splits of the public corpora in ../shared/corpora (BIPIA text and code
attacks, BIPIA emails, tau-bench and tau2 train tasks), read here and never copied: the artifact
holds only weights. Without the corpora it says so and trains on our generated families alone.
Our generated families (synthetic.py) add the attack families the corpora lack and the benign
look-alikes a desk returns. Held-out splits, CyberSecEval and the desk's own data are never used.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

from proctor.guards.injection import features
from proctor.guards.injection.corpus import CORPORA, Corpus, load_corpora, own_sets
from proctor.guards.injection.model import ARTIFACT, Classifier, rule_signals
from proctor.guards.injection.views import rule_hits

VERSION = "scanner-v1"
C = 0.5  # inverse regularisation: chosen by leave-one-family-out recall at the false-positive budget
PRUNE = 1e-3
HANDWRITTEN_WEIGHT = 3  # the hand-written sets count thrice: few texts, each one a real desk case  # weights smaller than this are dropped from the artifact


def training_sets(root: Path = CORPORA, exclude_family: str | None = None) -> list[Corpus]:
    """What the classifier learns from: train splits and our generated sets, minus one family if asked."""
    public = [c for c in load_corpora(root) if not c.held_out] if root.is_dir() else []
    sets = public + own_sets()
    if exclude_family is None:
        return sets
    return [Corpus(c.name, c.held_out, c.attack, [(f, t) for f, t in c.items if f != exclude_family]) for c in sets]


@dataclass
class Rows:
    """Training rows: one per window of every text, with its label and the family of its text."""

    slots: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    signals: list[np.ndarray] = field(default_factory=list)
    families: list[str] = field(default_factory=list)

    def add(self, corpus: Corpus) -> Rows:
        for family, text in corpus.items:
            spans = features.windows(text)
            signal = rule_signals(rule_hits(text))
            for slots in features.window_slots(text, spans):
                self.slots.append(slots)
                self.labels.append(int(corpus.attack))
                self.signals.append(signal)
                self.families.append(family)
        return self

    def matrix(self, keep: np.ndarray | None = None) -> tuple[csr_matrix, np.ndarray]:
        index = np.arange(len(self.slots)) if keep is None else np.flatnonzero(keep)
        rows = [self.slots[i] for i in index]
        sizes = np.array([len(r) for r in rows])
        indptr = np.concatenate([[0], np.cumsum(sizes)])
        values = np.repeat(1.0 / np.sqrt(np.maximum(sizes, 1)), sizes)
        grams = csr_matrix((values, np.concatenate(rows), indptr), shape=(len(rows), 1 << features.BITS))
        grams.sum_duplicates()
        signals = csr_matrix(np.array([self.signals[i] for i in index]))
        return hstack([grams, signals]).tocsr(), np.array(self.labels)[index]


def rows_of(sets: list[Corpus]) -> Rows:
    """Rows of every text, plus the sentences of benign texts on their own (short benign text is common:
    without them the classifier learns that short means attack) and every attack planted next to one."""
    rows = Rows()
    sentences = [piece for c in sets if not c.attack for _, t in c.items for piece in _sentences(t)]
    rng = random.Random(0)
    for corpus in sets:
        for _ in range(HANDWRITTEN_WEIGHT if corpus.name.startswith("own_handwritten") else 1):
            rows.add(corpus)
        if corpus.attack:
            rows.add(Corpus(corpus.name, False, True, [(f, _plant(t, rng.choice(sentences), rng)) for f, t in corpus.items]))
    rows.add(Corpus("benign sentences", False, False, [("benign", piece) for piece in sentences]))
    return rows


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", text) if len(p.strip()) > 1]


def _plant(attack: str, benign: str, rng: random.Random) -> str:
    return f"{benign} {attack}" if rng.random() < 0.5 else f"{attack} {benign}"


def fit(sets: list[Corpus], c: float = C) -> Classifier:
    """One row per window of every text: an attack text's windows are attacks, a benign text's are benign."""
    return fit_rows(rows_of(sets), c, {s.name: len(s.items) for s in sets})


BENIGN_QUANTILE = 0.995  # calibration: this share of benign training windows scores below even-odds...
OPERATING_ODDS = 0.7  # ...and the threshold sits at this probability of that scale: fewer false positives


def fit_rows(rows: Rows, c: float = C, sets: dict[str, int] | None = None, keep: np.ndarray | None = None) -> Classifier:
    x, y = rows.matrix(keep)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, solver="liblinear")
    model.fit(x, y)
    weights = model.coef_[0]
    table = weights[: 1 << features.BITS].astype(np.float32)
    table[np.abs(table) < PRUNE] = 0.0
    # Calibrate: shift the bias so that the benign quantile's logit sits at the threshold (probability 0.5).
    margins = x @ weights + model.intercept_[0]
    shift = max(0.0, float(np.quantile(margins[y == 0], BENIGN_QUANTILE)))
    info = {"version": VERSION, "windows": int(len(y)), "attack_windows": int(y.sum()), "C": c, "sets": sets or {},
            "shift": shift, "train_recall": float((margins[y == 1] > shift).mean())}  # fmt: skip
    shift += float(np.log(OPERATING_ODDS / (1 - OPERATING_ODDS)))
    info["shift"] = shift
    bias = float(model.intercept_[0]) - shift
    return Classifier(table, weights[1 << features.BITS :].astype(np.float64), bias, info)


def save(model: Classifier, path: Path) -> None:
    slots = np.flatnonzero(model.table).astype(np.int32)
    np.savez_compressed(path, bits=np.int64(features.BITS), slots=slots, weights=model.table[slots].astype(np.float16),
                        rule_weights=model.rule_weights, bias=np.float64(model.bias),
                        info=np.str_(json.dumps(model.info, sort_keys=True)))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ARTIFACT)
    args = parser.parse_args(argv)
    if not CORPORA.is_dir():
        print(f"public corpora not found at {CORPORA} (set PROCTOR_CORPORA): training on the generated families "
              "only; the packaged artifact was trained with them", file=sys.stderr)  # fmt: skip
    model = fit(training_sets())
    save(model, args.out)
    print(f"{args.out}: {model.info['windows']} windows ({model.info['attack_windows']} attack), "
          f"{np.count_nonzero(model.table)} weights, {args.out.stat().st_size / 1024:.0f} KiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
