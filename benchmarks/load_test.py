"""Bounded load test of the supervisor on ``langgraph dev``: N users for T seconds, loopback only.

    .venv/bin/python -m benchmarks.load_test [--users 8] [--seconds 30] [--jobs N]
                                             [--database-url postgresql://...] [--json]

It starts its own dev server (tests/servers.py) in a scratch directory, runs one warm-up
request, then lets N concurrent users send requests until the time is up; runs still in
flight then finish, and the server is stopped. Each request is a new thread in which the
invoice's customer asks for a $1 refund on an invoice no other request touches (paid, under
the approval threshold, never refunded), so the desk can be audited afterwards: every
successful run must have left exactly one refund and one idempotency record, a failed run none.

Reported: runs/s, latency percentiles (client view: create a thread, run to the end), errors,
and the server's CPU time per run. The dev server's scheduler polls for queued runs, so its
runs/s measures polling as much as proctor; CPU per run is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_sdk.client import LangGraphClient

from proctor.db import Database
from tests.servers import GRAPH_ID, DevServer, start_dev_server

MAX_USERS = 64
MAX_SECONDS = 600.0
REFUND_CENTS = 100
APPROVAL_THRESHOLD_CENTS = 10_000  # agents/policy/approvals.toml: money at or over $100 waits for a human


@dataclass(frozen=True)
class Invoice:
    id: str
    customer_id: str


@dataclass(frozen=True)
class Outcome:
    invoice: str
    latency_s: float
    error: str | None


def request(invoice: Invoice) -> dict[str, Any]:
    text = f"Please refund ${REFUND_CENTS / 100:.2f} on invoice {invoice.id}, it was overcharged"
    return {"messages": [{"role": "user", "content": text}]}  # who asks comes from the token


def refundable_invoices(db: Database) -> list[Invoice]:
    rows = db.query(
        "SELECT id, customer_id FROM invoices WHERE status = 'paid' AND amount_cents < ?"
        " AND id NOT IN (SELECT invoice_id FROM refunds) ORDER BY id",
        (APPROVAL_THRESHOLD_CENTS,),
    )
    return [Invoice(r["id"], r["customer_id"]) for r in rows]


def run_error(state: Any) -> str | None:
    """Why a finished run does not count as a success, or None."""
    if not isinstance(state, dict) or "__error__" in state:
        return f"run failed: {state.get('__error__') if isinstance(state, dict) else state!r}"
    messages = state.get("messages", [])
    results = [m for m in messages if m.get("type") == "tool" and m.get("name") == "refund_invoice"]
    if not results:
        return f"no refund: {str(messages[-1].get('content') if messages else '')[:160]}"
    if len(results) > 1 or results[0].get("status") == "error":
        return f"refund failed: {[str(m.get('content'))[:160] for m in results]}"
    return None


async def one_request(client: LangGraphClient, invoice: Invoice) -> Outcome:
    start = time.perf_counter()
    try:
        thread = await client.threads.create()
        error = run_error(await client.runs.wait(thread["thread_id"], GRAPH_ID, input=request(invoice)))
    except Exception as exc:  # an HTTP or server failure is a result to report, not a crash
        error = f"{type(exc).__name__}: {exc}"
    return Outcome(invoice.id, time.perf_counter() - start, error)


async def user(client: LangGraphClient, invoices: list[Invoice], deadline: float) -> list[Outcome]:
    outcomes = []
    for invoice in invoices:
        if time.monotonic() >= deadline:
            break
        outcomes.append(await one_request(client, invoice))
    return outcomes


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def written(db: Database) -> tuple[Counter[str], int]:
    """Refunds per invoice, and idempotency records of refund calls."""
    refunds = Counter(r["invoice_id"] for r in db.query("SELECT invoice_id FROM refunds"))
    records = db.query("SELECT COUNT(*) AS n FROM tool_effects WHERE tool = 'refund_invoice'")[0]["n"]
    return refunds, records


def audit(db: Database, outcomes: list[Outcome], before: tuple[Counter[str], int]) -> dict[str, Any]:
    """Writes in the desk against what the runs reported: nothing lost, nothing twice."""
    (refunds, records), (refunds_before, records_before) = written(db), before
    succeeded = [o.invoice for o in outcomes if o.error is None]
    failed = [o.invoice for o in outcomes if o.error is not None]
    return {
        "new_refunds": refunds.total() - refunds_before.total(),
        "refund_effect_records": records - records_before,
        "lost": [i for i in succeeded if refunds[i] == 0],
        "duplicated": [i for i in succeeded + failed if refunds[i] > 1],
        "failed_but_written": [i for i in failed if refunds[i] > 0],
    }


async def measure(server: DevServer, db: Database, users: int, seconds: float) -> dict[str, Any]:
    client = server.client()
    invoices = refundable_invoices(db)
    warmup = await one_request(client, invoices.pop())
    if warmup.error:
        raise SystemExit(f"warm-up request failed: {warmup.error}")
    before = written(db)
    cpu_before, start = cpu_seconds(server.process.pid), time.monotonic()
    per_user = await asyncio.gather(*(user(client, invoices[u::users], start + seconds) for u in range(users)))
    elapsed, cpu = time.monotonic() - start, cpu_seconds(server.process.pid) - cpu_before
    outcomes = [o for outcomes in per_user for o in outcomes]
    latencies = [o.latency_s for o in outcomes]
    errors = Counter(o.error.split(":")[0] for o in outcomes if o.error)
    samples = {o.error.split(":")[0]: o.error for o in reversed(outcomes) if o.error}
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "runs": len(outcomes),
        "runs_per_s": round(len(outcomes) / elapsed, 2),
        "latency_ms": {f"p{p}": round(percentile(latencies, p) * 1000) for p in (50, 95, 99)},
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "error_samples": samples,
        "server_cpu_ms_per_run": round(cpu * 1000 / max(1, len(outcomes)), 1),
        "invoices_left": len(invoices) - len(outcomes),
        "db": audit(db, outcomes, before),
    }


def passed(report: dict[str, Any]) -> bool:
    db = report["db"]
    succeeded = report["runs"] - report["errors"]
    return (
        report["errors"] == 0
        and not (db["lost"] or db["duplicated"] or db["failed_but_written"])
        and db["new_refunds"] == db["refund_effect_records"] == succeeded
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8, help=f"concurrent users (1-{MAX_USERS})")
    parser.add_argument("--seconds", type=float, default=30.0, help=f"sending window (at most {MAX_SECONDS:g})")
    parser.add_argument("--jobs", type=int, help="runs the server executes at once (--n-jobs-per-worker)")
    parser.add_argument("--database-url", help="domain database for the server (default: SQLite in a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not (1 <= args.users <= MAX_USERS and 0 < args.seconds <= MAX_SECONDS):
        parser.error(f"--users must be 1-{MAX_USERS} and --seconds in (0, {MAX_SECONDS:g}]")

    with tempfile.TemporaryDirectory(prefix="proctor-load-") as scratch:
        env = {"PROCTOR_DATABASE_URL": args.database_url} if args.database_url else {}
        # Every request comes from the dev server's one anonymous identity: lift its daily quota.
        env["PROCTOR_GUARDS__REQUESTS_PER_USER_PER_DAY"] = "1000000"
        options = ["--n-jobs-per-worker", str(args.jobs)] if args.jobs else []
        server = start_dev_server(Path(scratch), env, options)
        db = server.desk()
        try:
            report = asyncio.run(measure(server, db, args.users, args.seconds))
        finally:
            server.stop()
            db.close()
    report["jobs"] = args.jobs or 1
    report["database"] = "postgres" if args.database_url else "sqlite"
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if passed(report) else 1


def render(report: dict[str, Any]) -> str:
    lat, db = report["latency_ms"], report["db"]
    return "\n".join(
        [
            f"{report['users']} users, {report['seconds']} s, {report['jobs']} job(s), {report['database']}: "
            f"{report['runs']} runs, {report['runs_per_s']} runs/s",
            f"latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms",
            f"errors {report['errors']} {report['error_kinds'] or ''}".rstrip(),
            *(f"  e.g. {sample}" for sample in report["error_samples"].values()),
            f"server CPU {report['server_cpu_ms_per_run']} ms per run",
            f"desk: {db['new_refunds']} new refunds, {db['refund_effect_records']} idempotency records; "
            f"lost {len(db['lost'])}, duplicated {len(db['duplicated'])}, "
            f"failed but written {len(db['failed_but_written'])}",
            "PASS" if passed(report) else "FAIL",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
