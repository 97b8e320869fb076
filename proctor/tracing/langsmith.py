"""The same run tree to LangSmith, only when asked, and never at the cost of a run or of process exit.

LangSmith's client sends traces from a background thread that is not a daemon: at interpreter exit
Python waits for it, and it drains its whole queue with fixed (3 s, 10 s) timeouts and three attempts
per batch. Against an endpoint that accepts connections but never answers that was measured at
146 s for three runs. So the client gets a session that caps every request's timeout and, once the
interpreter is exiting, gives pending sends ``langsmith_exit_grace_s`` in total and then fails them
at once. Runs never wait either way: the client enqueues without blocking and drops when full.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any

import langsmith
import requests
from langchain_core.tracers.langchain import LangChainTracer
from urllib3.util.retry import Retry

from proctor.tracing.settings import TraceSettings


class ExitAwareSession(requests.Session):
    """Caps each request's timeout; after the main thread has ended, shares one exit deadline."""

    def __init__(self, timeout_s: float, exit_grace_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.exit_grace_s = exit_grace_s
        self._exit_deadline: float | None = None

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        timeout = self.timeout_s
        if not threading.main_thread().is_alive():  # the interpreter is shutting down
            if self._exit_deadline is None:
                self._exit_deadline = time.monotonic() + self.exit_grace_s
            remaining = self._exit_deadline - time.monotonic()
            if remaining <= 0:
                raise requests.ConnectionError("process exiting: unsent LangSmith traces dropped")
            timeout = min(timeout, remaining)
        kwargs["timeout"] = timeout
        return super().request(method, url, *args, **kwargs)


def langsmith_client(settings: TraceSettings) -> langsmith.Client:
    """An explicit client: never the default one, whose ``/info`` call and retries can hang exit."""
    assert settings.langsmith_api_key is not None
    return _client(
        settings.langsmith_endpoint,
        settings.langsmith_api_key.get_secret_value(),
        settings.langsmith_timeout_s,
        settings.langsmith_exit_grace_s,
    )


@lru_cache(maxsize=4)
def _client(api_url: str, api_key: str, timeout_s: float, exit_grace_s: float) -> langsmith.Client:
    # One per process and endpoint: each client owns a background thread.
    timeout_ms = int(timeout_s * 1000)
    return langsmith.Client(
        api_url=api_url,
        api_key=api_key,
        auto_batch_tracing=True,  # runs enqueue and return; a thread sends
        timeout_ms=timeout_ms,
        # No transport-level retry on timeouts: langsmith already tries each batch three times.
        retry_config=Retry(
            total=2,
            connect=0,
            read=0,
            status_forcelist=[429, 502, 503, 504],
            allowed_methods=None,
            backoff_factor=0.5,
            raise_on_status=False,
        ),
        session=ExitAwareSession(timeout_s, exit_grace_s),
    )


def langsmith_callbacks(settings: TraceSettings | None = None) -> list[LangChainTracer]:
    """A LangSmith tracer when ``LANGSMITH_API_KEY`` is set and ``LANGSMITH_TRACING=true``, else none."""
    settings = settings or TraceSettings()
    if not settings.langsmith_enabled:
        return []
    return [LangChainTracer(client=langsmith_client(settings), project_name=settings.langsmith_project)]


def flush_langsmith(settings: TraceSettings | None = None, timeout_s: float = 5.0) -> None:
    """Wait at most ``timeout_s`` for queued traces to be sent (e.g. before a short-lived command ends)."""
    settings = settings or TraceSettings()
    if settings.langsmith_enabled:
        langsmith_client(settings).flush(timeout=timeout_s)
