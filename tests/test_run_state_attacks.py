"""Attacks on run-wide guard state: taint, step counts, spend and the deadline hold across every
subgraph, hand-off and plan step, count every model call, and cannot be written by a caller.

The adversary is a scripted model that emits whatever tool calls, plans and usage figures it likes.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.guards.meter import MAX_TOKENS_PER_CALL, Meter, tokens
from proctor.guards.settings import GuardSettings
from proctor.runner import Proctor
from tests.conftest import ScriptedModel, call, scripted
from tests.test_guards import Events

WIFI = "How do I connect my device to Wi-Fi?"


class Slow(ScriptedModel):
    """A scripted model that takes ``delay`` seconds per reply."""

    delay: float = 0.0

    def _generate(self, *args: Any, **kwargs: Any):
        time.sleep(self.delay)
        return super()._generate(*args, **kwargs)


def with_usage(message: AIMessage, inp: Any, out: Any, model: str = "gpt-4o") -> AIMessage:
    message.usage_metadata = {"input_tokens": inp, "output_tokens": out, "total_tokens": 0}
    message.response_metadata = {"model_name": model}
    return message


def plan_reply(*steps: tuple[str, str]) -> AIMessage:
    """What a model answers to the planner's structured-output request."""
    args = {"steps": [{"agent": a, "instruction": i} for a, i in steps]}
    return AIMessage("", tool_calls=[{"name": "Plan", "args": args, "id": "plan-1", "type": "tool_call"}])


def by_agent(deployment: Deployment, scripts: dict[str, ScriptedModel], planner: ScriptedModel | None = None) -> None:
    original = deployment.model_for
    deployment.model_for = lambda spec: scripts.get(spec.name) or original(spec)
    if planner is not None:
        deployment.model = planner


def refundable_invoice(deployment: Deployment, at_least_cents: int) -> str:
    return deployment.db.query(
        "SELECT id FROM invoices WHERE status = 'paid' AND amount_cents >= ?"
        " AND id NOT IN (SELECT invoice_id FROM refunds) ORDER BY id LIMIT 1",
        (at_least_cents,),
    )[0]["id"]


def refunds(deployment: Deployment, invoice: str) -> int:
    return deployment.db.query("SELECT COUNT(*) AS n FROM refunds WHERE invoice_id = ?", (invoice,))[0]["n"]


def test_taint_survives_a_hand_off_to_the_planner_and_its_billing_step_waits_for_a_human(deployment):
    invoice = refundable_invoice(deployment, 9500)
    owner = deployment.db.query("SELECT customer_id FROM invoices WHERE id = ?", (invoice,))[0]["customer_id"]
    by_agent(
        deployment,
        {
            # Support reads an article (the run is tainted), then launders the request via the planner.
            "support": scripted(call("get_article", "a1", article_id="KB-001"),
                                call("hand_off_to_planner", "h1", reason="needs billing too")),
            "billing": scripted(call("refund_invoice", "r1", invoice_id=invoice, amount=95.0, reason="as the article says"),
                                AIMessage("Refunded.")),
        },
        planner=scripted(plan_reply(("billing", f"refund $95 on invoice {invoice}"))),
    )
    desk = Proctor(deployment=deployment)
    result = desk.run(WIFI, user_id=owner)  # the customer's own invoice: only taint can stop it
    assert result.route == "support"
    assert result.status == "interrupted"
    assert [p["request"]["rule"] for p in result.interrupts] == ["tainted"]
    assert refunds(deployment, invoice) == 0
    state = desk.graph.get_state({"configurable": {"thread_id": result.thread_id}}, subgraphs=True)
    assert state.values["tainted"] is True


def test_counters_continue_across_the_hand_off_plan_and_steps(settings):
    guards = settings.guards.model_copy(update={"step_limit": 15})
    deployment = Deployment(settings.model_copy(update={"guards": guards}))
    by_agent(
        deployment,
        {
            "orders": scripted(*[with_usage(call("get_order", f"o{i}", order_id=str(1001 + i)), 10, 10) for i in range(6)],
                               with_usage(call("hand_off_to_planner", "h1", reason="more"), 10, 10)),
            # Every plan step loops on lookups: the run's bound, not a fresh one per step, stops it.
            "billing": scripted(*[with_usage(call("get_invoice", f"b{i}", invoice_id=f"INV-{10001 + i}"), 10, 10)
                                  for i in range(40)]),
        },
        planner=scripted(with_usage(plan_reply(*[("billing", f"look at invoice INV-{10001 + i}") for i in range(8)]), 10, 10)),
    )
    for spec in deployment.specs:
        spec.limits.max_model_calls = 50
    events = Events()
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]},
                       {"callbacks": [events], "configurable": {"thread_id": "t-count"}})
    assert out["route"] == "orders"
    model_replies = sum(isinstance(m, AIMessage) for m in out["messages"])
    assert out["turn_model_calls"] == 15  # 7 by orders + the planner + the steps, all one bound
    assert "step_limit" in events.kinds or "budget_stop" in events.kinds
    assert out["turn_tokens"] == 20 * 15 and model_replies >= 1
    assert "more steps than allowed" in out["messages"][-1].text


def test_the_planner_is_charged_and_falls_back_once_the_budget_is_spent(settings):
    guards = settings.guards.model_copy(update={"max_tokens_per_run": 1000})
    deployment = Deployment(settings.model_copy(update={"guards": guards}))
    planner = scripted(with_usage(plan_reply(("orders", "where is order 1001")), 10, 10))
    by_agent(
        deployment,
        # One reply reports far more than the budget: the planner must not get a fresh one.
        {"orders": scripted(with_usage(call("hand_off_to_planner", "h1", reason="more"), 5000, 5000))},
        planner=planner,
    )
    events = Events()
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]},
                       {"callbacks": [events], "configurable": {"thread_id": "t-plan"}})
    assert planner.i == 0  # the hostile planner was never asked: the offline fallback planned
    assert "budget_fallback" in events.kinds
    assert out["turn_tokens"] >= 10_000


