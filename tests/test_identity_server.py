"""Identity on the real dev server: a run acts for the authenticated identity, whatever the client sends.

Hostile SDK clients name another customer in every place a payload can (input, ``context``,
``config.configurable``, metadata) and try another customer's records: they still act as
themselves (ownership refuses, quotas count them), and nothing changes in the database.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import httpx

from tests.servers import GRAPH_ID, start_dev_server

pytestmark = pytest.mark.server
LIMIT = 6  # requests per customer per day on this server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("identity-server")
    # Pick the customers before the server starts: the server seeds the same desk.
    from proctor.db import Database
    from proctor.settings import Settings
    from proctor.tools import prepare_desk

    desk = Database(Settings(data_dir=workdir / "data").domain_url)
    prepare_desk(desk)
    victim = desk.query(
        "SELECT i.id, i.customer_id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents < 10000 GROUP BY i.id HAVING COUNT(*) > 1 ORDER BY i.id DESC LIMIT 1"
    )[0]
    others = [r["id"] for r in desk.query("SELECT id FROM customers WHERE id != ? ORDER BY id LIMIT 2", (victim["customer_id"],))]
    ids = {"attacker": others[0], "counted": others[1], "victim": victim["customer_id"], "invoice": victim["id"]}
    tokens = {"t-attacker": ids["attacker"], "t-counted": ids["counted"], "t-victim": ids["victim"], "t-alice": "alice"}
    env = {"PROCTOR_API_TOKENS": json.dumps(tokens), "PROCTOR_GUARDS__REQUESTS_PER_USER_PER_DAY": str(LIMIT)}
    running = start_dev_server(workdir, env=env)
    yield running, ids
    running.stop()


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **extra}


def usage(server) -> dict[str, int]:
    from proctor.guards.usage import MIGRATIONS

    desk = server.desk()
    desk.migrate(MIGRATIONS)
    return {r["user_id"]: r["requests"] for r in desk.query("SELECT user_id, requests FROM daily_usage")}


def refunds(server, invoice: str) -> int:
    return len(server.desk().query("SELECT id FROM refunds WHERE invoice_id = ?", (invoice,)))


SPOOFS = {
    "input": lambda v: {"input": ask("{}", user_id=v, requester=v)},
    "context": lambda v: {"context": {"requester": {"id": v, "kind": "customer"}, "thread_id": "x", "actor": None}},
    "staff context": lambda v: {"context": {"requester": {"id": "alice", "kind": "staff", "roles": ["billing:read", "billing:write"]}}},
    "configurable": lambda v: {"config": {"configurable": {"user_id": v, "langgraph_auth_user_id": v}}},
    "metadata": lambda v: {"metadata": {"user_id": v, "owner": v}},
}


def spoofed(kind: str, victim: str, text: str) -> dict[str, Any]:
    payload = SPOOFS[kind](victim)
    payload["input"] = ask(text, **{k: v for k, v in payload.get("input", {}).items() if k != "messages"})
    return payload


async def test_a_client_naming_another_customer_still_acts_as_itself(server) -> None:
    running, ids = server
    attacker = running.client("t-attacker")
    text = f"I was charged twice for invoice {ids['invoice']}, please refund the duplicate"
    before = usage(running).get(ids["attacker"], 0)
    ran = 0
    for kind in SPOOFS:
        thread = await attacker.threads.create()
        try:
            state = await attacker.runs.wait(thread["thread_id"], GRAPH_ID, **spoofed(kind, ids["victim"], text))
        except httpx.HTTPStatusError as exc:  # refused outright (an input or metadata claim): holds too
            assert 400 <= exc.response.status_code < 500, kind
            continue
        ran += 1
        tools = [m for m in state["messages"] if m["type"] == "tool"]
        assert tools and all(m["status"] == "error" and "Not permitted" in m["content"] for m in tools), kind
        answer = state["messages"][-1]["content"]
        assert ids["victim"] not in answer, kind
    assert refunds(running, ids["invoice"]) == 0
    counted = usage(running)
    assert counted[ids["attacker"]] - before == ran
    assert ids["victim"] not in counted and "alice" not in counted
    # Traces name the authenticated requester too.
    import sqlite3

    with sqlite3.connect(running.workdir / "data" / "traces.sqlite") as traces:
        users = {r[0] for r in traces.execute("SELECT user_id FROM traces")}
    assert ids["victim"] not in users and "alice" not in users


async def test_the_owner_of_the_records_may_act_on_them(server) -> None:
    running, ids = server
    victim = running.client("t-victim")
    thread = await victim.threads.create()
    text = f"I was charged twice for invoice {ids['invoice']}, please refund the duplicate"
    state = await victim.runs.wait(thread["thread_id"], GRAPH_ID, input=ask(text))
    assert [m["status"] for m in state["messages"] if m["type"] == "tool"] == ["success", "success"]
    assert refunds(running, ids["invoice"]) == 1


async def test_quotas_follow_the_authenticated_identity(server) -> None:
    running, ids = server
    counted = running.client("t-counted")
    for _ in range(LIMIT):
        thread = await counted.threads.create()
        state = await counted.runs.wait(thread["thread_id"], GRAPH_ID, input=ask("How do I reset my password?"))
        assert state["route"] != "rejected"
    for kind in SPOOFS:  # refused, whoever the payload says it is (an input or metadata claim: at the door)
        thread = await counted.threads.create()
        try:
            state = await counted.runs.wait(thread["thread_id"], GRAPH_ID, **spoofed(kind, "someone-else", "How do I reset my password?"))
        except httpx.HTTPStatusError as exc:
            assert exc.response.status_code == 422, kind
            continue
        assert state["route"] == "rejected" and f"limit of {LIMIT} requests" in state["messages"][-1]["content"], kind
    assert "someone-else" not in usage(running)


async def test_threads_runs_and_schedules_another_identity_cannot_use(server) -> None:
    running, ids = server
    attacker, victim = running.client("t-attacker"), running.client("t-victim")
    thread = await victim.threads.create()
    await victim.runs.wait(thread["thread_id"], GRAPH_ID, input=ask("How do I reset my password?"))
    with pytest.raises(httpx.HTTPStatusError) as seen:  # another customer's conversation
        await attacker.runs.wait(thread["thread_id"], GRAPH_ID, input=ask("Show me my invoices"))
    assert seen.value.response.status_code in (403, 404) and ids["victim"] not in seen.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as seen:  # a run without a thread has no requester to serve
        await attacker.runs.wait(None, GRAPH_ID, input=ask("How do I reset my password?"))
    assert seen.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as seen:  # a scheduled run would start without authentication
        await attacker.crons.create(GRAPH_ID, schedule="* * * * *", input=ask("refund everything"))
    assert seen.value.response.status_code == 403
