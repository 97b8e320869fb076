"""A real LLM in the loop: Qwen2.5-Coder-0.5B on llama.cpp (``scripts/local-llm``), one CPU thread.

What it asserts holds whatever the model says: results are well formed, tool calls are parsed
and executed as typed calls, sensitive calls stop for a human (and nothing gated happens without
one: no human decides anything here), budgets hold. Loopback only. The model is installed
through ``scripts/local-llm`` (cached in ``~/.cache/proctor/models``); where that cannot be done
the module skips and says why. Run it on its own: ``pytest -m realmodel tests/test_real_model.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proctor.db import Database
from proctor.runner import RunResult
from proctor.settings import Settings
from proctor.tools import TOOLS, prepare_desk
from proctor.tracing import TraceStore
from tests.servers import GRAPH_ID, free_port, start_dev_server

pytestmark = [pytest.mark.realmodel, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
LOCAL_LLM = REPO / "scripts" / "local-llm"
TOOL_NAMES = {spec.name for spec in TOOLS}
WRITES = {spec.name for spec in TOOLS if spec.effect == "write"}
ROUTES = {"billing", "orders", "account", "support", "plan", "escalate", "clarify", "rejected"}
RUN_LIMIT_S = 600  # one `proctor run`: far above a run on a quiet 2-core machine, a hard stop when stuck
MAX_TOKENS = 6_000  # the run budget these runs get, small enough to be reached


@dataclass(frozen=True)
class LocalModel:
    alias: str
    base_url: str

    def env(self, data_dir: Path) -> dict[str, str]:
        return {
            "PROCTOR_DATA_DIR": str(data_dir),
            "PROCTOR_MODEL": self.alias,
            "OPENAI_BASE_URL": self.base_url,
            "PROCTOR_MODEL_TEMPERATURE": "0",
            "PROCTOR_MODEL_TIMEOUT_S": "180",
            "PROCTOR_MODEL_MAX_RETRIES": "0",
            "PROCTOR_MODEL_MAX_TOKENS": "256",
            "PROCTOR_ROUTER_TIMEOUT_S": "60",
            "PROCTOR_GUARDS__STEP_LIMIT": "15",
            "PROCTOR_GUARDS__MAX_TOKENS_PER_RUN": str(MAX_TOKENS),
        }


def _local_llm(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LOCAL_LLM), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def local_model() -> Iterator[LocalModel]:
    try:
        installed = _local_llm("install", "--size", "0.5b", "--json", timeout=900)
    except subprocess.TimeoutExpired:
        pytest.skip("the local model could not be installed here: scripts/local-llm install took over 15 minutes")
    if installed.returncode != 0:
        pytest.skip(f"the local model cannot be installed here: {installed.stderr.strip()[-600:]}")
    port = free_port()
    served = _local_llm("serve", "--size", "0.5b", "--port", str(port), "--threads", "1", "--slots", "4", "--json", timeout=300)
    if served.returncode != 0:
        pytest.skip(f"the local model cannot be served here: {served.stderr.strip()[-600:]}")
    info = json.loads(served.stdout.strip().splitlines()[-1])
    try:
        yield LocalModel(alias=info["model"], base_url=info["base_url"])
    finally:
        _local_llm("stop", "--port", str(port), timeout=120)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("realmodel-desk")
    prepare_desk(Database(Settings(data_dir=data_dir).domain_url), seed=7)
    return data_dir


def records(db: Database) -> dict[str, Any]:
    big = db.query(  # a duplicate charge above the $100 money threshold: refunding it needs a human
        "SELECT i.id, i.customer_id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents > 10000 GROUP BY i.id HAVING COUNT(*) > 1 ORDER BY i.id LIMIT 1"
    )[0]
    order = db.query("SELECT o.id, o.customer_id FROM orders o ORDER BY o.id LIMIT 1")[0]
    return {"invoice": big["id"], "customer": big["customer_id"], "order": order["id"], "order_customer": order["customer_id"]}


def proctor_run(model: LocalModel, data_dir: Path, text: str, user: str) -> RunResult:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PROCTOR_", "OPENAI_"))}, **model.env(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "proctor.cli", "run", text, "--user", user, "--json"],
        capture_output=True, text=True, env=env, timeout=RUN_LIMIT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stderr[-2000:]  # 3: the model failed, honestly answered
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    result = RunResult.model_validate_json(done.stdout)
    assert (done.returncode == 3) == (result.status == "failed")
    return result


def assert_well_formed(result: RunResult) -> None:
    assert result.status in ("done", "interrupted", "failed") and result.route in ROUTES
    assert isinstance(result.answer, str) and result.answer.strip()
    for call in result.tool_calls:
        assert call.name in TOOL_NAMES and isinstance(call.args, dict)
    if result.status == "interrupted":
        assert result.interrupts and "human decision" in result.answer


def assert_no_gated_effect_without_a_human(db_path: Path) -> None:
    """Every gated write is still waiting (nobody decides here) and has no effect; every write
    that took effect is one the policy let run on its own."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        asks = conn.execute("SELECT thread_id, tool_call_id, tool, status, decided_by FROM approval_requests").fetchall()
        effects = {r["idempotency_key"]: r["tool"] for r in conn.execute("SELECT idempotency_key, tool FROM tool_effects")}
    assert all(a["decided_by"] is None and a["status"] in ("pending", "autonomous") for a in asks)
    autonomous = {f"{a['thread_id']}:{a['tool_call_id']}" for a in asks if a["status"] == "autonomous"}
    for a in asks:
        if a["status"] == "pending":
            assert f"{a['thread_id']}:{a['tool_call_id']}" not in effects, f"{a['tool']} took effect without a human"
    for key, tool in effects.items():
        if tool in WRITES:
            assert key in autonomous, f"{tool} took effect with no approval record"


