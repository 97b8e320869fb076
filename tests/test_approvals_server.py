"""Decisions on the real dev server: the reviewer is the authenticated identity, the ecosystem's
decision formats (LangChain HITL, Agent Inbox) resume correctly, and a CLI decision reaches a
server thread. Hostile clients are plain ``langgraph_sdk`` clients with real bearer tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from langgraph_sdk import get_sync_client

from proctor.approvals.inbox import Inbox, NotResumable
from proctor.approvals.ledger import Decision
from proctor.runner import Proctor
from proctor.settings import Settings
from tests.servers import GRAPH_ID, DevServer, start_dev_server

pytestmark = pytest.mark.server

TOKENS = {"t-alice": "alice", "t-bob": "bob", "t-carol": "carol"}
REFUND = "I was charged twice for invoice {}, please refund the duplicate"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    customers = {f"t-{c}": c for c in _customers(tmp_path_factory)}
    server = start_dev_server(
        tmp_path_factory.mktemp("approvals-server"), env={"PROCTOR_API_TOKENS": json.dumps({**TOKENS, **customers})}
    )
    yield server
    server.stop()


def _customers(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from proctor.deployment import Deployment

    db = Deployment(Settings(data_dir=tmp_path_factory.mktemp("probe"))).db
    return [r["customer_id"] for r in _invoices(db)]


def _invoices(db) -> list[dict]:
    """Duplicate charges between $100 and $500 a charge, not refunded yet: one per test."""
    return db.query(
        "SELECT i.id, i.customer_id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents BETWEEN 10001 AND 50000 AND i.status = 'paid' GROUP BY i.id HAVING COUNT(*) > 1"
        " AND i.id NOT IN (SELECT invoice_id FROM refunds) ORDER BY i.id"
    )


_used: set[str] = set()


def interrupted(server: DevServer, as_token: str | None = None) -> tuple[str, str, str]:
    """A customer's refund waiting for a human: (thread id, request id, invoice id)."""
    invoice = next(r for r in _invoices(server.desk()) if r["id"] not in _used)
    _used.add(invoice["id"])
    client = get_sync_client(url=server.url, headers={"Authorization": f"Bearer {as_token or 't-' + invoice['customer_id']}"})
    thread = client.threads.create()["thread_id"]
    client.runs.wait(thread, GRAPH_ID, input={"messages": [{"role": "user", "content": REFUND.format(invoice["id"])}]})
    [waiting] = client.threads.get_state(thread)["interrupts"]
    return thread, waiting["value"]["request"]["id"], invoice["id"]


def refunds(server: DevServer, invoice: str) -> int:
    return len(server.desk().query("SELECT id FROM refunds WHERE invoice_id = ?", (invoice,)))


def reviewer(server: DevServer, name: str):
    return get_sync_client(url=server.url, headers={"Authorization": f"Bearer t-{name}"})


def ledger(server: DevServer):
    return Proctor(Settings(data_dir=server.workdir / "data")).deployment.ledger


def test_a_resume_naming_another_reviewer_is_a_403(server):
    thread, request_id, invoice = interrupted(server)
    for who, named in [("bob", "alice"), ("alice", "carol")]:
        with pytest.raises(httpx.HTTPStatusError, match="403") as refused:
            reviewer(server, who).runs.wait(thread, GRAPH_ID, command={"resume": {"type": "approve", "reviewer": named}})
        assert f"signed in as '{who}'" in refused.value.response.text
    assert refunds(server, invoice) == 0 and ledger(server).get(request_id).status == "pending"


def test_a_reviewer_without_the_role_or_deciding_their_own_request_is_a_403(server):
    thread, request_id, invoice = interrupted(server)
    with pytest.raises(httpx.HTTPStatusError, match="403") as refused:  # bob has no money role
        reviewer(server, "bob").runs.wait(thread, GRAPH_ID, command={"resume": {"decisions": [{"type": "approve"}]}})
    assert "needs ['money']" in refused.value.response.text
    own_thread, own_id, own_invoice = interrupted(server, as_token="t-alice")  # alice asks herself
    with pytest.raises(httpx.HTTPStatusError, match="403") as refused:
        reviewer(server, "alice").runs.wait(own_thread, GRAPH_ID, command={"resume": {"type": "approve"}})
    assert "cannot decide on it" in refused.value.response.text
    assert refunds(server, invoice) == refunds(server, own_invoice) == 0


