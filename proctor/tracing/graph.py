"""The compiled supervisor that traces its own runs, however they are started.

``invoke``, ``ainvoke``, ``batch``, ``stream_events`` and the LangGraph server all run through
``stream`` or ``astream``, so overriding those two traces every entry point: each run gets a
``TraceCapture`` (and LangSmith's tracer when configured), its trace metadata from the run
context, and its trace saved when it ends. A run whose config already carries a capture (the
runner's, through ``recording``; a replay's; a run nested in a traced one) is recorded by
whoever put it there, so no run is traced twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from proctor.context import RunContext, entry_context
from proctor.settings import Settings
from proctor.tracing.capture import TraceCapture
from proctor.tracing.record import arecord_run, handlers, record_run
from proctor.tracing.settings import TraceSettings


@dataclass(frozen=True)
class GraphTracing:
    """Where a graph's runs are traced: the store and prices of ``settings``, LangSmith per ``trace``."""

    settings: Settings
    trace: TraceSettings
    release_id: str = ""  # the release the graph was built from ('' for the packaged defaults)


class TracedGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """A ``CompiledStateGraph`` whose every run is a trace in proctor's store (see the module)."""

    def __init__(self, *, tracing: GraphTracing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracing = tracing  # an init argument, so ``copy`` and ``with_config`` keep it

    @classmethod
    def of(cls, compiled: CompiledStateGraph[Any, Any, Any, Any], tracing: GraphTracing) -> TracedGraph:
        # What ``Pregel.copy`` does, into this class: a compiled graph's attributes are its init arguments.
        attrs = {k: v for k, v in vars(compiled).items() if k != "__orig_class__"}
        return cls(**attrs, tracing=tracing)

    def run_config(self, config: RunnableConfig | None, context: Any) -> RunnableConfig:
        """``config`` with the run's id and its trace metadata, written from the run context (whom
        the run serves, for proctor's store and LangSmith alike), over anything the caller set."""
        given: dict[str, Any] = dict(config or {})
        run_id = given.get("run_id") or uuid.uuid4()
        known: RunContext = entry_context(context, given)
        metadata = {
            **(given.get("metadata") or {}),
            "user_id": known.requester.id,
            "trace_id": str(run_id),
            "release_id": self.tracing.release_id,
        }
        return cast(RunnableConfig, {**given, "run_id": run_id, "metadata": metadata})

    @contextmanager
    def recording(
        self, config: RunnableConfig | None = None, context: Any = None
    ) -> Iterator[tuple[RunnableConfig, TraceCapture]]:
        """The config to run one request with, and its capture; the trace is saved when the block ends."""
        with record_run(self.tracing.settings, self.run_config(config, context), self.tracing.trace) as recorded:
            yield recorded

    @asynccontextmanager
    async def arecording(
        self, config: RunnableConfig | None = None, context: Any = None
    ) -> AsyncIterator[tuple[RunnableConfig, TraceCapture]]:
        async with arecord_run(self.tracing.settings, self.run_config(config, context), self.tracing.trace) as recorded:
            yield recorded

    def stream(self, input: Any, config: RunnableConfig | None = None, *, context: Any = None, **kwargs: Any) -> Iterator[Any]:
        if self._recorded(config):
            yield from super().stream(input, config, context=context, **kwargs)
            return
        with self.recording(config, context) as (traced, _):
            yield from super().stream(input, traced, context=context, **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, *, context: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        if self._recorded(config):
            async for chunk in super().astream(input, config, context=context, **kwargs):
                yield chunk
            return
        async with self.arecording(config, context) as (traced, _):
            async for chunk in super().astream(input, traced, context=context, **kwargs):
                yield chunk

    def _recorded(self, config: RunnableConfig | None) -> bool:
        return any(isinstance(h, TraceCapture) for h in (*handlers(self.config), *handlers(config)))
