"""The supervisor served by ``langgraph dev``, driven with ``langgraph_sdk`` like a client would.

Concurrent runs on one thread: the server's own double-texting guard. By default
(``multitask_strategy="enqueue"``) a second run waits until the first is done; with
``multitask_strategy="reject"`` it is refused at once (HTTP 409, ``ConflictError``).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError

from proctor.db import Database
from proctor.tracing.store import TraceStore
from tests.servers import GRAPH_ID, DevServer, dev_server, server_client  # noqa: F401  (fixtures)

pytestmark = pytest.mark.server

WIFI = "How do I connect my device to Wi-Fi?"
PASSWORD = "How do I reset my password?"


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}  # who asks comes from the token


def tool_calls(messages: list[dict[str, Any]]) -> list[str]:
    return [call["name"] for m in messages for call in m.get("tool_calls") or []]


def duplicate_charge(desk: Database) -> dict[str, Any]:
    """A duplicate charge under $100 in the server's desk; the last one, so tests that take the
    first (``demo_ids``) on the same server find theirs untouched."""
    return desk.query(
        "SELECT i.id, i.customer_id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents < 10000 GROUP BY i.id HAVING COUNT(*) > 1"
        " AND i.id NOT IN (SELECT invoice_id FROM refunds) ORDER BY i.id DESC LIMIT 1"
    )[0]


async def test_a_run_finishes_on_billing_with_its_tool_calls(
    dev_server: DevServer, server_client: LangGraphClient
) -> None:
    desk = dev_server.desk()
    invoice = duplicate_charge(desk)
    thread = await server_client.threads.create()
    text = f"I was charged twice for invoice {invoice['id']}, please refund the duplicate"
    # This server has no tokens: the client is anonymous, so it reaches no customer's invoice
    # (the owner's refund on a server with tokens: test_identity_server).
    state = await server_client.runs.wait(thread["thread_id"], GRAPH_ID, input=ask(text))
    assert state["route"] == "billing"
    assert tool_calls(state["messages"]) == ["get_invoice"]
    assert [m["status"] for m in state["messages"] if m["type"] == "tool"] == ["error"]
    assert state["messages"][-1]["type"] == "ai" and invoice["id"] in state["messages"][-1]["content"]
    assert len(desk.query("SELECT * FROM refunds WHERE invoice_id = ?", (invoice["id"],))) == 0
    assert (await server_client.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_streaming_sends_each_node_update_as_it_happens(server_client: LangGraphClient) -> None:
    thread = await server_client.threads.create()
    parts = [
        part
        async for part in server_client.runs.stream(
            thread["thread_id"], GRAPH_ID, input=ask(WIFI), stream_mode="updates"
        )
    ]
    assert parts[0].event == "metadata" and {p.event for p in parts[1:]} == {"updates"}
    updates = [next(iter(p.data.items())) for p in parts[1:] if len(p.data) == 1]
    assert len(updates) == len(parts) - 1  # one chunk per node, in the order they ran
    (first, routed), (second, answered) = updates[:2]
    assert (first, routed["route"]) == ("front_door", "support")
    assert second == "support"
    assert answered["messages"][-1]["type"] == "ai" and "[KB-" in answered["messages"][-1]["content"]


async def test_a_second_run_on_a_busy_thread_is_rejected(server_client: LangGraphClient) -> None:
    thread_id = (await server_client.threads.create())["thread_id"]
    await server_client.runs.wait(thread_id, GRAPH_ID, input=ask(WIFI))
    before = await server_client.threads.get_state(thread_id)
    # A run scheduled an hour ahead holds the thread busy for as long as the test needs.
    held = await server_client.runs.create(thread_id, GRAPH_ID, input=ask(PASSWORD), after_seconds=3600)
    with pytest.raises(ConflictError, match="already running a task"):
        await server_client.runs.create(thread_id, GRAPH_ID, input=ask(PASSWORD), multitask_strategy="reject")
    assert (await server_client.threads.get_state(thread_id))["values"] == before["values"]

    await server_client.runs.cancel(thread_id, held["run_id"], wait=True)
    run = await server_client.runs.create(thread_id, GRAPH_ID, input=ask(PASSWORD), multitask_strategy="reject")
    await server_client.runs.join(thread_id, run["run_id"])
    assert (await server_client.runs.get(thread_id, run["run_id"]))["status"] == "success"


async def test_concurrent_runs_on_one_thread_are_queued_not_interleaved(server_client: LangGraphClient) -> None:
    thread_id = (await server_client.threads.create())["thread_id"]
    runs = [await server_client.runs.create(thread_id, GRAPH_ID, input=ask(text)) for text in (WIFI, PASSWORD)]
    for run in runs:
        await server_client.runs.join(thread_id, run["run_id"])
        assert (await server_client.runs.get(thread_id, run["run_id"]))["status"] == "success"

    messages = (await server_client.threads.get_state(thread_id))["values"]["messages"]
    asked = [i for i, m in enumerate(messages) if m["type"] == "human"]
    assert [messages[i]["content"] for i in asked] == [WIFI, PASSWORD]
    first_answer = messages[asked[1] - 1]  # the first run answered before the second began
    assert first_answer["type"] == "ai" and not first_answer.get("tool_calls")
    assert messages[-1]["type"] == "ai" and not messages[-1].get("tool_calls")
    # One linear history: every checkpoint's parent is the one before it (no fork).
    history = await server_client.threads.get_history(thread_id, limit=200)
    for newer, older in pairwise(history):
        assert newer["parent_checkpoint"]["checkpoint_id"] == older["checkpoint"]["checkpoint_id"]


async def test_each_server_run_is_one_trace_in_proctors_store(dev_server: DevServer, server_client: LangGraphClient) -> None:
    thread_id = (await server_client.threads.create())["thread_id"]
    await server_client.runs.wait(thread_id, GRAPH_ID, input=ask(WIFI))
    streamed = [
        part.event
        async for part in server_client.runs.stream(thread_id, GRAPH_ID, input=ask(PASSWORD), stream_mode=["events"])
    ]
    assert "events" in streamed  # this run went through the server's astream_events path
    runs = await server_client.runs.list(thread_id)
    # The graph traces itself: the trace id is the server's run id, and nothing is traced twice.
    store = TraceStore(f"sqlite:///{dev_server.workdir / 'data' / 'traces.sqlite'}")
    traced = store.thread(thread_id)
    assert sorted(t.trace_id for t in traced) == sorted(str(r["run_id"]) for r in runs)
    assert [(t.input, t.status, t.user_id) for t in traced] == [(WIFI, "ok", "anonymous"), (PASSWORD, "ok", "anonymous")]
    assert all(t.route and t.answer and t.release for t in traced)
