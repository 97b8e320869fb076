"""Factuality of grounded answers: every cited source exists and supports the sentence citing it.

A cheap deterministic check by default (content-word overlap with the cited text); when a
verifier model is configured it must agree too. An ungrounded answer is replaced by an
honest one and escalated to a human.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from proctor.guards.budget import Escalate
from proctor.guards.meter import merge_usage
from proctor.guards.state import emit

SourceLookup = Callable[[str], str | None]
MIN_SUPPORT = 0.5
_WORD = re.compile(r"[a-z][a-z0-9'-]{3,}")
_STOP = frozenset(
    "this that with from your have will what when where which there their they them then than also into "
    "about after before only just more most some such very been were would could should does like here".split()
)


class Support(BaseModel):
    supported: bool
    reason: str


def unsupported(answer: str, citation: re.Pattern[str], source: SourceLookup) -> str | None:
    """Why the answer is not grounded in its citations, or None when it is."""
    for sentence in re.split(r"(?<=[.!?])\s+", answer):
        ids = citation.findall(sentence)
        if not ids:
            continue
        texts = [source(i) for i in ids]
        missing = [i for i, t in zip(ids, texts, strict=True) if t is None]
        if missing:
            return f"it cites {', '.join(missing)}, which does not exist"
        words = {w for w in _WORD.findall(citation.sub(" ", sentence).lower()) if w not in _STOP}
        cited = " ".join(texts).lower()  # type: ignore[arg-type]
        if words and sum(w in cited for w in words) / len(words) < MIN_SUPPORT:
            return f"'{sentence[:80]}' is not supported by {', '.join(ids)}"
    return None


class GroundingCheck(AgentMiddleware):
    def __init__(
        self,
        citation: str,
        source: SourceLookup,
        escalate: Escalate,
        verifier: BaseChatModel | None = None,
    ) -> None:
        super().__init__()
        self.citation = re.compile(citation)
        self.source = source
        self.escalate = escalate
        self.verifier = verifier

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        return self._checked(request, handler(request))

    async def awrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> Any:
        response = await handler(request)
        return await asyncio.to_thread(self._checked, request, response)  # reads sources, may escalate

    def _checked(self, request: ModelRequest, response: ModelResponse) -> ModelResponse:
        answer = next((m for m in response.result if isinstance(m, AIMessage)), None)
        if answer is None or answer.tool_calls or not self.citation.search(answer.text):
            return response
        problem = unsupported(answer.text, self.citation, self.source)
        if problem is None:
            problem, spent = self._verify(answer.text)
            merge_usage(answer, spent)  # the verifier's call is the run's too
        if problem is None:
            return response
        emit("ungrounded_answer", problem=problem)
        ref = self.escalate(request, f"ungrounded answer: {problem}")
        honest = AIMessage(
            "I could not verify my answer against our help articles, so I won't guess. "
            f"A human colleague will follow up (reference {ref}).",
            usage_metadata=answer.usage_metadata,
            response_metadata=answer.response_metadata,
        )
        return ModelResponse(result=[honest])

    def _verify(self, answer: str) -> tuple[str | None, list[AIMessage]]:
        """The verifier's objection (None when it agrees) and its reply, whose usage is charged."""
        if self.verifier is None:
            return None, []
        ids = sorted(set(self.citation.findall(answer)))
        sources = "\n\n".join(f"{i}:\n{self.source(i)}" for i in ids)
        structured = self.verifier.with_structured_output(Support, include_raw=True)
        out = cast(dict[str, Any], structured.invoke(  # include_raw: {"raw", "parsed", "parsing_error"}
            [SystemMessage("Is every claim in the answer supported by the cited sources? Be strict."),
             HumanMessage(f"Sources:\n{sources}\n\nAnswer:\n{answer}")]
        ))
        spent = [out["raw"]] if isinstance(out.get("raw"), AIMessage) else []
        verdict = out.get("parsed")
        if not isinstance(verdict, Support):
            return "the verifier's reply could not be read", spent
        return (None if verdict.supported else verdict.reason), spent
