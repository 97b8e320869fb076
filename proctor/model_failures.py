"""Degrade, never crash: a model endpoint that fails ends the agent's turn with an honest answer.

A real endpoint can time out, refuse (429), fail (500), or answer with something that is not a
chat completion (an HTML error page, no choices). The specialists' innermost middleware turns
any of these into a plain answer that says what happened, marks it (``FAILURE_KEY`` in the
message's ``response_metadata``) and emits a ``model_failure`` guard event, so the run ends with
status ``failed`` instead of a traceback. The router and the planner have their own fallbacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.messages import AIMessage
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel

from proctor.guards.state import emit

FAILURE_KEY = "proctor_model_failure"


class ModelFailure(BaseModel):
    """Why a model call produced no usable reply."""

    kind: Literal["timeout", "connection", "http_status", "bad_reply"]
    status_code: int | None = None
    detail: str

    def __str__(self) -> str:
        code = f" {self.status_code}" if self.status_code else ""
        return f"{self.kind}{code}: {self.detail}"


def model_failure(exc: BaseException) -> ModelFailure:
    """Classify a model call's exception (openai's types when present, else a bad reply)."""
    import openai

    detail = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return ModelFailure(kind="timeout", detail=detail)
    if isinstance(exc, openai.APIConnectionError | ConnectionError):
        return ModelFailure(kind="connection", detail=detail)
    if isinstance(exc, openai.APIStatusError):
        return ModelFailure(kind="http_status", status_code=exc.status_code, detail=detail)
    return ModelFailure(kind="bad_reply", detail=detail)


def failure_of(message: Any) -> ModelFailure | None:
    """The failure a message stands for, if it is one of this module's honest answers."""
    raw = (getattr(message, "response_metadata", None) or {}).get(FAILURE_KEY)
    return ModelFailure.model_validate(raw) if raw else None


def honest_answer(failure: ModelFailure) -> AIMessage:
    reason = {
        "timeout": "did not answer in time",
        "connection": "could not be reached",
        "http_status": f"refused the request (HTTP {failure.status_code})",
        "bad_reply": "sent a reply I could not use",
    }[failure.kind]
    text = (
        f"Sorry, I could not finish this: the language model {reason}. I stopped here and did "
        "nothing further on your request; please try again in a moment, or ask for a human colleague."
    )
    return AIMessage(text, response_metadata={FAILURE_KEY: failure.model_dump()})


class ModelFailures(AgentMiddleware):
    """Innermost around the model call: whatever the endpoint does, the agent gets a message."""

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        try:
            return _usable(handler(request))
        except GraphBubbleUp:
            raise
        except Exception as exc:  # noqa: BLE001 - the endpoint's failure, whatever its type
            return _answer(exc)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> Any:
        try:
            return _usable(await handler(request))
        except GraphBubbleUp:
            raise
        except Exception as exc:  # noqa: BLE001
            return _answer(exc)


class EmptyReply(ValueError):
    """The endpoint answered with no message at all."""


def _usable(response: ModelResponse) -> ModelResponse:
    if not any(isinstance(m, AIMessage) for m in response.result):
        raise EmptyReply("the reply held no message")
    return response


def _answer(exc: Exception) -> ModelResponse:
    failure = model_failure(exc)
    emit("model_failure", failure=failure.model_dump())
    return ModelResponse(result=[honest_answer(failure)])
