"""Search a trace store of one million traces: is "top five most expensive failures, last 7 days" instant?

Generates the traces (30 days, 8 routes, 3 releases, ~5% errors, tools on most runs) straight into a
temporary store with executemany in batches, then times a few searches through ``TraceStore.search``.

    .venv/bin/python benchmarks/trace_search.py [--traces N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

import numpy as np

from benchmarks.common import Figure, Report, table
from proctor.tracing.models import TraceQuery
from proctor.tracing.store import TraceStore, search_sql

ROUTES = ["billing", "orders", "support", "account", "plan", "escalate", "clarify", "rejected"]
RELEASES = ["0.1.0", "0.1.1", "0.2.0"]
TOOLS = ["get_invoice", "refund_invoice", "get_order", "cancel_order", "search_kb", "send_email", "reset_password"]
USERS = [f"CUS-{i:04d}" for i in range(5000)]
BATCH = 50_000

QUERIES = {
    "top 5 most expensive failures, last 7 days": {"since": "7d", "status": "error", "sort": "cost", "limit": 5},
    "slowest 20, last 24 hours": {"since": "24h", "sort": "latency", "limit": 20},
    "latest 20 of one user": {"user": "CUS-0042", "limit": 20},
    "latest 20 calling refund_invoice, last 7 days": {"since": "7d", "tool": "refund_invoice", "limit": 20},
    "top 10 costliest billing, last 7 days": {"since": "7d", "route": "billing", "sort": "cost", "limit": 10},
}


def generate(store: TraceStore, n: int, seed: int = 7) -> None:
    """Columns drawn with numpy per batch (Python loops per row would dominate), oldest traces first."""
    rng = np.random.default_rng(seed)
    now, span = datetime.now(UTC).timestamp(), timedelta(days=30).total_seconds()
    tool_sets = [",".join(t for j, t in enumerate(TOOLS) if code >> j & 1) for code in range(2 ** len(TOOLS))]
    conn = store.db.connect()
    conn.execute("PRAGMA cache_size = -262144")  # 256 MB: index pages stay in memory while loading
    conn.execute("PRAGMA foreign_keys = OFF")  # the generated rows are consistent by construction
    # Bulk load, then build the store's own secondary indexes once: sorting beats 1M random inserts.
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for start in range(0, n, BATCH):
        k = min(BATCH, n - start)
        started = now - span * (1 - np.arange(start, start + k) / n)
        # Time-ordered ids, like the UUIDv7 run ids LangChain makes: the primary key index appends.
        ids = [f"{int(t * 1000):012x}{r:020x}" for t, r in zip(started.tolist(), rng.integers(0, 2**63, k).tolist())]
        latency = rng.lognormal(7.5, 0.6, k)  # ms, median about 1.8 s
        status = np.array(["ok", "error", "interrupted"])[rng.choice(3, k, p=[0.93, 0.05, 0.02])]
        inp, out = rng.integers(300, 6000, k), rng.integers(20, 800, k)
        cost = (inp * 0.15 + out * 0.60) / 1e6 * rng.uniform(1, 4, k)
        used = rng.random((k, len(TOOLS))) < 0.2
        codes = used @ (1 << np.arange(len(TOOLS)))
        columns = [
            ids, started.tolist(), (started + latency / 1000).tolist(), latency.tolist(), status.tolist(),
            np.array(ROUTES)[rng.integers(0, len(ROUTES), k)].tolist(),
            np.array(USERS)[rng.integers(0, len(USERS), k)].tolist(), [f"thread-{i}" for i in ids],
            np.array(RELEASES)[rng.integers(0, len(RELEASES), k)].tolist(), ["gpt-4o-mini"] * k,
            inp.tolist(), out.tolist(), cost.tolist(),
            np.where(status == "error", "TransientToolError", None).tolist(), [tool_sets[c] for c in codes.tolist()],
            ["request text"] * k, ["answer text"] * k,
        ]  # fmt: skip
        rows, cols = np.nonzero(used)
        tools = [(TOOLS[c], started[r], ids[r], 1) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO traces VALUES ({', '.join('?' * 17)})", zip(*columns, strict=True))
        conn.executemany("INSERT INTO trace_tools (tool, started_at, trace_id, calls) VALUES (?, ?, ?, ?)", tools)
        conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.close()


def search_rows(store: TraceStore, repeat: int) -> list[list[object]]:
    """Each query: median and max ms over ``repeat`` runs, hits, and SQLite's plan."""
    rows: list[list[object]] = []
    for label, filters in QUERIES.items():
        query = TraceQuery.parse(**filters)
        sql, params = search_sql(query)
        plan = "; ".join(r["detail"] for r in store.db.query("EXPLAIN QUERY PLAN " + sql, params))
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            hits = store.search(query)
            times.append((time.perf_counter() - t) * 1000)
        rows.append([label, f"{statistics.median(times):.2f}", f"{max(times):.2f}", len(hits), f"`{plan}`"])
    return rows


def run(quick: bool = False, traces: int | None = None, repeat: int | None = None) -> Report:
    traces, repeat = traces or (100_000 if quick else 1_000_000), repeat or (5 if quick else 20)
    with tempfile.TemporaryDirectory(prefix="bench-trace-search-") as folder:
        path = Path(folder) / "traces.sqlite"
        store = TraceStore(f"sqlite:///{path}")
        t0 = time.perf_counter()
        generate(store, traces)
        took = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        rows = search_rows(store, repeat)
        t = time.perf_counter()
        summary = store.summary(timedelta(days=7))
        summary_s = time.perf_counter() - t
    worst = max(float(r[1]) for r in rows)
    headline = rows[0]
    body = "\n".join([
        (f"{traces:,} traces over 30 days ({size_mb:,.0f} MB, generated in {took:.1f} s), searched through "
        f"`TraceStore.search`, {repeat} times each (wall ms):\n"),
        table(["search", "median ms", "max ms", "hits", "SQLite plan"], rows),
        f"\n`proctor traces summary` of the last 7 days ({summary['totals']['count']:,} traces): {summary_s:.2f} s.",
    ])  # fmt: skip
    figures = [
        Figure("4 trace search", f"{headline[0]}, {traces:,} traces (median)", f"{headline[1]} ms"),
        Figure("4 trace search", f"slowest of {len(rows)} searches, {traces:,} traces (median)", f"{worst:.2f} ms"),
        Figure("4 trace search", f"7-day summary, {traces:,} traces", f"{summary_s:.2f} s"),
    ]
    return Report(f"4. Trace search on {traces:,} traces", body, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(run(traces=args.traces, repeat=args.repeat).markdown())


if __name__ == "__main__":
    main()
