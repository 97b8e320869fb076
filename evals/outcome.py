"""Outcome checks: the declarative ``expected_db`` of a task, run against the desk the task ran on."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from proctor.evals.task import DbCheck
from proctor.evals.trajectory import normalise


def check_db(path: Path, checks: Sequence[DbCheck]) -> list[str]:
    """What is wrong with the database after the run, one line per failed check; empty when all hold."""
    # Read-only: an evaluator must never change what it measures.
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return [problem for check in checks for problem in _check(conn, check)]


def _check(conn: sqlite3.Connection, check: DbCheck) -> list[str]:
    where = " AND ".join(f'"{column}" IS ?' for column in check.where) or "1"
    try:
        rows = conn.execute(f'SELECT * FROM "{check.table}" WHERE {where}', list(check.where.values())).fetchall()
    except sqlite3.OperationalError as exc:
        return [f"{check.table}: {exc}"]
    label = f"{check.table} where {check.where or 'any'}"
    problems = []
    if check.count is not None and len(rows) != check.count:
        problems.append(f"{label}: {len(rows)} rows, expected {check.count}")
    if check.values and not rows:
        problems.append(f"{label}: no rows to hold {check.values}")
    columns = set(rows[0].keys()) if rows else set()
    for column, value in check.values.items():
        if rows and column not in columns:
            problems.append(f"{label}: no column {column!r}")
            continue
        wrong = [row[column] for row in rows if normalise(row[column]) != normalise(value)]
        if wrong:
            problems.append(f"{label}: {column} is {wrong[0]!r}, expected {value!r}")
    return problems
