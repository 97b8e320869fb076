"""Every run of a graph built by ``build_graph`` is one trace in proctor's store, however it is started."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.types import Command

from proctor.context import Requester, RunContext
from proctor.deployment import Deployment
from proctor.graphs.supervisor import build_graph
from proctor.runner import Proctor
from proctor.tracing.capture import TraceCapture
from proctor.tracing.graph import TracedGraph
from proctor.tracing.models import Trace, TraceQuery
from proctor.tracing.record import store_for

ORDER = "Where is my order 1001?"  # order 1001 is CUS-0280's
OWNER = Requester(id="CUS-0280", kind="customer")
REFUND = "I was charged twice for invoice INV-10269, please refund the duplicate"  # $129: needs a human


def traces(deployment: Deployment) -> list[Trace]:
    store = store_for(deployment.settings)
    return [store.get(hit.trace_id) for hit in reversed(store.search(TraceQuery(limit=100)))]


def ask(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(text)]}


def start(thread: str, requester: Requester = OWNER) -> tuple[dict[str, Any], RunContext]:
    return {"configurable": {"thread_id": thread}}, RunContext(requester=requester, thread_id=thread)


async def drain(stream: Any) -> None:
    async for _ in stream:
        pass


ENTRY_POINTS = {
    "invoke": lambda graph, config, context: graph.invoke(ask(ORDER), config, context=context),
    "stream": lambda graph, config, context: list(graph.stream(ask(ORDER), config, context=context)),
    "ainvoke": lambda graph, config, context: asyncio.run(graph.ainvoke(ask(ORDER), config, context=context)),
    "astream": lambda graph, config, context: asyncio.run(drain(graph.astream(ask(ORDER), config, context=context))),
    "astream_events": lambda graph, config, context: asyncio.run(
        drain(graph.astream_events(ask(ORDER), config, context=context, version="v2"))
    ),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_each_entry_point_of_a_plain_graph_writes_exactly_one_trace(deployment, entry):
    graph = build_graph(deployment=deployment)
    config, context = start(f"t-{entry}")
    # What the caller writes into metadata does not decide whom the trace names: the context does.
    config["metadata"] = {"user_id": "someone-else"}
    ENTRY_POINTS[entry](graph, config, context)
    [trace] = traces(deployment)
    assert (trace.status, trace.route, trace.user_id, trace.thread_id) == ("ok", "orders", "CUS-0280", f"t-{entry}")
    assert trace.tools == ["get_order"]
    [tool] = [s for s in trace.spans if s.kind == "tool"]
    assert tool.status == "ok" and tool.inputs == {"args": {"order_id": "1001"}}


def test_a_run_without_a_context_is_traced_as_anonymous(deployment):
    build_graph(deployment=deployment, checkpointer=False).invoke(ask(ORDER))
    [trace] = traces(deployment)
    # Anonymous callers reach no customer's order: the tool refused, and the trace says so.
    assert (trace.user_id, trace.thread_id, trace.route, trace.tools) == (None, None, "orders", ["get_order"])
    assert [s.status for s in trace.spans if s.kind == "tool"] == ["error"]


def test_a_resume_after_approval_is_the_threads_next_trace(deployment):
    graph = build_graph(deployment=deployment)
    customer = deployment.directory.requester("CUS-0051")
    config, context = start("t-approval", customer)
    graph.invoke(ask(REFUND), config, context=context)
    [waiting] = graph.get_state(config).interrupts
    reviewer = context.model_copy(update={"actor": deployment.directory.requester("alice")})
    graph.invoke(Command(resume={waiting.id: {"type": "approve", "reviewer": "alice"}}), config, context=reviewer)

    asked, resumed = traces(deployment)
    assert (asked.status, resumed.status) == ("interrupted", "ok")
    assert {asked.thread_id, resumed.thread_id} == {"t-approval"} and {asked.user_id, resumed.user_id} == {"CUS-0051"}
    assert "refund_invoice" not in asked.tools and "refund_invoice" in resumed.tools
    assert asked.trace_id != resumed.trace_id


def test_a_failed_run_is_traced_and_its_error_raised(deployment):
    class Broken:
        def classify(self, text: str) -> Any:
            raise RuntimeError("classifier crashed")

    deployment.classifier = Broken()
    graph = build_graph(deployment=deployment, checkpointer=False)
    with pytest.raises(RuntimeError, match="classifier crashed"):
        graph.invoke(ask(ORDER), context=RunContext(requester=OWNER, thread_id="t"))
    [trace] = traces(deployment)
    assert (trace.status, trace.error_class, trace.user_id) == ("error", "RuntimeError", "CUS-0280")


def test_proctor_run_writes_one_trace_and_reads_its_result_from_it(deployment):
    desk = Proctor(deployment=deployment)
    result = desk.run(ORDER, user_id="CUS-0280")
    [trace] = traces(deployment)
    assert trace.trace_id == result.trace_id and trace.thread_id == result.thread_id and trace.user_id == "CUS-0280"
    assert [(c.name, c.args, c.ok) for c in result.tool_calls] == [("get_order", {"order_id": "1001"}, True)]
    llm = [s for s in trace.spans if s.kind == "llm"]
    assert result.usage.input_tokens == trace.input_tokens == sum(s.input_tokens for s in llm) > 0
    assert result.model == trace.model == "proctor-offline" and result.status == "done"


def test_proctor_resume_writes_one_more_trace_for_the_thread(deployment):
    desk = Proctor(deployment=deployment)
    asked = desk.run(REFUND, user_id="CUS-0051")
    [waiting] = asked.interrupts
    done = desk.resume(asked.thread_id, {"type": "approve", "reviewer": "alice"}, actor="alice")
    first, second = traces(deployment)
    assert (first.trace_id, second.trace_id) == (asked.trace_id, done.trace_id)
    assert (first.status, second.status, done.status) == ("interrupted", "ok", "done")
    assert second.user_id == "CUS-0051" and second.thread_id == asked.thread_id
    assert [c.name for c in done.tool_calls] == ["refund_invoice"] and waiting["request"]["tool"] == "refund_invoice"


def test_a_run_that_brings_its_own_capture_is_left_to_its_caller(deployment):
    graph = build_graph(deployment=deployment, checkpointer=False)
    capture = TraceCapture()
    graph.invoke(ask(ORDER), {"callbacks": [capture], "run_id": uuid.uuid4()}, context=RunContext(requester=OWNER, thread_id="t"))
    assert traces(deployment) == [] and capture.tool_calls[0].name == "get_order"


def test_copies_of_the_graph_still_trace(deployment):
    graph = build_graph(deployment=deployment, checkpointer=False).with_config(tags=["copy"])
    assert isinstance(graph, TracedGraph)
    graph.invoke(ask(ORDER), context=RunContext(requester=OWNER, thread_id="t"))
    assert len(traces(deployment)) == 1


def test_an_untraced_graph_writes_nothing(deployment):
    build_graph(deployment=deployment, checkpointer=False, tracing=False).invoke(ask(ORDER))
    assert traces(deployment) == []


def test_the_input_schema_is_the_request_alone(deployment):
    schema = build_graph(deployment=deployment, checkpointer=False).get_input_jsonschema()
    assert list(schema["properties"]) == ["messages"]
    assert schema.get("required", ["messages"]) == ["messages"]
