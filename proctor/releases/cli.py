"""``proctor release create|list|show|diff|activate|rollback|canary|promote|abort|compare``."""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bundles load the agent specs and the classifier: imported when a handler runs
    from proctor.releases.settings import ReleaseSettings
    from proctor.settings import Settings
    from proctor.releases.bundle import Release
    from proctor.releases.state import ReleaseState
    from proctor.releases.store import ReleaseStore


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``release`` command to the ``proctor`` parser's subcommands."""
    release = commands.add_parser("release", help="versioned releases: create, diff, activate, roll back, canary")
    actions = release.add_subparsers(required=True, metavar="ACTION")

    create = actions.add_parser("create", help="bundle the current agents, prompts, model, tools and policies")
    create.add_argument("-m", "--message", required=True, help="what changed and why")
    create.add_argument(
        "--from", dest="from_dir", type=Path, help="a folder laid out like agents/ (parts it lacks are packaged)"
    )
    create.add_argument("--author", help="default: the current user")
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="every release, newest first, marking the active one and the canary")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="one release")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="the whole release, content included")
    show.set_defaults(handler=_show)

    diff = actions.add_parser("diff", help="what changed from release A to B: prompts, tools, policy, settings")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.set_defaults(handler=_diff)

    activate = actions.add_parser("activate", help="make a release the one every new run uses")
    activate.add_argument("id")
    activate.add_argument("--eval-report", type=Path, help="default: <eval reports dir>/<release id>.json")
    activate.set_defaults(handler=_activate)

    rollback = actions.add_parser("rollback", help="back to the previously active release (ends any canary)")
    rollback.set_defaults(handler=lambda a: _show_state(_store().rollback()))

    canary = actions.add_parser("canary", help="send a stable share of new conversations to a release")
    canary.add_argument("id")
    canary.add_argument("--percent", type=float, required=True, help="above 0 and below 100")
    canary.set_defaults(handler=lambda a: _show_state(_store().canary(a.id, a.percent)))

    promote = actions.add_parser("promote", help="make the canary the active release")
    promote.add_argument("--eval-report", type=Path, help="default: <eval reports dir>/<release id>.json")
    promote.add_argument(
        "--against", type=Path, help="the active release's report (default: its latest on the same split)"
    )
    promote.set_defaults(handler=_promote)

    abort = actions.add_parser("abort", help="stop the canary")
    abort.set_defaults(handler=lambda a: _show_state(_store().abort()))

    comparison = actions.add_parser("compare", help="success, failures, cost and latency of two releases")
    comparison.add_argument("a")
    comparison.add_argument("b")
    comparison.add_argument("--since", default="24h", help="the period of traces: 30m, 24h, 7d, 2w (default 24h)")
    comparison.add_argument("--json", action="store_true")
    comparison.set_defaults(handler=_compare)


def _release_settings() -> ReleaseSettings:
    from proctor.settings import Settings

    return Settings().releases


def _store(settings: Settings | None = None) -> ReleaseStore:
    from proctor.db import Database
    from proctor.desk import desk_of
    from proctor.releases.store import ReleaseStore
    from proctor.settings import Settings

    settings = settings or Settings()
    reports_dir = _release_settings().reports_dir(settings.data_dir)
    return ReleaseStore(Database(settings.domain_url), reports_dir=reports_dir, desk=desk_of(settings).name)


def _create(args: argparse.Namespace) -> int:
    from proctor.releases.bundle import snapshot
    from proctor.settings import Settings

    settings = Settings()
    content = snapshot(settings, args.from_dir)
    release, created = _store(settings).create(content, args.author or _whoami(), args.message)
    if created:
        print(
            f"created {release.id} (parent {release.parent or 'none'}); activate it with"
            f" `proctor release activate {release.id}`"
        )
    else:
        made = f"{release.author}, {release.created_at:%Y-%m-%d %H:%M}"
        print(f"{release.id} already holds this content: {release.message!r} ({made}); nothing was created")
    return 0


def _list(args: argparse.Namespace) -> int:
    store = _store()
    releases, state = store.list(), store.state()
    if args.json:
        rows = [{**r.model_dump(mode="json", exclude={"content"}), "marks": _marks(r, state)} for r in releases]
        print(json.dumps(rows, indent=2))
        return 0
    if not releases:
        print("no releases yet: runs use the packaged defaults; create one with `proctor release create -m MSG`")
    for r in releases:
        marks = ", ".join(_marks(r, state))
        print(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.author:<12} {r.message}{f'  [{marks}]' if marks else ''}")
    return 0


def _show(args: argparse.Namespace) -> int:
    release = _store().get(args.id)
    print(release.model_dump_json(indent=2) if args.json else _render(release))
    return 0


def _diff(args: argparse.Namespace) -> int:
    print(_store().diff(args.a, args.b) or "no differences")
    return 0


def _activate(args: argparse.Namespace) -> int:
    required = _release_settings().require_eval_for_activate
    return _show_state(_store().activate(args.id, require_eval=required, eval_report=args.eval_report))


def _promote(args: argparse.Namespace) -> int:
    settings = _release_settings()
    state = _store().promote(
        require_eval=settings.require_eval_for_promote,
        eval_report=args.eval_report,
        against=args.against,
        tolerance=settings.max_success_drop,
    )
    return _show_state(state)


def _compare(args: argparse.Namespace) -> int:
    from proctor.releases.compare import compare, render
    from proctor.settings import Settings

    settings = Settings()
    store = _store(settings)
    a, b = store.get(args.a).id, store.get(args.b).id
    reports_dir = _release_settings().reports_dir(settings.data_dir)
    comparison = compare(a, b, args.since, settings=settings, reports_dir=reports_dir)
    print(comparison.model_dump_json(indent=2) if args.json else render(comparison))
    return 0


def _show_state(state: ReleaseState) -> int:
    lines = [f"active: {state.active or 'none (packaged defaults)'}"]
    if state.previous:
        lines.append(f"rollback goes to: {state.previous}")
    if state.canary:
        lines.append(f"canary: {state.canary} for {state.canary_percent:g}% of new conversations")
    lines.append("new runs use this from now on; runs in flight finish on their release")
    print("\n".join(lines))
    return 0


def _marks(release: Release, state: ReleaseState) -> list[str]:
    canary = f"canary {state.canary_percent:g}%" if state.canary_percent else ""
    marks = [(state.active, "active"), (state.previous, "previous"), (state.canary, canary)]
    return [mark for rid, mark in marks if rid == release.id]


def _render(release: Release) -> str:
    c = release.content
    agents = ", ".join(f"{a.name}{f' ({a.model})' if a.model else ''}" for a in c.agents)
    return "\n".join(
        [
            f"{release.id}: {release.message}",
            f"  by {release.author} at {release.created_at:%Y-%m-%d %H:%M:%S} UTC, parent {release.parent or 'none'}",
            f"  desk:    {c.desk or '(not recorded)'}",
            f"  model:   {c.model}",
            f"  agents:  {agents}",
            f"  tools:   {len(c.tools)} ({', '.join(sorted(c.tools))})",
            f"  policy:  {c.policy.version}",
            f"  guards:  step limit {c.guards.step_limit}, ${c.guards.max_usd_per_run:g} per run",
            f"  routes:  {len(c.routes)} labelled examples",
        ]
    )


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"
