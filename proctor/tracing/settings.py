"""Tracing settings, read from the environment beside ``Settings`` (which this package must not change).

``PROCTOR_TRACE_URL``, ``PROCTOR_TRACE_RETENTION_DAYS``, ``PROCTOR_RELEASE``, and LangSmith's own
``LANGSMITH_API_KEY`` / ``LANGSMITH_TRACING`` / ``LANGSMITH_ENDPOINT`` / ``LANGSMITH_PROJECT``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from proctor.settings import Settings


def installed_release() -> str:
    try:
        return version("proctor")
    except PackageNotFoundError:
        return "unknown"


class TraceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_TRACE_", extra="ignore", populate_by_name=True)

    url: str | None = Field(None, description="Trace store; default: sqlite file traces.sqlite in data_dir.")
    retention_days: float = Field(30, gt=0, description="`proctor traces purge` drops older traces.")
    release: str = Field(
        default_factory=installed_release,
        validation_alias="PROCTOR_RELEASE",
        description="The release version stamped on every trace.",
    )
    busy_timeout_s: float = Field(2.0, ge=0, description="How long a save waits for a locked store.")
    langsmith_tracing: bool = Field(False, validation_alias="LANGSMITH_TRACING")
    langsmith_api_key: SecretStr | None = Field(None, validation_alias="LANGSMITH_API_KEY")
    langsmith_endpoint: str = Field(
        "https://api.smith.langchain.com",
        validation_alias="LANGSMITH_ENDPOINT",
    )
    langsmith_project: str = Field("proctor", validation_alias="LANGSMITH_PROJECT")
    langsmith_timeout_s: float = Field(3.0, gt=0, description="Connect and read timeout of each LangSmith request.")
    langsmith_exit_grace_s: float = Field(
        5.0, ge=0, description="At process exit, unsent LangSmith traces get this long, then are dropped."
    )

    def store_url(self, settings: Settings) -> str:
        return self.url or f"sqlite:///{settings.data_dir / 'traces.sqlite'}"

    @property
    def langsmith_enabled(self) -> bool:
        return self.langsmith_tracing and self.langsmith_api_key is not None
