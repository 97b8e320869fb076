"""The trace store and ``proctor traces``: round trips, search, bad input, schema versions, locks, purge, report."""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from proctor.db import Database, DatabaseError
from proctor.errors import ProctorError
from proctor.tracing import cli as traces_cli
from proctor.tracing.errors import InvalidTraceQuery, TraceStoreBusy, TraceStoreFull, UnknownTrace
from proctor.tracing.models import Span, Trace, TraceQuery
from proctor.tracing.store import MIGRATIONS, TraceStore, search_sql


def make_trace(
    trace_id: str,
    *,
    age: timedelta = timedelta(hours=1),
    status: str = "ok",
    route: str = "billing",
    user: str = "u1",
    cost: float = 0.01,
    latency_ms: float = 100.0,
    tools: tuple[str, ...] = ("get_invoice",),
    release: str = "0.1.0",
) -> Trace:
    started = datetime.now(UTC) - age
    ended = started + timedelta(milliseconds=latency_ms)
    root = Span(span_id=trace_id, kind="chain", name="proctor", started_at=started, ended_at=ended, status=status)
    llm = Span(
        span_id=f"{trace_id}-llm", parent_id=trace_id, kind="llm", name="model", started_at=started,
        ended_at=ended, input_tokens=100, output_tokens=10, cost_usd=cost, model="gpt-4o-mini",
        outputs={"tool_calls": [{"name": t, "args": {}} for t in tools]},
    )  # fmt: skip
    calls = [
        Span(span_id=f"{trace_id}-t{i}", parent_id=trace_id, kind="tool", name=t, started_at=started,
             ended_at=ended, inputs={"args": {"id": i}}, outputs={"result": "done"})
        for i, t in enumerate(tools)
    ]  # fmt: skip
    return Trace(
        trace_id=trace_id, started_at=started, ended_at=ended, latency_ms=latency_ms, status=status, route=route,
        user_id=user, thread_id=f"thread-{trace_id}", release=release, model="gpt-4o-mini", input_tokens=100,
        output_tokens=10, cost_usd=cost, error_class="TransientToolError" if status == "error" else None,
        tools=list(dict.fromkeys(tools)), input="refund my invoice", answer="done", spans=[root, llm, *calls],
    )  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.sqlite'}"


@pytest.fixture
def store(url: str) -> TraceStore:
    return TraceStore(url, busy_timeout_s=0.2)


@pytest.fixture
def filled(store: TraceStore) -> TraceStore:
    for trace in [
        make_trace("a", status="ok", route="billing", user="u1", cost=0.02, latency_ms=300, age=timedelta(minutes=90)),
        make_trace("b", status="error", user="u2", cost=0.50, latency_ms=900, tools=("refund_invoice",)),
        make_trace("c", status="error", route="orders", user="u1", cost=0.10, latency_ms=50, age=timedelta(days=3)),
        make_trace("d", status="interrupted", route="orders", user="u3", cost=0.05, age=timedelta(minutes=5)),
        make_trace("old", status="error", user="u9", cost=9.00, age=timedelta(days=10), release="0.0.9"),
    ]:
        store.save(trace)
    return store


def ids(hits) -> list[str]:
    return [h.trace_id for h in hits]


def test_a_trace_round_trips_whole_and_saving_again_replaces_it(store):
    trace = make_trace("t1", tools=("get_invoice", "refund_invoice", "get_invoice"))
    store.save(trace)
    store.save(trace)
    assert store.get("t1") == trace
    assert store.get("t1").tools == ["get_invoice", "refund_invoice"]
    assert store.db.query("SELECT COUNT(*) AS n FROM spans")[0]["n"] == len(trace.spans)
    calls = store.db.query("SELECT tool, calls FROM trace_tools ORDER BY tool")
    assert calls == [{"tool": "get_invoice", "calls": 2}, {"tool": "refund_invoice", "calls": 1}]


def test_search_filters(filled):
    assert ids(filled.search(TraceQuery.parse(status="error"))) == ["b", "c", "old"]
    assert set(ids(filled.search(TraceQuery.parse(route="orders")))) == {"c", "d"}
    assert set(ids(filled.search(TraceQuery.parse(user="u1")))) == {"a", "c"}
    assert ids(filled.search(TraceQuery.parse(tool="refund_invoice"))) == ["b"]
    assert set(ids(filled.search(TraceQuery.parse(since="7d")))) == {"a", "b", "c", "d"}
    assert set(ids(filled.search(TraceQuery.parse(since="2h")))) == {"a", "b", "d"}
    assert ids(filled.search(TraceQuery.parse(since="7d", status="error", tool="get_invoice"))) == ["c"]
    assert filled.search(TraceQuery.parse(route="nowhere")) == []


