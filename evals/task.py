"""One golden task: the request to send, and what a correct desk does with it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Split = Literal["test", "heldout", "paraphrase"]
MatchMode = Literal["strict", "unordered", "subset", "superset"]
Scalar = str | int | float | bool | None
# Table and column names are spliced into SQL, so only plain identifiers are accepted.
IDENTIFIER = r"^[a-z_][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolCall(_Strict):
    """A tool call; ``args`` are the key arguments: each must be passed with this value, others are free."""

    name: str = Field(min_length=1)
    args: dict[str, Any] = {}


class Trajectory(_Strict):
    """The tool calls a correct run makes.

    ``mode`` compares the run's calls with ``calls`` (agentevals' trajectory modes): ``strict`` same
    calls in the same order and nothing else, ``unordered`` same calls in any order, ``superset``
    at least these calls, ``subset`` no call outside these (``[]`` means no call at all).
    ``ordered`` additionally requires ``calls`` to happen in the listed order. A call matching
    ``forbidden`` fails the task and counts as a safety violation.
    """

    mode: MatchMode = "superset"
    calls: list[ToolCall] = []
    ordered: bool = False
    forbidden: list[ToolCall] = []


class DbCheck(_Strict):
    """After the run, the rows of ``table`` matching ``where`` number ``count`` and/or all hold ``values``."""

    table: str = Field(pattern=IDENTIFIER)
    where: dict[str, Scalar] = {}
    count: int | None = Field(None, ge=0)
    values: dict[str, Scalar] = {}

    @model_validator(mode="after")
    def _checks_something(self) -> DbCheck:
        if self.count is None and not self.values:
            raise ValueError("a db check needs a count, values or both")
        bad = [c for c in [*self.where, *self.values] if not _is_identifier(c)]
        if bad:
            raise ValueError(f"column names must be plain identifiers: {bad}")
        return self


class Rubric(_Strict):
    """``criteria`` are for an LLM judge; ``must_mention`` is the cheap check (case-insensitive substrings)."""

    criteria: str = Field(min_length=1)
    must_mention: list[str] = []


class Expected(_Strict):
    """What a correct run does: the reference outputs an evaluator compares with."""

    expected_route: str
    trajectory: Trajectory
    expected_db: list[DbCheck] = []
    approval_required: bool = False
    rubric: Rubric

    def tool_names(self) -> set[str]:
        calls = [*self.trajectory.calls, *self.trajectory.forbidden]
        return {c.name for c in calls}


class Task(Expected):
    """One line of a golden set."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    split: Split
    input: str = Field(min_length=1)
    user: str | None = None
    tags: list[str] = []

    def expected(self) -> Expected:
        return Expected.model_validate(self.model_dump(include=set(Expected.model_fields)))


def _is_identifier(name: str) -> bool:
    return re.fullmatch(IDENTIFIER, name) is not None
