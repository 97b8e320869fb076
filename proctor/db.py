"""One small database layer for every store proctor keeps (domain, approvals, traces).

SQLite by default; Postgres when the URL says so (``postgresql://...``, see
:mod:`proctor.postgres`). Callers write SQLite-flavoured SQL with ``?`` placeholders and read
rows by name or position; both backends give the same all-or-nothing transactions.

SQLite: each call opens its own connection: SQLite connections are cheap and must not cross
threads, and LangGraph runs sync tools on worker threads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from proctor.errors import ProctorError, TransientToolError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DatabaseError(ProctorError):
    """The store is unusable: a bad URL, a newer schema than this code knows."""


@dataclass(frozen=True)
class Migration:
    """One explicit, numbered schema step of one component (e.g. ``desk``, ``traces``)."""

    component: str
    version: int
    sql: str


class Backend(Protocol):
    """How one kind of database gives out transactions and read connections."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def reading(self) -> AbstractContextManager[Any]: ...

    def close(self) -> None: ...


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise DatabaseError(f"unsupported database url {url!r}: expected sqlite:///PATH or postgresql://...")
    return Path(url.removeprefix("sqlite:///"))


class Database:
    """A store with explicit migrations and short transactions: a SQLite file or a Postgres database."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self.path: Path | None = None
        self.backend: Backend
        if is_postgres(url):
            from proctor.postgres import PostgresBackend  # psycopg is the optional `postgres` extra

            self.backend = PostgresBackend(url, timeout=timeout)
        else:
            self.path = sqlite_path(url)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.backend = SqliteBackend(self.path, timeout=timeout)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.path is not None else "postgres"

    def connect(self) -> sqlite3.Connection:
        """A raw SQLite connection (SQLite only), for tools that need SQLite itself."""
        if not isinstance(self.backend, SqliteBackend):
            raise DatabaseError(f"{self.dialect} has no raw SQLite connection")
        return self.backend.connect()

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction: all of it commits, or none of it does.

        Write transactions run one at a time (SQLite's write lock; on Postgres an advisory lock),
        so a read followed by a write inside one cannot race another process. Waiting longer
        than ``timeout`` for the lock raises ``TransientToolError``: retry the whole transaction.
        """
        return self.backend.transaction()

    def reading(self) -> AbstractContextManager[Any]:
        return self.backend.reading()

    def close(self) -> None:
        """Release pooled connections (Postgres); the object can be used again afterwards."""
        self.backend.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return [dict(r) for r in conn.execute(sql, params)]

    def migrate(self, migrations: Sequence[Migration]) -> None:
        """Apply the steps not yet applied, each in its own transaction; refuse a newer store."""
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL,"
                " PRIMARY KEY (component, version))"
            )
        for component in sorted({m.component for m in migrations}):
            steps = sorted((m for m in migrations if m.component == component), key=lambda m: m.version)
            self._migrate_component(component, steps)

    def _migrate_component(self, component: str, steps: list[Migration]) -> None:
        known = steps[-1].version
        with self.transaction() as conn:
            applied = {
                r[0] for r in conn.execute("SELECT version FROM schema_migrations WHERE component = ?", (component,))
            }
            if applied and max(applied) > known:
                raise DatabaseError(
                    f"{self.path or self.dialect}: {component} schema is version {max(applied)}, newer than "
                    f"this proctor knows ({known}); upgrade proctor or use another data dir"
                )
            for step in steps:
                if step.version in applied:
                    continue
                for statement in _statements(step.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
                    (component, step.version),
                )


class SqliteBackend:
    """A SQLite file in WAL mode; writers take the write lock up front (BEGIN IMMEDIATE).

    Each thread keeps one connection: opening one (and its PRAGMAs) costs more than most of
    the short transactions proctor runs. SQLite connections must not cross threads.
    """

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row
        with unusable_file(self.path):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _thread_connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._thread_connection()
        _locked_is_transient(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite already rolled back after e.g. a full disk
                conn.execute("ROLLBACK")
            raise
        try:
            _locked_is_transient(lambda: conn.execute("COMMIT"))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        yield self._thread_connection()

    def close(self) -> None:
        """Close this thread's connection (the last one to close folds the WAL into the file)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


@contextmanager
def unusable_file(path: Path) -> Iterator[None]:
    """A file that is not a SQLite database (or a damaged one) is a typed error naming it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError | sqlite3.IntegrityError):
            raise  # locks, constraints: the file is fine
        raise DatabaseError(
            f"{path} is not a usable SQLite database ({exc}); nothing was changed. "
            "Restore it from a backup, or move it away to start afresh"
        ) from None


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def _locked_is_transient(step: Any) -> Any:
    try:
        return step()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise TransientToolError(f"database busy: {exc}") from exc
        raise