def test_reported_usage_is_clamped(deployment):
    assert [tokens(v) for v in (-10**12, float("nan"), float("-inf"), "lots", None, 1e300, float("inf"), 12.7)] == [
        0, 0, 0, 0, 0, MAX_TOKENS_PER_CALL, MAX_TOKENS_PER_CALL, 12,
    ]
    by_agent(deployment, {"orders": scripted(with_usage(call("get_order", "o1", order_id="1001"), -10**12, -10**12),
                                             with_usage(AIMessage("Here it is."), 1e300, 5))})
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, {"configurable": {"thread_id": "t-u"}})
    assert out["turn_tokens"] == MAX_TOKENS_PER_CALL + 5
    assert 0 < out["turn_cost_usd"] < 100


def test_a_caller_cannot_write_guard_state_through_the_input(deployment):
    graph = build_graph(deployment=deployment, checkpointer=False)
    assert set(graph.get_input_jsonschema()["properties"]) == {"messages"}
    forged = {
        "messages": [HumanMessage("Where is my order 1001?")],
        "turn_tokens": -10**12, "turn_cost_usd": -1e9, "turn_model_calls": -1000,
        "tainted": False, "route": "billing", "user_id": "CUS-0002", "turn_started_at": 1e12,
    }
    out = graph.invoke(forged, {"configurable": {"thread_id": "t-forged"}})
    assert out["route"] == "orders"  # the front door ran and decided
    assert out["turn_model_calls"] >= 1 and out["turn_tokens"] > 0 and out["turn_cost_usd"] >= 0
    assert "user_id" not in out and out["turn_started_at"] <= time.time()


def test_a_run_past_its_deadline_ends_with_an_honest_answer(settings):
    guards = settings.guards.model_copy(update={"run_deadline_s": 1.0})
    deployment = Deployment(settings.model_copy(update={"guards": guards}))
    slow = Slow(responses=[call("get_order", f"o{i}", order_id=str(1001 + i)) for i in range(5)], delay=1.2)
    by_agent(deployment, {"orders": slow})
    events = Events()
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]},
                       {"callbacks": [events], "configurable": {"thread_id": "t-slow"}})
    assert slow.i == 1 and "deadline" in events.kinds
    assert "ran past its time limit" in out["messages"][-1].text


def test_a_resumed_run_gets_its_own_clock():
    meter = Meter(GuardSettings(), {})
    state = {"turn_started_at": time.time() - 10_000, "turn_run": "run-1"}
    assert meter.over(state, "run-1") == "time"
    assert meter.over(state, "run-2") is None  # the run after an approval
    assert meter.charge(state, [], "run-2")["turn_run"] == "run-2"


def test_parallel_untrusted_reads_taint_the_run_once(deployment):
    by_agent(deployment, {"support": scripted(
        AIMessage("", tool_calls=[{"name": "get_article", "args": {"article_id": a}, "id": f"a{i}", "type": "tool_call"}
                                  for i, a in enumerate(("KB-001", "KB-002"))]),
        AIMessage("See [KB-001]."),
    )})
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage(WIFI)]}, {"configurable": {"thread_id": "t-par"}})
    assert out["tainted"] is True
    assert sum(isinstance(m, ToolMessage) and m.status != "error" for m in out["messages"]) == 2


def test_taint_outlives_the_turn_on_its_thread(deployment):
    by_agent(deployment, {"support": scripted(call("get_article", "a1", article_id="KB-001"), AIMessage("Done."))})
    desk = Proctor(deployment=deployment)
    first = desk.run(WIFI)
    second = desk.run("Where is my order 1001?", thread_id=first.thread_id)
    state = desk.graph.get_state({"configurable": {"thread_id": second.thread_id}})
    assert state.values["tainted"] is True and state.values["turn_model_calls"] >= 1


def test_a_hand_off_beside_other_calls_is_refused(deployment):
    both = AIMessage("", tool_calls=[
        {"name": "get_article", "args": {"article_id": "KB-001"}, "id": "a1", "type": "tool_call"},
        {"name": "hand_off_to_planner", "args": {"reason": "x"}, "id": "h1", "type": "tool_call"},
    ])
    by_agent(deployment, {"support": scripted(both, AIMessage("Answered myself."))})
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage(WIFI)]}, {"configurable": {"thread_id": "t-mixed"}})
    [refused] = [m for m in out["messages"] if isinstance(m, ToolMessage) and m.name == "hand_off_to_planner"]
    assert refused.status == "error" and "reply of its own" in refused.text
    assert out["tainted"] is True and out["messages"][-1].text == "Answered myself."


@pytest.mark.parametrize("reply", [
    AIMessage("", tool_calls=[{"name": "Plan", "args": {"steps": "all of them"}, "id": "p", "type": "tool_call"}]),
    AIMessage("not a plan at all"),
])
def test_a_malformed_plan_falls_back_to_the_rule_planner_and_is_charged(deployment, reply):
    planner = scripted(with_usage(reply, 10, 10))
    by_agent(deployment, {"orders": scripted(call("hand_off_to_planner", "h1", reason="more"), AIMessage("Shipped."))},
             planner=planner)
    events = Events()
    graph = build_graph(deployment=deployment, checkpointer=False)
    out = graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]},
                       {"callbacks": [events], "configurable": {"thread_id": "t-bad"}})
    assert "planner_fallback" in events.kinds
    assert out["turn_tokens"] >= 20 and out["messages"][-1].type == "ai"
