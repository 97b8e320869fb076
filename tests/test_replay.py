"""Replays: recorded runs re-run in isolation, served from their recordings, and compared."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage

import proctor.deployment
from proctor.approvals.inbox import Inbox
from proctor.approvals.ledger import Decision
from proctor.cli import main
from proctor.demo import demo_ids
from proctor.releases.bundle import snapshot
from proctor.replay import NotReplayable, ReplayConfig, replay
from proctor.runner import Proctor
from proctor.tracing import TraceQuery, UnknownTrace, store_for
from tests.conftest import call, scripted

SMALL = "INV-10062"  # CUS-0012, charged twice, $19.00 a charge: refunded without a human
BIG = "INV-10269"  # CUS-0051, charged twice, $129.00 a charge: above the $100 approval threshold
NEW_PROMPT = "Apologise for the trouble before anything else."


@pytest.fixture
def desk(settings) -> Proctor:
    return Proctor(settings)


def refund_request(invoice: str) -> str:
    return f"I was charged twice for invoice {invoice}, please refund the duplicate"


def count(desk: Proctor, table: str) -> int:
    return desk.deployment.db.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]


def stored_traces(settings) -> int:
    return len(store_for(settings).search(TraceQuery(limit=1000)))


def assert_reproduced(result) -> None:
    assert result.same_trajectory and result.differences == [], result.differences
    assert result.replay.answer == result.original.answer and result.replay.status == result.original.status
    assert all(step.source == "recorded" for step in result.replay.steps if step.kind == "tool")
    assert result.changed_config == ""


def test_a_read_only_run_replays_identically_and_is_not_saved_as_a_trace(desk, settings):
    run = desk.run("Where is my order 1001?", user_id="CUS-0280")
    saved = stored_traces(settings)

    result = replay(run.trace_id, settings)

    assert_reproduced(result)
    assert result.original.route == result.replay.route == "orders"
    assert [(s.name, s.args) for s in result.replay.steps] == [("get_order", {"order_id": "1001"})]
    assert stored_traces(settings) == saved


def test_a_refund_replays_from_its_recording_and_the_live_desk_is_untouched(desk, settings):
    run = desk.run(refund_request(SMALL), user_id="CUS-0012")
    refunds, audit = count(desk, "refunds"), count(desk, "audit_log")

    result = replay(run.trace_id, settings)

    assert_reproduced(result)
    assert [s.name for s in result.replay.steps] == ["get_invoice", "refund_invoice"]
    assert (count(desk, "refunds"), count(desk, "audit_log")) == (refunds, audit)


def test_a_multi_part_request_replays_through_the_planner(desk, settings):
    ids = demo_ids(desk)
    text = f"Cancel order {ids['pending_order']}, refund the shipping fee and email me a confirmation at {ids['email']}"
    owner = desk.deployment.db.query("SELECT customer_id FROM orders WHERE id = ?", (int(ids["pending_order"]),))
    run = desk.run(text, user_id=owner[0]["customer_id"])  # the order's customer: their own address taints nothing
    outbox = count(desk, "email_outbox")

    result = replay(run.trace_id, settings)

    assert_reproduced(result)
    assert result.replay.route == "plan"
    assert {"cancel_order", "refund_shipping_fee", "send_email"} <= {s.name for s in result.replay.steps}
    assert count(desk, "email_outbox") == outbox


def test_an_approval_is_answered_as_the_reviewer_answered_the_original(desk, settings):
    run = desk.run(refund_request(BIG), user_id="CUS-0051")
    assert run.status == "interrupted"

    waiting = replay(run.trace_id, settings)  # nobody has decided yet: the replay waits too
    assert_reproduced(waiting)
    [approval] = [s for s in waiting.replay.steps if s.kind == "approval"]
    assert approval.name == "refund_invoice" and approval.source == "waits for approval, as the original did"

    resumed = Inbox(desk).decide(run.interrupts[0]["request"]["id"], Decision(type="approve", reviewer="alice"))
    refunds = count(desk, "refunds")
    result = replay(run.trace_id, settings)

    assert_reproduced(result)
    assert result.original.trace_ids == [run.trace_id, resumed.trace_id] and result.replay.status == "ok"
    assert [(s.kind, s.name, s.source) for s in result.replay.steps][1:] == [
        ("approval", "refund_invoice", "approved by alice, as recorded"),
        ("tool", "refund_invoice", "recorded"),
    ]
    assert count(desk, "refunds") == refunds
    with pytest.raises(NotReplayable, match=run.trace_id):  # the resume has no request of its own
        replay(resumed.trace_id, settings)


def test_a_changed_prompt_version_replays_the_same_trajectory_and_shows_the_prompt_diff(desk, settings):
    base, _ = desk.releases.create(snapshot(settings), "alice", "baseline")
    agents = [a.model_copy(update={"prompt": f"{a.prompt}\n{NEW_PROMPT}"}) if a.name == "billing" else a
              for a in base.content.agents]  # fmt: skip
    reworded, _ = desk.releases.create(base.content.model_copy(update={"agents": agents}), "bob", "apologise")
    run = desk.run(refund_request(SMALL), user_id="CUS-0012")

    result = replay(run.trace_id, settings, ReplayConfig(prompt_version=reworded.id))

    assert result.same_trajectory  # the offline model does not read prompts
    assert reworded.id in result.replay.release
    assert "original/agents/billing/prompt" in result.changed_config and f"+{NEW_PROMPT}" in result.changed_config
    assert "agents/orders" not in result.changed_config


def test_a_model_that_calls_other_tools_shows_where_the_trajectories_part(desk, settings, monkeypatch):
    run = desk.run(refund_request(SMALL), user_id="CUS-0012")
    refunds = count(desk, "refunds")
    model = scripted(
        call("list_invoices", "c1", customer_id="CUS-0012"),
        call("refund_invoice", "c2", invoice_id=SMALL, amount=5.0, reason="a partial refund instead"),
        AIMessage("Refunded $5."),
    )
    monkeypatch.setattr(proctor.deployment, "chat_model", lambda settings, name=None, **offline: model)

    result = replay(run.trace_id, settings)

    assert not result.same_trajectory
    assert [(s.name, s.source) for s in result.replay.steps] == [
        ("list_invoices", "live read on a copy"),
        ("refund_invoice", "dry run"),
    ]
    assert any("list_invoices" in d for d in result.differences)
    assert any(d.startswith("answer:") for d in result.differences)
    assert count(desk, "refunds") == refunds


def test_the_cli_prints_the_comparison_and_rejects_unknown_traces(desk, settings, monkeypatch, capsys):
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    run = desk.run(refund_request(SMALL), user_id="CUS-0012")

    assert main(["replay", run.trace_id]) == 0
    text = capsys.readouterr().out
    assert "IDENTICAL trajectory" in text and "[recorded]" in text and "refund_invoice" in text

    assert main(["replay", run.trace_id, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {"original", "replay", "same_trajectory", "differences", "changed_config"} <= printed.keys()
    assert printed["same_trajectory"] is True

    with pytest.raises(UnknownTrace):
        replay("no-such-trace", settings)
    assert main(["replay", "no-such-trace"]) == 2
    assert "no trace has id 'no-such-trace'" in capsys.readouterr().err
