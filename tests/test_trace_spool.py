"""A trace is never lost: it is spooled before the store sees it, so a process killed (kill -9)
in the middle of a save leaves it spooled, and the next save delivers it exactly once. Text that
is not valid Unicode is traced too."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from proctor.settings import Settings
from proctor.tracing.models import TraceQuery
from proctor.tracing.record import record_run, spool_dir, store_for
from proctor.tracing.settings import TraceSettings
from proctor.tracing.store import TraceStore

CHILD_LIMIT_S = 120.0


def test_kill_9_during_a_save_into_a_locked_store_leaves_the_trace_spooled_then_saved_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = TraceStore(f"sqlite:///{data / 'traces.sqlite'}")  # created and migrated before the lock
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.update(PROCTOR_DATA_DIR=str(data), PROCTOR_TRACE_BUSY_TIMEOUT_S="600", LANGSMITH_TRACING="false")
    holder = sqlite3.connect(data / "traces.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the store is locked: the child's save waits on it
    child = subprocess.Popen(
        [sys.executable, "-m", "proctor.cli", "run", "Where is my order 1001?"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    spool = data / "traces.spool"
    try:
        deadline = time.monotonic() + CHILD_LIMIT_S
        while not list(spool.glob("*.json")):
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never spooled its trace"
            time.sleep(0.1)
        time.sleep(0.3)  # the child is now inside the save, waiting for the lock
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        holder.execute("ROLLBACK")
        holder.close()
    [spooled] = spool.glob("*.json")
    assert store.search(TraceQuery()) == []

    # The next run's save delivers it; the spooled trace and the new one are each stored once.
    done = subprocess.run([sys.executable, "-m", "proctor.cli", "run", "hello"], env=env,
                          capture_output=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr.decode()
    ids = [h.trace_id for h in store.search(TraceQuery(limit=10))]
    assert spooled.stem in ids and len(ids) == len(set(ids)) == 2
    assert list(spool.glob("*")) == []
    assert store.get(spooled.stem).route == "orders"


def test_text_with_lone_surrogates_is_traced(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tracing = TraceSettings(url=f"sqlite:///{tmp_path / 'traces.sqlite'}")
    config = {"run_id": uuid.uuid4(), "metadata": {"user_id": "u\udc80"}}
    echo = RunnableLambda(lambda state: {"messages": [AIMessage(f"echo {state['messages'][0].content}")]})
    with record_run(settings, config, tracing) as (traced, _):
        echo.invoke({"messages": [HumanMessage("bad \ud800 text \udcff")]}, traced)
    trace = store_for(settings, tracing).get(str(config["run_id"]))
    assert "\ufffd" in trace.input and "\ufffd" in trace.answer and trace.user_id == "u\ufffd"
    assert list(spool_dir(settings).glob("*")) == []


def test_every_trace_passes_through_the_spool_and_leaves_it_empty(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tracing = TraceSettings(url=f"sqlite:///{tmp_path / 'traces.sqlite'}")
    seen: list[list[str]] = []
    folder = spool_dir(settings)

    def step(text: str) -> str:
        return text.upper()

    def peek(text: str) -> str:  # the run's own trace is not spooled yet while it runs
        seen.append([p.name for p in folder.glob("*")])
        return text

    chain = RunnableLambda(step) | RunnableLambda(peek)
    for _ in range(3):
        config = {"run_id": uuid.uuid4()}
        with record_run(settings, config, tracing) as (traced, _):
            chain.invoke("hi", traced)
    assert seen == [[], [], []] and list(folder.glob("*")) == []
    assert len(store_for(settings, tracing).search(TraceQuery())) == 3
