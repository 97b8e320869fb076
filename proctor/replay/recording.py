"""The original: the turn read back from the trace store, with the approvals it stopped for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from proctor.approvals.ledger import ApprovalLedger, ApprovalRequest, UnknownRequest
from proctor.replay.errors import NotReplayable
from proctor.tracing import Span, Trace, TraceStore
from proctor.tracing.capture import TEXT_LIMIT

DECIDED = {"approved": "approve", "edited": "edit", "rejected": "reject"}  # ledger status -> decision


@dataclass(frozen=True)
class RecordedApproval:
    """An approval the original stopped for."""

    tool: str
    args: dict[str, Any]
    request: dict[str, Any]  # the request as the gate filed it (id, amount, currency, customer)
    resumed: bool  # a later trace of the turn went on from it: a reviewer decided

    @property
    def request_id(self) -> str | None:
        return self.request.get("id")


@dataclass(frozen=True)
class Original:
    """A recorded turn. A run that stopped for an approval goes on in a later trace of its thread
    (the resume, which has no request of its own); earlier turns become the replay's history."""

    trace: Trace  # the run asked for: it carries the request
    traces: list[Trace]  # that run, then the resumes after its approvals
    history: list[tuple[str, str]]  # (request, answer) of each earlier turn of the thread

    @property
    def tool_spans(self) -> list[Span]:
        return [s for t in self.traces for s in t.spans if s.kind == "tool"]

    @property
    def approvals(self) -> list[RecordedApproval]:
        last = len(self.traces) - 1
        return [
            RecordedApproval(value["name"], value.get("args") or {}, value.get("request") or {}, i < last)
            for i, t in enumerate(self.traces)
            for s in t.spans
            if s.kind == "interrupt" and is_approval(value := s.outputs.get("value"))
        ]

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.history:
            turns = len(self.history)
            notes.append(f"the thread had {turns} earlier turn(s): the replay gets their requests and answers only")
        if clipped := sum(_clipped(s.outputs.get("result")) for s in self.tool_spans):
            notes.append(f"{clipped} recorded tool result(s) were cut when traced (older traces): they are served cut")
        return notes


def load(store: TraceStore, trace_id: str) -> Original:
    """The turn started by ``trace_id``; raises ``UnknownTrace`` or ``NotReplayable``."""
    trace = store.get(trace_id)
    turns = _turns(store, trace)
    index = next(i for i, turn in enumerate(turns) if any(row["trace_id"] == trace_id for row in turn))
    start = turns[index][0]["trace_id"]
    if not trace.input.strip():
        hint = f"; replay {start}, the trace that started its turn" if start != trace_id else ""
        raise NotReplayable(f"trace {trace_id} has no request to send again: it resumed a thread{hint}")
    later = [store.get(row["trace_id"]) for row in turns[index][1:]]
    history = [(turn[0]["input"], turn[-1]["answer"]) for turn in turns[:index]]
    return Original(trace=trace, traces=[trace, *later], history=history)


def _turns(store: TraceStore, trace: Trace) -> list[list[dict[str, Any]]]:
    """The thread's traces (id, input, answer) by turn: one with a request, then the resumes after it."""
    if not trace.thread_id:
        return [[{"trace_id": trace.trace_id, "input": trace.input, "answer": trace.answer}]]
    # TraceStore has no lookup by thread; one scan of its table per replay is cheap enough.
    rows = store.db.query(
        "SELECT trace_id, input, answer FROM traces WHERE thread_id = ? ORDER BY started_at, trace_id",
        (trace.thread_id,),
    )
    turns: list[list[dict[str, Any]]] = []
    for row in rows:
        if row["input"].strip() or not turns:
            turns.append([row])
        else:
            turns[-1].append(row)
    return turns


def _clipped(result: Any) -> bool:
    """Cut by the trace capture, as it did to long tool results before they were kept whole."""
    return isinstance(result, str) and len(result) == TEXT_LIMIT + 1 and result.endswith("…")


def is_approval(value: Any) -> TypeGuard[dict[str, Any]]:
    """Whether an interrupt's value is the approval gate's request."""
    return isinstance(value, dict) and value.get("type") == "tool_approval" and "name" in value


def decided_request(ledger: ApprovalLedger, request_id: str | None) -> ApprovalRequest | None:
    """The original's approval request, once a reviewer decided it (the copy's ledger has it)."""
    try:
        request = ledger.get(request_id or "")
    except UnknownRequest:
        return None
    return request if request.status in DECIDED else None
