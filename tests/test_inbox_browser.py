"""The approval inbox, end to end: the scripted day on the real dev server, its auth, headless Chromium.

The day leaves four requests waiting: a $129 duplicate refund and a $75 goodwill credit (money:
alice may decide), an admin role change and an account closure (access: only carol may).
Screenshots of every page go to the test's tmp dir (``shots/``) and to /tmp/operator-shots/.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.traffic import CHROMIUM, CHROMIUM_FLAGS, save_shot, sign_in

pytestmark = [
    pytest.mark.server,
    # In CI scripts/test installs chromium, so there a missing browser fails rather than skips.
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed"
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _pending(data: Path) -> dict[str, str]:
    """tool -> request id of the day's waiting requests."""
    with sqlite3.connect(data / "desk.sqlite") as db:
        return dict(db.execute("SELECT tool, id FROM approval_requests WHERE status = 'pending'").fetchall())


def _count(data: Path, sql: str, *params: str) -> int:
    with sqlite3.connect(data / "desk.sqlite") as db:
        return db.execute(sql, params).fetchone()[0]


def no_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_reviewer_decides_in_the_inbox_with_everything_in_view(browser, day, tmp_path):
    waiting = _pending(day.data)
    refund, credit, role, close = (waiting[t] for t in ("refund_invoice", "issue_credit", "change_user_role", "close_account"))
    shots = tmp_path / "shots"
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, day.server.url, "t-alice", "/inbox")
    assert page.url.endswith("/inbox") and page.inner_text("#who") == "alice"

    card = page.locator(f"section#{refund}")
    text = card.inner_text()
    assert "I was charged twice for invoice INV-10269, please refund the duplicate" in text  # the customer's message
    assert "money" in text and "above the 100.00 USD limit" in text and "129.00 USD" in text
    assert "billing" in text and "CUS-0051" in text and "waiting 21 h" in text
    assert card.locator("input[name='arg.invoice_id']").input_value() == "INV-10269"
    assert card.locator("input[name='arg.amount'][type=number]").count() == 1  # a form from the schema, not JSON
    card.locator("details summary").click()
    assert "tool get_invoice" in card.inner_text()  # the conversation so far, tool calls included
    # Read-only where the policy says alice may not decide, with who can.
    for other in (role, close):
        locked = page.locator(f"section#{other}")
        assert locked.locator("button").count() == 0 and locked.locator("input:not([disabled])").count() == 0
        assert "Who can decide: Carol Diaz (security admin) (carol)" in locked.inner_text()
    assert no_overflow(page)
    save_shot(page, shots, "inbox")

    # Filters: by rule, agent and age.
    page.select_option("select[name=rule]", "access")
    page.click("form.filters button")
    assert sorted(page.locator("section.request").evaluate_all("s => s.map(e => e.id)")) == sorted([role, close])
    page.goto(f"{day.server.url}/inbox?agent=billing&older=24h")
    assert page.locator("section.request").count() == 0 and "Nothing is waiting" in page.inner_text("body")
    page.goto(f"{day.server.url}/inbox?older=4h")  # the account closure came 3.5 hours ago (slack for a slow session)
    assert sorted(page.locator("section.request").evaluate_all("s => s.map(e => e.id)")) == sorted([refund, credit, role])
    save_shot(page, shots, "inbox-filtered")

    # Edit in place: a bad value is refused server-side with a clear message, nothing changes.
    page.goto(f"{day.server.url}/inbox")
    page.fill(f"section#{credit} input[name='arg.amount']", "-5")
    page.click(f"section#{credit} button.approve")
    assert "not changed" in page.inner_text("#msg") and "amount" in page.inner_text("#msg")
    assert "error" in page.get_attribute("#msg", "class")
    assert _count(day.data, "SELECT COUNT(*) FROM approval_requests WHERE id = ? AND status = 'pending'", credit) == 1
    save_shot(page, shots, "inbox-invalid-edit")
    page.fill(f"section#{credit} input[name='arg.amount']", "50")
    page.click(f"section#{credit} button.approve")
    assert f"{credit}: edited by alice" in page.inner_text("#msg")

    page.click(f"section#{refund} button.approve")
    assert f"{refund}: approved by alice" in page.inner_text("#msg")
    assert page.locator(f"section#{refund}").count() == 0

    # Deciding what the policy does not allow is refused by the server too, even with a forged form.
    forged = httpx.post(f"{day.server.url}/inbox/{role}/decide", data={"decision": "approve"},
                        headers={"Authorization": "Bearer t-alice"}, follow_redirects=False, trust_env=False)  # fmt: skip
    assert forged.status_code == 303 and "not+changed" in forged.headers["location"]

    carol = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(carol, day.server.url, "t-carol", "/inbox")
    carol.fill(f"section#{close} input[name=reason]", "the customer must confirm by phone first")
    carol.click(f"section#{close} button.reject")
    assert f"{close}: rejected by carol" in carol.inner_text("#msg")

    carol.goto(f"{day.server.url}/inbox/history")
    history = carol.inner_text("#history")
    assert carol.locator("#history tr[id]").count() == 3
    for request_id, decision, by in ((refund, "approved", "alice"), (credit, "edited", "alice"), (close, "rejected", "carol")):
        row = carol.inner_text(f"#history tr#{request_id}")
        assert decision in row and by in row, row
    assert "amount=50" in history and "confirm by phone" in history
    assert no_overflow(carol)
    save_shot(carol, shots, "history")

    with sqlite3.connect(day.data / "desk.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM refunds WHERE invoice_id = 'INV-10269'").fetchone()[0] == 1
        assert (5000,) in db.execute("SELECT amount_cents FROM credits WHERE customer_id = 'CUS-0115'").fetchall()


