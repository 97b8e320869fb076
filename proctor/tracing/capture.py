"""Watch one run through LangChain callbacks, cheaply: its span tree, and what ``RunResult`` reports.

LangSmith's tracer serialises every chain's full inputs and outputs (the whole graph state, at
every node). This handler keeps only what a trace row, ``traces show`` and ``proctor replay`` need:
names, timing, status, errors, tool arguments and results, model names, token counts, the request
and the answer. The request and tool arguments and results are kept whole, because a replay sends
the request again and serves the recorded results back to the model; everything else is clipped.
Spans are plain slotted objects until ``finish`` validates them once. The same callback keeps
the run's tool calls (retries of one call collapse into its last attempt), model calls and model
failures for ``Proctor.run``'s result: one handler per run, not two.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import Command

from proctor.guards.state import GUARD_EVENT
from proctor.pricing import ModelPrice, cost_usd
from proctor.result import ModelCallRecord, ToolCallRecord
from proctor.tracing.errors import TraceError
from proctor.tracing.models import Span, SpanKind, Status, Trace
from proctor.tracing.values import TEXT_LIMIT, clip, whole
from proctor.tracing.values import class_name as _class_name
from proctor.tracing.values import describe as _describe
from proctor.tracing.values import last_text as _last_text
from proctor.tracing.values import route_of as _route

__all__ = ["TEXT_LIMIT", "TraceCapture", "clip", "whole"]
ERROR_LIMIT = 500  # characters of a failed tool call's error in ``RunResult``


class _Span:
    __slots__ = ("ended", "error", "input_tokens", "inputs", "kind", "model", "name", "output_tokens", "outputs",
                 "parent_id", "span_id", "started", "status")  # fmt: skip

    def __init__(self, span_id: str, parent_id: str | None, kind: SpanKind, name: str, inputs: dict) -> None:
        self.span_id, self.parent_id, self.kind, self.name, self.inputs = span_id, parent_id, kind, name, inputs
        self.started = time.time()
        self.ended: float | None = None
        self.status: Status = "ok"
        self.outputs: dict[str, Any] = {}
        self.error: str | None = None
        self.input_tokens = self.output_tokens = 0
        self.model: str | None = None


class TraceCapture(BaseCallbackHandler):
    """One per run. Graphs built by ``build_graph`` add one to each run themselves; a run whose
    config already carries one is recorded by whoever put it there. ``finish`` builds the trace.

    Callbacks may arrive from tool threads concurrently: each touches only its own run's entry, and
    single dict operations are atomic, so no lock is needed.
    """

    run_inline = True  # a few attribute writes: never worth a thread hop in async runs
    ignore_retriever = True

    def __init__(self) -> None:
        self._spans: dict[UUID, _Span] = {}
        self._events: list[_Span] = []  # interrupts and guardrail events: instants without a run of their own
        self._root: _Span | None = None
        self._root_error: BaseException | None = None
        self._interrupts: set[str] = set()
        self.metadata: dict[str, Any] = {}
        self.request = ""
        self.answer = ""
        self.route: str | None = None
        self._tool_calls: dict[str, UUID] = {}  # tool call id -> its last attempt's run, in call order
        self.model_calls: list[ModelCallRecord] = []
        self.model_failures: list[dict[str, Any]] = []  # ``model_failure`` guard events' failures, in order

    # chains: the graph, its nodes, subgraphs and middleware hooks
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        name = kw.get("name") or (serialized or {}).get("name") or "chain"
        span = self._open(run_id, parent_run_id, "chain", name, {})
        if span is self._root:
            self.metadata = dict(metadata or {})
            self.request = _last_text(inputs, human=True)
            span.inputs = {"request": self.request}

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is None:
            return
        if span is self._root:
            self.answer = clip(_last_text(outputs, human=False))
            self.route = _route(outputs) or self.route
            span.outputs = {"answer": self.answer, "route": self.route}
        elif self._root is not None and span.parent_id == self._root.span_id and (route := _route(outputs)):
            self.route = self.route or route  # the front door's decision, kept even if the run fails later
            span.outputs = {"route": route}

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is None:
            return
        if isinstance(error, GraphInterrupt):
            span.status = "interrupted"
            self._record_interrupts(span, error)
        elif isinstance(error, GraphBubbleUp):
            return  # a Command to a parent graph (a hand-off): control flow, not a failure
        else:
            span.status, span.error = "error", _describe(error)
            if span is self._root:
                self._root_error = error

    # model calls
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        name = kw.get("name") or _class_name(serialized) or "model"
        span = self._open(run_id, parent_run_id, "llm", name, {"messages": len(messages[0])})
        span.model = (metadata or {}).get("ls_model_name")

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        name = kw.get("name") or _class_name(serialized) or "llm"
        span = self._open(run_id, parent_run_id, "llm", name, {"prompts": len(prompts)})
        span.model = (metadata or {}).get("ls_model_name")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is None:
            return
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None) or {}
                inp, out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
                span.input_tokens += inp
                span.output_tokens += out
                model = (getattr(message, "response_metadata", None) or {}).get("model_name")
                self.model_calls.append(ModelCallRecord(model=model or "unknown", input_tokens=inp, output_tokens=out))
                span.model = model or span.model
                span.outputs = {"text": clip(generation.text)}
                if tool_calls := getattr(message, "tool_calls", None):
                    span.outputs["tool_calls"] = [{"name": c["name"], "args": clip(c["args"])} for c in tool_calls]

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is not None:
            span.status, span.error = "error", _describe(error)

    # tool calls
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        name = (serialized or {}).get("name") or kw.get("name") or "tool"
        self._open(run_id, parent_run_id, "tool", name, {"args": whole(inputs if inputs is not None else input_str)})
        key = kw.get("tool_call_id") or str(run_id)
        self._tool_calls.pop(key, None)  # a retry replaces the earlier attempt, keeping call order
        self._tool_calls[key] = run_id

    def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is None:
            return
        if isinstance(output, Command):
            span.outputs = {"command": clip(output.goto)}
            return
        span.outputs = {"result": whole(getattr(output, "content", output))}
        if getattr(output, "status", "success") == "error":  # a ToolMessage reporting a handled failure
            span.status, span.error = "error", clip(str(getattr(output, "content", "")))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        span = self._close(run_id)
        if span is not None and not isinstance(error, GraphBubbleUp):
            span.status, span.error = "error", _describe(error)

    # guardrail events: proctor.guards emits one custom event each time a guard fires
    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kw: Any) -> None:
        if name != GUARD_EVENT:
            return
        if isinstance(data, Mapping) and data.get("kind") == "model_failure":
            self.model_failures.append(data.get("failure") or {})
        detail = clip(data) if isinstance(data, Mapping) else {"data": clip(data)}
        self._event(self._spans.get(run_id), "guardrail", str(detail.get("kind") or name), detail)

    # what RunResult reports
    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        """Each tool call once (its last attempt), in the order of those attempts."""
        return [_tool_call(self._spans[run_id]) for run_id in list(self._tool_calls.values())]

    # the trace
    @property
    def trace_id(self) -> str | None:
        return self._root.span_id if self._root else None

    def finish(
        self,
        prices: dict[str, ModelPrice],
        *,
        release: str = "",
        user_id: str | None = None,
        thread_id: str | None = None,
    ) -> Trace:
        """The trace of the captured run, priced with ``prices`` (``Settings.prices``)."""
        root = self._root
        if root is None:
            raise TraceError("no run was captured: pass the TraceCapture in config['callbacks']")
        ended = root.ended or time.time()
        spans = [_span(s, prices) for s in sorted([*self._spans.values(), *self._events], key=_started)]
        llm = [s for s in spans if s.kind == "llm"]
        tools = list(dict.fromkeys(s.name for s in spans if s.kind == "tool"))
        # A model failure the run degraded around (proctor.model_failures) still failed the run.
        degraded = any(e.kind == "guardrail" and e.name == "model_failure" for e in self._events)
        if root.status == "error" or degraded:
            status: Status = "error"
        elif self._interrupts:
            status = "interrupted"
        else:
            status = "ok"
        return Trace(
            trace_id=root.span_id,
            started_at=_moment(root.started),
            ended_at=_moment(ended),
            latency_ms=round((ended - root.started) * 1000, 3),
            status=status,
            route=self.route,
            user_id=user_id or self.metadata.get("user_id"),
            thread_id=thread_id or self.metadata.get("thread_id"),
            release=release,
            model=", ".join(sorted({s.model for s in llm if s.model})) or None,
            input_tokens=sum(s.input_tokens for s in llm),
            output_tokens=sum(s.output_tokens for s in llm),
            cost_usd=round(sum(s.cost_usd for s in llm), 8),
            error_class=type(self._root_error).__name__ if self._root_error else "ModelFailure" if degraded else None,
            tools=tools,
            input=self.request,
            answer=self.answer,
            spans=spans,
        )

    def _open(self, run_id: UUID, parent_run_id: UUID | None, kind: SpanKind, name: str, inputs: dict) -> _Span:
        parent = self._spans.get(parent_run_id) if parent_run_id else None
        span = _Span(str(run_id), parent.span_id if parent else None, kind, name, inputs)
        self._spans[run_id] = span
        if self._root is None:
            self._root = span
        return span

    def _close(self, run_id: UUID) -> _Span | None:
        span = self._spans.get(run_id)
        if span is not None:
            span.ended = time.time()
        return span

    def _record_interrupts(self, span: _Span, error: GraphInterrupt) -> None:
        # The same interrupt bubbles through every enclosing graph: one span, at the innermost node.
        for interrupt in error.args[0] if error.args else ():
            key = getattr(interrupt, "id", None) or repr(interrupt)
            if key not in self._interrupts:
                self._interrupts.add(key)
                value = clip(getattr(interrupt, "value", interrupt))
                self._event(span, "interrupt", "interrupt", {"value": value}).status = "interrupted"

    def _event(self, parent: _Span | None, kind: SpanKind, name: str, outputs: dict[str, Any]) -> _Span:
        parent_id = parent.span_id if parent else (self._root.span_id if self._root else None)
        event = _Span(f"{parent_id}:{kind}:{len(self._events)}", parent_id, kind, name, {})
        event.ended, event.outputs = event.started, outputs
        self._events.append(event)
        return event


def _tool_call(span: _Span) -> ToolCallRecord:
    args = span.inputs.get("args")
    failed = span.status == "error"
    error = (span.error or "")[:ERROR_LIMIT] if failed else None
    return ToolCallRecord(name=span.name, args=args if isinstance(args, dict) else {}, ok=not failed, error=error)


def _span(s: _Span, prices: dict[str, ModelPrice]) -> Span:
    cost = cost_usd(prices, s.model or "unknown", s.input_tokens, s.output_tokens) if s.kind == "llm" else 0.0
    return Span(
        span_id=s.span_id,
        parent_id=s.parent_id,
        kind=s.kind,
        name=s.name,
        started_at=_moment(s.started),
        ended_at=_moment(s.ended) if s.ended else None,
        status=s.status,
        inputs=s.inputs,
        outputs=s.outputs,
        error=s.error,
        input_tokens=s.input_tokens,
        output_tokens=s.output_tokens,
        cost_usd=round(cost, 8),
        model=s.model,
    )


def _started(span: _Span) -> float:
    return span.started


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


