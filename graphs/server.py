"""The graph ``langgraph dev`` serves (see langgraph.json), as a factory called for each run.

Each thread runs on the release pinned to it at its first run (the active release, or the
canary for a stable share of users), so activating or rolling back a release needs no server
restart, and an interrupted thread resumes on the release it started on. The server brings
its own checkpointer.

Every run's context is written by the server's auth (``proctor.server_auth``) from the
authenticated identity, over anything the client sent; the factory reads it (release, trace user).
"""

from __future__ import annotations

import asyncio
from functools import cache

from langchain_core.runnables import RunnableConfig
from langgraph_sdk.runtime import ServerRuntime

from proctor.context import RunContext, run_context
from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.releases.store import ReleaseStore
from proctor.settings import Settings
from proctor.tracing.record import SelfSavingCapture
from proctor.tracing.settings import TraceSettings


@cache
def packaged() -> Deployment:
    """The packaged deployment of this server process (the web routes share it)."""
    return Deployment(Settings())


@cache
def _releases() -> ReleaseStore:
    return ReleaseStore(packaged().db)


@cache
def _graph_of(release_id: str):
    deployment = packaged()
    if release_id:
        deployment = Deployment(deployment.settings, release=_releases().get(release_id))
    return build_graph(deployment=deployment, checkpointer=False)


def pin_release(thread_id: str, key: str) -> str:
    """The release a thread runs on, chosen by ``key`` (its requester) at its first run."""
    return _releases().pin(thread_id, key) or ""


def _release_of(config: RunnableConfig) -> str:
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if not thread_id:
        return ""  # schema and assistant endpoints: no run, nothing to pin
    return pin_release(str(thread_id), str(thread_id))


def _context(config: RunnableConfig, runtime: ServerRuntime) -> RunContext | None:
    """The context the server's auth wrote for this run (None when nothing runs: state, schemas)."""
    execution = runtime.execution_runtime
    return None if execution is None else run_context(execution, config)


async def graph(config: RunnableConfig, runtime: ServerRuntime):
    context = _context(config, runtime)
    # The release store and a first build touch the database: keep them off the event loop.
    release = context.release_id or "" if context else await asyncio.to_thread(_release_of, config)
    compiled = await asyncio.to_thread(_graph_of, release)
    tracing = TraceSettings().model_copy(update={"release": release}) if release else TraceSettings()
    user = context.requester.id if context else None
    # Every server run is a trace in proctor's store too, not only in LangSmith.
    return compiled.with_config(callbacks=[SelfSavingCapture(packaged().settings, tracing, user_id=user)])
