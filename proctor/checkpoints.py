"""Checkpointers: LangGraph's own savers, opened from a URL (``sqlite:///PATH`` or ``postgresql://...``)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from proctor.db import is_postgres, sqlite_path, unusable_file


if TYPE_CHECKING:
    _SyncSaver = BaseCheckpointSaver[Any]  # what the mixin is mixed into, for the checker
else:
    _SyncSaver = object


class AsyncOnThreads(_SyncSaver):
    """The async saver API on top of a thread-safe sync saver: each call runs on a worker thread.

    One saver object then serves ``invoke``/``stream`` and ``ainvoke``/``astream`` alike.
    """

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[CheckpointTuple]:
        for item in await asyncio.to_thread(lambda: list(self.list(config, **kwargs))):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Sequence[Any], task_id: str, task_path: str = "") -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def aget_delta_channel_history(self, *, config: Any, channels: Sequence[str]) -> Mapping[str, Any]:
        return await asyncio.to_thread(lambda: self.get_delta_channel_history(config=config, channels=channels))


class SqliteCheckpointer(AsyncOnThreads, SqliteSaver):
    """LangGraph's ``SqliteSaver`` (it serialises access with its own lock), async too."""


def open_checkpointer(url: str) -> BaseCheckpointSaver:
    if is_postgres(url):
        from proctor.postgres_checkpoints import open_postgres_checkpointer  # the `postgres` extra

        return open_postgres_checkpointer(url)
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    with unusable_file(path):
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteCheckpointer(conn)
        saver.setup()
    return saver
