"""What "failed" means for a run: one definition, used by the dashboard, the report and summaries.

A run that raised is the obvious failure, but most failures do not raise: a tool call that
returned an error, a guardrail that refused or stopped the run, a hand-off to a human. Counting
only raised runs shows a 0% failure rate while customers were let down, so all of these count.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

# Guardrail events that stop or refuse the run, or hand it to a human (see proctor.guards).
REFUSALS = frozenset({"request_refused", "budget_stop", "step_limit", "loop_escalated", "ungrounded_answer"})
ESCALATED_ROUTES = frozenset({"escalate", "rejected"})  # the front door handed off or refused

DEFINITION = (
    "A run failed if it raised an error, if any of its tool calls failed, if a guardrail refused or"
    f" stopped it ({', '.join(sorted(REFUSALS))}), or if it was escalated to a human or refused at the"
    " front door (route escalate or rejected). Interrupted runs waiting for an approval are not failures."
)


class SpanFact(BaseModel, frozen=True):
    """The little of a span that decides failure: its kind, name and status."""

    kind: str
    name: str
    status: str = "ok"


def failure_reasons(status: str, route: str | None, spans: Iterable[SpanFact]) -> list[str]:
    """Why the run failed, by the definition above; empty when it did not."""
    reasons = ["error"] if status == "error" else []
    if route in ESCALATED_ROUTES:
        reasons.append(f"route {route}")
    for span in spans:
        if span.kind == "tool" and span.status == "error":
            reasons.append(f"tool {span.name} failed")
        elif span.kind == "guardrail" and span.name in REFUSALS:
            reasons.append(span.name)
    return list(dict.fromkeys(reasons))
