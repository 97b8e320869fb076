"""The graph ``langgraph dev`` serves (see langgraph.json), as a factory called for each run.

Runs take the request path every entry point takes (``proctor.request_path``): each thread runs on
the release pinned to it at its first run, so activating or rolling back a release needs no server
restart, and an interrupted thread resumes on the release it started on. The server brings its
own checkpointer. The graph traces each run itself, into proctor's store and LangSmith when
configured (``proctor.tracing.graph``).

Every run's context is written by the server's auth (``proctor.server_auth``) from the
authenticated identity, over anything the client sent; the factory reads its release from it.
"""

from __future__ import annotations

import asyncio
from functools import cache

from langchain_core.runnables import RunnableConfig
from langgraph_sdk.runtime import ServerRuntime

from proctor.context import run_context
from proctor.deployment import Deployment
from proctor.request_path import RequestPath
from proctor.settings import Settings
from proctor.tracing.graph import TracedGraph


@cache
def packaged() -> Deployment:
    """The packaged deployment of this server process (the web routes share it)."""
    return Deployment(Settings())


@cache
def request_path() -> RequestPath:
    """This server process's request path (its auth writes each run's context through it)."""
    return RequestPath(packaged(), checkpointer=False)


def _release_of(config: RunnableConfig) -> str:
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if not thread_id:
        return ""  # schema and assistant endpoints: no run, nothing to pin
    return request_path().release_of(str(thread_id))


async def graph(config: RunnableConfig, runtime: ServerRuntime) -> TracedGraph:
    execution = runtime.execution_runtime  # None when nothing runs: state, schemas
    context = None if execution is None else run_context(execution, config)
    # The release store and a first build touch the database: keep them off the event loop.
    release = context.release_id or "" if context else await asyncio.to_thread(_release_of, config)
    return await asyncio.to_thread(request_path().graph_of, release)
