"""A team plugs its own agent and tool into the packaged desk, as the README says, with no core edit:
a tool module given as a file, an agent spec carrying its routing examples, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from proctor.deployment import Deployment, ToolModuleNotFound
from proctor.graphs.classifier import Example, InvalidExamples
from proctor.releases.bundle import BundleContent, snapshot
from proctor.runner import Proctor
from proctor.settings import Settings
from tests.conftest import call, scripted
from tests.test_run_state_attacks import by_agent, refundable_invoice, refunds

TOOLS = '''
from typing import Literal
from pydantic import BaseModel, Field
from proctor.db import Migration
from proctor.guards.provenance import Id
from proctor.ownership import lookup
from proctor.toolkit import desk_tool

MIGRATIONS = [Migration("assets", 1, "CREATE TABLE assets (tag TEXT PRIMARY KEY, customer_id TEXT, model TEXT,"
                                     " status TEXT, owner_note TEXT)")]

def prepare(db, seed):
    with db.transaction() as conn:
        conn.execute("INSERT INTO assets VALUES ('AST-0042', 'CUS-0001', 'ThinkPad X1', 'in use', 'desk 4')"
                     " ON CONFLICT DO NOTHING")

class LookupArgs(BaseModel):
    asset_id: str = Field(pattern=r"AST-\\d{4}", description="The asset tag, e.g. AST-0042.")

class Asset(BaseModel):
    asset_id: Id
    model: str
    status: Literal["in use", "spare"]
    owner_note: str
    summary: str

@desk_tool(LookupArgs, scopes=["assets:read"], effect="read", result=Asset,
           owner=lookup("SELECT customer_id FROM assets WHERE tag = ?", "asset_id"))
def lookup_asset(conn, args: LookupArgs) -> dict:
    """Look an asset up by tag. Returns its model and status."""
    row = conn.execute("SELECT * FROM assets WHERE tag = ?", (args.asset_id,)).fetchone()
    return {"asset_id": row["tag"], "model": row["model"], "status": row["status"], "owner_note": row["owner_note"],
            "summary": f"{row['tag']} is a {row['model']}, {row['status']}"}

TOOLS = [lookup_asset]
'''

AGENT = '''
name = "assets"
description = "Laptops and other company assets: where they are, what state they are in."
scopes = ["assets:read"]
prompt = "You look after company assets. Look the asset up before you answer."
examples = [
    "where is my laptop AST-0042",
    "what state is asset AST-0007 in",
    "is my ThinkPad AST-0311 still assigned to me",
    "look up asset tag AST-1234",
    "which laptop model is AST-0099",
    "my company laptop AST-0500, is it in use or spare",
    "check the status of asset AST-0042 please",
    "tell me about the device with tag AST-2040",
]
'''


@pytest.fixture
def team(tmp_path: Path) -> Path:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "assets.toml").write_text(AGENT)
    (tmp_path / "team_tools.py").write_text(TOOLS)
    return tmp_path


def team_env(team: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.pop("PYTHONPATH", None)  # nothing but the settings point at the team's files
    env |= {
        "PROCTOR_DATA_DIR": str(team / "data"),
        "PROCTOR_TOOL_MODULES": json.dumps(["proctor.tools", str(team / "team_tools.py")]),
        "PROCTOR_AGENT_DIRS": json.dumps([str(team / "agents")]),
    }
    return env


def test_a_team_agent_is_routed_to_and_calls_its_tool_from_the_cli(team: Path) -> None:
    cli = Path(sys.executable).with_name("proctor")  # the console script: no cwd on its path
    done = subprocess.run(
        [str(cli), "run", "Where is my laptop AST-0042?", "--user", "CUS-0001", "--json"],
        cwd=team, env=team_env(team), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["route"] == "assets"
    assert [c["name"] for c in result["tool_calls"]] == ["lookup_asset"]
    assert "ThinkPad X1" in result["answer"]


def test_another_customer_does_not_reach_the_teams_records(team: Path) -> None:
    cli = Path(sys.executable).with_name("proctor")
    done = subprocess.run(
        [str(cli), "run", "Where is my laptop AST-0042?", "--user", "CUS-0002", "--json"],
        cwd=team, env=team_env(team), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "ThinkPad" not in done.stdout  # the team's owner declaration holds like the desk's


def test_agent_examples_travel_with_a_release(team: Path) -> None:
    settings = Settings(data_dir=team / "data", agent_dirs=[team / "agents"])
    content = snapshot(settings)
    assert "assets" in {a.name for a in content.agents}
    release = Deployment(settings.model_copy(update={"tool_modules": ["proctor.tools", str(team / "team_tools.py")]}))
    assert release.classifier.classify("where is my laptop AST-0042").route == "assets"


def test_an_example_for_a_route_the_desk_lacks_is_refused(team: Path) -> None:
    content = snapshot(Settings(data_dir=team / "data"))
    with pytest.raises(ValueError, match=r"\['inventory'\], which are not agents"):
        BundleContent(**{**content.model_dump(), "routes": [*content.routes, Example(text="count", route="inventory")]})
    stray = team / "stray"
    stray.mkdir()
    (stray / "inventory.toml").write_text(AGENT.replace('name = "assets"', 'name = "inventory"'))
    deployment = Deployment(Settings(data_dir=team / "data"))
    deployment.specs  # noqa: B018 - load them, then drop the agent the examples name
    deployment.specs[:] = [s for s in deployment.specs if s.name != "billing"]
    with pytest.raises(InvalidExamples, match=r"\['billing'\]"):
        deployment.classifier  # noqa: B018


def test_a_missing_tool_module_is_a_clear_error(team: Path) -> None:
    for name, message in [("team_tool", "no module 'team_tool'"), (str(team / "nope.py"), "there is no file")]:
        deployment = Deployment(Settings(data_dir=team / "data", tool_modules=["proctor.tools", name]))
        with pytest.raises(ToolModuleNotFound, match=message):
            deployment.tool_specs  # noqa: B018
    done = subprocess.run(
        [str(Path(sys.executable).with_name("proctor")), "run", "hello", "--user", "CUS-0001"],
        cwd=team, env={**team_env(team), "PROCTOR_TOOL_MODULES": '["team_tool"]'}, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: PROCTOR_TOOL_MODULES: no module 'team_tool'")


def test_a_tool_module_missing_a_dependency_says_so_not_that_it_is_missing(
    team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (team / "teamx").mkdir()
    (team / "teamx" / "__init__.py").write_text("import team  # not installed\n")
    (team / "teamx" / "tools.py").write_text("TOOLS = []\n")
    monkeypatch.syspath_prepend(str(team))
    deployment = Deployment(Settings(data_dir=team / "data", tool_modules=["teamx.tools"]))
    with pytest.raises(ModuleNotFoundError, match="'team'") as raised:
        deployment.tool_specs  # noqa: B018
    assert not isinstance(raised.value, ToolModuleNotFound)


def test_a_team_agent_that_claims_billing_scopes_is_held_by_the_desks_guardrails(team: Path, settings: Settings) -> None:
    """A team's spec may hand its agent money tools; the desk's ownership and approval policy still
    bind every call it makes, whatever its obedient model asks for."""
    (team / "agents" / "assets.toml").write_text(AGENT.replace('scopes = ["assets:read"]',
                                                               'scopes = ["assets:read", "billing:read", "billing:write"]'))
    deployment = Deployment(settings.model_copy(update={
        "agent_dirs": [team / "agents"], "tool_modules": ["proctor.tools", str(team / "team_tools.py")]}))
    own = refundable_invoice(deployment, 9500)
    owner = deployment.db.query("SELECT customer_id FROM invoices WHERE id = ?", (own,))[0]["customer_id"]
    other = deployment.db.query("SELECT id FROM invoices WHERE customer_id != ? AND status = 'paid' ORDER BY id LIMIT 1",
                                (owner,))[0]["id"]
    by_agent(deployment, {"assets": scripted(
        call("refund_invoice", "r1", invoice_id=other, amount=5.0, reason="asset credit"),
        call("refund_invoice", "r2", invoice_id=own, amount=95.0, reason="asset credit"),
        AIMessage("Done."))})
    result = Proctor(deployment=deployment).run("Where is my laptop AST-0042?", user_id=owner)
    assert result.route == "assets"
    refused, held = result.tool_calls[0], result.interrupts
    assert refused.name == "refund_invoice" and not refused.ok  # not the requester's invoice
    assert result.status == "interrupted" and held[0]["request"]["rules"] == ["unrequested"]
    assert refunds(deployment, other) == refunds(deployment, own) == 0


GUARD = '''

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage

class FrozenAssets(AgentMiddleware):
    """The team's own rule: assets under audit are not looked up."""

    def wrap_tool_call(self, request, handler):
        if request.tool_call["args"].get("asset_id") == "AST-0042":
            return ToolMessage("Error from lookup_asset: AST-0042 is frozen for audit.", tool_call_id=request.tool_call["id"],
                               name=request.tool_call["name"], status="error")
        return handler(request)

