"""``proctor review …``: sample autonomous runs into a queue, score them, report the scores."""

from __future__ import annotations

import argparse
import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proctor.review import ReviewQueue


def register(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser("review", help="sampled review of autonomous work")
    sub = review.add_subparsers(required=True, metavar="ACTION")

    sample = sub.add_parser("sample", help="queue a random sample of runs plus every flagged or failed one")
    sample.add_argument("--n", type=int, default=40, help="random autonomous runs to add (40)")
    sample.add_argument("--since", default="7d", help="the window: 24h, 7d, 2w (7d)")
    sample.add_argument("--seed", type=int, help="make the sample reproducible")
    sample.add_argument("--json", action="store_true")
    sample.set_defaults(handler=_sample)

    listing = sub.add_parser("list", help="the review queue")
    listing.add_argument("--pending", action="store_true", help="only items nobody scored yet")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    score = sub.add_parser("score", help="score an item against the rubric")
    score.add_argument("item", type=int)
    score.add_argument("--as", dest="reviewer", required=True)
    score.add_argument("--scores", required=True, help="criterion=score pairs, e.g. resolved=4,correct=5")
    score.add_argument("--note")
    score.set_defaults(handler=_score)

    report = sub.add_parser("report", help="mean scores by agent and criterion")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=_report)


def _queue() -> ReviewQueue:
    """The queue on the domain database and the trace store: no tools, no graph, so reads start fast."""
    from proctor.approvals.policy import load_policy
    from proctor.review import ReviewQueue, load_rubric
    from proctor.db import Database
    from proctor.desk import desk_of
    from proctor.settings import Settings
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore

    settings, tracing = Settings(), TraceSettings()
    desk = desk_of(settings)
    rubric, policy = load_rubric(desk.require("review_rubric")), load_policy(desk.require("policy"))
    traces = TraceStore(tracing.store_url(settings), busy_timeout_s=tracing.busy_timeout_s)
    return ReviewQueue(Database(settings.domain_url), traces, rubric, policy)


def _sample(args: argparse.Namespace) -> int:
    from proctor.review import ReviewError
    from proctor.tracing.models import parse_duration

    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        raise ReviewError(f"--since: {exc}") from None
    items = _queue().sample(args.n, since, seed=args.seed)
    if args.json:
        print(json.dumps([i.model_dump() for i in items], indent=2))
        return 0
    counts = {r: sum(i.reason == r for i in items) for r in ("sampled", "flagged", "failed")}
    print(f"queued {len(items)} runs for review: " + ", ".join(f"{n} {r}" for r, n in counts.items()))
    return 0


def _list(args: argparse.Namespace) -> int:
    items = _queue().items(pending_only=args.pending)
    if args.json:
        print(json.dumps([i.model_dump() for i in items], indent=2))
    for i in [] if args.json else items:
        scored = f"scored by {', '.join(i.scored_by)}" if i.scored_by else "pending"
        print(f"{i.id:>5}  {i.reason:<8} {i.agent or '-':<10} trace {i.trace_id}  {scored}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from proctor.review import ReviewError

    scores: dict[str, int] = {}
    for pair in args.scores.split(","):
        name, _, value = pair.partition("=")
        if not value.strip().lstrip("-").isdigit():
            raise ReviewError(f"--scores: {pair!r} is not criterion=number")
        scores[name.strip()] = int(value)
    _queue().score(args.item, args.reviewer, scores, args.note)
    print(f"scored item {args.item}: " + ", ".join(f"{k}={v}" for k, v in scores.items()))
    return 0


def _report(args: argparse.Namespace) -> int:
    summary = _queue().report()
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not summary:
        print("no scores yet")
    for agent, criteria in [] if args.json else summary.items():
        figures = "  ".join(f"{c} {v['mean']:.2f} (n={v['count']})" for c, v in criteria.items())
        print(f"{agent:<10} {figures}")
    return 0
