"""Span trees captured from real runs of the supervisor graph, and ``record_run`` saving them."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from proctor.context import Requester, RunContext
from proctor.graphs.supervisor import build_graph
from proctor.guards.state import emit
from proctor.pricing import DEFAULT_PRICES
from proctor.tracing.capture import TEXT_LIMIT, TraceCapture, clip
from proctor.tracing.models import Span, Trace, TraceQuery
from proctor.tracing.record import record_run, spool_dir, store_for
from proctor.tracing.settings import TraceSettings
from tests.conftest import ScriptedModel, call, scripted


# Order 1001 is CUS-0280's: the runs below act for them.
OWNER = RunContext(requester=Requester(id="CUS-0280", kind="customer"), thread_id="t-trace")


def run_traced(graph, text: str, **config: Any) -> tuple[Trace, dict]:
    capture = TraceCapture()
    run_id = uuid.uuid4()
    out = graph.invoke(
        {"messages": [HumanMessage(text)]},
        {"callbacks": [capture], "run_id": run_id, "metadata": {"user_id": "CUS-0280"}, **config},
        context=OWNER,
    )
    trace = capture.finish(DEFAULT_PRICES, release="9.9.9")
    assert trace.trace_id == str(run_id)
    return trace, out


def only(spans: list[Span], **match: Any) -> Span:
    [span] = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    return span


def ancestors(trace: Trace, span: Span) -> list[str]:
    by_id = {s.span_id: s for s in trace.spans}
    names = []
    while span.parent_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def test_a_supervisor_run_becomes_a_span_tree(deployment):
    graph = build_graph(deployment=deployment, checkpointer=False)
    trace, out = run_traced(graph, "Where is my order 1001?")

    root = only(trace.spans, parent_id=None)
    assert root.name == "proctor" and root.inputs == {"request": "Where is my order 1001?"}
    front = only(trace.spans, name="front_door")
    assert front.parent_id == root.span_id and front.outputs == {"route": "orders"}
    specialist = only(trace.spans, name="orders", parent_id=root.span_id)
    tool = only(trace.spans, kind="tool", name="get_order")
    assert tool.inputs == {"args": {"order_id": "1001"}} and tool.outputs["result"]
    assert ancestors(trace, tool)[-2:] == ["orders", "proctor"]
    llm = [s for s in trace.spans if s.kind == "llm"]
    assert len(llm) == 2 and all(s.model == "proctor-offline" and s.input_tokens > 0 for s in llm)
    assert llm[0].outputs["tool_calls"] == [{"name": "get_order", "args": {"order_id": "1001"}}]
    assert all(specialist.span_id in ancestors_ids(trace, s) for s in llm)

    assert (trace.status, trace.route, trace.user_id, trace.release) == ("ok", "orders", "CUS-0280", "9.9.9")
    assert trace.tools == ["get_order"] and trace.model == "proctor-offline"
    assert trace.input_tokens == sum(s.input_tokens for s in llm) > 0
    assert trace.cost_usd == 0.0  # the offline model is free in the default price table
    assert trace.answer == out["messages"][-1].text
    assert all(s.ended_at is not None and s.ended_at >= s.started_at for s in trace.spans)
    assert trace.latency_ms >= max(s.latency_ms for s in trace.spans[1:])
    # Cheap by design: no chain span carries the graph state.
    assert all(len(json.dumps(s.inputs)) < 200 for s in trace.spans if s.kind in ("chain", "guardrail"))


async def test_async_runs_are_captured_the_same_way(deployment):
    graph = build_graph(deployment=deployment, checkpointer=False)
    capture = TraceCapture()
    await graph.ainvoke({"messages": [HumanMessage("Where is my order 1001?")]}, {"callbacks": [capture]}, context=OWNER)
    trace = capture.finish(DEFAULT_PRICES)
    assert (trace.status, trace.route, trace.tools) == ("ok", "orders", ["get_order"])
    assert len([s for s in trace.spans if s.kind == "llm"]) == 2


def ancestors_ids(trace: Trace, span: Span) -> set[str]:
    by_id = {s.span_id: s for s in trace.spans}
    found = set()
    while span.parent_id:
        found.add(span.parent_id)
        span = by_id[span.parent_id]
    return found


def test_a_hand_off_to_the_planner_is_not_an_error_and_shows_the_plan_steps(deployment):
    script = scripted(call("hand_off_to_planner", reason="several actions"), AIMessage("Cancelled it."))
    original = deployment.model_for
    deployment.model_for = lambda spec: script if spec.name == "orders" else original(spec)
    graph = build_graph(deployment=deployment, checkpointer=False)
    trace, _ = run_traced(graph, "Cancel order 1001 please")
    assert trace.status == "ok" and trace.route == "orders"
    hand_off = only(trace.spans, kind="tool", name="hand_off_to_planner")
    assert hand_off.status == "ok" and hand_off.outputs == {"command": "plan"}
    node = only(trace.spans, name="plan", parent_id=trace.spans[0].span_id)
    [subgraph] = trace.children(node.span_id)
    steps = [s.name for s in trace.children(subgraph.span_id)]
    assert steps[:2] == ["plan", "execute"] and steps[-1] == "report"


class Ask(TypedDict):
    answer: str


def test_a_guard_firing_is_a_guardrail_span_under_the_step_that_fired_it():
    def tool_step(state: Ask) -> dict:
        emit("injection_flagged", tool="search_kb", score=0.97)
        return {"answer": "flagged"}

    graph = StateGraph(Ask)
    graph.add_node("tools", tool_step)
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    trace, _ = run_traced(graph.compile(), "x")
    event = only(trace.spans, kind="guardrail")
    assert event.name == "injection_flagged" and event.parent_id == only(trace.spans, name="tools").span_id
    assert event.outputs == {"kind": "injection_flagged", "tool": "search_kb", "score": 0.97}


class Broken(ScriptedModel):
    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("model endpoint returned 503")


def test_a_failed_run_is_an_error_trace_with_its_route_and_error_class(deployment):
    broken = Broken(responses=[AIMessage("unused")])
    deployment.model_for = lambda spec: broken
    graph = build_graph(deployment=deployment, checkpointer=False)
    capture = TraceCapture()
    # The run degrades (an honest answer, see proctor.model_failures); its trace still says it failed.
    graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, {"callbacks": [capture]})
    trace = capture.finish(DEFAULT_PRICES)
    assert (trace.status, trace.error_class, trace.route) == ("error", "ModelFailure", "orders")
    llm = only(trace.spans, kind="llm")
    assert llm.status == "error" and llm.error == "RuntimeError: model endpoint returned 503"
    assert only(trace.spans, kind="guardrail").name == "model_failure"


def test_an_interrupt_is_an_interrupted_trace_with_an_interrupt_span():
    def ask(state: Ask) -> dict:
        return {"answer": interrupt({"approve": "refund INV-1"})}

    graph = StateGraph(Ask)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    trace, _ = run_traced(graph.compile(checkpointer=InMemorySaver()), "x", configurable={"thread_id": "t-1"})
    assert trace.status == "interrupted" and trace.thread_id == "t-1"
    span = only(trace.spans, kind="interrupt")
    assert span.outputs == {"value": {"approve": "refund INV-1"}} and span.status == "interrupted"
    assert only(trace.spans, name="ask").status == "interrupted"


def test_clip_keeps_values_small_and_json_able():
    clipped = clip({"text": "x" * 10_000, "items": list(range(100)), "obj": object(), "deep": {"a": {"b": {"c": {}}}}})
    assert len(clipped["text"]) == TEXT_LIMIT + 1 and len(clipped["items"]) == 20
    assert isinstance(clipped["obj"], str) and isinstance(clipped["deep"]["a"]["b"], str)
    json.dumps(clipped)


# record_run: what the runner wraps each run in


def offline_tracing(settings, **overrides: Any) -> TraceSettings:
    return TraceSettings(langsmith_tracing=False, release="1.0.0", **overrides)


def test_record_run_saves_the_trace_of_a_run(deployment, settings):
    graph = build_graph(deployment=deployment, checkpointer=False)
    run_id = uuid.uuid4()
    config = {"run_id": run_id, "callbacks": [], "metadata": {"user_id": "CUS-0280"}, "configurable": {"thread_id": "th"}}
    with record_run(settings, config, offline_tracing(settings)) as (traced, _):
        graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, traced, context=OWNER)
    assert config["callbacks"] == []  # the caller's config is left as it was
    trace = store_for(settings).get(str(run_id))
    assert (trace.user_id, trace.thread_id, trace.release, trace.route) == ("CUS-0280", "th", "1.0.0", "orders")
    assert "get_order" in trace.tools


class BrokenClassifier:
    def classify(self, text: str) -> Any:
        raise RuntimeError("classifier crashed")


def test_record_run_saves_failed_runs_and_lets_the_error_through(deployment, settings):
    deployment.classifier = BrokenClassifier()  # a node that raises (model failures degrade instead)
    graph = build_graph(deployment=deployment, checkpointer=False)
    config = {"run_id": uuid.uuid4()}
    with pytest.raises(RuntimeError), record_run(settings, config, offline_tracing(settings)) as (traced, _):
        graph.invoke({"messages": [HumanMessage("Where is my order 1001?")]}, traced)
    assert store_for(settings).get(str(config["run_id"])).error_class == "RuntimeError"


def test_a_locked_store_spools_the_trace_and_the_next_run_delivers_it(deployment, settings, caplog):
    tracing = offline_tracing(settings, busy_timeout_s=0.1)
    store = store_for(settings, tracing)
    graph = build_graph(deployment=deployment, checkpointer=False)
    holder = sqlite3.connect(store.db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    first = {"run_id": uuid.uuid4()}
    with record_run(settings, first, tracing) as (traced, _):  # must not raise
        graph.invoke({"messages": [HumanMessage("hello?")]}, traced)
    holder.execute("ROLLBACK")
    holder.close()
    spooled = spool_dir(settings)
    assert [p.stem for p in spooled.glob("*.json")] == [str(first["run_id"])]
    assert "kept in" in caplog.text and "locked" in caplog.text

    second = {"run_id": uuid.uuid4()}
    with record_run(settings, second, tracing) as (traced, _):
        graph.invoke({"messages": [HumanMessage("hello?")]}, traced)
    assert {h.trace_id for h in store.search(TraceQuery())} == {str(first["run_id"]), str(second["run_id"])}
    assert list(spooled.glob("*")) == []
