"""Degrade, never crash: a hostile OpenAI-compatible endpoint on loopback, scripted per request.

The router falls back to the fast tier, the planner to the deterministic planner, and a model
failure in a specialist ends the run with an honest answer and status ``failed``, never a traceback.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from proctor.cli import MODEL_FAILED, main
from proctor.chat_models import UnpricedModel, chat_model
from proctor.pricing import DEFAULT_REMOTE_PRICE, FREE, ModelPrice, cost_usd
from proctor.runner import Proctor
from proctor.settings import Settings
from proctor.tracing import TraceStore
from tests.hostile_endpoint import Reply, completion, hostile_endpoint, schema_of

REFUND = "I was charged twice for invoice {invoice}, please refund the duplicate"
PLAN = "Cancel order {order}, refund the shipping fee and email me a confirmation at {email}"
FAILURES = {
    "http 500": (Reply(500, {"error": {"message": "internal"}}), "http_status", 500),
    "http 429": (Reply(429, {"error": {"message": "rate limited"}}), "http_status", 429),
    "html body": (Reply(200, b"<html>bad gateway</html>", "text/html"), "bad_reply", None),
    "truncated json": (Reply(200, b'{"choices": [', "application/json"), "bad_reply", None),
    "no choices": (completion("x", choices=False), "bad_reply", None),
    "timeout": (replace(completion("too late"), delay_s=2.0), "timeout", None),
}


def desk_settings(settings: Settings, url: str, **overrides) -> Settings:
    base = dict(model="hostile", openai_base_url=url, model_max_retries=0, model_timeout_s=1.0, router_timeout_s=0.5)
    return settings.model_copy(update={**base, **overrides})


def guard_events(settings: Settings, trace_id: str) -> list[str]:
    trace = TraceStore(f"sqlite:///{settings.data_dir / 'traces.sqlite'}").get(trace_id)
    return [s.name for s in trace.spans if s.kind == "guardrail"]


@pytest.fixture
def ids(deployment) -> dict[str, str]:
    from proctor.demo import demo_ids

    return demo_ids(Proctor(deployment=deployment))


def refunds(settings: Settings) -> int:
    return Proctor(settings).deployment.db.query("SELECT COUNT(*) AS n FROM refunds")[0]["n"]


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_failing_model_ends_the_run_with_an_honest_answer(settings, ids, name):
    reply, kind, code = FAILURES[name]
    before = refunds(settings)
    with hostile_endpoint(lambda body: reply) as endpoint:
        desk = Proctor(desk_settings(settings, endpoint.url))
        result = desk.run(REFUND.format(invoice=ids["duplicate_invoice"]), user_id=ids["customer"])
    assert result.status == "failed"
    assert result.route == "billing"  # the fast tier was sure: no router call
    assert result.error is not None and result.error.kind == kind and result.error.status_code == code
    assert "could not finish" in result.answer and "Traceback" not in result.answer
    assert result.tool_calls == []
    assert refunds(settings) == before
    assert "model_failure" in guard_events(desk.settings, result.trace_id)


def test_proctor_run_exits_3_with_status_failed(settings, ids, monkeypatch, capsys):
    with hostile_endpoint(lambda body: Reply(503, {"error": {"message": "overloaded"}})) as endpoint:
        for key, value in {
            "PROCTOR_DATA_DIR": str(settings.data_dir),
            "PROCTOR_MODEL": "hostile",
            "OPENAI_BASE_URL": endpoint.url,
            "PROCTOR_MODEL_MAX_RETRIES": "0",
        }.items():
            monkeypatch.setenv(key, value)
        code = main(["run", REFUND.format(invoice=ids["duplicate_invoice"]), "--user", ids["customer"], "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == MODEL_FAILED == 3
    assert out["status"] == "failed" and out["error"]["status_code"] == 503


def test_retries_are_a_setting(settings, ids):
    with hostile_endpoint(lambda body: Reply(500, {"error": {"message": "internal"}})) as endpoint:
        desk = Proctor(desk_settings(settings, endpoint.url, model_max_retries=2))
        desk.run(REFUND.format(invoice=ids["duplicate_invoice"]), user_id=ids["customer"])
    assert len(endpoint.requests) == 3  # the first try and two retries


@pytest.mark.parametrize(
    "router_reply",
    [completion("billing, I think"), replace(completion('{"route": "orders", "reason": "x"}'), delay_s=1.5)],
    ids=["not json", "timeout"],
)
def test_router_failure_falls_back_to_the_fast_tier(settings, ids, router_reply):
    def script(body):
        return router_reply if schema_of(body) == "LLMRoute" else completion("Checked, nothing else to do.")

    with hostile_endpoint(script) as endpoint:
        # threshold 1: the fast tier is never sure, so the LLM tier is always asked
        desk = Proctor(desk_settings(settings, endpoint.url, classifier_threshold=1.0))
        result = desk.run(REFUND.format(invoice=ids["duplicate_invoice"]), user_id=ids["customer"])
    assert endpoint.schemas()[0] == "LLMRoute"
    assert result.status == "done" and result.route == "billing"
    state = desk.graph.get_state({"configurable": {"thread_id": result.thread_id}}).values
    assert state["route_tier"] == "fast" and state["route_reason"].startswith("LLM router failed")
    assert "router_fallback" in guard_events(desk.settings, result.trace_id)


def test_planner_failure_falls_back_to_the_deterministic_planner(settings, ids):
    def script(body):
        if schema_of(body) == "Plan":
            return Reply(500, {"error": {"message": "planner down"}})
        return completion("Done.")

    with hostile_endpoint(script) as endpoint:
        desk = Proctor(desk_settings(settings, endpoint.url))
        result = desk.run(PLAN.format(order=ids["pending_order"], email=ids["email"]), user_id=ids["customer"])
    assert endpoint.schemas()[0] == "Plan"
    assert result.status == "done" and result.route == "plan"
    assert "in 3 steps" in result.answer  # one step per action, as the rule planner splits them
    assert "planner_fallback" in guard_events(desk.settings, result.trace_id)


def test_a_loopback_endpoint_costs_nothing_unless_priced():
    local = Settings(model="qwen", openai_base_url="http://127.0.0.1:8088/v1")
    assert cost_usd(local.prices, "qwen", 10_000, 1_000) == 0
    priced = Settings(model="qwen", openai_base_url="http://localhost:1/v1", prices={"qwen": ModelPrice(input_per_mtok=1, output_per_mtok=1)})
    assert cost_usd(priced.prices, "qwen", 1_000_000, 0) == 1


def test_an_unknown_remote_model_warns_and_gets_the_default_price():
    remote = Settings(model="mystery-model", openai_api_key="sk-test")
    with pytest.warns(UnpricedModel, match="mystery-model"):
        chat_model(remote)
    assert remote.prices["*"] == DEFAULT_REMOTE_PRICE
    assert cost_usd(remote.prices, "mystery-model", 1_000_000, 0) == DEFAULT_REMOTE_PRICE.input_per_mtok
    configured = Settings(model="mystery-model", openai_api_key="sk-test", unpriced_model_price=FREE)
    assert cost_usd(configured.prices, "mystery-model", 1_000_000, 1_000_000) == 0


def test_a_dated_snapshot_takes_its_models_price():
    remote = Settings(model="gpt-4o-mini", openai_api_key="sk-test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chat_model(remote)  # priced: no warning
    assert cost_usd(remote.prices, "gpt-4o-mini-2024-07-18", 1_000_000, 0) == 0.15


def test_timeouts_and_retries_reach_the_client():
    model = chat_model(Settings(model="m", openai_base_url="http://127.0.0.1:1/v1", model_timeout_s=7, model_max_retries=4))
    assert (model.request_timeout, model.max_retries) == (7, 4)


def test_the_template_ships_with_the_package():
    from proctor.local_llm import TEMPLATE

    assert Path(TEMPLATE).is_file() and "```json" in TEMPLATE.read_text()
