"""A tool call written as text (bare or fenced JSON, as small local models do) becomes that call,
and goes through the approval gate like any other."""

from __future__ import annotations

import json

import pytest

from proctor.runner import Proctor
from proctor.text_tool_calls import spelled_calls
from tests.hostile_endpoint import completion, hostile_endpoint
from tests.test_model_failures import REFUND, desk_settings, ids  # noqa: F401  (fixture)


def scripted_text_call(text: str):
    def script(body):
        answered = any(m.get("role") == "tool" for m in body["messages"])
        return completion("I looked it up." if answered else text)

    return script


@pytest.mark.parametrize("fenced", [False, True], ids=["bare", "fenced"])
def test_a_json_reply_is_read_as_the_tool_call_it_spells(settings, ids, fenced):
    call = json.dumps({"name": "get_invoice", "arguments": {"invoice_id": ids["duplicate_invoice"]}})
    text = f"```json\n{call}\n```" if fenced else call
    with hostile_endpoint(scripted_text_call(text)) as endpoint:
        result = Proctor(desk_settings(settings, endpoint.url)).run(
            REFUND.format(invoice=ids["duplicate_invoice"]), user_id=ids["customer"]
        )
    assert [(c.name, c.args, c.ok) for c in result.tool_calls] == [("get_invoice", {"invoice_id": ids["duplicate_invoice"]}, True)]
    assert result.answer == "I looked it up."


def test_it_can_be_turned_off(settings, ids):
    call = json.dumps({"name": "get_invoice", "arguments": {"invoice_id": ids["duplicate_invoice"]}})
    with hostile_endpoint(scripted_text_call(call)) as endpoint:
        result = Proctor(desk_settings(settings, endpoint.url, model_text_tool_calls=False)).run(
            REFUND.format(invoice=ids["duplicate_invoice"]), user_id=ids["customer"]
        )
    assert result.tool_calls == [] and result.answer == call


@pytest.mark.parametrize(
    "text",
    ['{"name": "x"}', "call get_invoice please", '{"name": 3, "arguments": {}}', '{"name": "x", "arguments": {}} and more', "```json\n{oops\n```"],
)
def test_anything_else_stays_text(text):
    assert spelled_calls(text) == []
