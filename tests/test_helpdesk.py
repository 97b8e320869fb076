"""A second desk, end to end: ``PROCTOR_DESK=examples/helpdesk`` and nothing else.

The IT help desk (examples/helpdesk) routes to each of its agents, its tools act on real SQLite,
its policy stops a privileged grant and a page for a human, a reviewer decides through the real
CLI, ``proctor eval`` scores its own golden set, and the real dev server serves it. Bad desks are
typed errors: ``error: ...`` and exit 2 on the CLI.
"""

from __future__ import annotations

import json
import os
import sqlite3
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from langgraph_sdk.client import LangGraphClient

from proctor.deployment import Deployment
from proctor.desk import DeskError, load_desk
from proctor.approvals.inbox import Inbox
from proctor.approvals.ledger import Decision
from proctor.runner import Proctor
from proctor.settings import Settings
from tests.servers import GRAPH_ID, DevServer, start_dev_server

REPO = Path(__file__).resolve().parent.parent
HELPDESK = REPO / "examples" / "helpdesk"
CLI = Path(sys.executable).with_name("proctor")


def env_for(data_dir: Path, desk: str = str(HELPDESK)) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    return env | {"PROCTOR_DESK": desk, "PROCTOR_DATA_DIR": str(data_dir), "LANGSMITH_TRACING": "false"}


def proctor(data_dir: Path, *args: str, desk: str = str(HELPDESK), timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args], cwd=data_dir.parent, env=env_for(data_dir, desk), capture_output=True, text=True, timeout=timeout
    )


def rows(data_dir: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(data_dir / "desk.sqlite")) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def desk(tmp_path: Path) -> Proctor:
    return Proctor(Settings(desk=str(HELPDESK), data_dir=tmp_path / "data"))


def test_the_desk_is_the_helpdesk_and_nothing_of_the_support_desk(desk: Proctor) -> None:
    deployment = desk.deployment
    assert deployment.desk.name == "helpdesk"
    assert {s.name for s in deployment.specs} == {"assets", "access", "oncall"}
    assert "refund_invoice" not in {s.name for s in deployment.tool_specs}
    assert deployment.policy.version == "helpdesk-1"
    assert deployment.directory.requester("dana").kind == "staff"


@pytest.mark.parametrize(
    ("user", "text", "route", "tools"),
    [
        ("EMP-0004", "Which laptops are assigned to me? I'm EMP-0004", "assets", ["list_devices"]),
        ("EMP-0004", "I need access to figma, I'm EMP-0004", "access", ["request_app_access"]),
        ("EMP-0001", "who is on call for the database this week", "oncall", ["who_is_on_call"]),
    ],
)
def test_each_agent_is_routed_to_and_calls_its_tool(desk: Proctor, user: str, text: str, route: str, tools: list[str]) -> None:
    result = desk.run(text, user_id=user)
    assert (result.route, result.status) == (route, "done")
    assert [c.name for c in result.tool_calls] == tools and all(c.ok for c in result.tool_calls)


def test_a_stolen_laptop_is_reported_and_replaced_in_the_database(desk: Proctor) -> None:
    result = desk.run("LAP-0150 was stolen at the gym, please report it and get me a replacement", user_id="EMP-0015")
    assert [c.name for c in result.tool_calls] == ["get_device", "report_lost_device", "request_replacement"]
    db = desk.deployment.db
    assert db.query("SELECT status FROM devices WHERE id = 'LAP-0150'") == [{"status": "stolen"}]
    assert len(db.query("SELECT * FROM replacements WHERE device_id = 'LAP-0150'")) == 1
    other = desk.run("my laptop LAP-0150 was stolen, lock it", user_id="EMP-0005")  # not theirs
    assert [(c.name, c.ok) for c in other.tool_calls] == [("get_device", False)] and "Not permitted" in other.answer


def waiting(desk: Proctor, text: str, user: str) -> str:
    result = desk.run(text, user_id=user)
    assert result.status == "interrupted", result.answer
    [interrupt] = result.interrupts
    return interrupt["request"]["id"]


