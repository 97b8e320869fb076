"""LangGraph's checkpointer conformance suite on the savers proctor configures (``open_checkpointer``).

``-s`` prints each report. Capabilities a saver does not implement are skipped by the suite;
the expected sets below say which ones each saver has.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate

from proctor.checkpoints import open_checkpointer
from tests.servers import PostgresServer, postgres  # noqa: F401  (fixture)

BASE = {"put", "put_writes", "get_tuple", "list", "delete_thread"}


def registered(name: str, new_url: Callable[[], str], drop: Callable[[str], None]):
    """A conformance factory: each capability suite gets a saver on a fresh, empty store."""

    @checkpointer_test(name=name)
    async def saver() -> AsyncIterator[BaseCheckpointSaver]:
        url = new_url()
        saver = open_checkpointer(url)
        yield saver
        saver.conn.close()  # the SQLite connection, or the Postgres pool
        drop(url)

    return saver


async def conforms(factory, expected: set[str]) -> None:
    report = await validate(factory)
    report.print_report()
    assert report.passed_all_base()
    passed = {name for name, result in report.results.items() if result.passed}
    failed = {name for name, result in report.results.items() if result.passed is False}
    assert (passed, failed) == (expected, set())


async def test_sqlite_checkpointer_conforms(tmp_path: Path) -> None:
    files = itertools.count()
    factory = registered("SqliteCheckpointer", lambda: f"sqlite:///{tmp_path}/{next(files)}.sqlite", lambda url: None)
    await conforms(factory, BASE)


async def test_postgres_checkpointer_conforms(postgres: PostgresServer) -> None:
    factory = registered("PostgresCheckpointer", postgres.create_database, postgres.drop_database)
    await conforms(factory, BASE | {"prune"})
