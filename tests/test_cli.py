"""The command line as a script sees it: version, JSON errors, broken pipes, lazy imports, approvals and traces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from proctor.cli import BROKEN_PIPE, FEATURES, main
from proctor.runner import Proctor
from proctor.settings import Settings
from proctor.tracing.settings import TraceSettings
from proctor.tracing.store import TraceStore
from tests.test_tracing_store import make_trace

BIG = "INV-10269"  # charged twice, $129.00 a charge: the refund needs a human
HEAVY = ("langchain", "langgraph", "sklearn", "matplotlib", "langsmith")


def proctor(data_dir: Path, *args: str, **popen) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env["PROCTOR_DATA_DIR"] = str(data_dir)
    code = "import sys; from proctor.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env_dir(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    return settings.data_dir


def store_of(data_dir: Path) -> TraceStore:
    return TraceStore(TraceSettings().store_url(Settings(data_dir=data_dir)))


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("proctor 0.")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in ("approvals", "traces", "review", "release", "eval", "replay"))


def test_errors_are_json_with_json_and_text_without(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    assert main(["traces", "show", "nope", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error"].startswith("no trace has id 'nope'") and err == ""
    assert main(["traces", "show", "nope"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: no trace has id 'nope'")
    assert main(["--json", "no-such-command"]) == 2  # usage errors too
    assert "invalid choice" in json.loads(capsys.readouterr().out)["error"]
    assert main(["approvals", "list", "--status", "maybe"]) == 2
    assert capsys.readouterr().err.startswith("error: argument --status: invalid choice")


def test_read_commands_import_no_langchain_langgraph_or_sklearn(tmp_path):
    """What keeps them under a second from a fresh clone (benchmarks/cli_startup.py measures it)."""
    probe = (
        "import sys\nfrom proctor.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
        "except SystemExit as exit_:\n    code = exit_.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})\n"
        "print('HEAVY', heavy, file=sys.stderr)\nsys.exit(code)"
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}, "PROCTOR_DATA_DIR": str(tmp_path)}
    for command in (["approvals", "list"], ["traces", "search"], ["review", "list"], ["--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "HEAVY []" in done.stderr, (command, done.stderr)
    assert len(FEATURES) == len(set(FEATURES))


def test_no_traceback_when_the_reader_goes_away(tmp_path):
    store = store_of(tmp_path)
    for i in range(300):
        store.save(make_trace(f"trace-{i:04d}", age=timedelta(minutes=i)))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}, "PROCTOR_DATA_DIR": str(tmp_path)}
    code = "import sys; from proctor.cli import main; sys.exit(main(sys.argv[1:]))"
    reader = subprocess.Popen(
        [sys.executable, "-c", code, "traces", "search", "--limit", "300", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout.readline().strip() == b"["  # like `| head -1`
    reader.stdout.close()
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == BROKEN_PIPE
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_traces_show_takes_a_unique_prefix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    store = store_of(tmp_path)
    for trace_id in ("0a1b2c3d-0000", "0a1b2c3d-1111", "0a9f0000-2222"):
        store.save(make_trace(trace_id))
    assert main(["traces", "show", "0a9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trace_id"] == "0a9f0000-2222"
    assert main(["traces", "show", "0a1b2c3d-0000"]) == 0
    assert capsys.readouterr().out.startswith("trace 0a1b2c3d-0000")
    assert main(["traces", "show", "0a1b", "--json"]) == 2  # ambiguous: the matches are listed
    error = json.loads(capsys.readouterr().out)["error"]
    assert "matches 2 traces: 0a1b2c3d-0000, 0a1b2c3d-1111" in error
    assert main(["traces", "show", "0a%"]) == 2  # no wildcards
    assert "is not a trace id" in capsys.readouterr().err


def test_traces_search_and_show_say_why_a_run_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    store = store_of(tmp_path)
    failed = make_trace("f0000000-0000", tools=("cancel_order",))
    failed.spans[-1].status, failed.spans[-1].error = "error", "PreconditionFailed: shipped"
    store.save(failed)
    store.save(make_trace("a0000000-0000"))
    assert main(["traces", "search", "--json"]) == 0
    why = {h["trace_id"]: h["failure_reasons"] for h in json.loads(capsys.readouterr().out)}
    assert why == {"f0000000-0000": ["tool cancel_order failed"], "a0000000-0000": []}
    assert main(["traces", "search"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("f0000000-0000"))
    assert row.endswith("cancel_order  failed: tool cancel_order failed") and len(lines) == 3
    assert sum("failed:" in line for line in lines) == 1
    assert main(["traces", "show", "f0000000"]) == 0
    assert "  failed:  tool cancel_order failed" in capsys.readouterr().out.splitlines()
    assert main(["traces", "show", "f0000000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["failure_reasons"] == ["tool cancel_order failed"]


def test_approvals_show_has_the_message_and_edit_merges_the_arguments(settings, env_dir, capsys):
    text = f"I was charged twice for invoice {BIG}, please refund the duplicate"
    result = Proctor(settings).run(text, user_id="CUS-0051")
    [payload] = result.interrupts
    request_id = payload["request"]["id"]
    assert main(["approvals", "show", request_id]) == 0
    assert f"customer: {text}" in capsys.readouterr().out
    assert main(["approvals", "show", request_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["message"] == text
    # The README's example: change the amount only, keep the invoice.
    assert main(["approvals", "edit", request_id, "--as", "alice", "--args", '{"amount": 50}', "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "done"
    assert main(["approvals", "show", request_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "edited" and shown["decided_args"] == {**shown["args"], "amount": 50}
    refunds = Proctor(settings).deployment.db.query("SELECT amount_cents FROM refunds WHERE invoice_id = ?", (BIG,))
    assert [r["amount_cents"] for r in refunds] == [5000]
    assert main(["approvals", "edit", request_id, "--as", "alice", "--args", "[1]", "--json"]) == 2
    assert "JSON object" in json.loads(capsys.readouterr().out)["error"]
