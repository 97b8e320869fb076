"""Servers for tests: the LangGraph dev server (also for benchmarks/load_test.py) and Postgres.

``langgraph dev`` resolves the paths in langgraph.json against its working directory and
keeps its state in ``.langgraph_api/`` there. So the server runs in a scratch directory with a
copy of the repo's langgraph.json whose relative paths are made absolute: it serves exactly
the repo's graphs (and any http app or auth it names) and leaves nothing in the repo.

Reuse in a test module::

    from tests.servers import GRAPH_ID, dev_server, server_client  # noqa: F401  (pytest fixtures)

    async def test_something(server_client):
        thread = await server_client.threads.create()
        await server_client.runs.wait(thread["thread_id"], GRAPH_ID, input=...)

Tests that need other server settings (e.g. ``PROCTOR_API_TOKENS``, so a reviewer can resume)
start their own: ``start_dev_server(tmp_path_factory.mktemp("x"), env={...})`` in a module
fixture, then ``server.client(token=...)``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from proctor.db import Database
from proctor.settings import Settings
from proctor.tools import prepare_desk

REPO = Path(__file__).resolve().parent.parent
GRAPH_ID = "proctor"  # the graph's name in langgraph.json, usable as an assistant id
STARTUP_LIMIT_S = 90.0
STOP_LIMIT_S = 15.0
# Offline and quiet: no analytics, no version check, no tracing upload.
SERVER_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "PROCTOR_MODEL": "offline",
}
_BANNER = re.compile(r"API: (?:\x1b\[[0-9;]*m)*http://127\.0\.0\.1:(\d+)")


class ServerFailed(RuntimeError):
    """The dev server exited or never became ready; the message ends with its log."""


@dataclass
class DevServer:
    """A running ``langgraph dev``: its URL, working directory, domain database and log."""

    url: str
    workdir: Path
    database_url: str
    log: Path
    process: subprocess.Popen[bytes]

    def desk(self) -> Database:
        """The server's domain database, migrated and seeded as the server does on its first run
        (its graph is built per run), so a test can pick records before running anything."""
        db = Database(self.database_url)
        prepare_desk(db)
        return db

    def client(self, token: str | None = None) -> LangGraphClient:
        """An SDK client for this server (async): anonymous, or with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return get_client(url=self.url, api_key=None, headers=headers)

    def stop(self) -> None:
        """Interrupt the server (its own shutdown: flushes and closes), kill it if it hangs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def absolute_config(config: dict[str, Any], root: Path) -> dict[str, Any]:
    """langgraph.json with every relative path ("." or "./x", also "./x.py:obj") made absolute."""

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, str) and (value == "." or value.startswith(("./", "../"))):
            return str((root / value).resolve()) + ("/" if value.endswith("/") else "")
        return value

    return fix(config)


def start_dev_server(workdir: Path, env: Mapping[str, str] | None = None, options: Sequence[str] = ()) -> DevServer:
    """Start ``langgraph dev`` on a free loopback port; return once it answers on the port it chose.

    ``env`` adds to (or overrides) the server's environment, e.g. ``PROCTOR_DATABASE_URL``;
    ``options`` go to ``langgraph dev``, e.g. ``["--n-jobs-per-worker", "4"]``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = absolute_config(json.loads((REPO / "langgraph.json").read_text()), REPO)
    (workdir / "langgraph.json").write_text(json.dumps(config, indent=2))
    log = workdir / "server.log"
    # Inherited PROCTOR_* settings could point the server at real databases or a real model.
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    server_env.update(SERVER_ENV, PROCTOR_DATA_DIR=str(workdir / "data"), **(env or {}))
    database_url = Settings(data_dir=workdir / "data", database_url=server_env.get("PROCTOR_DATABASE_URL")).domain_url
    command = [
        str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload",
        "--host", "127.0.0.1", "--port", str(free_port()), "--config", str(workdir / "langgraph.json"), *options,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=server_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = DevServer("", workdir, database_url, log, process)
    try:
        server.url = _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_ready(server: DevServer) -> str:
    """The URL of the port the server announced (it silently moves if the port was taken),
    once ``/ok`` answers there."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"langgraph dev exited with {server.process.returncode}:\n{_tail(server.log)}")
        found = _BANNER.search(server.log.read_text(errors="replace"))
        if found and _answers(f"http://127.0.0.1:{found.group(1)}/ok"):
            return f"http://127.0.0.1:{found.group(1)}"
        time.sleep(0.2)
    raise ServerFailed(f"langgraph dev not ready after {STARTUP_LIMIT_S:g} s:\n{_tail(server.log)}")


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One dev server for the session, serving langgraph.json's graphs on SQLite in a temp dir,
    with default settings (no API tokens: anyone may run, nobody may resume)."""
    server = start_dev_server(tmp_path_factory.mktemp("langgraph-dev"))
    yield server
    server.stop()


@pytest.fixture
def server_client(dev_server: DevServer) -> LangGraphClient:
    """An async ``langgraph_sdk`` client for :func:`dev_server` (``server_client`` per test: its
    HTTP connections belong to the test's event loop)."""
    return dev_server.client()


@dataclass(frozen=True)
class PostgresServer:
    """The Postgres server named by ``PROCTOR_TEST_POSTGRES_URL``; tests each get their own database."""

    url: str

    def create_database(self, template: str | None = None) -> str:
        """A new, empty database (or a copy of the one at URL ``template``); returns its URL."""
        name = f"proctor_test_{uuid.uuid4().hex[:12]}"
        copy = f" TEMPLATE {_database_name(template)}" if template else ""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{copy}")
        return urlsplit(self.url)._replace(path=f"/{name}").geturl()

    def drop_database(self, url: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {_database_name(url)} WITH (FORCE)")


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """Skips the test when no Postgres is configured (scripts/test starts one where it can)."""
    url = os.environ.get("PROCTOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PROCTOR_TEST_POSTGRES_URL is not set: scripts/test sets it when PostgreSQL is installed")
    return PostgresServer(url)
