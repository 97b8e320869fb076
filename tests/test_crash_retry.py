"""kill -9 of a desk process mid-run, then the customer retries: every effect exists exactly once.

The victim is a real `proctor run` process driven by the hostile model on loopback; the retries
run on the offline model, as a customer's new message would.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from proctor.redteam.server import HostileModel, Reply, Script, calls
from proctor.runner import Proctor
from proctor.settings import Settings

REQUEST = "I was charged twice for invoice {invoice}, please refund the duplicate"
WAIT_S = 60.0


@pytest.fixture
def data(tmp_path: Path) -> Path:
    desk = Proctor(Settings(data_dir=tmp_path))
    desk.deployment.db, desk.checkpointer  # the desk, seeded, and the checkpoint store, created
    return tmp_path


@pytest.fixture
def model() -> Iterator[HostileModel]:
    with HostileModel() as server:
        yield server


def duplicate_below_threshold(data: Path) -> tuple[str, str, float]:
    """(invoice, its customer, one charge) of a double charge small enough to refund autonomously."""
    with sqlite3.connect(data / "desk.sqlite") as conn:
        return conn.execute(
            "SELECT i.id, i.customer_id, i.amount_cents / 100.0 FROM invoices i"
            " JOIN payments p ON p.invoice_id = i.id WHERE i.status = 'paid' AND i.amount_cents < 10000"
            " GROUP BY i.id HAVING COUNT(*) = 2 ORDER BY i.id LIMIT 1"
        ).fetchone()


def refunds(data: Path, invoice: str) -> int:
    with sqlite3.connect(data / "desk.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice,)).fetchone()[0]


def victim(data: Path, model: HostileModel, request: str, customer: str) -> subprocess.Popen:
    env = os.environ | {
        "PROCTOR_DATA_DIR": str(data),
        "PROCTOR_MODEL": "hostile",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "test",
        "PROCTOR_CLASSIFIER_THRESHOLD": "1.0",  # the front door asks the model, which says billing
        "LANGSMITH_TRACING": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "proctor.cli", "run", request, "--user", customer, "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_tool_never_runs_ahead_of_its_checkpoint_while_the_store_is_locked(data: Path, model: HostileModel) -> None:
    invoice, customer, charge = duplicate_below_threshold(data)
    holder = sqlite3.connect(data / "checkpoints.sqlite", isolation_level=None, check_same_thread=False)

    def lock_the_checkpoints(body: dict) -> None:  # as the model's refund call leaves the server
        holder.execute("BEGIN IMMEDIATE")

    refund = {"invoice_id": invoice, "amount": charge, "reason": "duplicate charge"}
    model.load(Script(route="billing", replies=[calls(("refund_invoice", refund, "k-1"), before=lock_the_checkpoints)], obey=False))
    child = victim(data, model, REQUEST.format(invoice=invoice), customer)
    try:
        until(lambda: holder.in_transaction, "the model's refund call")
        time.sleep(2.0)  # the victim has the reply; it must checkpoint it before the tool may run
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert refunds(data, invoice) == 0
    finally:
        kill(child)
        holder.execute("ROLLBACK")
        holder.close()
    assert refunds(data, invoice) == 0

    first = Proctor(Settings(data_dir=data)).run(REQUEST.format(invoice=invoice), user_id=customer)
    assert refunds(data, invoice) == 1, first.answer


def test_a_retry_after_a_crash_that_followed_the_refund_refunds_nothing_more(data: Path, model: HostileModel) -> None:
    invoice, customer, charge = duplicate_below_threshold(data)
    child: subprocess.Popen | None = None

    def die(body: dict) -> None:  # the refund ran; the victim now asks the model what to say
        if child is not None:
            os.killpg(child.pid, signal.SIGKILL)

    refund = {"invoice_id": invoice, "amount": charge, "reason": "duplicate charge"}
    model.load(Script(route="billing", replies=[calls(("refund_invoice", refund, "k-2")), Reply(content="", before=die)], obey=False))
    child = victim(data, model, REQUEST.format(invoice=invoice), customer)
    try:
        until(lambda: child.poll() is not None, "the victim to die")
    finally:
        kill(child)
    assert child.returncode == -signal.SIGKILL
    assert refunds(data, invoice) == 1

    desk = Proctor(Settings(data_dir=data))  # the customer asks again, in new conversations
    for _ in range(2):
        again = desk.run(REQUEST.format(invoice=invoice), user_id=customer)
        assert refunds(data, invoice) == 1
        assert "already refunded" in again.answer, again.answer
