"""The approval inbox, end to end: the real LangGraph dev server, its auth, and headless Chromium."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.servers import start_dev_server

CHROMIUM = Path("/usr/bin/chromium")
TOKENS = {"t-alice": "alice", "t-cus": "CUS-0051", "t-bob": "bob"}
REFUND = "I was charged twice for invoice {}, please refund the duplicate"

pytestmark = [
    pytest.mark.server,
    # In CI scripts/test installs chromium, so there a missing browser fails rather than skips.
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
    ),
]


@pytest.fixture(scope="module")
def inbox_server(tmp_path_factory: pytest.TempPathFactory):
    """A dev server with reviewer tokens configured."""
    server = start_dev_server(tmp_path_factory.mktemp("server"), env={"PROCTOR_API_TOKENS": json.dumps(TOKENS)})
    yield server.url, server.workdir / "data"
    server.stop()


def _interrupted_refund(url: str, invoice: str) -> tuple[str, str]:
    from langgraph_sdk import get_sync_client

    customer = get_sync_client(url=url, headers={"Authorization": "Bearer t-cus"})
    thread = customer.threads.create()
    customer.runs.wait(thread["thread_id"], "proctor", input={"messages": [{"role": "user", "content": REFUND.format(invoice)}]})
    [waiting] = customer.threads.get_state(thread["thread_id"])["interrupts"]
    return thread["thread_id"], waiting["value"]["request"]["id"]


def _refunds(data: Path, invoice: str) -> int:
    with sqlite3.connect(data / "desk.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", (invoice,)).fetchone()[0]


def test_reviewer_approves_and_rejects_in_the_browser(inbox_server):
    from langgraph_sdk import get_sync_client
    from playwright.sync_api import sync_playwright

    url, data = inbox_server
    approve_thread, approve_id = _interrupted_refund(url, "INV-10269")
    reject_thread, reject_id = _interrupted_refund(url, "INV-12145")
    customer = get_sync_client(url=url, headers={"Authorization": "Bearer t-cus"})
    with pytest.raises(httpx.HTTPStatusError, match="403"):  # only reviewers resume
        customer.runs.wait(approve_thread, "proctor", command={"resume": {"type": "approve"}})

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        page = browser.new_page()
        page.goto(f"{url}/inbox")
        assert page.url.endswith("/inbox/login")
        page.fill("#token", "t-alice")
        page.click("#sign-in")
        page.wait_for_selector(f"tr#{approve_id}")
        assert "refund_invoice" in page.inner_text(f"tr#{approve_id}")
        assert "above the 100.00 USD limit" in page.inner_text(f"tr#{approve_id}")

        page.click(f"tr#{approve_id} button.approve")
        page.wait_for_selector("#msg")
        assert f"{approve_id}: approved" in page.inner_text("#msg")

        page.fill(f"tr#{reject_id} input[name=reason]", "that second charge was a separate order")
        page.click(f"tr#{reject_id} button.reject")
        page.wait_for_selector("#msg")
        assert f"{reject_id}: rejected" in page.inner_text("#msg")
        assert page.query_selector(f"tr#{approve_id}") is None
        page.screenshot(path=str(data.parent / "inbox.png"))
        browser.close()

    assert _refunds(data, "INV-10269") == 1 and _refunds(data, "INV-12145") == 0
    reviewer = get_sync_client(url=url, headers={"Authorization": "Bearer t-alice"})
    approved = reviewer.threads.get_state(approve_thread)
    rejected = reviewer.threads.get_state(reject_thread)
    assert not approved["interrupts"] and "Refunded $129.00" in approved["values"]["messages"][-1]["content"]
    assert "separate order" in rejected["values"]["messages"][-1]["content"]
    # Server runs are traced into proctor's own store as well.
    with sqlite3.connect(data / "traces.sqlite") as traces:
        routes = [r[0] for r in traces.execute("SELECT route FROM traces WHERE thread_id = ?", (approve_thread,))]
    assert routes and set(routes) == {"billing"}


def test_an_approval_interrupt_is_resumed_through_the_sdk_by_a_reviewer(inbox_server):
    from langgraph_sdk import get_sync_client

    url, data = inbox_server
    thread_id, request_id = _interrupted_refund(url, "INV-10970")
    reviewer = get_sync_client(url=url, headers={"Authorization": "Bearer t-alice"})
    [waiting] = reviewer.threads.get_state(thread_id)["interrupts"]
    assert waiting["value"]["type"] == "tool_approval" and waiting["value"]["request"]["rule"] == "money"
    # The decision is recorded by a reviewer through the resume value itself (the HITL format plus
    # who decides); the gate holds it to the same rules as the inbox.
    reviewer.runs.wait(thread_id, "proctor", command={"resume": {waiting["id"]: {"type": "approve", "reviewer": "alice"}}})
    state = reviewer.threads.get_state(thread_id)
    assert not state["interrupts"] and "Refunded" in state["values"]["messages"][-1]["content"]
    assert _refunds(data, "INV-10970") == 1
