"""LangGraph's ``PostgresSaver`` as proctor opens it: pooled, and async too."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from proctor.checkpoints import AsyncOnThreads

POOL_SIZE = 10


class PostgresCheckpointer(AsyncOnThreads, PostgresSaver):
    """``PostgresSaver`` serving sync and async callers; it also prunes."""

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)


def open_postgres_checkpointer(url: str) -> PostgresCheckpointer:
    """On a connection pool, so concurrent runs do not queue on one connection; several
    processes on the same database serve the same threads."""
    pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_SIZE,
        # What PostgresSaver requires of its connections.
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=ConnectionPool.check_connection,
        open=True,
    )
    saver = PostgresCheckpointer(pool)
    saver.setup()
    return saver
