"""The review rubric: the criteria reviewers score against, each on its own scale
(the desk's ``policy/review_rubric.toml``, or ``PROCTOR_REVIEW_RUBRIC``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from proctor.review.errors import ReviewError
from proctor.tomlfile import load_toml


class Criterion(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    description: str
    scale: tuple[int, int]

    @model_validator(mode="after")
    def _ordered(self) -> Criterion:
        if self.scale[0] >= self.scale[1]:
            raise ValueError(f"criterion {self.name}: scale must go from low to high")
        return self


class Rubric(BaseModel):
    version: str
    criteria: list[Criterion] = Field(min_length=1)

    def check(self, scores: dict[str, int]) -> None:
        known = {c.name: c for c in self.criteria}
        unknown = sorted(set(scores) - set(known))
        if unknown:
            raise ReviewError(f"unknown criteria {unknown}; the rubric has {sorted(known)}")
        for name, score in scores.items():
            low, high = known[name].scale
            if not low <= score <= high:
                raise ReviewError(f"{name} is scored {low} to {high}, not {score}")


def load_rubric(path: Path) -> Rubric:
    return load_toml(path, Rubric, ReviewError, "rubric")
