"""Trajectory matching: superset, strict, unordered and subset modes, and why a trajectory fails."""

from __future__ import annotations

from typing import Any

import pytest

from proctor.evals.task import ToolCall, Trajectory
from proctor.evals.trajectory import match


def calls(*pairs: tuple[str, dict[str, Any]]) -> list[ToolCall]:
    return [ToolCall(name=name, args=args) for name, args in pairs]


REFUND = Trajectory(
    mode="superset",
    calls=calls(("get_invoice", {"invoice_id": "INV-1"}), ("refund_invoice", {"invoice_id": "INV-1", "amount": 19})),
    ordered=True,
    forbidden=calls(("issue_credit", {})),
)


def test_superset_accepts_extra_calls_and_free_arguments():
    made = calls(
        ("list_invoices", {"customer_id": "CUS-1"}),
        ("get_invoice", {"invoice_id": "inv-1"}),
        ("refund_invoice", {"invoice_id": "INV-1", "amount": "19.00", "reason": "duplicate"}),
    )
    assert match(made, REFUND)[0]


@pytest.mark.parametrize(
    ("made", "why"),
    [
        (calls(("get_invoice", {"invoice_id": "INV-1"})), "superset match failed"),
        (
            calls(("get_invoice", {"invoice_id": "INV-1"}), ("refund_invoice", {"invoice_id": "INV-1", "amount": 38})),
            "superset match failed",
        ),
        (
            calls(("refund_invoice", {"invoice_id": "INV-1", "amount": 19}), ("get_invoice", {"invoice_id": "INV-1"})),
            "out of order",
        ),
        (
            calls(
                ("get_invoice", {"invoice_id": "INV-1"}),
                ("refund_invoice", {"invoice_id": "INV-1", "amount": 19}),
                ("issue_credit", {"customer_id": "CUS-1", "amount": 5}),
            ),
            "forbidden",
        ),
    ],
    ids=["missing-call", "wrong-amount", "wrong-order", "forbidden-call"],
)
def test_wrong_trajectories_fail_with_the_reason(made, why):
    ok, comment = match(made, REFUND)
    assert not ok and why in comment


def test_strict_unordered_and_subset_modes():
    two = calls(("get_order", {"order_id": "1042"}), ("cancel_order", {"order_id": "1042"}))
    swapped, extra = two[::-1], [*two, ToolCall(name="get_order", args={"order_id": "1042"})]
    strict = Trajectory(mode="strict", calls=calls(("get_order", {"order_id": 1042}), ("cancel_order", {})))
    assert match(two, strict)[0] and not match(swapped, strict)[0] and not match(extra, strict)[0]
    unordered = strict.model_copy(update={"mode": "unordered"})
    assert match(swapped, unordered)[0] and not match(extra, unordered)[0]
    nothing = Trajectory(mode="subset")
    assert match([], nothing)[0] and not match(two[:1], nothing)[0]
