"""The ``proctor`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from proctor.errors import ProctorError
from proctor.runner import Proctor, RunResult
from proctor.settings import Settings

MODEL_FAILED = 3  # `proctor run`: the model endpoint failed; the answer says so

DEMO_REQUESTS = [
    ("billing", "I was charged twice for invoice {duplicate_invoice}, please refund the duplicate"),
    ("support", "How do I connect my device to Wi-Fi?"),
    ("account", "I can't log in, please send a password reset to {email}"),
    ("orders", "Where is my order {pending_order}? When will it ship?"),
    ("plan", "Cancel order {pending_order}, refund the shipping fee and email me a confirmation at {email}"),
    ("escalate", "Your device caught fire in my kitchen and I'm calling my lawyer."),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ProctorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proctor", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="a scripted tour of the reference support desk")
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="send one request through the supervisor")
    run.add_argument("text")
    run.add_argument("--user", help="the requesting user's id")
    run.add_argument("--thread", help="continue this conversation (omit to start one)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run)

    for register in _feature_commands():
        register(commands)
    return parser


def _feature_commands() -> list:
    """Each feature adds its own subcommands, so this file stays a table of contents."""
    from proctor.approvals.cli import register as approvals
    from proctor.approvals.review_cli import register as review
    from proctor.evals.cli import register as evals
    from proctor.releases.cli import register as releases
    from proctor.replay_cli import register as replay
    from proctor.tracing.cli import register as traces
    from proctor.redteam.cli import register as redteam

    return [approvals, review, traces, releases, evals, replay, redteam]


def _run(args: argparse.Namespace) -> int:
    result = Proctor(Settings()).run(args.text, user_id=args.user, thread_id=args.thread)
    print(result.model_dump_json(indent=2) if args.json else _render(result))
    return MODEL_FAILED if result.status == "failed" else 0


def _demo(args: argparse.Namespace) -> int:
    desk = Proctor(Settings())
    ids = demo_ids(desk)
    print(f"proctor demo: reference support desk, model {desk.settings.model!r}, data in {desk.settings.data_dir}/\n")
    for expected, template in DEMO_REQUESTS:
        text = template.format(**ids)
        print(f"> {text}")
        print(_render(desk.run(text, user_id=ids["customer"])), end="\n\n")
    return 0


def demo_ids(desk: Proctor) -> dict[str, str]:
    """Real ids from the seeded data, all of one customer (the tour runs as them), so the tour
    acts on existing records that are theirs."""
    db = desk.deployment.db
    dup = db.query(
        "SELECT i.id, i.customer_id FROM invoices i JOIN payments p ON p.invoice_id = i.id"
        " WHERE i.amount_cents <= 10000 GROUP BY i.id HAVING COUNT(*) > 1"
        " AND i.id NOT IN (SELECT invoice_id FROM refunds)"
        " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = i.customer_id AND o.status = 'pending'"
        " AND o.shipping_fee_cents > 0) ORDER BY i.id LIMIT 1"
    )[0]
    order = db.query(
        "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE o.status = 'pending' AND o.shipping_fee_cents > 0 AND o.customer_id = ? ORDER BY o.id LIMIT 1",
        (dup["customer_id"],),
    )[0]
    return {
        "duplicate_invoice": dup["id"],
        "customer": dup["customer_id"],
        "pending_order": str(order["id"]),
        "email": order["email"],
    }


def _render(result: RunResult) -> str:
    lines = [f"  route: {result.route}   status: {result.status}   model: {result.model}"]
    for call in result.tool_calls:
        mark = "ok" if call.ok else f"FAILED: {call.error}"
        lines.append(f"  tool: {call.name}({json.dumps(call.args)}) -> {mark}")
    lines.append(f"  answer: {result.answer}")
    lines.append(
        f"  trace: {result.trace_id}   thread: {result.thread_id}   "
        f"tokens: {result.usage.input_tokens}+{result.usage.output_tokens}   cost: ${result.usage.cost_usd:.4f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
