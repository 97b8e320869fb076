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
from proctor.approvals.ledger import AlreadyDecided, Decision
from proctor.runner import Proctor
from proctor.settings import Settings
from tests.servers import GRAPH_ID, REPO, DevServer, start_dev_server

pytestmark = pytest.mark.server

TOKENS = {"t-alice": "alice", "t-bob": "bob", "t-carol": "carol", "t-dave": "dave"}
REFUND = "I was charged twice for invoice {}, please refund the duplicate"
# The desk's policy and a second money reviewer, whose limit is below alice's: dave may decide a
# refund of one charge (DAVE_MAY), not an edit that refunds both.
DAVE = """
[[reviewers]]
id = "dave"
name = "Dave Okafor (billing agent)"
roles = ["money"]
max_amount = { USD = 300.0 }
"""
DAVE_MAY = range(15001, 30001)  # cents of one charge: dave may refund it, not twice as much


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    customers = {f"t-{c}": c for c in _customers(tmp_path_factory)}
    workdir = tmp_path_factory.mktemp("approvals-server")
    policy = workdir / "approvals.toml"  # ledger() reads it there too
    policy.write_text((REPO / "agents/policy/approvals.toml").read_text() + DAVE)
    env = {"PROCTOR_API_TOKENS": json.dumps({**TOKENS, **customers}), "PROCTOR_APPROVAL_POLICY": str(policy)}
    server = start_dev_server(workdir, env=env)
    yield server
    server.stop()


