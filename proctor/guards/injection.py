"""Prompt-injection scanner (first version: instruction overrides and impersonation only)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

THRESHOLD = 0.5
_PATTERNS = {
    "instruction_override": re.compile(r"\b(ignore|disregard|forget)\b.{0,30}\b(previous|prior|above|all)\b.{0,20}\binstructions?\b", re.I),
    "role_impersonation": re.compile(r"(^|\n)\s*(system|assistant)\s*:|\[system\]|<\|im_start\|>", re.I),
}
FAMILIES = tuple(_PATTERNS)


class ScanResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    flagged: bool
    score: float
    reasons: list[str]


def scan(text: str) -> ScanResult:
    reasons = [f"{name}: {m.group(0)[:60]!r}" for name, p in _PATTERNS.items() if (m := p.search(text))]
    score = min(1.0, 0.6 * len(reasons))
    return ScanResult(flagged=score >= THRESHOLD, score=score, reasons=reasons)