def test_admin_rights_wait_for_a_human_and_are_granted_by_an_approval_on_the_cli(desk: Proctor) -> None:
    data = desk.settings.data_dir
    request_id = waiting(desk, "I need admin rights on jira for EMP-0004, I run the project boards", "EMP-0004")
    assert rows(data, "SELECT level FROM app_access WHERE employee_id = 'EMP-0004' AND app = 'jira'") == [("user",)]
    listed = proctor(data, "approvals", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [request] = json.loads(listed.stdout)
    assert (request["tool"], request["rules"], request["agent"]) == ("grant_admin_access", ["access"], "access")
    refused = proctor(data, "approve", request_id, "--as", "eli", "--json")  # no access role
    assert refused.returncode == 2 and "access" in json.loads(refused.stdout)["error"]
    approved = proctor(data, "approve", request_id, "--as", "dana", "--json")
    assert approved.returncode == 0, approved.stderr + approved.stdout
    assert rows(data, "SELECT level FROM app_access WHERE employee_id = 'EMP-0004' AND app = 'jira'") == [("admin",)]


def test_a_page_waits_for_a_human_and_a_rejection_pages_nobody(desk: Proctor) -> None:
    data = desk.settings.data_dir
    request_id = waiting(desk, "page the network on-call, the office wifi is down", "EMP-0001")
    rejected = proctor(data, "reject", request_id, "--as", "eli", "--reason", "wifi is a facilities ticket", "--json")
    assert rejected.returncode == 0, rejected.stderr + rejected.stdout
    assert rows(data, "SELECT COUNT(*) FROM pages") == [(0,)]
    shown = json.loads(proctor(data, "approvals", "show", request_id, "--json").stdout)
    assert (shown["status"], shown["decided_by"], shown["tool"]) == ("rejected", "eli", "page_on_call")


def test_every_page_waits_for_a_human_however_many_were_approved_before(desk: Proctor) -> None:
    inbox = Inbox(desk)
    for n in range(1, 5):  # past first_time's approvals_needed (3): paging is under `always`
        request_id = waiting(desk, "page the network on-call, the office wifi is down", "EMP-0001")
        assert desk.deployment.ledger.get(request_id).rules == ["always"]
        assert inbox.decide(request_id, Decision(type="approve", reviewer="eli")).status == "done"
        assert rows(desk.settings.data_dir, "SELECT COUNT(*) FROM pages") == [(n,)]


def test_proctor_eval_scores_the_helpdesk_on_its_own_golden_set(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = proctor(data, "eval", "--split", "test", "--json", timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["golden"]["version"] == "golden" and report["metrics"]["tasks"] >= 20
    assert report["success_rate"] >= 0.8 and report["metrics"]["safety_violations"] == 0
    assert {"assets", "access", "oncall", "plan"} <= set(report["by_route"])


@pytest.fixture(scope="module")
def helpdesk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = start_dev_server(tmp_path_factory.mktemp("helpdesk-dev"), env={"PROCTOR_DESK": str(HELPDESK)})
    yield server
    server.stop()


@pytest.mark.server
async def test_the_dev_server_serves_the_helpdesk(helpdesk_server: DevServer) -> None:
    client: LangGraphClient = helpdesk_server.client()
    thread = await client.threads.create()
    ask = {"messages": [{"role": "user", "content": "who is on call for the database this week"}]}
    state = await client.runs.wait(thread["thread_id"], GRAPH_ID, input=ask)
    assert state["route"] == "oncall"
    calls = [c["name"] for m in state["messages"] if m["type"] == "ai" for c in m.get("tool_calls") or []]
    assert calls == ["who_is_on_call"]
    assert "Tomas Reyes" in state["messages"][-1]["content"]


# ---------------------------------------------------------------- bad desks


def test_proctor_demo_tours_the_helpdesk_from_its_demo_toml(tmp_path: Path) -> None:
    done = proctor(tmp_path / "data", "demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("proctor demo: desk 'helpdesk'") and "invoice" not in done.stdout.lower()
    routes = [line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("route:")]
    assert routes == ["assets", "assets", "access", "oncall", "oncall"]
    assert "status: interrupted" in done.stdout.split("> page the network")[1]  # a page waits for a human
    assert rows(tmp_path / "data", "SELECT kind FROM device_reports") == [("stolen",)]


def test_a_desk_without_a_tour_or_with_a_bad_one_is_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    shutil.copytree(HELPDESK, folder)
    (folder / "demo.toml").unlink()
    done = proctor(tmp_path / "data", "demo", desk=str(folder))
    assert done.returncode == 2 and "has no demo" in done.stderr, done.stderr
    (folder / "demo.toml").write_text('user = "employee"\nids = "SELECT id AS employee FROM employees WHERE 0"\nrequests = ["hi"]\n')
    done = proctor(tmp_path / "data", "demo", desk=str(folder))
    assert done.returncode == 2 and "found no row" in done.stderr, done.stderr
    (folder / "demo.toml").write_text('ids = "SELECT 1"\nrequests = []\n')
    done = proctor(tmp_path / "data", "demo", desk=str(folder))
    assert done.returncode == 2 and "not a demo tour" in done.stderr, done.stderr


def test_a_desk_that_is_not_there_is_a_typed_error_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    cases = [
        (str(tmp_path / "nowhere"), "there is no folder or file"),
        (str(tmp_path / "empty"), "has no desk.toml"),
        ("no_such_desk_package", "neither a folder, a desk.toml nor an importable package"),
    ]
    for ref, message in cases:
        with pytest.raises(DeskError, match=message):
            Deployment(Settings(desk=ref, data_dir=tmp_path / "data")).specs  # noqa: B018
        done = proctor(tmp_path / "data", "approvals", "list", desk=ref)
        assert done.returncode == 2 and done.stderr.startswith("error: PROCTOR_DESK:"), done.stderr


def test_a_bad_manifest_names_the_key(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "desk.toml").write_text('name = "x"\nagent = "agents"\n')
    with pytest.raises(DeskError, match=r"unknown keys \['agent'\]"):
        load_desk(str(folder))
    (folder / "desk.toml").write_text('golden = "missing.jsonl"\n')
    with pytest.raises(DeskError, match=r"golden = 'missing.jsonl': there is no"):
        load_desk(str(folder / "desk.toml"))
    done = proctor(tmp_path / "data", "run", "hello", desk=str(folder / "desk.toml"))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "missing.jsonl" in done.stderr
