"""Bad input never crashes and never acts: from the model (a hostile OpenAI-compatible server on
loopback), from an embedded caller, from the environment and the command line, from damaged files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proctor.errors import InvalidRequest
from proctor.runner import Proctor
from proctor.settings import Settings
from tests.hostile_openai import Script, hostile_openai, text, tool_call

ENV = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")} | {"LANGSMITH_TRACING": "false"}


def hostile_desk(settings: Settings, url: str) -> Proctor:
    return Proctor(settings.model_copy(update={"model": "hostile", "openai_base_url": url, "openai_api_key": "x"}))


def effects(desk: Proctor) -> tuple[int, int, int]:
    desk.deployment.ledger  # migrates the approval tables
    db = desk.deployment.db
    counts = [db.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("refunds", "credits", "approval_requests")]
    return tuple(counts)


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (tool_call("refund_invoice", '{"invoice_id": "INV-10001", "amount": 1e999, "reason": "dup"}'), "amount must be a finite number"),
        (tool_call("refund_invoice", '{"invoice_id": "INV-10001", "amount": -1e999, "reason": "dup"}'), "must be a finite number"),
        (tool_call("issue_credit", '{"customer_id": "CUS-0001", "amount": 1e-9, "reason": "sorry"}'), "greater than or equal to 0.01"),
        (tool_call("refund_invoice", '{"invoice_id": "INV-10001", "amount": "lots", "reason": "dup"}'), "amount"),
    ],
)
def test_hostile_tool_arguments_get_a_typed_error_and_nothing_is_done(settings, reply, says):
    script = Script([reply, text("I could not do that.")])
    with hostile_openai(script) as url:
        desk = hostile_desk(settings, url)
        before = effects(desk)
        result = desk.run("I was charged twice for invoice INV-10001, please refund the duplicate", user_id="CUS-0001")
    assert result.status == "done" and result.answer == "I could not do that."
    assert effects(desk) == before  # no refund, no credit, no approval request
    [told] = [m for m in script.requests[-1]["messages"] if m["role"] == "tool"]
    assert says in told["content"] and "Nothing was done" in told["content"]


def test_arguments_as_a_json_list_end_the_turn_honestly_and_nothing_is_done(settings):
    script = Script([tool_call("refund_invoice", "[1, 2]"), tool_call("refund_invoice", '["INV-10001", 99]')])
    with hostile_openai(script) as url:
        desk = hostile_desk(settings, url)
        before = effects(desk)
        result = desk.run("Please refund invoice INV-10001", user_id="CUS-0001")
    assert result.tool_calls == [] and "did nothing further" in result.answer
    assert effects(desk) == before


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"text": None}, "text must be text, not NoneType"),
        ({"text": 123}, "text must be text, not int"),
        ({"text": ["refund", "it"]}, "text must be text, not list"),
        ({"text": "hello", "user_id": {"$ne": None}}, "user_id must be text or None, not dict"),
        ({"text": "hello", "thread_id": 7}, "thread_id must be text or None, not int"),
        ({"text": "bad \udcff"}, "not valid UTF-8"),
    ],
)
def test_embedded_callers_get_typed_errors(settings, kwargs, says):
    desk = Proctor(settings)
    with pytest.raises(InvalidRequest, match=says):
        desk.run(kwargs.pop("text"), **kwargs)


def cli(args: list[str | bytes], data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proctor.cli", *args], env={**ENV, "PROCTOR_DATA_DIR": str(data), **env},
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("PROCTOR_MAX_REQUEST_CHARS", "many", "PROCTOR_MAX_REQUEST_CHARS: Input should be a valid integer"),
        ("PROCTOR_MAX_REQUEST_CHARS", "-5", "PROCTOR_MAX_REQUEST_CHARS: Input should be greater than or equal to 1"),
        ("PROCTOR_API_TOKENS", "tok=alice", "PROCTOR_API_TOKENS: not valid JSON"),
        ("PROCTOR_API_TOKENS", '["alice"]', "PROCTOR_API_TOKENS: Input should be a valid dictionary"),
        ("PROCTOR_GUARDS__RUN_DEADLINE_S", "0", "PROCTOR_GUARDS__RUN_DEADLINE_S: Input should be greater than 0"),
    ],
)
def test_bad_settings_are_one_line_naming_the_variable(tmp_path, variable, value, says):
    done = cli(["run", "hello"], tmp_path, **{variable: value})
    assert done.returncode == 2 and done.stderr.strip() == f"error: {says}" or says in done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr and value not in done.stderr.replace(says, "")


def test_invalid_utf8_in_argv_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "proctor.cli", "run", b"refund \xff\xfe now"],
                          env={**ENV, "PROCTOR_DATA_DIR": str(tmp_path)}, capture_output=True, timeout=120)
    assert done.returncode == 2 and done.stderr.decode().strip() == "error: argument 2 is not valid UTF-8"


@pytest.mark.parametrize("name", ["desk.sqlite", "checkpoints.sqlite"])
def test_a_corrupt_database_file_is_named_and_left_alone(tmp_path, name):
    assert cli(["run", "Where is my order 1001?"], tmp_path).returncode == 0
    for leftover in tmp_path.glob(f"{name}-*"):
        leftover.unlink()  # the WAL of the good file would otherwise be read back
    damaged = tmp_path / name
    damaged.write_bytes(b"this is not a database, it is a shopping list " * 100)
    done = cli(["run", "Where is my order 1001?"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {damaged} is not a usable SQLite database")
    assert damaged.read_bytes().startswith(b"this is not a database")  # nothing was overwritten
