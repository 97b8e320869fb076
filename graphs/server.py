"""The graph ``langgraph dev`` serves (see langgraph.json), as a factory called for each run.

Each thread runs on the release pinned to it at its first run (the active release, or the
canary for a stable share of users), so activating or rolling back a release needs no server
restart, and an interrupted thread resumes on the release it started on. The server brings
its own checkpointer.
"""

from __future__ import annotations

import asyncio
from functools import cache

from langchain_core.runnables import RunnableConfig

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


def _release_of(config: RunnableConfig) -> str:
    configurable = config.get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if not thread_id:
        return ""  # schema and assistant endpoints: no run, nothing to pin
    key = configurable.get("langgraph_auth_user_id") or thread_id
    return _releases().pin(str(thread_id), key) or ""


async def graph(config: RunnableConfig):
    # The release store and a first build touch the database: keep them off the event loop.
    release = await asyncio.to_thread(_release_of, config)
    compiled = await asyncio.to_thread(_graph_of, release)
    tracing = TraceSettings().model_copy(update={"release": release}) if release else TraceSettings()
    # Every server run is a trace in proctor's store too, not only in LangSmith.
    return compiled.with_config(callbacks=[SelfSavingCapture(packaged().settings, tracing)])
