"""Phrasing overlap between golden splits: a held-out task must not be a test task with other ids.

A phrasing is the request with its ids, emails and numbers masked, as the front door's classifier
sees it. Two phrasings are shared when they are equal or nearly so (``difflib`` ratio at or
above ``NEAR``: the same template with another street address, a reordered clause), so "held out"
means a new way of asking, not a new invoice number.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from proctor.evals.task import Task
from proctor.graphs.classifier import mask_ids

NEAR = 0.8
PROTECTED = ("heldout", "paraphrase")
"""Splits nothing is tuned on: they share no phrasing with any other split nor the classifier's examples."""


@dataclass(frozen=True)
class Overlap:
    task_id: str
    split: str
    phrasing: str
    other: str
    """The other split's task id, or ``routes`` for a classifier example."""
    similarity: float


def phrasing(text: str) -> str:
    return mask_ids(text).lower()


def similarity(a: str, b: str) -> float:
    # SequenceMatcher's junk heuristic makes ratio() slightly asymmetric: take the larger.
    return max(difflib.SequenceMatcher(None, a, b).ratio(), difflib.SequenceMatcher(None, b, a).ratio())


def classifier_examples(path: Path) -> list[str]:
    """The texts of a desk's routing examples file."""
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def overlaps(tasks: Sequence[Task], tuned_on: Iterable[str] = (), near: float = NEAR) -> list[Overlap]:
    """Every protected-split task whose phrasing is shared with another split or with ``tuned_on`` texts."""
    others: list[tuple[str, str, str]] = [(phrasing(t.input), t.id, t.split) for t in tasks]
    others += [(phrasing(text), "routes", "classifier") for text in tuned_on]
    found = []
    for task in tasks:
        if task.split not in PROTECTED:
            continue
        mine = phrasing(task.input)
        for theirs, other, split in others:
            if split == task.split:
                continue
            ratio = 1.0 if theirs == mine else similarity(mine, theirs)
            if ratio >= near:
                found.append(Overlap(task.id, task.split, mine, other, round(ratio, 3)))
                break
    return found
