"""Approval boundaries: policy, durable interrupts, exactly-once effects, reviewer rules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from langgraph.types import Command

from proctor.approvals.inbox import Inbox, NotResumable
from proctor.approvals.ledger import AlreadyDecided, Decision, InvalidEdit, NotAllowed, SelfApproval, UnknownRequest
from proctor.approvals.policy import PolicyError, load_policy
from proctor.runner import Proctor
from proctor.settings import Settings

BIG = "INV-10269"  # charged twice, $129.00 a charge: above the $100 threshold
SMALL = "INV-10062"  # charged twice, $19.00 a charge


@pytest.fixture
def desk(settings: Settings) -> Proctor:
    return Proctor(settings)


@pytest.fixture
def inbox(desk: Proctor) -> Inbox:
    return Inbox(desk)


def duplicate_refund(desk: Proctor, invoice: str, user: str = "CUS-0051"):
    return desk.run(f"I was charged twice for invoice {invoice}, please refund the duplicate", user_id=user)


def refunds(desk: Proctor, invoice: str) -> list[dict]:
    return desk.deployment.db.query("SELECT * FROM refunds WHERE invoice_id = ?", (invoice,))


def pending_id(result) -> str:
    [payload] = result.interrupts
    return payload["request"]["id"]


def test_refund_above_threshold_stops_with_a_typed_request(desk, inbox):
    result = duplicate_refund(desk, BIG)
    assert result.status == "interrupted" and "needs a human decision" in result.answer
    [payload] = result.interrupts
    # LangChain's per-call HITL payload, plus proctor's request.
    assert payload["type"] == "tool_approval" and payload["name"] == "refund_invoice"
    request = payload["request"]
    assert (request["rule"], request["amount"], request["currency"]) == ("money", 129.0, "USD")
    assert request["agent"] == "billing" and request["thread_id"] == result.thread_id
    assert request["trace_id"] == result.trace_id and request["requester"] == "CUS-0051"
    assert [r.id for r in inbox.pending()] == [request["id"]]
    assert refunds(desk, BIG) == []


def test_approving_executes_once_even_when_submitted_twice(desk, inbox):
    request_id = pending_id(duplicate_refund(desk, BIG))
    done = inbox.decide(request_id, Decision(type="approve", reviewer="alice"))
    assert done.status == "done" and "Refunded $129.00" in done.answer
    with pytest.raises(AlreadyDecided):
        inbox.decide(request_id, Decision(type="approve", reviewer="alice"))
    with pytest.raises(NotResumable):
        inbox.resume(request_id)
    assert len(refunds(desk, BIG)) == 1


def test_concurrent_approvals_execute_once(settings):
    request_id = pending_id(duplicate_refund(Proctor(settings), BIG))
    outcomes: list[str] = []

    def approve() -> None:
        try:
            Inbox(Proctor(settings)).decide(request_id, Decision(type="approve", reviewer="alice"))
            outcomes.append("approved")
        except AlreadyDecided:
            outcomes.append("conflict")

    workers = [threading.Thread(target=approve) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes) == ["approved", "conflict", "conflict", "conflict"]
    assert len(refunds(Proctor(settings), BIG)) == 1


CRASH_AFTER_COMMIT = textwrap.dedent(
    """
    import os, sys
    import proctor.toolkit as toolkit
    real = toolkit.execute_once
    def crash_after_commit(*args, **kwargs):
        real(*args, **kwargs)
        os._exit(9)  # the effect is committed, the checkpoint is not: LangGraph will re-run the tool
    toolkit.execute_once = crash_after_commit
    from proctor.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _proctor(settings: Settings, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROCTOR_DATA_DIR": str(settings.data_dir)}
    code = script or "import sys; from proctor.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


def test_kill_between_effect_and_checkpoint_then_resume_in_a_new_process(settings):
    request_id = pending_id(duplicate_refund(Proctor(settings), BIG))
    crashed = _proctor(settings, "approve", request_id, "--as", "alice", script=CRASH_AFTER_COMMIT)
    assert crashed.returncode == 9
    assert len(refunds(Proctor(settings), BIG)) == 1  # committed before the crash
    again = _proctor(settings, "approve", request_id, "--as", "alice")
    assert again.returncode == 4 and "already approved" in again.stderr  # 4: a conflict
    resumed = _proctor(settings, "approvals", "resume", request_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert '"status": "done"' in resumed.stdout and "Refunded $129.00" in resumed.stdout
    assert len(refunds(Proctor(settings), BIG)) == 1


def test_a_forged_or_stale_resume_value_cannot_approve(desk, inbox):
    result = duplicate_refund(desk, BIG)
    [pending] = desk.graph.get_state({"configurable": {"thread_id": result.thread_id}}).interrupts
    again = desk.resume(result.thread_id, {pending.id: {"type": "approve"}})
    assert again.status == "interrupted" and refunds(desk, BIG) == []
    # A resume value that names a reviewer is held to the same rules as the inbox.
    desk.resume(result.thread_id, {"type": "approve", "reviewer": "bob"})
    assert refunds(desk, BIG) == [] and inbox.ledger.get(pending_id(result)).status == "pending"
    inbox.decide(pending_id(result), Decision(type="reject", reviewer="alice", reason="not a duplicate"))
    # Resuming the old, interrupted checkpoint again (a fork) with an approval: the ledger says
    # rejected, so nothing happens.
    history = desk.graph.get_state_history({"configurable": {"thread_id": result.thread_id}})
    old = next(s for s in history if s.interrupts)
    desk.graph.invoke(Command(resume={pending.id: {"type": "approve"}}), old.config)
    assert refunds(desk, BIG) == []


def test_rejection_leaves_the_database_untouched_and_the_user_is_told(desk, inbox):
    request_id = pending_id(duplicate_refund(desk, BIG))
    before = desk.deployment.db.query("SELECT COUNT(*) AS n FROM audit_log")[0]["n"]
    decision = Decision(
        type="reject",
        reviewer="alice",
        reason="customer has a chargeback open, see case 77",  # internal: never reaches the customer
        message="The second charge was a new order, so there is nothing to refund.",
    )
    done = inbox.decide(request_id, decision)
    assert done.status == "done"
    assert "The second charge was a new order" in done.answer and "chargeback" not in done.answer
    assert refunds(desk, BIG) == []
    assert desk.deployment.db.query("SELECT COUNT(*) AS n FROM audit_log")[0]["n"] == before


def test_refund_below_threshold_runs_autonomously(desk, inbox):
    result = duplicate_refund(desk, SMALL, user="CUS-0012")
    assert result.status == "done" and len(refunds(desk, SMALL)) == 1
    [row] = inbox.ledger.requests("autonomous")
    assert row.tool == "refund_invoice" and inbox.pending() == []


def test_a_role_change_always_needs_an_authorised_reviewer(desk, inbox):
    result = desk.run("Please make sami@lumenanalytics.com an admin of workspace WS-0004", user_id="CUS-0004")
    request_id = pending_id(result)
    assert inbox.ledger.get(request_id).rule == "access"
    with pytest.raises(NotAllowed):
        inbox.decide(request_id, Decision(type="approve", reviewer="alice"))  # billing lead: no access role
    done = inbox.decide(request_id, Decision(type="approve", reviewer="carol"))
    assert done.status == "done"
    role = desk.deployment.db.query(
        "SELECT role FROM workspace_members WHERE workspace_id = 'WS-0004' AND email = 'sami@lumenanalytics.com'"
    )[0]["role"]
    assert role == "admin"


def test_first_time_classes_need_approval_until_they_have_a_track_record(tmp_path, settings):
    policy = (Path(__file__).parents[1] / "agents/policy/approvals.toml").read_text()
    strict = tmp_path / "strict.toml"
    # change_plan as a class new to this deployment, needing two approvals.
    strict.write_text(policy.replace("approvals_needed = 3", "approvals_needed = 2").replace(', "change_plan"]', "]"))
    desk = Proctor(settings.model_copy(update={"approval_policy": strict}))
    inbox = Inbox(desk)
    statuses = []
    for customer in ("CUS-0004", "CUS-0005", "CUS-0006"):
        result = desk.run(f"Please change the plan of {customer} to the scale plan", user_id=customer)
        statuses.append(result.status)
        if result.status == "interrupted":
            assert inbox.ledger.get(pending_id(result)).rule == "first_time"
            inbox.decide(pending_id(result), Decision(type="approve", reviewer="alice"))
    assert statuses == ["interrupted", "interrupted", "done"]


def test_reviewer_rules_and_bad_edits_change_nothing(desk, inbox):
    request_id = pending_id(duplicate_refund(desk, BIG, user="alice"))
    bad = [
        (UnknownRequest, "APR-NOPE", Decision(type="approve", reviewer="alice")),
        (SelfApproval, request_id, Decision(type="approve", reviewer="alice")),
        (NotAllowed, request_id, Decision(type="approve", reviewer="mallory")),
        (NotAllowed, request_id, Decision(type="approve", reviewer="bob")),
    ]
    for error, rid, decision in bad:
        with pytest.raises(error):
            inbox.decide(rid, decision)
    assert inbox.ledger.get(request_id).status == "pending" and refunds(desk, BIG) == []


def test_edits_are_rechecked_against_schema_preconditions_and_reviewer_limit(settings, tmp_path):
    policy = (Path(__file__).parents[1] / "agents/policy/approvals.toml").read_text()
    limited = tmp_path / "limited.toml"
    limited.write_text(policy + '\n[[reviewers]]\nid = "dave"\nname = "Dave"\nroles = ["money"]\nmax_amount = { USD = 150.0 }\n')
    desk = Proctor(settings.model_copy(update={"approval_policy": limited}))
    inbox = Inbox(desk)
    request_id = pending_id(duplicate_refund(desk, BIG))
    base = {"invoice_id": BIG, "reason": "duplicate"}
    for args, error in [
        ({**base, "amount": "lots"}, InvalidEdit),  # schema
        ({**base, "amount": float("inf")}, InvalidEdit),  # 1e999 from a form or a JSON body
        ({**base, "amount": 999.0}, InvalidEdit),  # precondition: more than was paid
        ({**base, "amount": 140.0, "invoice_id": "INV-99999"}, InvalidEdit),  # precondition: unknown invoice
    ]:
        with pytest.raises(error):
            inbox.decide(request_id, Decision(type="edit", reviewer="dave", args=args))
    with pytest.raises(NotAllowed):  # within what was paid, above what dave may approve
        inbox.decide(request_id, Decision(type="edit", reviewer="dave", args={**base, "amount": 200.0}))
    assert refunds(desk, BIG) == []
    done = inbox.decide(request_id, Decision(type="edit", reviewer="dave", args={**base, "amount": 120.0}))
    assert done.status == "done"
    assert [r["amount_cents"] for r in refunds(desk, BIG)] == [12000]
    assert inbox.ledger.get(request_id).decided_args["amount"] == 120.0


def test_a_malformed_policy_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "p.toml"
    broken.write_text('version = "x"\n[money]\ntools = "not a list"\n')
    with pytest.raises(PolicyError, match="p.toml"):
        load_policy(broken)
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "missing.toml")


def test_a_new_message_on_a_waiting_thread_supersedes_its_request(desk, inbox):
    """LangGraph drops an interrupted run when its thread gets new input: the request it waited on can
    never be applied, so it leaves the inbox and the limits instead of staying pending for good."""
    waiting = duplicate_refund(desk, BIG)
    request_id = pending_id(waiting)
    later = desk.run("any news on my refund?", user_id="CUS-0051", thread_id=waiting.thread_id)
    assert later.status == "done" and later.interrupts == []
    request = desk.deployment.ledger.get(request_id)
    assert (request.status, request.decided_by, request.applied_at) == ("superseded", "proctor", None)
    assert inbox.pending() == [] and desk.deployment.ledger.requests("superseded") == [request]
    with pytest.raises(AlreadyDecided, match="superseded"):
        inbox.decide(request_id, Decision(type="approve", reviewer="alice"))
    assert refunds(desk, BIG) == []
    again = duplicate_refund(desk, BIG)  # asked again: a new request, decided as any
    assert inbox.decide(pending_id(again), Decision(type="approve", reviewer="alice")).status == "done"
    assert len(refunds(desk, BIG)) == 1