def test_search_sorts_and_limits(filled):
    assert ids(filled.search(TraceQuery.parse(sort="time"))) == ["d", "b", "a", "c", "old"]
    assert ids(filled.search(TraceQuery.parse(sort="cost", limit="2"))) == ["old", "b"]
    assert ids(filled.search(TraceQuery.parse(sort="latency", since="7d"))) == ["b", "a", "d", "c"]
    top = filled.search(TraceQuery.parse(since="7d", status="error", sort="cost", limit=5))
    assert ids(top) == ["b", "c"] and top[0].cost_usd == 0.50 and top[0].tools == ["refund_invoice"]


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"since": "7x"}, "--since: '7x' is not a duration: use a number and a unit, like 30m, 24h, 7d"),
        ({"since": "0d"}, "--since: '0d' is not a duration"),
        ({"status": "failed"}, "--status: Input should be 'ok', 'error' or 'interrupted'"),
        ({"sort": "size"}, "--sort: Input should be 'cost', 'latency' or 'time'"),
        ({"limit": "0"}, "--limit: Input should be greater than or equal to 1"),
        ({"limit": "many"}, "--limit: Input should be a valid integer"),
        ({"route": ""}, "--route: String should have at least 1 character"),
        ({"colour": "red"}, "--colour: is not a filter"),
    ],
)
def test_malformed_filters_are_refused_with_the_accepted_forms(filters, says):
    with pytest.raises(InvalidTraceQuery) as caught:
        TraceQuery.parse(**filters)
    assert says in str(caught.value)


def test_an_unknown_trace_id_is_a_typed_error(filled):
    with pytest.raises(UnknownTrace, match="no trace has id 'nope'"):
        filled.get("nope")


def test_top_five_expensive_failures_is_answered_by_an_index(filled):
    sql, params = search_sql(TraceQuery.parse(since="7d", status="error", sort="cost", limit=5))
    plan = [r["detail"] for r in filled.db.query("EXPLAIN QUERY PLAN " + sql, params)]
    assert re.match(r"SEARCH t USING INDEX ix_traces_status_(cost|time) \(status=\?", plan[0]), plan
    assert not any(d.startswith("SCAN") for d in plan), plan


def test_tool_search_is_answered_by_the_tool_index(filled):
    sql, params = search_sql(TraceQuery.parse(since="7d", tool="get_invoice"))
    plan = [r["detail"] for r in filled.db.query("EXPLAIN QUERY PLAN " + sql, params)]
    assert plan[0] == "SEARCH tt USING PRIMARY KEY (tool=? AND started_at>?)", plan
    assert not any("TEMP B-TREE" in d for d in plan), plan


def test_an_older_store_is_migrated_and_keeps_its_traces(url):
    Database(url).migrate(MIGRATIONS[:1])  # a store written by schema version 1
    v1 = make_trace("v1", tools=("send_email",))
    with Database(url).transaction() as conn:
        conn.execute(
            "INSERT INTO traces (trace_id, started_at, ended_at, latency_ms, status, route, tools)"
            " VALUES ('v1', ?, ?, 5, 'ok', 'billing', 'send_email')",
            (v1.started_at.timestamp(), v1.ended_at.timestamp()),
        )
        conn.execute(
            "INSERT INTO spans (trace_id, seq, span_id, kind, name, started_at, status)"
            " VALUES ('v1', 0, 's1', 'tool', 'send_email', ?, 'ok')",
            (v1.started_at.timestamp(),),
        )
    store = TraceStore(url)
    versions = store.db.query("SELECT version FROM schema_migrations WHERE component = 'traces' ORDER BY version")
    assert [v["version"] for v in versions] == [1, 2]
    assert ids(store.search(TraceQuery.parse(tool="send_email"))) == ["v1"]


def test_a_newer_store_is_refused_clearly_and_left_alone(url, store):
    store.save(make_trace("keep"))
    with store.db.transaction() as conn:
        conn.execute("INSERT INTO schema_migrations (component, version) VALUES ('traces', 99)")
    with pytest.raises(DatabaseError, match="traces schema is version 99, newer than this proctor knows"):
        TraceStore(url)
    assert store.db.query("SELECT trace_id FROM traces") == [{"trace_id": "keep"}]


