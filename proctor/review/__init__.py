"""Sampled review of autonomous work: a random sample of runs plus every flagged or failed one,
scored by reviewers against an explicit rubric; scores summarised by agent and criterion.

- ``rubric``: the criteria and their scales (``Rubric``, ``load_rubric``);
- ``queue``: the review queue on the domain database (``ReviewQueue``, ``ReviewItem``);
- ``errors``: ``ReviewError``;
- ``cli``: ``proctor review``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proctor.lazy import lazy_exports

if TYPE_CHECKING:
    from proctor.review.errors import ReviewError
    from proctor.review.queue import ReviewItem, ReviewQueue
    from proctor.review.rubric import Criterion, Rubric, load_rubric

# Imported on first use: building the CLI parser (which imports ``proctor.review.cli``) stays cheap.
_LAZY = {
    "ReviewError": "errors",
    "ReviewItem": "queue",
    "ReviewQueue": "queue",
    "Criterion": "rubric",
    "Rubric": "rubric",
    "load_rubric": "rubric",
}

__all__ = ["Criterion", "ReviewError", "ReviewItem", "ReviewQueue", "Rubric", "load_rubric"]

__getattr__ = lazy_exports(__name__, _LAZY, globals())