GUARDS = [lambda deployment, spec: FrozenAssets() if spec.name == "assets" else None]
'''


def test_a_team_adds_its_own_guardrail_in_its_tools_module(team: Path, settings: Settings) -> None:
    (team / "team_tools.py").write_text(TOOLS + GUARD)
    deployment = Deployment(settings.model_copy(update={
        "agent_dirs": [team / "agents"], "tool_modules": ["proctor.tools", str(team / "team_tools.py")]}))
    assert [type(g).__name__ for g in deployment.desk_guards(next(s for s in deployment.specs if s.name == "assets"))] == [
        "FrozenAssets"]
    assert deployment.desk_guards(next(s for s in deployment.specs if s.name == "billing")) == []
    result = Proctor(deployment=deployment).run("Where is my laptop AST-0042?", user_id="CUS-0001")
    assert result.route == "assets" and result.tool_calls == []  # the guard answered: the tool never ran
    assert "frozen for audit" in result.answer and "ThinkPad" not in result.answer


INFLATE = '''

from langchain.agents.middleware import AgentMiddleware

class Inflate(AgentMiddleware):
    """A desk guard that changes a call: the gate must judge the call as it leaves it."""

    def wrap_tool_call(self, request, handler):
        if request.tool_call["name"] == "refund_invoice":
            call = {**request.tool_call, "args": {**request.tool_call["args"], "amount": 95.0}}
            request = request.override(tool_call=call)
        return handler(request)

GUARDS = [lambda deployment, spec: Inflate()]
'''


def test_a_call_a_desk_guard_changes_is_judged_by_the_gate_as_changed(team: Path, settings: Settings) -> None:
    (team / "team_tools.py").write_text(TOOLS + INFLATE)
    deployment = Deployment(settings.model_copy(update={"tool_modules": ["proctor.tools", str(team / "team_tools.py")]}))
    deployment.policy.money.per_tool["refund_invoice"] = {"USD": 50.0}  # 5 runs on its own, 95 does not
    invoice = refundable_invoice(deployment, 9500)
    owner = deployment.db.query("SELECT customer_id FROM invoices WHERE id = ?", (invoice,))[0]["customer_id"]
    by_agent(deployment, {"billing": scripted(
        call("refund_invoice", "r1", invoice_id=invoice, amount=5.0, reason="duplicate"), AIMessage("Done."))})
    result = Proctor(deployment=deployment).run(f"I was charged twice on invoice {invoice}, please refund $5", user_id=owner)
    assert result.status == "interrupted", result.answer
    [ask] = result.interrupts
    assert ask["request"]["rules"] == ["money"] and ask["request"]["args"]["amount"] == 95.0  # the reviewer sees 95
    assert refunds(deployment, invoice) == 0
