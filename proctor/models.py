"""One factory for chat models: an OpenAI-compatible endpoint when configured, else offline."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from proctor.errors import ProctorError
from proctor.offline import OfflineChatModel
from proctor.settings import OFFLINE_MODEL, Settings


class ModelNotConfigured(ProctorError):
    """A model name was asked for but no endpoint is configured."""


def chat_model(settings: Settings, name: str | None = None) -> BaseChatModel:
    """The model called ``name`` (default: ``settings.model``)."""
    name = name or settings.model
    if name == OFFLINE_MODEL:
        return OfflineChatModel()
    if not (settings.openai_api_key or settings.openai_base_url):
        raise ModelNotConfigured(
            f"model {name!r} needs an endpoint: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL "
            "(vLLM, Ollama, llama.cpp server), or use PROCTOR_MODEL=offline"
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=name,
        api_key=settings.openai_api_key or "not-needed",
        base_url=settings.openai_base_url,
        timeout=60,
        max_retries=2,
        stream_usage=True,
    )


def model_label(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
