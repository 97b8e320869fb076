"""``proctor eval``: the report on stdout and on disk, exit codes on a regression or a broken golden set."""

from __future__ import annotations

import argparse

import pytest

from proctor.evals.cli import register
from proctor.evals.report import Report
from proctor.evals.runner import ERROR, REGRESSION, main
from tests.evals_support import task_line, write_set


def test_cli_writes_the_report_and_exits_1_on_a_regression(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setenv("PROCTOR_MODEL", "offline")
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path / "data"))
    passing = task_line(
        id="clarify-x-001",
        input="hello?",
        expected_route="clarify",
        user=None,
        trajectory={"mode": "subset"},
        expected_db=[{"table": "audit_log", "count": 0}],
        rubric={"criteria": "Asks what is needed."},
    )
    failing = {**passing, "id": "clarify-x-002", "expected_route": "support"}
    golden = write_set(tmp_path / "v1.jsonl", passing, failing)
    assert main(["--golden", str(golden), "--split", "all", "--json"]) == 0
    out, err = capsys.readouterr()
    report = Report.model_validate_json(out)  # stdout is the report alone
    assert [t.success for t in report.tasks] == [True, False]
    assert "eval 2/2 tasks (100%)" in err and "1 failed" in err  # the progress, on stderr
    assert "1 failing tasks:" in err and "clarify-x-002" in err and "route: routed to clarify, expected support" in err
    written = tmp_path / "data" / "eval-report.json"
    assert Report.model_validate_json(written.read_text()) == report

    optimistic = report.model_copy(update={"tasks": [t.model_copy(update={"success": True}) for t in report.tasks]})
    baseline = tmp_path / "baseline.json"
    baseline.write_text(optimistic.model_dump_json())
    code = main(
        ["--golden", str(golden), "--split", "all", "--baseline", str(baseline), "--out", str(tmp_path / "r.json")]
    )
    assert code == REGRESSION
    assert "REGRESSION" in capsys.readouterr().err

    other_set = optimistic.model_copy(update={"golden": report.golden.model_copy(update={"version": "v0"})})
    baseline.write_text(other_set.model_dump_json())
    assert main(["--golden", str(golden), "--baseline", str(baseline)]) == ERROR  # refused before running
    assert "error: the baseline is for golden set v0, this run used v1" in capsys.readouterr().err


def test_cli_reports_a_broken_golden_set_with_its_line(tmp_path, capsys):
    golden = write_set(tmp_path / "v1.jsonl", task_line(), "not json")
    assert main(["--golden", str(golden)]) == ERROR
    assert f"error: {golden} line 2: not valid JSON" in capsys.readouterr().err


def test_register_adds_the_eval_subcommand():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["eval", "--split", "heldout", "--concurrency", "3", "--json"])
    assert args.handler.__module__ == "proctor.evals.cli" and args.split == "heldout" and args.concurrency == 3 and args.json
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--concurrency", "0"])
