"""The dashboard, end to end: a scripted day on the real dev server, looked at in headless Chromium.

Screenshots of every page go to the test's tmp dir (``shots/``) and to /tmp/operator-shots/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from proctor.deployment import Deployment
from proctor.settings import Settings
from proctor.tracing.store import TraceStore
from proctor.tracing.summary import approvals_for
from tests.traffic import CHROMIUM, CHROMIUM_FLAGS, REPO, save_shot, sign_in

pytestmark = [
    pytest.mark.server,
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


@pytest.fixture
def page(browser, day):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    fetched: list[str] = []
    opened.on("request", lambda r: fetched.append(r.url))
    sign_in(opened, day.server.url, "t-alice", "/dashboard")
    yield opened
    outside = [u for u in fetched if not u.startswith(day.server.url) and not u.startswith("data:")]
    assert outside == []  # self-contained: nothing loads from anywhere else
    context.close()


def no_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_dashboard_shows_the_day_with_axes_fitted_to_the_window(page, day, tmp_path):
    assert page.url.endswith("/dashboard")
    assert page.inner_text("#who") == "alice"
    tiles = page.inner_text("#totals")
    # What the store says of the window (other tests may add runs to the day), and what the day holds:
    # 7 failed by the definition (3 failed tool calls, 3 escalations, 1 refused request) of 25 runs.
    totals = TraceStore(f"sqlite:///{day.data / 'traces.sqlite'}").summary(timedelta(hours=24))["totals"]
    assert totals["count"] >= 25 and totals["failed"] >= 7 and totals["tool_errors"] >= 3 and totals["errors"] == 0
    assert re.search(rf"\b{totals['count']}\s+runs", tiles), tiles
    assert re.search(rf"{totals['failed']} \({totals['failure_rate']:.1%}\)\s+failed", tiles), tiles
    assert re.search(r"([4-9]|\d\d) / \d+\s+approvals asked / decided", tiles), tiles
    assert "any of its tool calls failed" in page.inner_text("#failed-means")
    captions = page.locator("figure.chart figcaption").all_inner_texts()
    assert {"runs by route", "runs by release", "failure rate by route", "cost by release (USD)", "latency, all runs",
            "tool calls and tool errors", "approvals", "guardrail events"} <= set(captions)  # fmt: skip
    # Every time axis lies inside the last 24 hours: hour ticks, the date only where the day changes.
    now = datetime.now(UTC)
    for label in page.locator("svg .xlabel").all_text_contents():
        assert re.fullmatch(r"(\w{3} \d{1,2}( \d\d:\d\d)?|\d\d:\d\d)", label), label
    years = {int(y) for y in re.findall(r"\b(20\d\d)\b", page.inner_text("#period"))}
    assert years <= {now.year, (now - timedelta(days=1)).year}
    assert day.releases[0] in page.inner_text("body") and day.releases[1] in page.inner_text("body")
    assert no_overflow(page)
    save_shot(page, tmp_path / "shots", "dashboard-24h")

    page.click("text=7d")
    page.wait_for_load_state()
    assert "1440-minute" in page.inner_text("#period") or "360-minute" in page.inner_text("#period")
    assert no_overflow(page)
    save_shot(page, tmp_path / "shots", "dashboard-7d")


def test_traces_are_searched_with_the_cli_filters_and_show_why_they_failed(page, day, tmp_path):
    page.goto(f"{day.server.url}/dashboard/traces?since=24h&route=orders&limit=50")
    rows = page.locator("#traces tr.hit")
    assert rows.count() == 5
    text = page.inner_text("#traces")
    assert "tool cancel_order failed" in text and "tool start_return failed" in text
    assert no_overflow(page)
    save_shot(page, tmp_path / "shots", "traces")
    page.goto(f"{day.server.url}/dashboard/traces?since=7x")
    assert "--since: '7x' is not a duration" in page.inner_text("#error")


def test_a_trace_page_shows_the_conversation_and_the_span_tree(page, day, tmp_path):
    page.goto(f"{day.server.url}/dashboard/traces?since=24h&tool=cancel_order")
    page.click("#traces tr.hit >> nth=-1 >> a")  # the oldest: the shipped order that cannot be cancelled
    page.wait_for_load_state()
    conversation = page.inner_text("#conversation")
    assert "Please cancel order 1434, I ordered it by mistake" in conversation  # the server run's request
    assert "(offline model)" in conversation  # and its answer
    assert "tool cancel_order failed" in page.inner_text("#facts")
    spans = page.inner_text("#spans")
    assert "cancel_order" in spans and '"order_id"' in spans and "error" in spans
    assert re.search(r"\d+\+\d+ tokens", spans)
    assert no_overflow(page)
    save_shot(page, tmp_path / "shots", "trace")

    page.goto(f"{day.server.url}/dashboard/traces?since=24h&user=CUS-0217")
    page.click("#traces tr.hit >> nth=0 >> a")
    page.wait_for_load_state()
    assert "injection_flagged" in page.inner_text("#spans")  # guard events are spans of the tree
    save_shot(page, tmp_path / "shots", "trace-guard-event")


def test_only_staff_see_the_dashboard(day):
    direct = httpx.Client(base_url=day.server.url, trust_env=False, follow_redirects=False)
    anonymous = direct.get("/dashboard")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/inbox/login")
    customer = direct.get("/dashboard/traces", headers={"Authorization": "Bearer t-CUS-0012"})
    assert customer.status_code == 303 and "CUS-0012" not in customer.text
    reviewer = direct.get("/dashboard/traces?since=24h", headers={"Authorization": "Bearer t-bob"})
    assert reviewer.status_code == 200 and "CUS-0012" in reviewer.text


def test_the_report_writes_the_same_figures_as_a_static_page(day, tmp_path, browser):
    out = tmp_path / "report.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.update(PROCTOR_DATA_DIR=str(day.data), PROCTOR_MODEL="offline")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "proctor"), "traces", "report", "--since", "24h", "--out", str(out), "--json"],
        env=env, cwd=REPO, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    figures = json.loads(done.stdout)
    assert figures["totals"]["count"] >= 25 and figures["totals"]["failed"] >= 7
    assert figures["totals"]["approvals_requested"] >= 4 and figures["totals"]["tool_errors"] >= 3
    assert figures == TraceStore(f"sqlite:///{day.data / 'traces.sqlite'}").summary(
        timedelta(hours=24), now=datetime.fromisoformat(figures["until"]), approvals=approvals_for(
            Deployment(Settings(data_dir=day.data)).ledger, timedelta(hours=24)))  # fmt: skip
    page = out.read_text()
    assert "http://" not in page and "https://" not in page and "<img" not in page
    assert page.count("<svg ") == 12
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    static = context.new_page()
    static.goto(out.as_uri())
    assert no_overflow(static)
    save_shot(static, tmp_path / "shots", "report")
    context.close()
