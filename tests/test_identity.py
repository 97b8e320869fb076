"""Who a run acts for: the typed run context, set by the entry point only (embedded and CLI here;
the LangGraph server in tests/test_identity_server.py)."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from proctor.context import ANONYMOUS, Requester, RunContext, run_context
from proctor.deployment import Deployment
from proctor.errors import NotPermitted
from proctor.runner import Proctor
from proctor.settings import Settings


@pytest.fixture
def desk(deployment: Deployment) -> Proctor:
    return Proctor(deployment=deployment)


def daily(deployment: Deployment) -> dict[str, int]:
    return {r["user_id"]: r["requests"] for r in deployment.db.query("SELECT user_id, requests FROM daily_usage")}


def test_one_place_decides_the_default_context() -> None:
    assert run_context(None, {"configurable": {"thread_id": "t1"}}) == RunContext(requester=ANONYMOUS, thread_id="t1")
    set_by_caller = RunContext(requester=Requester(id="CUS-0001", kind="customer"), thread_id="t2")
    assert run_context(type("R", (), {"context": set_by_caller})(), {"configurable": {"thread_id": "other"}}) == set_by_caller
    # With no thread at all each call stands alone: nothing persists, nothing is resumed.
    assert run_context(None, {}).thread_id != run_context(None, {}).thread_id


def test_staff_come_from_the_directory_and_reviewers_are_staff(deployment: Deployment) -> None:
    directory = deployment.directory
    alice = directory.requester("alice")
    assert alice.kind == "staff" and {"reviewer", "billing:write"} <= alice.roles
    assert directory.requester("carol").roles >= {"admin", "reviewer"}
    assert directory.requester("CUS-0001") == Requester(id="CUS-0001", kind="customer")
    assert directory.requester(None) is ANONYMOUS and directory.requester("anonymous") is ANONYMOUS


def test_quotas_follow_the_embedded_callers_user_not_the_input(settings: Settings) -> None:
    limited = Settings(data_dir=settings.data_dir, guards={"requests_per_user_per_day": 2})
    desk = Proctor(limited)
    assert desk.run("How do I reset my password?", user_id="CUS-0001").route != "rejected"
    assert desk.run("How do I reset my password?", user_id="CUS-0001").route != "rejected"
    refused = desk.run("How do I reset my password?", user_id="CUS-0001")
    assert refused.route == "rejected" and "limit of 2 requests" in refused.answer
    # An input field naming someone else changes nothing: the graph's context decides.
    graph = desk.graph
    context = RunContext(requester=desk.deployment.directory.requester("CUS-0001"), thread_id="t-spoof")
    out = graph.invoke(
        {"messages": [HumanMessage("How do I reset my password?")], "user_id": "someone-else"},
        {"configurable": {"thread_id": "t-spoof"}, "metadata": {"user_id": "someone-else"}},
        context=context,
    )
    assert out["route"] == "rejected"
    assert daily(desk.deployment) == {"CUS-0001": 4}


def test_a_conversation_is_never_continued_as_someone_else(desk: Proctor) -> None:
    first = desk.run("How do I reset my password?", user_id="CUS-0001")
    with pytest.raises(NotPermitted, match="belongs to another requester"):
        desk.run("And how do I export my data?", user_id="CUS-0002", thread_id=first.thread_id)
    with pytest.raises(NotPermitted):
        desk.run("And how do I export my data?", thread_id=first.thread_id)  # anonymous is someone else too
    assert desk.run("And how do I export my data?", user_id="CUS-0001", thread_id=first.thread_id).route == "support"


def test_cost_audit_escalation_and_trace_carry_the_requester(desk: Proctor) -> None:
    from proctor.tracing.record import store_for

    result = desk.run("I was charged twice for invoice INV-10062, please refund the duplicate", user_id="CUS-0012")
    assert result.tool_calls[-1].name == "refund_invoice" and result.tool_calls[-1].ok
    db = desk.deployment.db
    assert [r["actor"] for r in db.query("SELECT actor FROM audit_log")] == ["CUS-0012"]
    assert daily(desk.deployment) == {"CUS-0012": 1}
    assert store_for(desk.settings).get(result.trace_id).user_id == "CUS-0012"
    escalated = desk.run("My device caught fire and burned my hand", user_id="CUS-0007")
    assert escalated.route == "escalate"
    assert [r["user_id"] for r in db.query("SELECT user_id FROM escalations")] == ["CUS-0007"]


def test_the_cli_user_is_the_requester(settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    import json

    from proctor.cli import main

    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    assert main(["run", "--json", "--user", "CUS-0042", "How do I reset my password?"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "done"
    assert daily(Deployment(Settings())) == {"CUS-0042": 1}
