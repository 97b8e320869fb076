"""The front door: checks a request, then routes it to a specialist, the planner, a human or a question.

Two tiers: a fast local classifier trained on shipped examples decides when it is sure;
when it is unsure and an LLM is configured, the LLM decides with structured output.
Multi-part requests go to the plan-and-execute subgraph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from proctor.errors import InvalidRequest
from proctor.graphs.classifier import CLARIFY, ESCALATE, FastClassifier, RouteDecision, is_multi_part  # noqa: F401 -- ESCALATE is re-exported with the other routes
from proctor.guards.state import emit
from proctor.model_failures import model_failure

PLAN = "plan"
Ask = Callable[[type[BaseModel], list[BaseMessage]], BaseModel | None]


class LLMRoute(BaseModel):
    """Pick the one route that should handle the customer's latest message."""

    route: str = Field(description="One of the route names listed in the instructions.")
    reason: str = Field(description="One short sentence: why this route.")


def check_request(text: str, max_chars: int) -> str:
    """The request text, stripped; raises ``InvalidRequest`` when it cannot be served."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidRequest("the request is empty: say what you need help with")
    if len(cleaned) > max_chars:
        raise InvalidRequest(
            f"the request is {len(cleaned)} characters long; the limit is {max_chars}. "
            "Shorten it or split it into several messages."
        )
    return cleaned


def latest_request(messages: Sequence[BaseMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return m.content if isinstance(m.content, str) else str(m.content)
    return ""


class FrontDoor:
    """Decides the route of one request."""

    def __init__(
        self,
        routes: dict[str, str],
        classifier: FastClassifier,
        llm: BaseChatModel | None = None,
        threshold: float = 0.55,
    ) -> None:
        self.routes = routes  # name -> description, specialists plus escalate and clarify
        self.classifier = classifier
        self.llm = llm
        self.threshold = threshold

    def decide(self, text: str, ask: Ask | None = None) -> RouteDecision:
        """``ask(schema, messages)`` makes the LLM tier's call (the supervisor meters it against
        the run's budget); it returns the parsed value, or None when there is none."""
        if is_multi_part(text):
            return RouteDecision(route=PLAN, confidence=1.0, tier="rule", reason="several independent actions")
        fast = self.classifier.classify(text)
        if fast.route not in self.routes:
            fast = fast.model_copy(update={"route": CLARIFY, "reason": f"no agent serves {fast.route!r}"})
        if fast.confidence >= self.threshold or self.llm is None:
            return fast
        return self._ask_llm(text, fast, ask or self._ask)

    def _ask(self, schema: type[BaseModel], messages: list[BaseMessage]) -> BaseModel | None:
        return self.llm.with_structured_output(schema).invoke(messages)

    def _ask_llm(self, text: str, fast: RouteDecision, ask: Ask) -> RouteDecision:
        menu = "\n".join(f"- {name}: {desc}" for name, desc in self.routes.items())
        try:
            picked = ask(LLMRoute, [SystemMessage(f"Route the customer's message to one of:\n{menu}"), HumanMessage(text)])
        except Exception as exc:  # noqa: BLE001 - any model failure: the fast tier's decision stands
            return _fell_back(fast, f"LLM router failed ({model_failure(exc)})")
        if not isinstance(picked, LLMRoute) or picked.route not in self.routes:
            return _fell_back(fast, f"LLM router picked no known route ({getattr(picked, 'route', None)!r})")
        return RouteDecision(route=picked.route, confidence=fast.confidence, tier="llm", reason=picked.reason)


def _fell_back(fast: RouteDecision, why: str) -> RouteDecision:
    emit("router_fallback", reason=why, route=fast.route)
    return fast.model_copy(update={"reason": f"{why}; fast tier's decision: {fast.reason}"})