def _customers(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from proctor.deployment import Deployment

    db = Deployment(Settings(data_dir=tmp_path_factory.mktemp("probe"))).db
    return [r["customer_id"] for r in _invoices(db)]


def _invoices(db) -> list[dict]:
    """Duplicate charges between $100 and $500 a charge, not refunded yet: one per test."""
    return db.query(
        "SELECT i.id, i.customer_id, i.amount_cents FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents BETWEEN 10001 AND 50000 AND i.status = 'paid' GROUP BY i.id HAVING COUNT(*) > 1"
        " AND i.id NOT IN (SELECT invoice_id FROM refunds) ORDER BY i.id"
    )


_used: set[str] = set()


def interrupted(server: DevServer, as_token: str | None = None, cents: range | None = None) -> tuple[str, str, str]:
    """A customer's refund (of one charge of so many ``cents``) waiting for a human: (thread id,
    request id, invoice id)."""
    fits = [r for r in _invoices(server.desk()) if cents is None or r["amount_cents"] in cents]
    invoice = next(r for r in fits if r["id"] not in _used)
    _used.add(invoice["id"])
    client = get_sync_client(url=server.url, headers={"Authorization": f"Bearer {as_token or 't-' + invoice['customer_id']}"})
    thread = client.threads.create()["thread_id"]
    return thread, ask_refund(client, thread, invoice["id"]), invoice["id"]


def ask_refund(client, thread: str, invoice: str) -> str:
    """The refund of ``invoice`` asked on ``thread``: the id of the request the run waits for."""
    client.runs.wait(thread, GRAPH_ID, input={"messages": [{"role": "user", "content": REFUND.format(invoice)}]})
    [waiting] = client.threads.get_state(thread)["interrupts"]
    return waiting["value"]["request"]["id"]


def refunded(server: DevServer, invoice: str) -> list[int]:
    """The cents of each refund of ``invoice``, in the desk's database."""
    rows = server.desk().query("SELECT amount_cents FROM refunds WHERE invoice_id = ? ORDER BY id", (invoice,))
    return [r["amount_cents"] for r in rows]


def refunds(server: DevServer, invoice: str) -> int:
    return len(refunded(server, invoice))


def reviewer(server: DevServer, name: str):
    """A client signed in as ``name`` (a reviewer, or the requester of a thread: t-<name> is their token)."""
    return get_sync_client(url=server.url, headers={"Authorization": f"Bearer t-{name}"})


def ledger(server: DevServer):
    """The server's ledger, read with the server's policy."""
    local = Settings(data_dir=server.workdir / "data", approval_policy=server.workdir / "approvals.toml")
    return Proctor(local).deployment.ledger


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
    assert refunded(server, edit_invoice) == [5000]
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


# ---------------------------------------------------------------- refused decisions are never replayed
# LangGraph hands the gate every value an interrupt() returned, each time its node re-runs: a value the
# gate refused (decided nothing) must never be read again as the decision of whoever resumes next.


def edit(request, **changed) -> dict:
    """A LangChain HITL edit of ``request``'s call."""
    return {"type": "edit", "edited_action": {"name": request.tool, "args": {**request.args, **changed}}}


def refused(client, thread: str, value: object) -> str:
    """Resume with a value the server's pre-check refuses: a 403, nothing runs. What it says."""
    with pytest.raises(httpx.HTTPStatusError, match="403") as error:
        client.runs.wait(thread, GRAPH_ID, command={"resume": value})
    return error.value.response.text


def asked_again(server: DevServer, thread: str, first_id: str, invoice: str) -> str:
    """The requester asks for the same refund again on the interrupted thread. The new message starts
    the turn over (LangGraph drops the interrupted run), so the first request is superseded: out of
    the inbox, never decidable, never executed. One request is pending: the new one, whose id this is."""
    second_id = ask_refund(reviewer(server, ledger(server).get(first_id).requester), thread, invoice)
    assert [r.id for r in ledger(server).requests("pending", thread_id=thread)] == [second_id]
    first = ledger(server).get(first_id)
    assert (first.status, first.decided_by) == ("superseded", "proctor")
    with pytest.raises(AlreadyDecided, match="superseded"):
        ledger(server).decide(first_id, Decision(type="approve", reviewer="alice"))
    return second_id


def test_an_edit_above_the_reviewers_limit_is_refused_and_the_next_reviewer_approves_the_original(server):
    thread, first_id, invoice = interrupted(server, cents=DAVE_MAY)
    first = ledger(server).get(first_id)
    both = round(first.args["amount"] * 2, 2)  # the duplicate and the purchase: refundable, above dave's limit
    dave, bob, alice = (reviewer(server, who) for who in ("dave", "bob", "alice"))
    # The server's pre-check makes every check the ledger would (the edit's too): a 403 that says why,
    # and nothing runs (before, an over-limit edit reached the gate: HTTP 200, "An internal error occurred").
    assert f"dave may approve up to 300.00 USD, not {both:.2f}" in refused(dave, thread, edit(first, amount=both))
    assert "would fail: Cannot refund" in refused(alice, thread, edit(first, amount=both + 1))  # more than was paid
    assert (ledger(server).get(first_id).status, ledger(server).idle_answers(first_id)) == ("pending", 0)

    second_id = asked_again(server, thread, first_id, invoice)
    second = ledger(server).get(second_id)
    assert "may approve up to 300.00 USD" in refused(dave, thread, edit(second, amount=both))
    assert "also needs ['money']" in refused(bob, thread, edit(second, amount=50.0))  # bob has no money role
    assert "signed in as 'bob'" in refused(bob, thread, {"type": "approve", "reviewer": "alice"})
    assert (ledger(server).get(second_id).status, refunds(server, invoice)) == ("pending", 0)

    state = alice.runs.wait(thread, GRAPH_ID, command={"resume": {"type": "approve"}})
    assert refunded(server, invoice) == [round(first.args["amount"] * 100)]  # the original argument, one charge, once
    decided = ledger(server).get(second_id)
    outcome = (decided.status, decided.decided_by, decided.decided_args, decided.amount)
    assert outcome == ("approved", "alice", None, first.args["amount"])
    assert decided.applied_at and "Refunded" in state["messages"][-1]["content"]
    assert ledger(server).get(first_id).status == "superseded"  # the request left behind never ran
    assert ledger(server).idle_answers(second_id) == 0  # no refused value ever reached the gate


def test_a_reviewers_refused_decision_on_their_own_request_never_becomes_the_next_reviewers(server):
    thread, first_id, invoice = interrupted(server, as_token="t-alice", cents=DAVE_MAY)  # alice asks
    alice, bob, dave = (reviewer(server, who) for who in ("alice", "bob", "dave"))
    assert "cannot decide on it" in refused(alice, thread, {"type": "approve"})

    second_id = asked_again(server, thread, first_id, invoice)
    second = ledger(server).get(second_id)
    assert (second.requester, second.rules) == ("alice", ["money"])
    for who, value, why in [
        (alice, edit(second, amount=100.0), "cannot decide on it"),  # her own request, and a smaller refund
        (alice, {"decisions": [{"type": "approve"}]}, "cannot decide on it"),
        (bob, {"type": "approve"}, "also needs ['money']"),  # no money role
    ]:
        assert why in refused(who, thread, value)
    assert (ledger(server).get(second_id).status, refunds(server, invoice)) == ("pending", 0)

    dave.runs.wait(thread, GRAPH_ID, command={"resume": {"type": "approve"}})
    assert refunded(server, invoice) == [round(second.args["amount"] * 100)]
    decided = ledger(server).get(second_id)
    outcome = (decided.status, decided.decided_by, decided.decided_args, decided.amount)
    assert outcome == ("approved", "dave", None, second.args["amount"])
    assert ledger(server).idle_answers(second_id) == 0
