"""Embedded use in one object: ``Proctor(settings).run("text")`` -> a typed ``RunResult``."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command
from pydantic import BaseModel

from proctor.deployment import Deployment
from proctor.context import RunContext
from proctor.errors import InvalidRequest, UnknownThread
from proctor.graphs.front_door import check_request
from proctor.graphs.supervisor import build_graph
from proctor.model_failures import ModelFailure
from proctor.pricing import cost_usd
from proctor.recorder import RunRecorder, ToolCallRecord
from proctor.checkpoints import open_checkpointer
from proctor.releases.store import ReleaseStore
from proctor.settings import Settings
from proctor.tracing import TraceSettings, record_run


# Each step's checkpoint is written before the next step starts: a tool never runs ahead of the
# model reply that asked for it, so a crash cannot make the model ask (and a write run) again.
DURABILITY = "sync"


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class RunResult(BaseModel):
    """What one request did. The ``--json`` output of ``proctor run``."""

    thread_id: str
    trace_id: str
    status: Literal["done", "interrupted", "failed"]
    route: str | None
    answer: str
    tool_calls: list[ToolCallRecord]
    usage: Usage
    model: str
    interrupts: list[Any] = []
    release: str | None = None
    error: ModelFailure | None = None  # why the status is "failed": the model endpoint's failure


class Proctor:
    """The supervisor with its checkpointer, plus the bookkeeping callers want around a run.

    Each thread runs on one release for its whole life: the one chosen (active or canary) at its
    first run, pinned in the database. Graphs are built once per release and cached: releases
    are immutable, so activating or rolling back takes effect on the next new thread at once.
    """

    def __init__(self, settings: Settings | None = None, *, deployment: Deployment | None = None) -> None:
        self.deployment = deployment or Deployment(settings or Settings())  # the packaged defaults
        self.settings = self.deployment.settings
        self.tracing = TraceSettings()
        self._graphs: dict[str, Any] = {}

    @cached_property
    def checkpointer(self):
        return open_checkpointer(self.settings.checkpoints_url)

    @cached_property
    def releases(self) -> ReleaseStore:
        return ReleaseStore(self.deployment.db, reports_dir=self.settings.releases.reports_dir(self.settings.data_dir))

    @property
    def graph(self):
        """The graph of the packaged defaults (threads started while no release was active)."""
        return self.graph_of("")

    def graph_for(self, thread_id: str, key: str | None = None):
        """The graph of the release ``thread_id`` is pinned to; a new thread is pinned now, by ``key``."""
        return self.graph_of(self.release_of(thread_id, key))

    def release_of(self, thread_id: str, key: str | None = None) -> str:
        """The release id a thread runs on ('' for the packaged defaults)."""
        return self.releases.pin(thread_id, key or thread_id) or ""

    def graph_of(self, release_id: str):
        if release_id not in self._graphs:
            deployment = self.deployment
            if release_id:
                deployment = Deployment(self.deployment.settings, release=self.releases.get(release_id))
            self._graphs[release_id] = build_graph(deployment=deployment, checkpointer=self.checkpointer)
        return self._graphs[release_id]

    def run(self, text: str, *, user_id: str | None = None, thread_id: str | None = None) -> RunResult:
        """Run one request for ``user_id``. Embedded, the caller vouches for who that is: proctor
        trusts it as the requester (quotas, ownership, approvals); authenticate before calling."""
        graph, config, context, recorder = self._prepare(text, user_id, thread_id)
        with record_run(self.settings, config, self._tracing(config)) as traced:
            graph.invoke(self._input(text), traced, context=context, durability=DURABILITY)
        return self._result(graph, config, recorder)

    async def arun(self, text: str, *, user_id: str | None = None, thread_id: str | None = None) -> RunResult:
        graph, config, context, recorder = self._prepare(text, user_id, thread_id)
        with record_run(self.settings, config, self._tracing(config)) as traced:
            await graph.ainvoke(self._input(text), traced, context=context, durability=DURABILITY)
        return self._result(graph, config, recorder)

    def resume(self, thread_id: str, value: Any, *, actor: str | None = None) -> RunResult:
        """Continue an interrupted thread with ``Command(resume=value)``, on the thread's own release,
        for the requester the thread serves (``actor``: who resumes it, e.g. the reviewer)."""
        if not self.thread_exists(thread_id):
            raise UnknownThread(f"no conversation has thread id {thread_id!r}")
        release = self.release_of(thread_id)
        graph = self.graph_of(release)
        requester = self.deployment.directory.requester(self.deployment.threads.get(thread_id)[1])
        context = RunContext(
            requester=requester,
            thread_id=thread_id,
            release_id=release or None,
            actor=self.deployment.directory.requester(actor) if actor else None,
        )
        config, recorder = self._config(context)
        with record_run(self.settings, config, self._tracing(config)) as traced:
            graph.invoke(Command(resume=value), traced, context=context, durability=DURABILITY)
        return self._result(graph, config, recorder)

    def thread_exists(self, thread_id: str) -> bool:
        return self.checkpointer.get_tuple({"configurable": {"thread_id": thread_id}}) is not None

    def _prepare(
        self, text: str, user_id: str | None, thread_id: str | None
    ) -> tuple[Any, dict, RunContext, RunRecorder]:
        _check_types(text=(text, False), user_id=(user_id, True), thread_id=(thread_id, True))
        check_request(text, self.settings.max_request_chars)
        if thread_id is not None and not self.thread_exists(thread_id):
            raise UnknownThread(f"no conversation has thread id {thread_id!r}; omit the thread id to start one")
        if user_id is not None and not isinstance(user_id, str):
            raise InvalidRequest(f"user_id must be a string or None, not {type(user_id).__name__}")
        requester = self.deployment.directory.requester(user_id)
        thread_id = thread_id or str(uuid.uuid4())
        self.deployment.threads.pin(thread_id, requester)  # a conversation is never continued as someone else
        release = self.release_of(thread_id, requester.id)
        context = RunContext(requester=requester, thread_id=thread_id, release_id=release or None)
        config, recorder = self._config(context)
        return self.graph_of(release), config, context, recorder

    @staticmethod
    def _config(context: RunContext) -> tuple[dict, RunRecorder]:
        """One run's config: its trace id is the root run id; the recorder collects its calls. The
        metadata repeats the context for traces (LangSmith's included), which read metadata."""
        recorder = RunRecorder()
        run_id = uuid.uuid4()
        config = {
            "configurable": {"thread_id": context.thread_id},
            "run_id": run_id,
            "callbacks": [recorder],
            "metadata": {
                "user_id": context.requester.id,
                "trace_id": str(run_id),
                "release_id": context.release_id or "",
            },
        }
        return config, recorder

    def _tracing(self, config: dict) -> TraceSettings:
        release = config["metadata"]["release_id"]
        return self.tracing.model_copy(update={"release": release}) if release else self.tracing

    @staticmethod
    def _input(text: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(text.strip())]}

    def _result(self, graph: Any, config: dict, recorder: RunRecorder) -> RunResult:
        state = graph.get_state(config)
        messages = state.values.get("messages", [])
        answer = _answer(messages, [i.value for i in state.interrupts])
        inp = sum(c.input_tokens for c in recorder.model_calls)
        out = sum(c.output_tokens for c in recorder.model_calls)
        cost = sum(cost_usd(self.settings.prices, c.model, c.input_tokens, c.output_tokens) for c in recorder.model_calls)
        models = sorted({c.model for c in recorder.model_calls})
        failure = ModelFailure.model_validate(recorder.model_failures[0]) if recorder.model_failures else None
        return RunResult(
            thread_id=config["configurable"]["thread_id"],
            trace_id=str(config["run_id"]),
            status="interrupted" if state.interrupts else "failed" if failure else "done",
            route=state.values.get("route"),
            answer=answer,
            tool_calls=list(recorder.tool_calls.values()),
            usage=Usage(input_tokens=inp, output_tokens=out, cost_usd=round(cost, 6)),
            model=", ".join(models) or "none",
            interrupts=[i.value for i in state.interrupts],
            release=config["metadata"]["release_id"] or None,
            error=failure,
        )


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


def _answer(messages: list, interrupts: list) -> str:
    """The current turn's answer: text after the last human message, or what it waits for."""
    if interrupts:
        waiting = "; ".join(
            f"{i['request']['id']} ({i['request']['why']})" for i in interrupts if isinstance(i, dict) and "request" in i
        )
        return f"This needs a human decision before I go on: {waiting or 'an approval'}. I will continue once a reviewer decides."
    turn = messages[next((i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)), -1) + 1 :]
    return next((m.text for m in reversed(turn) if isinstance(m, AIMessage) and m.text), "")
