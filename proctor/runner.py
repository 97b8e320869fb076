"""Embedded use in one object: ``Proctor(settings).run("text")`` -> a typed ``RunResult``."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, Durability, GraphOutput

from proctor.context import RunContext
from proctor.deployment import Deployment
from proctor.errors import InvalidRequest, UnknownThread
from proctor.graphs.front_door import check_request
from proctor.model_failures import ModelFailure
from proctor.pricing import cost_usd
from proctor.releases.store import ReleaseStore
from proctor.request_path import RequestPath
from proctor.result import RunResult, ToolCallRecord, Usage
from proctor.settings import Settings
from proctor.tracing import TraceSettings
from proctor.tracing.capture import TraceCapture
from proctor.tracing.graph import TracedGraph

__all__ = ["DURABILITY", "Proctor", "RunResult", "ToolCallRecord", "Usage"]

# Each step's checkpoint is written before the next step starts: a tool never runs ahead of the
# model reply that asked for it, so a crash cannot make the model ask (and a write run) again.
DURABILITY: Durability = "sync"


class Proctor:
    """The supervisor on its request path (``proctor.request_path``), plus the bookkeeping callers
    want around a run: the typed ``RunResult``, read from the run's own trace capture.

    Each thread runs on one release for its whole life (see ``RequestPath``); graphs are built once
    per release. Every run is traced by its graph, so a run here is traced exactly once.
    """

    def __init__(self, settings: Settings | None = None, *, deployment: Deployment | None = None) -> None:
        self.deployment = deployment or Deployment(settings or Settings())  # the packaged defaults
        self.settings = self.deployment.settings
        self.path = RequestPath(self.deployment)

    @property
    def tracing(self) -> TraceSettings:
        return self.path.tracing

    @tracing.setter
    def tracing(self, value: TraceSettings) -> None:
        self.path.tracing = value

    @property
    def checkpointer(self) -> BaseCheckpointSaver:
        saver = self.path.checkpointer
        assert saver is not None, "a Proctor's request path opens the configured checkpointer"
        return saver

    @property
    def releases(self) -> ReleaseStore:
        return self.path.releases

    @property
    def graph(self) -> TracedGraph:
        """The graph of the packaged defaults (threads started while no release was active)."""
        return self.path.graph_of("")

    def graph_for(self, thread_id: str, key: str | None = None) -> TracedGraph:
        """The graph of the release ``thread_id`` is pinned to; a new thread is pinned now, by ``key``."""
        return self.path.graph_for(thread_id, key)

    def release_of(self, thread_id: str, key: str | None = None) -> str:
        """The release id a thread runs on ('' for the packaged defaults)."""
        return self.path.release_of(thread_id, key)

    def graph_of(self, release_id: str) -> TracedGraph:
        return self.path.graph_of(release_id)

    def run(self, text: str, *, user_id: str | None = None, thread_id: str | None = None) -> RunResult:
        """Run one request for ``user_id``. Embedded, the caller vouches for who that is: proctor
        trusts it as the requester (quotas, ownership, approvals); authenticate before calling."""
        graph, context = self._prepare(text, user_id, thread_id)
        with graph.recording(_thread(context), context) as (config, capture):
            out = graph.invoke(self._input(text), config, context=context, durability=DURABILITY, version="v2")
        return self._result(graph, config, capture, out)

    async def arun(self, text: str, *, user_id: str | None = None, thread_id: str | None = None) -> RunResult:
        graph, context = self._prepare(text, user_id, thread_id)
        async with graph.arecording(_thread(context), context) as (config, capture):
            out = await graph.ainvoke(self._input(text), config, context=context, durability=DURABILITY, version="v2")
        return self._result(graph, config, capture, out)

    def resume(self, thread_id: str, value: Any, *, actor: str | None = None) -> RunResult:
        """Continue an interrupted thread with ``Command(resume=value)``, on the thread's own release,
        for the requester the thread serves (``actor``: who resumes it, e.g. the reviewer)."""
        if not self.thread_exists(thread_id):
            raise UnknownThread(f"no conversation has thread id {thread_id!r}")
        context = self.path.resume(thread_id, self.deployment.directory.requester(actor) if actor else None)
        graph = self.graph_of(context.release_id or "")
        with graph.recording(_thread(context), context) as (config, capture):
            out = graph.invoke(Command(resume=value), config, context=context, durability=DURABILITY, version="v2")
        return self._result(graph, config, capture, out)

    def thread_exists(self, thread_id: str) -> bool:
        return self.checkpointer.get_tuple({"configurable": {"thread_id": thread_id}}) is not None

    def _prepare(self, text: str, user_id: str | None, thread_id: str | None) -> tuple[TracedGraph, RunContext]:
        _check_types(text=(text, False), user_id=(user_id, True), thread_id=(thread_id, True))
        check_request(text, self.settings.max_request_chars)
        if thread_id is not None and not self.thread_exists(thread_id):
            raise UnknownThread(f"no conversation has thread id {thread_id!r}; omit the thread id to start one")
        if user_id is not None and not isinstance(user_id, str):
            raise InvalidRequest(f"user_id must be a string or None, not {type(user_id).__name__}")
        # A conversation is never continued as someone else (NotPermitted).
        context = self.path.start(thread_id or str(uuid.uuid4()), self.deployment.directory.requester(user_id))
        return self.graph_of(context.release_id or ""), context

    @staticmethod
    def _input(text: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(text.strip())]}

    def _result(self, graph: TracedGraph, config: RunnableConfig, capture: TraceCapture, out: GraphOutput) -> RunResult:
        """The run's result from its own output: the final state values and the interrupts it stopped
        at (what ``get_state`` would read back from the checkpoint just written, without the read)."""
        values = out.value if isinstance(out.value, dict) else {}
        interrupts = [i.value for i in out.interrupts]
        answer = _answer(values.get("messages", []), interrupts)
        calls = capture.model_calls
        prices = graph.tracing.settings.prices  # the release's, as its trace and its budget guards price calls
        cost = sum(cost_usd(prices, c.model, c.input_tokens, c.output_tokens) for c in calls)
        failure = ModelFailure.model_validate(capture.model_failures[0]) if capture.model_failures else None
        return RunResult(
            thread_id=config["configurable"]["thread_id"],
            trace_id=str(config["run_id"]),
            status="interrupted" if interrupts else "failed" if failure else "done",
            route=values.get("route"),
            answer=answer,
            tool_calls=capture.tool_calls,
            usage=Usage(
                input_tokens=sum(c.input_tokens for c in calls),
                output_tokens=sum(c.output_tokens for c in calls),
                cost_usd=round(cost, 6),
            ),
            model=", ".join(sorted({c.model for c in calls})) or "none",
            interrupts=interrupts,
            release=config["metadata"]["release_id"] or None,
            error=failure,
        )


def _thread(context: RunContext) -> RunnableConfig:
    return {"configurable": {"thread_id": context.thread_id}}


def _check_types(**values: tuple[Any, bool]) -> None:
    """Arguments of ``run`` are text (or None where optional): anything else is a typed error."""
    for name, (value, optional) in values.items():
        if value is None and optional:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"{name} must be text{' or None' if optional else ''}, not {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"{name} is not valid UTF-8 text") from None


def _answer(messages: list[AnyMessage], interrupts: list[Any]) -> str:
    """The current turn's answer: text after the last human message, or what it waits for."""
    if interrupts:
        waiting = "; ".join(
            f"{i['request']['id']} ({i['request']['why']})" for i in interrupts if isinstance(i, dict) and "request" in i
        )
        return f"This needs a human decision before I go on: {waiting or 'an approval'}. I will continue once a reviewer decides."
    turn = messages[next((i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)), -1) + 1 :]
    return next((m.text for m in reversed(turn) if isinstance(m, AIMessage) and m.text), "")
