"""Trace one run end to end: the callbacks to add, then the trace saved, without ever failing the run.

Graphs built by ``build_graph`` wrap every run in this themselves (``proctor.tracing.graph``).

Every trace is written to a spool folder (``<data_dir>/traces.spool``) before the store sees it
and removed once the store has it. So a trace the store cannot take (locked past the busy
timeout, disk full), or a process killed in the middle of a save, leaves the trace spooled; the
next save that gets through drains the spool. Saving replaces by trace id, so a trace saved
twice (by the kill's victim and the drain) is stored once. Text that is not valid Unicode (lone
surrogates) is stored with U+FFFD in its place.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langchain_core.tracers.langchain import LangChainTracer

from proctor.settings import Settings
from proctor.tracing.capture import TraceCapture
from proctor.tracing.langsmith import langsmith_callbacks
from proctor.tracing.models import Trace
from proctor.tracing.settings import TraceSettings
from proctor.tracing.store import TraceStore

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def open_store(url: str, busy_timeout_s: float = 2.0) -> TraceStore:
    """One store per URL and process: opening migrates, which is worth doing once."""
    return TraceStore(url, busy_timeout_s=busy_timeout_s)


def store_for(settings: Settings, tracing: TraceSettings | None = None) -> TraceStore:
    tracing = tracing or TraceSettings()
    return open_store(tracing.store_url(settings), tracing.busy_timeout_s)


@contextmanager
def record_run(
    settings: Settings, config: RunnableConfig, tracing: TraceSettings | None = None
) -> Iterator[tuple[RunnableConfig, TraceCapture]]:
    """Yield ``config`` plus the trace callbacks, and the run's capture; when the block ends (returns
    or raises) save the trace.

    The trace id is ``config["run_id"]``; user and thread come from the config's metadata and
    ``configurable``. Tracing problems are logged, never raised: a run must not fail for its trace.
    """
    tracing = tracing or TraceSettings()
    traced, capture = _attach(config, tracing)
    try:
        yield traced, capture
    finally:
        _save(settings, tracing, capture, config)


@asynccontextmanager
async def arecord_run(
    settings: Settings, config: RunnableConfig, tracing: TraceSettings | None = None
) -> AsyncIterator[tuple[RunnableConfig, TraceCapture]]:
    """``record_run`` for async runs: the save (SQLite, files) runs off the event loop."""
    tracing = tracing or TraceSettings()
    traced, capture = _attach(config, tracing)
    try:
        yield traced, capture
    finally:
        # Awaited, so the trace is stored when the run returns; shielded, so a cancelled run's
        # trace is still saved (the save goes on in its thread either way).
        await asyncio.shield(asyncio.to_thread(_save, settings, tracing, capture, config))


def _attach(config: RunnableConfig, tracing: TraceSettings) -> tuple[RunnableConfig, TraceCapture]:
    """``config`` with a new capture (and LangSmith's tracer when configured and not already there)."""
    capture = TraceCapture()
    callbacks: list[BaseCallbackHandler] = [capture]
    if not any(isinstance(h, LangChainTracer) for h in handlers(config)):
        try:
            callbacks.extend(langsmith_callbacks(tracing))
        except Exception:
            log.exception("LangSmith tracing is configured but could not start; tracing to the store only")
    # merge_configs keeps the caller's callbacks, a list or a parent run's manager alike.
    return merge_configs(config, {"callbacks": callbacks}), capture


def handlers(config: RunnableConfig | None) -> list[BaseCallbackHandler]:
    """The callback handlers a config carries: a list, or a (parent run's) callback manager's."""
    callbacks = (config or {}).get("callbacks")
    if isinstance(callbacks, BaseCallbackManager):
        return list(callbacks.handlers)
    return list(callbacks or [])


def _save(settings: Settings, tracing: TraceSettings, capture: TraceCapture, config: RunnableConfig) -> None:
    if capture.trace_id is None:
        return  # the graph never started: there is no run to trace
    try:
        trace = capture.finish(
            settings.prices,
            release=tracing.release,
            user_id=(config.get("metadata") or {}).get("user_id"),
            thread_id=(config.get("configurable") or {}).get("thread_id"),
        )
        text, trace = serialised(trace)
    except Exception:
        log.exception("could not build the trace of run %s", capture.trace_id)
        return
    folder = spool_dir(settings)
    try:
        path: Path | None = spool_text(trace.trace_id, text, folder)  # first: a kill during the save keeps it
    except OSError as exc:
        path = None
        log.warning("trace %s could not be spooled (%s); saving it directly", trace.trace_id, exc)
    try:
        store = open_store(tracing.store_url(settings), tracing.busy_timeout_s)
        store.save(trace)
    except Exception as exc:  # noqa: BLE001 -- a locked, full or unreachable store must not fail the run
        if path is None:
            log.error("trace %s lost: the store failed (%s), so did the spool", trace.trace_id, exc)
        else:
            log.warning("trace %s kept in %s until the store takes it: %s", trace.trace_id, path, exc)
        return
    if path is not None:
        path.unlink(missing_ok=True)
    try:
        drain_spool(store, folder)
    except Exception as exc:  # noqa: BLE001 -- what is still spooled waits for the next run
        log.warning("spooled traces wait for the next run: %s", exc)


def serialised(trace: Trace) -> tuple[str, Trace]:
    """The trace as JSON, and the trace to store: with lone surrogates replaced when it had any."""
    try:
        return trace.model_dump_json(fallback=str), trace
    except ValueError:  # PydanticSerializationError: text that UTF-8 cannot encode
        clean = Trace.model_validate(_scrub(trace.model_dump()))
        return clean.model_dump_json(fallback=str), clean


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def spool_dir(settings: Settings) -> Path:
    return settings.data_dir / "traces.spool"


def spool(trace: Trace, folder: Path) -> Path:
    text, trace = serialised(trace)
    return spool_text(trace.trace_id, text, folder)


def spool_text(trace_id: str, text: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{trace_id}.json"
    tmp = folder / f"{trace_id}.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a trace
    return path


def drain_spool(store: TraceStore, folder: Path) -> None:
    """Save spooled traces (oldest first), deleting each file only once its trace is stored."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        try:
            trace = Trace.model_validate_json(path.read_text())
        except ValueError:
            log.error("spooled trace %s is unreadable; renamed to .rejected", path)
            path.rename(path.with_suffix(".rejected"))
            continue
        store.save(trace)
        path.unlink(missing_ok=True)  # another process may have drained it meanwhile
