"""Trajectories: what a turn did, from its traces, and how two differ."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from itertools import zip_longest
from typing import Any, Literal

from pydantic import BaseModel

from proctor.replay.recording import is_approval
from proctor.tracing import Span, Trace
from proctor.tracing.models import Status

SNIPPET = 120  # characters of a result or an answer kept in a step or a difference


class Step(BaseModel):
    """A tool call, or an approval a tool call stopped for."""

    kind: Literal["tool", "approval"]
    name: str  # the tool (for an approval: the tool waiting for it)
    args: dict[str, Any]
    ok: bool | None = None  # None for an approval
    source: str = ""  # how the replay handled it: recorded, dry run, live read on a copy, an approval's fate
    detail: str = ""  # the result's summary, the error, or why the approval was asked

    def signature(self) -> tuple[str, str, str, bool | None]:
        """What must match for two steps to be the same step; sources and details may differ. An
        optional argument left out and the same argument sent as null are the same call."""
        args = {k: v for k, v in self.args.items() if v is not None}
        return self.kind, self.name, json.dumps(args, sort_keys=True, default=str), self.ok

    def describe(self) -> str:
        call = f"{self.name}({json.dumps(self.args, ensure_ascii=False, default=str)})"
        return f"approval for {call}" if self.kind == "approval" else f"{call} {'ok' if self.ok else 'FAILED'}"


class Outcome(BaseModel):
    """One side of a replay: what the turn did and how it ended."""

    trace_ids: list[str]
    release: str
    model: str | None
    route: str | None
    status: Status
    answer: str
    steps: list[Step]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None = None


def outcome(traces: Sequence[Trace], release: str, label: Callable[[Step], str] | None = None) -> Outcome:
    """The outcome of a turn's traces; ``label`` names how each step was served."""
    steps = [step for trace in traces for span in trace.spans if (step := _step(span)) is not None]
    if label is not None:
        steps = [s.model_copy(update={"source": label(s)}) for s in steps]
    last = traces[-1]
    models = sorted({m.strip() for t in traces if t.model for m in t.model.split(",")})
    return Outcome(
        trace_ids=[t.trace_id for t in traces],
        release=release,
        model=", ".join(models) or None,
        route=next((t.route for t in traces if t.route), None),
        status=last.status,
        answer=last.answer,
        steps=steps,
        input_tokens=sum(t.input_tokens for t in traces),
        output_tokens=sum(t.output_tokens for t in traces),
        cost_usd=round(sum(t.cost_usd for t in traces), 8),
        error=next((s.error for s in last.spans if s.parent_id is None and s.error), None),
    )


def align(a: Sequence[Step], b: Sequence[Step]) -> list[tuple[Step | None, Step | None]]:
    """The two step lists side by side: equal runs paired, a step missing on one side opposite None."""
    matcher = difflib.SequenceMatcher(a=[s.signature() for s in a], b=[s.signature() for s in b], autojunk=False)
    pairs: list[tuple[Step | None, Step | None]] = []
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs.extend(zip_longest(a[i1:i2], b[j1:j2]))
    return pairs


def compare(original: Outcome, replay: Outcome) -> tuple[bool, list[str]]:
    """(whether route, steps and status are the same; every difference, the answer's included)."""
    differences = []
    if original.route != replay.route:
        differences.append(f"route: {original.route} -> {replay.route}")
    for n, (a, b) in enumerate(align(original.steps, replay.steps), 1):
        if a is None or b is None or a.signature() != b.signature():
            differences.append(f"step {n}: {a.describe() if a else '(none)'} -> {b.describe() if b else '(none)'}")
    if original.status != replay.status:
        differences.append(f"status: {original.status} -> {replay.status}")
    same = not differences
    if original.answer != replay.answer:
        differences.append(f"answer: {short(original.answer)!r} -> {short(replay.answer)!r}")
    return same, differences


def _step(span: Span) -> Step | None:
    value = span.outputs.get("value")
    if span.kind == "interrupt" and is_approval(value):
        request = value.get("request") or {}
        why = f"{request.get('id', '')}: {request.get('why') or value.get('description') or ''}"
        return Step(kind="approval", name=value["name"], args=value.get("args") or {}, detail=why)
    if span.kind != "tool":
        return None
    args = span.inputs.get("args")
    detail = span.error if span.status == "error" else _summary(span.outputs.get("result"))
    return Step(
        kind="tool",
        name=span.name,
        args=args if isinstance(args, dict) else {"input": args},
        ok=span.status == "ok",
        detail=short(detail or ""),
    )


def _summary(result: Any) -> str:
    """A tool result's ``summary`` field when it has one (the desk's tools do), else the result."""
    if not isinstance(result, str):
        return json.dumps(result, default=str)
    try:
        parsed = json.loads(result)
    except ValueError:
        return result
    return str(parsed.get("summary") or result) if isinstance(parsed, dict) else result


def short(text: str) -> str:
    """``text`` on one line, cut to ``SNIPPET`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"