def test_a_locked_store_is_a_clear_error_and_loses_nothing(url, store):
    store.save(make_trace("first"))
    holder = sqlite3.connect(store.db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    started = time.monotonic()
    with pytest.raises(TraceStoreBusy, match="locked by another writer for more than 0.2 s; nothing was changed"):
        store.save(make_trace("second"))
    assert time.monotonic() - started < 5
    holder.execute("ROLLBACK")
    holder.close()
    assert store.db.query("SELECT COUNT(*) AS n FROM spans WHERE trace_id = 'second'")[0]["n"] == 0
    store.save(make_trace("second"))  # the same trace goes in once the lock is gone
    assert set(ids(store.search(TraceQuery()))) == {"first", "second"}
    assert store.db.query("PRAGMA integrity_check")[0] == {"integrity_check": "ok"}


def test_a_full_store_is_a_clear_error_and_keeps_what_it_had(store, monkeypatch):
    store.save(make_trace("before"))
    connect = store.db.backend.connect

    def full_disk() -> sqlite3.Connection:
        conn = connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store.db.backend, "connect", full_disk)
    store.db.close()  # the thread's connection is reopened, through the patched connect
    big = make_trace("big")
    big.spans[0].outputs = {"answer": "x" * 200_000}
    with pytest.raises(TraceStoreFull, match="is full .*nothing was written"):
        store.save(big)
    monkeypatch.undo()
    store.db.close()
    with pytest.raises(UnknownTrace):
        store.get("big")
    assert store.get("before").trace_id == "before"
    assert store.db.query("PRAGMA integrity_check")[0] == {"integrity_check": "ok"}


def test_purge_drops_old_traces_with_their_spans_and_tools(filled):
    assert filled.purge(older_than_days=7) == 1
    assert "old" not in ids(filled.search(TraceQuery()))
    assert filled.db.query("SELECT COUNT(*) AS n FROM spans WHERE trace_id = 'old'")[0]["n"] == 0
    assert filled.db.query("SELECT COUNT(*) AS n FROM trace_tools WHERE trace_id = 'old'")[0]["n"] == 0
    assert filled.purge(older_than_days=1) == 1  # "c", three days old
    assert set(ids(filled.search(TraceQuery()))) == {"a", "b", "d"}


def test_summary_figures(filled):
    summary = filled.summary(timedelta(days=7))
    json.dumps(summary)  # JSON-able as it is
    totals = summary["totals"]
    assert (totals["count"], totals["errors"], totals["interrupted"]) == (4, 2, 1)
    assert totals["failure_rate"] == 0.5 and totals["cost_usd"] == pytest.approx(0.67)
    assert totals["latency_p50_ms"] == 100.0 and totals["latency_p95_ms"] == 900.0
    assert summary["by_route"]["billing"]["count"] == 2 and summary["by_route"]["orders"]["failure_rate"] == 0.5
    assert list(summary["by_release"]) == ["0.1.0"]  # the 0.0.9 trace is older than 7 days
    assert summary["tools"] == {"get_invoice": 3, "refund_invoice": 1}
    over_time = summary["over_time"]
    assert summary["bucket_seconds"] == 6 * 3600 and len(over_time["buckets"]) in (28, 29)  # on the clock
    assert sum(over_time["all"]["count"]) == 4 and sum(over_time["tools"]["get_invoice"]) == 3
    assert sum(over_time["by_route"]["orders"]["count"]) == 2


# the command line, through the same handler protocol as proctor.cli.main


def traces(argv: list[str], capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="proctor")
    traces_cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(["traces", *argv])
    try:
        code = args.handler(args)
    except ProctorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_store(tmp_path, monkeypatch) -> TraceStore:
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROCTOR_TRACE_URL", f"sqlite:///{tmp_path / 'cli-traces.sqlite'}")
    store = TraceStore(f"sqlite:///{tmp_path / 'cli-traces.sqlite'}")
    for trace in [
        make_trace("cheap-fail", status="error", cost=0.01),
        make_trace("dear-fail", status="error", cost=0.90, route="orders", tools=("cancel_order",)),
        make_trace("fine", cost=2.0, age=timedelta(hours=3), release="0.2.0"),
        make_trace("ancient", cost=5.0, age=timedelta(days=40)),
    ]:
        store.save(trace)
    return store


