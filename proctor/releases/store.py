"""Releases in the database: the bundles, the one active release, the canary split, the activation history.

Every change of the active release or the canary is one short transaction on the single
``release_state`` row, guarded by its ``version`` (``UPDATE ... WHERE version = ?``): an operator
whose read is stale by the time they write gets ``ConcurrentChange`` and nothing changes. The
schema's constraints keep the state valid whatever writes it: the active release exists, a canary
is another existing release with 0 < percent < 100.

Until the first activation there is no active release (``active()`` and ``choose()`` return None):
callers then run on the packaged defaults, which is what ``snapshot(settings)`` would bundle.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from proctor.db import Database
from proctor.releases.bundle import ID_HEX_DIGITS, ID_PREFIX, BundleContent, Release, canonical, check_desk, content_id
from proctor.releases.diff import diff_contents
from proctor.releases.errors import (
    CanaryRunning,
    ConcurrentChange,
    GateFailed,
    InvalidCanary,
    MalformedRelease,
    NoCanary,
    NothingToRollBack,
    ReleaseError,
    UnknownRelease,
    describe,
)
from proctor.releases.gate import EvalReport, active_report, report_path, require_no_regression, require_passing
from proctor.releases.schema import MIGRATIONS
from proctor.releases.state import Activation, ReleaseState

MIN_PREFIX = 6

_PINNED = "SELECT release FROM release_threads WHERE thread_id = ?"
PACKAGED = ""  # a thread pinned to the packaged defaults (no release was active when it started)

_REF = re.compile(rf"^(?:{ID_PREFIX})?([0-9a-f]{{{MIN_PREFIX},{ID_HEX_DIGITS}}})$")
_COLUMNS = "id, parent, author, message, created_at, content"


class _NewActivation(NamedTuple):
    release: str
    back: int | None
    action: str


class ReleaseStore:
    """Create, read, diff, activate, roll back and canary releases kept in ``db``.

    ``reports_dir`` is where ``<release id>.json`` eval reports are found when the gate is
    required and no report file is named.
    """

    def __init__(self, db: Database, *, reports_dir: Path | None = None, desk: str | None = None) -> None:
        self.db = db
        self.reports_dir = reports_dir
        self.desk = desk  # when set, only this desk's releases can go live (activate, canary)
        db.migrate(MIGRATIONS)

    def create(self, content: BundleContent, author: str, message: str) -> tuple[Release, bool]:
        """(the release of ``content``, whether it is new). The same content is always the same release."""
        if not message.strip():
            raise ReleaseError("a release needs a message: say what changed and why")
        release_id = content.release_id()
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM releases WHERE id = ?", (release_id,)).fetchone()
            if row is not None:
                return _release(row), False
            parent = conn.execute("SELECT active FROM release_state WHERE id = 1").fetchone()["active"]
            release = Release(
                id=release_id,
                parent=parent,
                author=author.strip() or "unknown",
                message=message.strip(),
                created_at=datetime.now(UTC),
                content=content,
            )
            conn.execute(
                f"INSERT INTO releases ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    release.id,
                    parent,
                    release.author,
                    release.message,
                    _iso(release.created_at),
                    content.canonical_json(),
                ),
            )
        return release, True

    def get(self, ref: str) -> Release:
        """The release whose id is ``ref`` or starts with it (at least 6 hex digits, ``rel-`` optional)."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM releases WHERE id = ?", (self._resolve(ref),))
        return _release(rows[0])

    def list(self) -> list[Release]:
        """Every release, newest first."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM releases ORDER BY created_at DESC, id")
        return [_release(row) for row in rows]

    def diff(self, a: str, b: str) -> str:
        """A readable unified diff from release ``a`` to ``b``; '' when they are the same release."""
        left, right = self.get(a), self.get(b)
        return diff_contents(left.content, right.content, a_name=left.id, b_name=right.id)

    def state(self) -> ReleaseState:
        return ReleaseState.model_validate(self.db.query("SELECT * FROM release_state WHERE id = 1")[0])

    def active(self) -> Release | None:
        """The release new runs use, or None before the first activation (run the packaged defaults)."""
        active = self.state().active
        return self.get(active) if active else None

    def choose(self, key: str) -> str | None:
        """The release id for a new run keyed by user or thread id: one read, so runs see changes at once."""
        return self.state().release_for(key)

    def pin(self, thread_id: str, key: str) -> str | None:
        """The release a thread runs on: chosen at its first run (by ``key``), then fixed for good,
        so a conversation, and a thread resumed after approval, never switches release."""
        # Every run asks, and most threads are pinned already: read first, write only when new
        # (checking again under the write lock, where another process may have pinned it).
        pinned = self.db.query(_PINNED, (thread_id,))
        if pinned:
            return pinned[0]["release"] or None
        with self.db.transaction() as conn:
            row = conn.execute(_PINNED, (thread_id,)).fetchone()
            if row is not None:
                return row["release"] or None
            chosen = self.state().release_for(key)
            conn.execute(
                "INSERT INTO release_threads (thread_id, release, pinned_at) VALUES (?, ?, ?)",
                (thread_id, chosen or PACKAGED, _iso(datetime.now(UTC))),
            )
        return chosen

    def activate(self, ref: str, *, require_eval: bool = False, eval_report: Path | None = None) -> ReleaseState:
        """Make ``ref`` the release of every new run; activating the active release changes nothing."""
        state = self.state()
        release = self._live(ref)
        if release.id == state.active:
            return state
        if state.canary is not None:
            raise CanaryRunning(
                f"a canary of {state.canary} at {state.canary_percent:g}% is running:"
                " `proctor release promote` or `proctor release abort` it first"
            )
        if require_eval:
            self._gate(release.id, eval_report)
        return self._commit(state, _NewActivation(release.id, state.head, "activate"), previous=state.active)

    def rollback(self) -> ReleaseState:
        """Back to the release active before this one (repeatable down the history); ends any canary."""
        state = self.state()
        if state.head is None:
            raise NothingToRollBack("no release has been activated yet")
        current = self._activation(state.head)
        if current.back is None:
            raise NothingToRollBack(
                f"{state.active} is the first release activated; activate another with `proctor release activate ID`"
            )
        target = self._activation(current.back)
        self.get(target.release)  # still intact: the active release must always be a valid one
        previous = self._activation(target.back).release if target.back is not None else None
        return self._commit(
            state,
            _NewActivation(target.release, target.back, "rollback"),
            previous=previous,
            canary=None,
            canary_percent=None,
        )

    def canary(self, ref: str, percent: float) -> ReleaseState:
        """Send ``percent`` of new conversations to ``ref``; calling it again on the same release re-weights it."""
        if not (math.isfinite(percent) and 0 < percent < 100):
            raise InvalidCanary(
                f"canary percent must be above 0 and below 100, got {percent:g}:"
                " use `proctor release abort` for 0 and `proctor release promote` for 100"
            )
        state = self.state()
        release = self._live(ref)
        if state.active is None:
            raise InvalidCanary("no release is active yet: activate one first, a canary takes traffic from it")
        if release.id == state.active:
            raise InvalidCanary(f"{release.id} is the active release: a canary must be another release")
        if state.canary not in (None, release.id):
            raise CanaryRunning(
                f"a canary of {state.canary} at {state.canary_percent:g}% is running: promote or abort it first"
            )
        return self._commit(state, canary=release.id, canary_percent=float(percent))

    def promote(
        self,
        *,
        require_eval: bool = True,
        eval_report: Path | None = None,
        against: Path | None = None,
        tolerance: float = 0.02,
    ) -> ReleaseState:
        """Make the canary the active release for all new runs.

        With ``require_eval`` the canary needs a passing report, no worse (beyond ``tolerance``) than
        the active release's report on the same golden split (``against``, or found in ``reports_dir``).
        """
        state = self.state()
        if state.canary is None:
            raise NoCanary("no canary is running: start one with `proctor release canary ID --percent 5`")
        assert state.active is not None  # a canary only ever runs beside an active release (``canary``)
        release = self.get(state.canary)
        if require_eval:
            candidate = self._gate(release.id, eval_report)
            if candidate.golden is None:
                raise GateFailed(f"the eval report of {release.id} names no golden split: re-run `proctor eval`")
            baseline = active_report(self.reports_dir, state.active, candidate.golden.split, against)
            require_no_regression(candidate, baseline, tolerance)
        return self._commit(
            state,
            _NewActivation(release.id, state.head, "promote"),
            previous=state.active,
            canary=None,
            canary_percent=None,
        )

    def abort(self) -> ReleaseState:
        """Stop the canary: every new run uses the active release again."""
        state = self.state()
        if state.canary is None:
            raise NoCanary("no canary is running")
        return self._commit(state, canary=None, canary_percent=None)

    def _live(self, ref: str) -> Release:
        """``ref``'s release, about to serve runs: it must be this store's desk's."""
        release = self.get(ref)
        if self.desk is not None:
            check_desk(release, self.desk)
        return release

    def _resolve(self, ref: str) -> str:
        match = _REF.match(ref.strip().lower())
        if match is None:
            raise UnknownRelease(
                f"{ref!r} is not a release id: expected {ID_PREFIX} and {MIN_PREFIX} to {ID_HEX_DIGITS} hex digits;"
                " see `proctor release list`"
            )
        pattern = f"{ID_PREFIX}{match[1]}%"  # only hex digits: nothing LIKE would read as a wildcard
        ids = [
            r["id"] for r in self.db.query("SELECT id FROM releases WHERE id LIKE ? ORDER BY id LIMIT 6", (pattern,))
        ]
        if not ids:
            raise UnknownRelease(f"no release has id {ref!r}; see `proctor release list`")
        if len(ids) > 1:
            raise UnknownRelease(f"{ref!r} matches several releases ({', '.join(ids[:5])}...): give more digits")
        return ids[0]

    def _activation(self, seq: int) -> Activation:
        rows = self.db.query("SELECT seq, release, back, action, at FROM release_activations WHERE seq = ?", (seq,))
        return Activation.model_validate(rows[0])

    def _gate(self, release_id: str, eval_report: Path | None) -> EvalReport:
        if eval_report is None:
            if self.reports_dir is None:
                raise GateFailed(f"{release_id} needs a passing eval report and none was given")
            eval_report = report_path(self.reports_dir, release_id)
        return require_passing(eval_report, release_id)

    def _commit(self, expected: ReleaseState, activation: _NewActivation | None = None, **columns: Any) -> ReleaseState:
        """Write ``columns`` (and an activation) if nobody changed the state since ``expected`` was read."""
        now = _iso(datetime.now(UTC))
        with self.db.transaction() as conn:
            if activation is not None:
                columns["active"] = activation.release
                columns["head"] = conn.execute(
                    "INSERT INTO release_activations (release, back, action, at) VALUES (?, ?, ?, ?)",
                    (activation.release, activation.back, activation.action, now),
                ).lastrowid
            assignments = ", ".join(f"{column} = ?" for column in columns)
            updated = conn.execute(
                f"UPDATE release_state SET {assignments}, updated_at = ?, version = version + 1"
                " WHERE id = 1 AND version = ?",
                (*columns.values(), now, expected.version),
            ).rowcount
            if updated != 1:  # raising rolls the activation entry back too
                raise ConcurrentChange(
                    "another operator changed the active release or the canary at the same time; nothing was changed:"
                    " check `proctor release list` and try again"
                )
        return self.state()


def _release(row: Any) -> Release:
    try:
        stored = json.loads(row["content"])
    except ValueError as exc:
        raise MalformedRelease(f"stored release {row['id']} is not valid JSON; activate another release") from exc
    if content_id(canonical(stored)) != row["id"]:
        raise MalformedRelease(
            f"stored release {row['id']} does not match its content (altered after it was made); activate another release"
        )
    try:
        return Release(
            id=row["id"],
            parent=row["parent"],
            author=row["author"],
            message=row["message"],
            created_at=row["created_at"],
            content=BundleContent.model_validate(stored),
        )
    except ValidationError as exc:
        raise MalformedRelease(
            f"stored release {row['id']} is malformed ({describe(exc)}); it cannot be used, activate another release"
        ) from exc


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")
