"""Driving the replayed turn: the request, then each approval answered as a reviewer answered the original's."""

from __future__ import annotations

import json
import uuid
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from proctor.approvals.ledger import Decision
from proctor.context import RunContext
from proctor.deployment import Deployment
from proctor.pricing import ModelPrice
from proctor.replay.diff import short
from proctor.replay.matching import CallQueue, call_key
from proctor.replay.recording import DECIDED, Original, RecordedApproval, decided_request, is_approval
from proctor.tracing import Trace, TraceCapture


class Turn:
    """The request, then each approval answered the way a reviewer answered the original's."""

    def __init__(self, graph: Any, original: Original, deployment: Deployment) -> None:
        self.graph, self.original, self.ledger = graph, original, deployment.ledger
        self.prices: dict[str, ModelPrice] = deployment.settings.prices
        self.specs = {spec.name: spec for spec in deployment.tool_specs}
        self.thread = {"configurable": {"thread_id": f"replay-{uuid.uuid4()}"}}
        self.metadata = {"user_id": original.trace.user_id, "release_id": deployment.release_id}
        # The replay acts for the original's requester, as the original did.
        self.context = RunContext(
            requester=deployment.directory.requester(original.trace.user_id),
            thread_id=self.thread["configurable"]["thread_id"],
            release_id=deployment.release_id or None,
        )
        self.recorded: CallQueue[RecordedApproval] = CallQueue()
        for approval in original.approvals:
            self.recorded.put(call_key(approval.tool, approval.args, self.specs), approval)
        self._fates: CallQueue[str] = CallQueue()
        self.stops: list[str] = []

    def run(self) -> list[Trace]:
        """The turn's traces: the run, then one per resume."""
        traces = [self._invoke({"messages": _messages(self.original)})]
        while traces[-1].status != "error" and (waiting := self.graph.get_state(self.thread).interrupts):
            answers = {pending.id: answer for pending in waiting if (answer := self._answer(pending.value)) is not None}
            if len(answers) < len(waiting):
                break
            traces.append(self._invoke(Command(resume=answers)))
        return traces

    def fate(self, tool: str, args: dict[str, Any]) -> str:
        """What became of an approval the replay stopped for, in order."""
        return self._fates.take(call_key(tool, args, self.specs)) or ""

    def _invoke(self, step: Any) -> Trace:
        capture = TraceCapture()
        run_id = uuid.uuid4()
        metadata = {**self.metadata, "trace_id": str(run_id)}
        try:
            config = {**self.thread, "run_id": run_id, "callbacks": [capture], "metadata": metadata}
            self.graph.invoke(step, config, context=self.context)
        except Exception:
            if capture.trace_id is None:
                raise  # the graph never started: a fault of the replay itself
            # Otherwise a failed run is an outcome like any other: its trace records the error.
        return capture.finish(self.prices, thread_id=self.thread["configurable"]["thread_id"])

    def _answer(self, value: Any) -> dict[str, Any] | None:
        """The resume value for an approval the original had decided; else None, noting why it stops."""
        if not is_approval(value):
            self.stops.append(f"stopped: would wait for input: {short(str(value))}")
            return None
        args = value.get("args") or {}
        key = call_key(value["name"], args, self.specs)
        recorded = self.recorded.take(key)
        decided = decided_request(self.ledger, recorded.request_id) if recorded and recorded.resumed else None
        if decided is None:
            fate = "waits for approval, as the original did" if recorded else "would wait for approval"
            why = (value.get("request") or {}).get("why")
            self._fates.put(key, fate)
            self.stops.append(f"stopped: {value['name']}({json.dumps(args)}) {fate}" + (f": {why}" if why else ""))
            return None
        self._fates.put(key, f"{decided.status} by {decided.decided_by}, as recorded")
        decision = Decision(
            type=DECIDED[decided.status],
            reviewer=decided.decided_by or "",
            args=decided.decided_args,
            reason=decided.reason,
        )
        return decision.model_dump()  # the gate records it in the copy's ledger, after every reviewer check


def _messages(original: Original) -> list[BaseMessage]:
    """Earlier turns as plain request and answer, then the request itself."""
    history: list[BaseMessage] = []
    for request, answer in original.history:
        history += [HumanMessage(request), AIMessage(answer)]
    return [*history, HumanMessage(original.trace.input)]
