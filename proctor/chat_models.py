"""One factory for chat models: an OpenAI-compatible endpoint when configured, else offline."""

from __future__ import annotations

import warnings

from langchain_core.language_models import BaseChatModel

from proctor.errors import ProctorError
from collections.abc import Mapping, Sequence

from proctor.offline import OfflineChatModel, Responder
from proctor.pricing import price_of
from proctor.settings import OFFLINE_MODEL, Settings


class ModelNotConfigured(ProctorError):
    """A model name was asked for but no endpoint is configured."""


class UnpricedModel(UserWarning):
    """A remote model has no price in ``Settings.prices``: its cost is an estimate."""


def chat_model(
    settings: Settings,
    name: str | None = None,
    *,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    hints: Mapping[str, Sequence[str]] | None = None,
    responders: Mapping[str, Responder] | None = None,
) -> BaseChatModel:
    """The model called ``name`` (default: ``settings.model``); timeout and retries default to
    ``settings.model_timeout_s`` and ``settings.model_max_retries``. ``hints`` and ``responders``
    are the offline model's (its tools' intent phrases, its structured outputs such as a plan)."""
    name = name or settings.model
    if name == OFFLINE_MODEL:
        return OfflineChatModel(
            hints={tool: list(phrases) for tool, phrases in (hints or {}).items()}, responders=dict(responders or {})
        )
    if not (settings.openai_api_key or settings.openai_base_url):
        raise ModelNotConfigured(
            f"model {name!r} needs an endpoint: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL "
            "(vLLM, Ollama, llama.cpp server), or use PROCTOR_MODEL=offline"
        )
    if not settings.local_endpoint and price_of(settings.prices, name) is None:
        price = settings.prices["*"]
        warnings.warn(
            f"model {name!r} has no price in PROCTOR_PRICES; its calls are booked at "
            f"${price.input_per_mtok}/${price.output_per_mtok} per million input/output tokens "
            "(PROCTOR_UNPRICED_MODEL_PRICE)",
            UnpricedModel,
            stacklevel=2,
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=name,
        api_key=settings.openai_api_key or "not-needed",
        base_url=settings.openai_base_url,
        timeout=timeout_s or settings.model_timeout_s,
        max_retries=settings.model_max_retries if max_retries is None else max_retries,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,  # a small local model may otherwise pad until the context ends
        stream_usage=True,
    )


def router_model(settings: Settings) -> BaseChatModel | None:
    """The front door's LLM tier: no retries and a short timeout, since the fast tier's decision
    is always there to fall back on. None offline."""
    if settings.offline:
        return None
    return chat_model(settings, timeout_s=settings.router_timeout_s, max_retries=0)


def model_label(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
