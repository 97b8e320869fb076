"""The offline model: real tool calls through the LangChain interface, deterministic, labelled."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from proctor.offline import LABEL, MODEL_NAME, OfflineChatModel


class InvoiceArgs(BaseModel):
    invoice_id: str = Field(pattern=r"INV-\d{5}")


class RefundArgs(BaseModel):
    invoice_id: str = Field(pattern=r"INV-\d{5}")
    amount: float = Field(gt=0)
    reason: str = Field(max_length=40)


def _tool(name: str, schema: type[BaseModel], effect: str) -> StructuredTool:
    return StructuredTool.from_function(
        func=lambda **kw: kw, name=name, description=name, args_schema=schema,
        metadata={"effect": effect, "scopes": []},
    )


TOOLS = [_tool("refund_invoice", RefundArgs, "write"), _tool("get_invoice", InvoiceArgs, "read")]
HINTS = {"refund_invoice": ["refund"], "get_invoice": ["Invoice", "charged"]}  # a desk's offline.toml
REQUEST = HumanMessage("I was charged twice for invoice INV-10001, please refund the duplicate")


def test_reads_before_writes_and_fills_args_from_text():
    reply = OfflineChatModel(hints=HINTS).bind_tools(TOOLS).invoke([REQUEST])
    assert reply.tool_calls[0]["name"] == "get_invoice"
    assert reply.tool_calls[0]["args"] == {"invoice_id": "INV-10001"}
    assert reply.response_metadata["model_name"] == MODEL_NAME
    assert reply.usage_metadata["input_tokens"] > 0


def test_fills_missing_args_from_earlier_results_then_answers_from_summaries():
    model = OfflineChatModel(hints=HINTS).bind_tools(TOOLS)
    first = model.invoke([REQUEST])
    looked_up = ToolMessage(json.dumps({"amount": 42.5, "summary": "INV-10001 was paid twice."}),
                            tool_call_id=first.tool_calls[0]["id"])
    second = model.invoke([REQUEST, first, looked_up])
    assert second.tool_calls[0]["name"] == "refund_invoice"
    assert second.tool_calls[0]["args"]["amount"] == 42.5
    assert second.tool_calls[0]["args"]["reason"] == REQUEST.content[:40]
    done = ToolMessage(json.dumps({"summary": "Refunded $42.50."}), tool_call_id=second.tool_calls[0]["id"])
    final = model.invoke([REQUEST, first, looked_up, second, done])
    assert not final.tool_calls
    assert final.content == f"{LABEL} INV-10001 was paid twice. Refunded $42.50."


def test_stops_calling_tools_after_a_failure_and_says_so():
    model = OfflineChatModel(hints=HINTS).bind_tools(TOOLS)
    first = model.invoke([REQUEST])
    failed = ToolMessage("Error: INV-10001 does not exist", tool_call_id=first.tool_calls[0]["id"], status="error")
    final = model.invoke([REQUEST, first, failed])
    assert not final.tool_calls
    assert "INV-10001 does not exist" in final.content


def test_tool_call_ids_are_deterministic_and_position_specific():
    model = OfflineChatModel(hints=HINTS).bind_tools(TOOLS)
    assert model.invoke([REQUEST]).tool_calls[0]["id"] == model.invoke([REQUEST]).tool_calls[0]["id"]
    later = [REQUEST, AIMessage("done"), REQUEST]
    assert model.invoke(later).tool_calls[0]["id"] != model.invoke([REQUEST]).tool_calls[0]["id"]


def test_structured_output_fills_the_schema():
    class Route(BaseModel):
        route: str = Field(json_schema_extra={"enum": ["billing", "orders"]})

    picked = OfflineChatModel().with_structured_output(Route).invoke([HumanMessage("where are my orders")])
    assert picked == Route(route="orders")


def test_without_hints_it_looks_something_up_and_never_writes():
    reply = OfflineChatModel().bind_tools(TOOLS).invoke([REQUEST])  # no hints: nothing asked for by name
    assert [c["name"] for c in reply.tool_calls] == ["get_invoice"]


def test_a_responder_fills_a_structured_output_it_is_given():
    class Plan(BaseModel):
        steps: list[str]

    model = OfflineChatModel(responders={"Plan": lambda messages: {"steps": [str(messages[-1].content)]}})
    assert model.with_structured_output(Plan).invoke([HumanMessage("cancel it")]) == Plan(steps=["cancel it"])
    assert OfflineChatModel().responders == {}  # nothing is registered process-wide