def test_a_resume_in_no_accepted_format_is_a_400_listing_them(server):
    thread, _, invoice = interrupted(server)
    for bad in ["yes", {"type": "sure"}, {"decisions": []}]:
        with pytest.raises(httpx.HTTPStatusError, match="400") as refused:
            reviewer(server, "alice").runs.wait(thread, GRAPH_ID, command={"resume": bad})
        assert "Agent Inbox HumanResponse" in refused.value.response.text
    assert refunds(server, invoice) == 0


@pytest.mark.parametrize(
    "value",
    [{"decisions": [{"type": "approve"}]}, {"type": "approve"}],
    ids=["langchain-batched", "langchain-per-call"],
)
def test_langchain_hitl_decisions_resume_as_the_authenticated_reviewer(server, value):
    thread, request_id, invoice = interrupted(server)
    state = reviewer(server, "alice").runs.wait(thread, GRAPH_ID, command={"resume": value})
    assert refunds(server, invoice) == 1 and "Refunded" in state["messages"][-1]["content"]
    decided = ledger(server).get(request_id)
    assert (decided.status, decided.decided_by) == ("approved", "alice") and decided.applied_at


def test_the_agent_inbox_protocol_lists_reads_and_resumes(server):
    """What the Agent Inbox app does through langgraph_sdk: search interrupted threads, read the
    HumanInterrupt, answer with a list of one HumanResponse."""
    accept_thread, accept_id, accept_invoice = interrupted(server)
    edit_thread, edit_id, edit_invoice = interrupted(server)
    respond_thread, respond_id, respond_invoice = interrupted(server)
    alice = reviewer(server, "alice")
    listed = {t["thread_id"]: t for t in alice.threads.search(status="interrupted", limit=100)}
    assert {accept_thread, edit_thread, respond_thread} <= set(listed)
    [[interrupt]] = listed[edit_thread]["interrupts"].values()
    human = interrupt["value"]
    assert human["action_request"]["action"] == "refund_invoice" and human["action_request"]["args"]["invoice_id"] == edit_invoice
    assert human["config"] == {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}
    assert edit_id in human["description"]

    for thread, response in [
        (accept_thread, {"type": "accept", "args": None}),
        (edit_thread, {"type": "edit", "args": {"action": "refund_invoice", "args": {**human["action_request"]["args"], "amount": 50.0}}}),
        (respond_thread, {"type": "response", "args": "Not a duplicate: the second charge is a new order."}),
    ]:
        run = alice.runs.create(thread, GRAPH_ID, command={"resume": [response]})
        alice.runs.join(thread, run["run_id"])
    found = ledger(server)
    assert [found.get(i).status for i in (accept_id, edit_id, respond_id)] == ["approved", "edited", "rejected"]
    assert {found.get(i).decided_by for i in (accept_id, edit_id, respond_id)} == {"alice"}
    assert (refunds(server, accept_invoice), refunds(server, edit_invoice), refunds(server, respond_invoice)) == (1, 1, 0)
    cents = server.desk().query("SELECT amount_cents FROM refunds WHERE invoice_id = ?", (edit_invoice,))
    assert [r["amount_cents"] for r in cents] == [5000]
    answer = alice.threads.get_state(respond_thread)["values"]["messages"][-1]["content"]
    assert "new order" not in answer  # the reviewer's response is an internal note


def test_a_cli_decision_reaches_a_server_thread(server):
    thread, request_id, invoice = interrupted(server)
    local = Settings(data_dir=server.workdir / "data")
    with pytest.raises(NotResumable, match="PROCTOR_SERVER_URL"):
        Inbox(Proctor(local)).decide(request_id, Decision(type="approve", reviewer="alice"))
    assert [r.id for r in ledger(server).requests("decided")] == [request_id]  # decided, not yet applied
    remote = local.model_copy(update={"server_url": server.url, "server_token": "t-alice"})
    done = Inbox(Proctor(remote)).resume(request_id)
    assert done.status == "done" and refunds(server, invoice) == 1
    assert ledger(server).requests("decided") == [] and ledger(server).get(request_id).applied_at