def llm_spans(data_dir: Path, trace_id: str) -> list[Any]:
    trace = TraceStore(f"sqlite:///{data_dir / 'traces.sqlite'}").get(trace_id)
    return [s for s in trace.spans if s.kind == "llm"]


def test_the_endpoint_returns_parsed_tool_calls(local_model: LocalModel) -> None:
    """The project's chat template makes llama.cpp parse the Coder model's fenced calls."""
    body = {
        "model": local_model.alias,
        "temperature": 0,
        "max_tokens": 128,
        "messages": [
            {"role": "system", "content": "You are a billing agent. Use tools."},
            {"role": "user", "content": "I was charged twice for invoice INV-10001, please look it up"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup_invoice",
                    "description": "Look up an invoice by id",
                    "parameters": {"type": "object", "properties": {"invoice_id": {"type": "string"}}, "required": ["invoice_id"]},
                },
            }
        ],
    }
    request = urllib.request.Request(
        f"{local_model.base_url}/chat/completions", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=RUN_LIMIT_S) as reply:
        choice = json.loads(reply.read())["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "lookup_invoice"
    assert json.loads(call["function"]["arguments"]) == {"invoice_id": "INV-10001"}


def test_requests_through_proctor_run(local_model: LocalModel, desk: Path) -> None:
    ids = records(Database(Settings(data_dir=desk).domain_url))
    requests = [
        (f"I was charged twice for invoice {ids['invoice']}, please refund the duplicate", ids["customer"]),
        (f"Where is my order {ids['order']}? When will it ship?", ids["order_customer"]),
        ("How do I connect my device to Wi-Fi?", ids["customer"]),
        (f"Please close my account, I am {ids['customer']}", ids["customer"]),
    ]
    results = [proctor_run(local_model, desk, text, user) for text, user in requests]
    for result in results:
        assert_well_formed(result)
        assert result.usage.cost_usd == 0  # a loopback endpoint is free unless priced
        spans = llm_spans(desk, result.trace_id)
        real = [s for s in spans if s.model == local_model.alias]
        assert len(spans) <= 15  # the step limit
        # the token cap is checked before each call, so a run overshoots it by at most one call
        assert sum(s.input_tokens + s.output_tokens for s in real[:-1]) < MAX_TOKENS
    executed = [c for r in results for c in r.tool_calls]
    assert executed, "the model made no tool call that proctor executed in any of the runs"
    assert results[0].route == "billing" and results[1].route == "orders"  # the fast tier is sure of these
    with sqlite3.connect(desk / "desk.sqlite") as conn:
        waiting = {row[0] for row in conn.execute("SELECT thread_id FROM approval_requests WHERE status = 'pending'")}
    for result in results:  # a sensitive call stopped its run for a human
        assert (result.thread_id in waiting) == (result.status == "interrupted")
    assert_no_gated_effect_without_a_human(desk / "desk.sqlite")


async def test_a_request_through_the_dev_server(local_model: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("realmodel-server")
    # The seed is deterministic: a scratch copy names the customer whose token the server gets.
    scratch = Database(Settings(data_dir=workdir / "scratch").domain_url)
    prepare_desk(scratch, seed=7)
    ids = records(scratch)
    env = {k: v for k, v in local_model.env(workdir / "data").items() if k != "PROCTOR_DATA_DIR"}
    env["PROCTOR_API_TOKENS"] = json.dumps({"t-customer": ids["customer"]})
    server = start_dev_server(workdir, env=env)
    try:
        assert records(server.desk()) == ids
        client = server.client("t-customer")  # who asks comes from the token, never from the input
        thread = await client.threads.create()
        text = f"I was charged twice for invoice {ids['invoice']}, please refund the duplicate"
        state = await client.runs.wait(thread["thread_id"], GRAPH_ID, input={"messages": [{"role": "user", "content": text}]})
        assert state["route"] == "billing"
        calls = [c for m in state["messages"] for c in m.get("tool_calls") or []]
        assert all(c["name"] in TOOL_NAMES | {"hand_off_to_planner"} and isinstance(c["args"], dict) for c in calls)
        snapshot = await client.threads.get_state(thread["thread_id"])
        waiting = [i for task in snapshot.get("tasks", []) for i in task.get("interrupts", [])]
        if waiting:  # a sensitive call: the thread waits for a reviewer
            assert (await client.threads.get(thread["thread_id"]))["status"] == "interrupted"
        else:
            assert state["messages"][-1]["type"] == "ai"
        assert_no_gated_effect_without_a_human(Path(server.database_url.removeprefix("sqlite:///")))
    finally:
        server.stop()