def test_only_reviewers_see_the_inbox(day):
    direct = httpx.Client(base_url=day.server.url, trust_env=False, follow_redirects=False)
    assert direct.get("/inbox").headers["location"].startswith("/inbox/login")
    customer = direct.get("/inbox/pending.json", headers={"Authorization": "Bearer t-CUS-0051"})
    assert customer.status_code == 401
    login = direct.post("/inbox/login?next=//evil.example/", data={"token": "t-alice"})
    assert login.headers["location"] == "/inbox"  # never sent to another site after signing in


def test_an_approval_interrupt_is_resumed_through_the_sdk_by_a_reviewer(day):
    from langgraph_sdk import get_sync_client

    customer = get_sync_client(url=day.server.url, headers={"Authorization": "Bearer t-CUS-0184"})  # its owner
    thread = customer.threads.create()["thread_id"]
    text = "I was charged twice for invoice INV-10970, please refund the duplicate"
    customer.runs.wait(thread, "proctor", input={"messages": [{"role": "user", "content": text}]})
    with pytest.raises(httpx.HTTPStatusError, match="403"):  # only reviewers resume
        customer.runs.wait(thread, "proctor", command={"resume": {"type": "approve"}})
    reviewer = get_sync_client(url=day.server.url, headers={"Authorization": "Bearer t-alice"})
    [waiting] = reviewer.threads.get_state(thread)["interrupts"]
    assert waiting["value"]["type"] == "tool_approval" and waiting["value"]["request"]["rule"] == "money"
    # The decision is recorded by a reviewer through the resume value itself (the HITL format plus
    # who decides); the gate holds it to the same rules as the inbox.
    reviewer.runs.wait(thread, "proctor", command={"resume": {waiting["id"]: {"type": "approve", "reviewer": "alice"}}})
    state = reviewer.threads.get_state(thread)
    assert not state["interrupts"] and "Refunded" in state["values"]["messages"][-1]["content"]
    assert _count(day.data, "SELECT COUNT(*) FROM refunds WHERE invoice_id = ?", "INV-10970") == 1
