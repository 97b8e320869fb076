"""The supervisor end to end on the seeded desk: routes, specialists, planner, escalation, bad input."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from proctor.demo import demo_ids
from proctor.context import RunContext
from proctor.deployment import Deployment
from proctor.settings import Settings
from proctor.errors import InvalidRequest, UnknownThread
from proctor.graphs.supervisor import build_graph
from proctor.offline import LABEL
from proctor.runner import Proctor
from tests.conftest import call, scripted


@pytest.fixture
def desk(deployment: Deployment) -> Proctor:
    return Proctor(deployment=deployment)


@pytest.fixture
def ids(desk: Proctor) -> dict[str, str]:
    return demo_ids(desk)


def refunds(desk: Proctor, invoice_id: str) -> list[dict]:
    return desk.deployment.db.query("SELECT * FROM refunds WHERE invoice_id = ?", (invoice_id,))


def test_duplicate_charge_routes_to_billing_and_refunds_once(desk, ids):
    invoice = ids["duplicate_invoice"]
    result = desk.run(f"I was charged twice for invoice {invoice}, please refund the duplicate", user_id=ids["customer"])
    assert result.route == "billing" and result.status == "done"
    assert [c.name for c in result.tool_calls] == ["get_invoice", "refund_invoice"]
    assert all(c.ok for c in result.tool_calls)
    [refund] = refunds(desk, invoice)
    charge = desk.deployment.db.query("SELECT amount_cents FROM invoices WHERE id = ?", (invoice,))[0]
    assert refund["amount_cents"] == charge["amount_cents"]
    assert result.answer.startswith(LABEL) and invoice in result.answer
    assert result.model == "proctor-offline" and result.usage.input_tokens > 0


def test_kb_question_routes_to_support_and_cites_an_article(desk):
    result = desk.run("How do I connect my device to Wi-Fi?")
    assert result.route == "support"
    assert [c.name for c in result.tool_calls][:1] == ["search_kb"]
    assert "[KB-" in result.answer


def test_three_part_request_goes_through_plan_and_execute(desk, ids):
    order = ids["pending_order"]
    text = f"Cancel order {order}, refund the shipping fee and email me a confirmation at {ids['email']}"
    owner = desk.deployment.db.query("SELECT customer_id FROM orders WHERE id = ?", (int(order),))[0]["customer_id"]
    result = desk.run(text, user_id=owner)  # the order's customer: their own address on the order taints nothing
    assert result.route == "plan"
    names = [c.name for c in result.tool_calls]
    for expected in ("cancel_order", "refund_shipping_fee", "send_email"):
        assert expected in names
    status = desk.deployment.db.query("SELECT status FROM orders WHERE id = ?", (int(order),))[0]["status"]
    assert status == "cancelled"
    outbox = desk.deployment.db.query("SELECT * FROM email_outbox WHERE to_email = ?", (ids["email"],))
    assert len(outbox) == 1
    assert "3 steps" in result.answer


def test_safety_threat_is_escalated_to_a_human(desk):
    result = desk.run("The charger started smoking and burned my desk, my lawyer will be in touch")
    assert result.route == "escalate" and not result.tool_calls
    [row] = desk.deployment.db.query("SELECT * FROM escalations")
    assert row["id"] in result.answer


def test_vague_request_gets_a_clarifying_question(desk):
    result = desk.run("hello?")
    assert result.route == "clarify" and "more" in result.answer


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 5000])
def test_empty_or_oversized_requests_are_refused(desk, text):
    with pytest.raises(InvalidRequest):
        desk.run(text)


def test_unknown_invoice_gets_an_honest_answer_and_no_write(desk):
    result = desk.run("Please refund invoice INV-99999, I was charged twice")
    assert result.tool_calls[0].name == "get_invoice" and not result.tool_calls[0].ok
    assert "INV-99999" in result.answer
    assert desk.deployment.db.query("SELECT COUNT(*) AS n FROM refunds WHERE invoice_id = 'INV-99999'")[0]["n"] == 0


def test_unknown_thread_is_a_typed_error(desk):
    with pytest.raises(UnknownThread):
        desk.run("where is my order 1001?", thread_id="no-such-thread")


def test_a_conversation_continues_on_its_thread(desk):
    first = desk.run("hello", user_id="CUS-0280")
    second = desk.run("Where is my order 1001?", user_id="CUS-0280", thread_id=first.thread_id)
    assert second.thread_id == first.thread_id and second.route == "orders"


def test_malformed_tool_arguments_from_the_model_change_nothing(deployment, ids):
    deployment.model = scripted(
        call("refund_invoice", invoice_id=ids["duplicate_invoice"], amount=-5, reason="dup"),
        AIMessage("I could not refund that."),
    )
    desk = Proctor(deployment=deployment)
    result = desk.run(f"refund my duplicate charge on {ids['duplicate_invoice']}", user_id=ids["customer"])
    assert result.route == "billing"
    assert result.tool_calls == []  # refused before the approval gate and the tool: nothing ran
    messages = desk.graph.get_state({"configurable": {"thread_id": result.thread_id}}).values["messages"]
    [refused] = [m for m in messages if m.type == "tool"]
    assert refused.status == "error" and "greater than or equal to 0.01" in refused.text
    assert refunds(desk, ids["duplicate_invoice"]) == []


def test_a_specialist_hands_multi_step_work_to_the_planner(deployment, ids):
    # The orders agent hands off; the planner (offline) plans one orders step, which the same
    # scripted model then answers.
    script = scripted(call("hand_off_to_planner", reason="several actions"), AIMessage("Cancelled it."))
    original = deployment.model_for
    deployment.model_for = lambda spec: script if spec.name == "orders" else original(spec)
    graph = build_graph(deployment=deployment, checkpointer=False)
    customer = RunContext(requester=deployment.directory.requester(ids["customer"]), thread_id="t-hand-off")
    out = graph.invoke({"messages": [HumanMessage(f"Cancel order {ids['pending_order']} please")]}, context=customer)
    assert out["route"] == "orders"
    assert out["messages"][-1].text.endswith("1. [orders] Cancelled it.")


async def test_async_and_streaming(desk):
    result = await desk.arun("Where is my order 1001?", user_id="CUS-0280")
    assert result.route == "orders" and result.tool_calls[0].name == "get_order"
    chunks = [c async for c in desk.graph.astream(
        {"messages": [HumanMessage("How do I export my data?")]},
        {"configurable": {"thread_id": "stream-1"}}, stream_mode="updates")]
    assert list(chunks[0]) == ["front_door"]
    assert any("support" in c for c in chunks)


def test_account_role_change_routes_to_account_and_waits_for_approval(desk):
    result = desk.run("Please make sami@lumenanalytics.com an admin of workspace WS-0004", user_id="CUS-0004")
    assert result.route == "account" and result.status == "interrupted"
    assert result.interrupts[0]["name"] == "change_user_role"


def test_unknown_order_is_reported_not_guessed(desk):
    result = desk.run("Where is my order 99999?")
    assert result.route == "orders"
    assert [(c.name, c.ok) for c in result.tool_calls] == [("get_order", False)]
    assert "99999" in result.answer


def test_the_llm_tier_decides_when_the_fast_tier_is_unsure():
    from proctor.graphs.front_door import FrontDoor

    routes = {"billing": "money", "orders": "devices", "clarify": "vague"}
    llm = scripted(call("LLMRoute", route="orders", reason="asks about a parcel"))
    classifier = Deployment(Settings()).classifier
    door = FrontDoor(routes, classifier, llm=llm, threshold=1.0)  # the fast tier is never sure enough
    decision = door.decide("the thing I bought has not come")
    assert (decision.route, decision.tier) == ("orders", "llm")
    offline = FrontDoor(routes, classifier, llm=None, threshold=1.0).decide("the thing I bought has not come")
    assert offline.tier == "fast"
