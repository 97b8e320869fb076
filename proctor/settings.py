"""Typed settings, read from the environment (prefix ``PROCTOR_``) or passed in code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, model_validator
from proctor.guards.settings import GuardSettings
from proctor.releases.settings import ReleaseSettings
from proctor.pricing import DEFAULT_PRICES, DEFAULT_REMOTE_PRICE, FREE, UNPRICED, ModelPrice
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from proctor.desk import DEFAULT_DESK
from proctor.errors import InvalidRequest, ProctorError

OFFLINE_MODEL = "offline"


class Settings(BaseSettings):
    """Everything that configures a proctor deployment.

    Defaults give a fully offline desk: SQLite files under ``data_dir`` and the
    deterministic offline model. Point ``model`` at an OpenAI-compatible endpoint
    (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``) to use a real LLM.
    """

    model_config = SettingsConfigDict(env_prefix="PROCTOR_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(Path(".proctor"), description="Where the SQLite files live.")
    database_url: str | None = Field(
        None, description="Domain database; default: sqlite file desk.sqlite in data_dir."
    )
    checkpoint_url: str | None = Field(
        None, description="LangGraph checkpoints; default: sqlite file checkpoints.sqlite in data_dir."
    )
    model: str = Field(
        OFFLINE_MODEL,
        description="Chat model name for the OpenAI-compatible endpoint, or 'offline'.",
    )
    openai_api_key: str | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    model_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="Seconds one model request may take (a first CPU call can take 45 s)."
    )
    model_max_retries: int = Field(
        2, ge=0, le=10, description="Retries of a failed model request (connection errors, 408/409/429/5xx, timeouts)."
    )
    model_max_tokens: int = Field(
        1024, ge=16, le=65536, description="Cap on the tokens one model reply may generate."
    )
    model_temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature; default: the endpoint's own (0 makes runs repeatable)."
    )
    model_text_tool_calls: bool = Field(
        True, description="Read a reply that is only a JSON tool call as that call (small local models write them as text)."
    )
    router_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Seconds the front door's LLM tier may take before the fast tier decides."
    )
    seed: int = Field(7, description="Seed of the deterministic data generator.")
    max_request_chars: int = Field(4000, ge=1, description="Longer requests are refused.")
    classifier_threshold: float = Field(
        0.55, ge=0, le=1, description="Below this confidence the fast tier is 'unsure'."
    )
    desk: str = Field(
        DEFAULT_DESK,
        description="The desk: a folder holding desk.toml, a desk.toml's path, or a package whose folder holds one;"
        " default: the reference support desk.",
    )
    agent_dirs: list[Path] = Field(
        default_factory=list, description="Extra folders of agent spec TOML files, beside the desk's."
    )
    tool_modules: list[str] | None = Field(
        None,
        description="Replaces the desk's tools: modules exposing TOOLS (ToolSpec list), optionally MIGRATIONS and"
        " prepare(db, seed): dotted names, or paths of .py files (no PYTHONPATH needed).",
    )

    approval_policy: Path | None = Field(None, description="Approval policy TOML; default: the desk's.")
    staff_directory: Path | None = Field(
        None, description="Staff identities with their roles and scopes; default: the desk's."
    )
    review_rubric: Path | None = Field(None, description="Rubric TOML for sampled reviews; default: the desk's.")
    api_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Server auth: bearer token -> identity. Reviewers are the policy's reviewer ids.",
    )
    server_url: str | None = Field(
        None, description="The LangGraph server whose threads CLI decisions resume (e.g. http://127.0.0.1:2024)."
    )
    server_token: str | None = Field(None, description="A reviewer's bearer token on that server.")
    guards: GuardSettings = Field(default_factory=GuardSettings)
    releases: ReleaseSettings = Field(default_factory=ReleaseSettings)
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES), description="USD per million tokens, by model."
    )
    unpriced_model_price: ModelPrice | None = Field(
        None,
        description="Price of models missing from `prices`; default: free on a loopback endpoint, "
        "else a mid-range price (0.40/1.60 USD per million tokens).",
    )

    @model_validator(mode="after")
    def _price_unlisted_models(self) -> Settings:
        """The ``"*"`` entry of ``prices`` prices every model the table does not name."""
        if UNPRICED not in self.prices:
            default = FREE if self.local_endpoint else DEFAULT_REMOTE_PRICE
            self.prices = {**self.prices, UNPRICED: self.unpriced_model_price or default}
        return self

    def resolved_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def domain_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'desk.sqlite'}"

    @property
    def checkpoints_url(self) -> str:
        return self.checkpoint_url or f"sqlite:///{self.data_dir / 'checkpoints.sqlite'}"

    @property
    def offline(self) -> bool:
        return self.model == OFFLINE_MODEL

    @property
    def local_endpoint(self) -> bool:
        """The OpenAI-compatible endpoint is on this machine (loopback): its calls cost nothing."""
        return is_loopback(self.openai_base_url)


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url).hostname if url else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


SETTINGS_ERRORS = (ValidationError, SettingsError)
_PREFIXES = {"Settings": "PROCTOR_", "TraceSettings": "PROCTOR_TRACE_"}


def problem(exc: Exception) -> str:
    """A one-line message for a typed error or a settings error, naming the variable (never its
    value: it may be a secret)."""
    if isinstance(exc, ProctorError):
        return str(exc)
    if isinstance(exc, SettingsError):
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"PROCTOR_{found.group(1).upper()}" if found else "a PROCTOR_* variable"
        return f"{name}: not valid JSON ({exc.__cause__ or exc})"
    if not isinstance(exc, ValidationError) or exc.title not in _PREFIXES:
        return f"invalid input: {exc}"
    prefix = _PREFIXES[exc.title]
    return "; ".join(f"{_variable(prefix, e['loc'])}: {e['msg']}" for e in exc.errors())


def _variable(prefix: str, loc: Sequence[int | str]) -> str:
    names = [str(p) for p in loc if isinstance(p, str)]
    if names and names[0].isupper():
        return names[0]  # a field read under its own name (OPENAI_API_KEY, PROCTOR_RELEASE)
    return prefix + "__".join(n.upper() for n in names)


def check_argv(argv: Sequence[str]) -> None:
    """Command-line arguments must be text: bytes that are not UTF-8 arrive as lone surrogates."""
    for position, value in enumerate(argv, 1):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"argument {position} is not valid UTF-8") from None
