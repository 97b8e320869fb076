"""Isolation: a throwaway data dir with a copy of the domain database, whose approval ledger judges
the original's approvals as they were judged then."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from proctor.approvals.ledger import ApprovalLedger
from proctor.db import is_postgres, sqlite_path
from proctor.replay.errors import ReplayError
from proctor.replay.matching import call_key
from proctor.replay.recording import Original, decided_request
from proctor.settings import Settings
from proctor.toolkit import Impact, ImpactFn, ToolSpec


@contextmanager
def sandbox(settings: Settings) -> Iterator[Settings]:
    """``settings`` moved to a temporary data dir holding a copy of the domain database, deleted after.
    The live desk's data is only read, once, to make the copy."""
    url = settings.domain_url
    if is_postgres(url):
        raise ReplayError(
            "replays run on a SQLite copy of the domain database, and this desk's is Postgres:"
            " copy it to SQLite and point PROCTOR_DATABASE_URL at the copy for the replay"
        )
    source = sqlite_path(url)
    if not source.is_file():
        raise ReplayError(f"there is no domain database at {source} to copy for the replay")
    with tempfile.TemporaryDirectory(prefix="proctor-replay-") as folder:
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(Path(folder) / "desk.sqlite")) as copy:
            live.backup(copy)  # SQLite's online backup: consistent even while the desk writes
        yield settings.model_copy(update={"data_dir": Path(folder), "database_url": None, "checkpoint_url": None})


def judge_as_recorded(ledger: ApprovalLedger, original: Original) -> None:
    """Make the copy's ledger judge a call the original filed for approval as it was judged then.
    Such a write is served from the recording, but the copy already holds its effect (the refund
    is on it), so its live impact would raise "already refunded" and the replay would never stop
    for the approval the original stopped for. Every other call is judged on the copy, live."""
    specs = dict(ledger.tools)
    recorded: dict[str, Impact] = {}
    tools: set[str] = set()
    for approval in original.approvals:
        spec, request = specs.get(approval.tool), approval.request
        if spec is None or spec.impact is None:
            continue
        impact = Impact(
            amount=request.get("amount"),
            currency=request.get("currency") or "USD",
            customer_id=request.get("customer_id"),
        )
        tools.add(approval.tool)
        recorded[call_key(approval.tool, approval.args, specs)] = impact
        decided = decided_request(ledger, approval.request_id)
        if decided is not None and decided.decided_args is not None:  # an edit: judged at its own amount
            edited = impact.model_copy(update={"amount": decided.amount})
            recorded[call_key(approval.tool, decided.decided_args, specs)] = edited
    for name in tools:
        ledger.tools[name] = replace(specs[name], impact=_impact_as_recorded(specs[name], recorded, specs))


def _impact_as_recorded(spec: ToolSpec, recorded: Mapping[str, Impact], specs: Mapping[str, ToolSpec]) -> ImpactFn:
    live = spec.impact
    assert live is not None

    def impact(conn: Any, args: BaseModel) -> Impact:
        found = recorded.get(call_key(spec.name, args.model_dump(mode="json"), specs))
        return found if found is not None else live(conn, args)

    return impact