def test_cli_search_table_and_json(cli_store, capsys):
    code, out, _ = traces(["search", "--since", "7d", "--status", "error", "--sort", "cost", "--limit", "5"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("TRACE ID") and [line.split()[0] for line in lines[1:]] == ["dear-fail", "cheap-fail"]
    assert "$0.900000" in lines[1] and "cancel_order" in lines[1]
    code, out, _ = traces(["search", "--tool", "cancel_order", "--json"], capsys)
    assert code == 0 and [h["trace_id"] for h in json.loads(out)] == ["dear-fail"]


def test_cli_bad_filters_and_unknown_ids_exit_2_with_a_message(cli_store, capsys):
    code, out, err = traces(["search", "--since", "7x"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == "error: --since: '7x' is not a duration: use a number and a unit, like 30m, 24h, 7d or 2w"
    code, _, err = traces(["show", "no-such-id"], capsys)
    assert code == 2 and "error: no trace has id 'no-such-id'" in err


def test_cli_show_prints_an_indented_span_tree(cli_store, capsys):
    code, out, _ = traces(["show", "dear-fail"], capsys)
    assert code == 0
    assert out.startswith("trace dear-fail  error (TransientToolError)  route orders  user u1")
    assert "\nproctor  [chain]" in out
    assert re.search(r"\n├─ model  \[llm\]  100 ms  gpt-4o-mini 100\+10 tok \$0\.90*  → cancel_order", out), out
    assert re.search(r'\n└─ cancel_order  \[tool\]  100 ms  \{"id": 0\}  → done', out), out
    code, out, _ = traces(["show", "dear-fail", "--json"], capsys)
    assert Trace.model_validate_json(out).trace_id == "dear-fail"


def test_cli_purge_uses_the_retention_setting(cli_store, capsys, monkeypatch):
    monkeypatch.setenv("PROCTOR_TRACE_RETENTION_DAYS", "30")
    code, out, _ = traces(["purge"], capsys)
    assert code == 0 and out.startswith("purged 1 traces older than 30 days")
    code, out, _ = traces(["purge", "--older-than-days", "0.1"], capsys)
    assert out.startswith("purged 1 traces older than 0.1 days")
    assert set(ids(cli_store.search(TraceQuery()))) == {"cheap-fail", "dear-fail"}


def test_cli_report_writes_a_self_contained_page_and_the_same_figures_as_json(cli_store, capsys, tmp_path):
    out_file = tmp_path / "report.html"
    code, out, _ = traces(["report", "--since", "7d", "--out", str(out_file), "--json"], capsys)
    assert code == 0
    figures = json.loads(out)
    assert figures["totals"]["count"] == 3 and set(figures["by_release"]) == {"0.1.0", "0.2.0"}
    page = out_file.read_text()
    charts = re.findall(r'<figure class="chart"><figcaption>([^<]+)</figcaption><svg ', page)
    assert {"runs by route", "failure rate by release", "approvals", "guardrail events"} <= set(charts)
    assert "http://" not in page and "https://" not in page  # nothing to fetch: self-contained
    assert "<img" not in page and "<script src" not in page and "<link" not in page
    embedded = re.search(r'<script type="application/json" id="summary">(.*?)</script>', page, re.DOTALL)[1]
    assert json.loads(embedded) == figures


def test_failed_counts_failed_tool_calls_guard_refusals_and_escalations(store):
    from proctor.tracing.failure import DEFINITION

    tool_failed = make_trace("tool-failed", tools=("cancel_order",))
    tool_failed.spans[-1].status, tool_failed.spans[-1].error = "error", "PreconditionFailed: shipped"
    refused = make_trace("refused", route="rejected", tools=())
    refused.spans.append(Span(span_id="g", parent_id="refused", kind="guardrail", name="request_refused",
                              started_at=refused.started_at))  # fmt: skip
    flagged = make_trace("flagged")  # a guard that only flags is not a failure
    flagged.spans.append(Span(span_id="f", parent_id="flagged", kind="guardrail", name="injection_flagged",
                              started_at=flagged.started_at))  # fmt: skip
    for trace in [tool_failed, refused, flagged, make_trace("escalated", route="escalate", tools=()),
                  make_trace("waiting", status="interrupted")]:  # fmt: skip
        store.save(trace)
    summary = store.summary(timedelta(days=1))
    assert summary["totals"]["errors"] == 0 and summary["totals"]["failed"] == 3
    assert summary["totals"]["failure_rate"] == 0.6 and summary["failed_means"] == DEFINITION
    assert summary["failure_reasons"] == {"tool cancel_order failed": 1, "route rejected": 1, "request_refused": 1,
                                          "route escalate": 1}  # fmt: skip
    assert summary["tool_errors"] == {"cancel_order": 1} and summary["guard_events"] == {
        "request_refused": 1, "injection_flagged": 1}  # fmt: skip
    assert store.failures(["flagged", "tool-failed"]) == {"flagged": [], "tool-failed": ["tool cancel_order failed"]}


@pytest.mark.parametrize(
    ("window", "step"), [(timedelta(hours=1), "15 min"), (timedelta(hours=24), "hour"), (timedelta(days=7), "day")]
)
def test_chart_axes_fit_the_window(window, step):
    from proctor.tracing.charts import nice_scale, time_chart, time_ticks
    from proctor.tracing.summary import bucket_size

    end = datetime(2026, 12, 2, 14, 37, tzinfo=UTC)
    ticks = time_ticks(end - window, end)
    assert 3 <= len(ticks) <= 6 and all(end - window <= t <= end for t, _ in ticks)
    assert {t.year for t, _ in ticks} == {2026}
    size = bucket_size(window)
    buckets = [end - window + size * i for i in range(int(window / size))]
    svg = time_chart("runs", buckets, size, {"all": [1.0] * len(buckets)}, end=end)
    assert svg.count('class="xlabel"') == len(ticks)
    assert nice_scale(7) == (8, 2) and nice_scale(0.37) == (0.4, 0.1) and nice_scale(2, whole=True) == (2, 1)
