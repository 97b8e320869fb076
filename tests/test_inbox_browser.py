"""The approval inbox, end to end: the real LangGraph dev server, its auth, and headless Chromium."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).parents[1]
TOKENS = {"t-alice": "alice", "t-cus": "CUS-0051", "t-bob": "bob"}
REFUND = "I was charged twice for invoice {}, please refund the duplicate"

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it in CI)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def inbox_server(tmp_path_factory: pytest.TempPathFactory):
    """A dev server with tokens configured, its own data dir and working directory."""
    work = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {
        **os.environ,
        "PROCTOR_DATA_DIR": str(work / "data"),
        "PROCTOR_API_TOKENS": json.dumps(TOKENS),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
    }
    log = (work / "server.log").open("w")
    cmd = [str(REPO / ".venv/bin/langgraph"), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
           "--port", str(port), "--config", str(REPO / "langgraph.json")]
    server = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = _wait_ready(work / "server.log", server)
    yield url, work / "data"
    server.terminate()
    server.wait(timeout=30)


def _wait_ready(log: Path, server: subprocess.Popen, timeout: float = 90) -> str:
    """The port the server actually bound (it may pick another one), once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        found = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            url = f"http://127.0.0.1:{found.group(1)}"
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    raise AssertionError(f"server not ready:\n{log.read_text()[-3000:]}")


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
