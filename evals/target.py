"""The evaluation target: one golden task through the real supervisor, on the task's own desk copy."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from proctor.checkpoints import SqliteCheckpointer
from proctor.evals.desks import DeskCopies
from proctor.deployment import Deployment
from proctor.releases.bundle import Release
from proctor.runner import Proctor


class ToolAttempts(BaseCallbackHandler):
    """Counts starts per tool call: the recorder keeps only a call's last attempt, so retries show here."""

    run_inline = True

    def __init__(self) -> None:
        self.starts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kw: Any) -> None:
        with self._lock:
            self.starts[kw.get("tool_call_id") or str(run_id)] += 1

    @property
    def retries(self) -> int:
        return sum(n - 1 for n in self.starts.values())


# A configure hook adds the handler to every run started while the variable is set, without
# changing how Proctor builds its run config.
_attempts: ContextVar[ToolAttempts | None] = ContextVar("proctor_eval_tool_attempts", default=None)
register_configure_hook(_attempts, inheritable=True)


@contextmanager
def counting_attempts() -> Iterator[ToolAttempts]:
    attempts = ToolAttempts()
    token = _attempts.set(attempts)
    try:
        yield attempts
    finally:
        _attempts.reset(token)


def make_target(desks: DeskCopies, release: Release | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``inputs`` -> outputs holding the ``RunResult``, its latency and retries, and the desk it ran on.

    With ``release``, each task runs on that release's bundle (prompts, models, policy, guards).
    """

    def run_task(inputs: dict[str, Any]) -> dict[str, Any]:
        settings = desks.fresh(inputs["task_id"])
        desk = Proctor(deployment=Deployment(settings, release=release))
        graph = desk.graph  # built before the clock starts: latency is what a caller of a running desk sees
        try:
            with counting_attempts() as attempts:
                start = time.perf_counter()
                result = desk.run(inputs["input"], user_id=inputs.get("user"))
                latency = time.perf_counter() - start
        finally:
            # Hundreds of tasks in one process: close each checkpointer rather than wait for the GC.
            saver = graph.checkpointer
            assert isinstance(saver, SqliteCheckpointer)  # each task's copy checkpoints in its data dir
            saver.conn.close()
        return {
            "result": result.model_dump(mode="json"),
            "latency_s": round(latency, 4),
            "retries": attempts.retries,
            "data_dir": str(settings.data_dir),
        }

    return run_task
