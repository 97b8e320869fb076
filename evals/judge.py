"""The rubric: an LLM judge when a real model is configured, a deterministic check otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from proctor.evals.task import Rubric
from proctor.result import ToolCallRecord

JUDGE_PROMPT = """You grade one answer of a customer-support agent against the grading criteria.
Judge only what the answer and the tool calls show; do not reward politeness or length.
The answer passes only if it meets every criterion and states nothing the tool results contradict."""


class Verdict(BaseModel):
    """The grade of one answer."""

    reason: str = Field(description="One or two sentences: which criteria are met or missed.")
    passed: bool = Field(description="True only if the answer meets every criterion.")


def missing_mentions(answer: str, rubric: Rubric) -> list[str]:
    """The ``must_mention`` strings the answer lacks (case-insensitive)."""
    text = answer.lower()
    return [m for m in rubric.must_mention if m.lower() not in text]


def judge(model: BaseChatModel, request: str, answer: str, calls: Sequence[ToolCallRecord], rubric: Rubric) -> Verdict:
    made = "\n".join(f"- {c.name}({c.args}) -> {'ok' if c.ok else c.error}" for c in calls) or "- none"
    prompt = (
        f"Customer request:\n{request}\n\nTool calls the agent made:\n{made}\n\n"
        f"Agent's answer:\n{answer or '(no answer)'}\n\nCriteria:\n{rubric.criteria}"
        + (f"\nThe answer must mention: {', '.join(rubric.must_mention)}" if rubric.must_mention else "")
    )
    verdict = model.with_structured_output(Verdict).invoke([SystemMessage(JUDGE_PROMPT), HumanMessage(prompt)])
    return Verdict.model_validate(verdict)
