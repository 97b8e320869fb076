"""``proctor approvals …``, ``proctor approve`` and ``proctor reject``.

``--as`` is an operator tool: whoever runs these commands with access to the desk's database
decides as the reviewer named (every ledger rule still applies, a requester's own request
included). Reviewers decide as themselves on the server's inbox or through its API.
Exit codes: 0 done, 2 an error, 4 a conflict (already decided, or the thread is being resumed).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # handlers import what they run: listing and showing need no graph
    from proctor.approvals.inbox import Inbox
    from proctor.approvals.ledger import ApprovalLedger, ApprovalRequest
    from proctor.runner import RunResult


def register(commands: argparse._SubParsersAction) -> None:
    approvals = commands.add_parser("approvals", help="the approval inbox")
    sub = approvals.add_subparsers(required=True, metavar="ACTION")

    listing = sub.add_parser("list", help="open requests: pending, and decided but not yet applied by their thread")
    listing.add_argument(
        "--status", default="open", choices=["open", "pending", "decided", "approved", "edited", "rejected", "autonomous", "superseded", "all"]
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    show = sub.add_parser("show", help="one request with its context")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)

    edit = sub.add_parser("edit", help="approve with changed arguments")
    edit.add_argument("id")
    edit.add_argument("--as", dest="reviewer", required=True, help=AS_HELP)
    edit.add_argument(
        "--args", required=True, help="the arguments to change, as a JSON object merged into the call's arguments"
    )
    edit.add_argument("--json", action="store_true")
    edit.set_defaults(handler=_edit)

    resume = sub.add_parser("resume", help="resume the thread of a decided request (after a crash)")
    resume.add_argument("id")
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(handler=lambda a: _show_run(_inbox().resume(a.id), a.json))

    approve = commands.add_parser("approve", help="approve a pending request")
    approve.add_argument("id")
    approve.add_argument("--as", dest="reviewer", required=True, help=AS_HELP)
    approve.add_argument("--json", action="store_true")
    approve.set_defaults(handler=lambda a: _decide(a, type="approve", reviewer=a.reviewer))

    reject = commands.add_parser("reject", help="reject a pending request")
    reject.add_argument("id")
    reject.add_argument("--as", dest="reviewer", required=True, help=AS_HELP)
    reject.add_argument("--reason", required=True, help="an internal note for the record (never shown to the customer)")
    reject.add_argument("--message", help="what the customer is told (default: a neutral sentence)")
    reject.add_argument("--json", action="store_true")
    reject.set_defaults(
        handler=lambda a: _decide(a, type="reject", reviewer=a.reviewer, reason=a.reason, message=a.message)
    )


AS_HELP = "the reviewer to decide as: an operator tool (no sign-in); every reviewer rule still applies"


def _inbox() -> Inbox:
    from proctor.approvals.inbox import Inbox
    from proctor.runner import Proctor
    from proctor.settings import Settings

    return Inbox(Proctor(Settings()))


def _ledger() -> ApprovalLedger:
    """The ledger for reading: the database and the policy, no tools, no graph."""
    from proctor.approvals.ledger import ApprovalLedger
    from proctor.approvals.policy import load_policy
    from proctor.db import Database
    from proctor.desk import desk_of
    from proctor.settings import Settings

    settings = Settings()
    policy = load_policy(desk_of(settings).require("policy"))
    return ApprovalLedger(Database(settings.domain_url), policy, {})


def _list(args: argparse.Namespace) -> int:
    requests = _ledger().requests(None if args.status == "all" else args.status)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in requests], indent=2))
    elif not requests:
        print(f"no {args.status} approval requests")
    for r in [] if args.json else requests:
        amount = f" {r.amount:.2f} {r.currency}" if r.amount is not None else ""
        status = r.status if r.status in ("pending", "autonomous") or r.applied_at else f"{r.status}, not yet applied"
        print(f"{r.id}  {status:<8} {r.tool}{amount}  [{', '.join(r.rules) or '-'}] {r.why}  thread {r.thread_id}")
    return 0


def _show(args: argparse.Namespace) -> int:
    request = _ledger().get(args.id)
    message = _customer_message(request)
    if args.json:
        print(json.dumps({**request.model_dump(mode="json"), "message": message}, indent=2))
    else:
        print(_render(request, message))
    return 0


def _customer_message(request: ApprovalRequest) -> str | None:
    """What the customer asked, from the run's trace (the ledger keeps the call, not the conversation)."""
    from proctor.settings import Settings
    from proctor.tracing.errors import TraceError
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore

    if not request.trace_id:
        return None
    settings, tracing = Settings(), TraceSettings()
    try:
        trace = TraceStore(tracing.store_url(settings), busy_timeout_s=tracing.busy_timeout_s).get(request.trace_id)
    except TraceError:  # purged, or recorded elsewhere
        return None
    return trace.input or None


def _edit(args: argparse.Namespace) -> int:
    from proctor.approvals.ledger import InvalidEdit

    try:
        changed = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise InvalidEdit(f"--args is not valid JSON: {exc}") from exc
    if not isinstance(changed, dict):
        raise InvalidEdit("--args must be a JSON object of argument names to values")
    merged = {**_ledger().get(args.id).args, **changed}  # `--args '{"amount": 50}'` changes the amount only
    return _decide(args, type="edit", reviewer=args.reviewer, args=merged)


def _decide(cli: argparse.Namespace, **decision: object) -> int:
    from proctor.approvals.ledger import Decision

    return _show_run(_inbox().decide(cli.id, Decision.model_validate(decision)), cli.json)


def _show_run(result: RunResult, as_json: bool) -> int:
    print(result.model_dump_json(indent=2) if as_json else f"{result.status}: {result.answer}")
    return 0


def _render(r: ApprovalRequest, message: str | None = None) -> str:
    lines = [
        f"{r.id}: {r.status}",
        f"  customer: {' '.join(message.split()) if message else '(not recorded)'}",
        f"  action:   {r.tool}({json.dumps(r.args)})",
        f"  rules:    {', '.join(r.rules) or '-'}: {r.why}",
        f"  agent:    {r.agent}   requester: {r.requester}   thread: {r.thread_id}   trace: {r.trace_id}",
        f"  policy:   {r.policy_version}   created: {r.created_at}",
    ]
    if r.decided_by:
        lines.append(f"  decided:  {r.status} by {r.decided_by} at {r.decided_at}")
    if r.decided_args:
        lines.append(f"  executed: {json.dumps(r.decided_args)}")
    if r.reason:
        lines.append(f"  reason:   {r.reason}   (internal)")
    if r.message:
        lines.append(f"  message:  {r.message}   (to the customer)")
    if r.status not in ("pending", "autonomous"):
        lines.append(f"  applied:  {r.applied_at or 'not yet: the thread has not resumed'}")
    return "\n".join(lines)
