"""Settings of the evaluation harness, read from ``PROCTOR_EVAL_*`` (and ``LANGSMITH_API_KEY``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EvalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_EVAL_", extra="forbid")

    tolerance: float = Field(
        0.02, ge=0, le=1, description="How far the success rate may fall below the baseline's before a run fails."
    )
    judge_model: str | None = Field(None, description="The LLM judge's model; default: the desk's model.")
    langsmith_api_key: SecretStr | None = Field(None, validation_alias="LANGSMITH_API_KEY")

    @property
    def upload(self) -> bool:
        """With a LangSmith key the dataset and the experiment are uploaded; without one nothing leaves the machine."""
        return self.langsmith_api_key is not None
