"""``proctor demo``: a scripted tour of the reference support desk, on real ids of the seeded data."""

from __future__ import annotations

import json

from proctor.runner import Proctor, RunResult
from proctor.settings import Settings

DEMO_REQUESTS = [
    ("billing", "I was charged twice for invoice {duplicate_invoice}, please refund the duplicate"),
    ("support", "How do I connect my device to Wi-Fi?"),
    ("account", "I can't log in, please send a password reset to {email}"),
    ("orders", "Where is my order {pending_order}? When will it ship?"),
    ("plan", "Cancel order {pending_order}, refund the shipping fee and email me a confirmation at {email}"),
    ("escalate", "Your device caught fire in my kitchen and I'm calling my lawyer."),
]


def tour() -> None:
    desk = Proctor(Settings())
    ids = demo_ids(desk)
    print(f"proctor demo: reference support desk, model {desk.settings.model!r}, data in {desk.settings.data_dir}/\n")
    for _expected, template in DEMO_REQUESTS:
        text = template.format(**ids)
        print(f"> {text}")
        print(render(desk.run(text, user_id=ids["customer"])), end="\n\n")


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


def render(result: RunResult) -> str:
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
