"""A release: an immutable, content-addressed bundle of everything that shapes the desk's behaviour.

The id is a hash of the content, so the same agents, prompts, model, prices, tools, policy,
guard settings and routing examples always make the same release, and a stored release can be
checked against its id before it is activated.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from proctor.approvals.policy import ApprovalPolicy, PolicyError, load_policy
from proctor.graphs.classifier import Example, InvalidExamples, check_routes, load_examples, with_agent_examples
from proctor.guards.settings import GuardSettings
from proctor.pricing import ModelPrice
from proctor.releases.errors import InvalidBundle, OtherDesk, describe
from proctor.settings import Settings
from proctor.specialists import AgentSpec, SpecError, load_specs

ID_PREFIX = "rel-"
ID_HEX_DIGITS = 12

# The parts a --from folder may have, laid out like the reference desk's agents/ folder.
AGENTS, POLICY, GUARDS, MODELS, ROUTES, TOOLS = (
    "agents",
    "policy/approvals.toml",
    "guards.toml",
    "models.toml",
    "routes.jsonl",
    "tools.toml",
)

M = TypeVar("M", bound=BaseModel)


class BundleContent(BaseModel):
    """Everything a release pins. Its canonical JSON is what the release id hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agents: list[AgentSpec] = Field(min_length=1, description="Specialists with their prompts, in name order.")
    policy: ApprovalPolicy
    guards: GuardSettings
    model: str = Field(min_length=1, description="The deployment's chat model.")
    prices: dict[str, ModelPrice] = Field(description="USD per million tokens, by model.")
    routes: list[Example] = Field(min_length=1, description="The front-door classifier's labelled examples.")
    tools: dict[str, str] = Field(description="Tool name -> the description the model reads; absent tools are dropped.")
    desk: str = Field("", description="The desk it was made from (its name); '' in releases older than this field.")

    @field_validator("agents")
    @classmethod
    def _by_name(cls, agents: list[AgentSpec]) -> list[AgentSpec]:
        return sorted(agents, key=lambda a: a.name)  # file order must not change the id

    @model_validator(mode="after")
    def _consistent(self) -> BundleContent:
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique, got {names}")
        for agent in self.agents:
            missing = sorted(set(agent.tools or []) - set(self.tools))
            if missing:
                raise ValueError(f"agent {agent.name!r} lists tools {missing} that this release does not have")
        try:
            check_routes(with_agent_examples(self.routes, self.agents), names)
        except InvalidExamples as exc:
            raise ValueError(str(exc)) from exc
        return self

    def canonical_json(self) -> str:
        return canonical(self.model_dump(mode="json"))

    def release_id(self) -> str:
        return content_id(self.canonical_json())


class Release(BaseModel):
    """A stored bundle with its history: who made it, when, why, and what was active then."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=rf"^{ID_PREFIX}[0-9a-f]{{{ID_HEX_DIGITS}}}$")
    parent: str | None = Field(description="The release that was active when this one was created.")
    author: str = Field(min_length=1)
    message: str = Field(min_length=1)
    created_at: datetime
    content: BundleContent


def check_desk(release: Release, desk: str) -> None:
    """``OtherDesk`` unless ``release`` was made from ``desk`` (or predates releases naming theirs)."""
    made_from = release.content.desk
    if made_from and made_from != desk:
        raise OtherDesk(
            f"release {release.id} was made from desk {made_from!r}, but these settings run desk {desk!r}:"
            " set PROCTOR_DESK to its desk, or make a release of this one"
        )


def canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_id(canonical_json: str) -> str:
    """The id of content as stored. Stored content is checked against its own text, not against a
    re-serialisation: a field proctor adds later (with a default) must not orphan old releases."""
    return ID_PREFIX + hashlib.sha256(canonical_json.encode()).hexdigest()[:ID_HEX_DIGITS]


def snapshot(settings: Settings, from_dir: Path | None = None) -> BundleContent:
    """What ``settings`` run on now; with ``from_dir``, each part the folder has replaces that part whole.

    A folder may hold ``agents/*.toml`` (the complete agent set), ``policy/approvals.toml``,
    ``guards.toml`` (GuardSettings fields), ``models.toml`` (``model`` and/or ``[prices.NAME]``),
    ``routes.jsonl`` and ``tools.toml`` (``name = "description"``: the complete tool set, among
    the tools the deployment ships). Absent parts come from the settings' desk and ``settings``.
    """
    try:
        parts = _packaged_parts(settings)
        if from_dir is not None:
            parts.update(_folder_parts(from_dir, shipped_tools=parts["tools"]))
        return BundleContent(**parts)
    except (SpecError, PolicyError, InvalidExamples) as exc:  # these already name the file
        raise InvalidBundle(str(exc)) from exc
    except ValidationError as exc:
        raise InvalidBundle(f"{from_dir or 'the desk'}: {describe(exc)}") from exc


class _ModelsFile(BaseModel):
    model: str | None = Field(None, min_length=1)
    prices: dict[str, ModelPrice] | None = None


def _packaged_parts(settings: Settings) -> dict[str, Any]:
    """What the settings' desk runs on now (its agents, policy, routes and tools)."""
    # Imported here: the deployment will be built from releases, so it may import this module.
    from proctor.deployment import Deployment, desk_routes

    deployment = Deployment(settings)
    return {
        "agents": deployment.specs,
        "policy": deployment.policy,
        "guards": settings.guards,
        "model": settings.model,
        "prices": settings.prices,
        "routes": desk_routes(deployment.desk),
        "tools": {spec.name: spec.description for spec in deployment.tool_specs},
        "desk": deployment.desk.name,
    }


def _folder_parts(folder: Path, shipped_tools: dict[str, str]) -> dict[str, Any]:
    if not folder.is_dir():
        raise InvalidBundle(f"{folder} is not a folder")
    present = {name for name in (AGENTS, POLICY, GUARDS, MODELS, ROUTES, TOOLS) if (folder / name).exists()}
    if not present:
        raise InvalidBundle(
            f"{folder} has none of agents/, policy/approvals.toml, guards.toml, models.toml, routes.jsonl,"
            " tools.toml: nothing to make a release from"
        )
    parts: dict[str, Any] = {}
    if AGENTS in present:
        parts["agents"] = _agents(folder / AGENTS)
    if POLICY in present:
        parts["policy"] = load_policy(folder / POLICY)
    if GUARDS in present:
        parts["guards"] = _load(folder / GUARDS, GuardSettings)
    if MODELS in present:
        parts.update(_load(folder / MODELS, _ModelsFile).model_dump(exclude_none=True))
    if ROUTES in present:
        parts["routes"] = load_examples(folder / ROUTES)
    if TOOLS in present:
        parts["tools"] = _tools(folder / TOOLS, shipped_tools)
    return parts


def _agents(folder: Path) -> list[AgentSpec]:
    specs = load_specs([folder])
    if not specs:
        raise InvalidBundle(f"{folder} has no agent *.toml files")
    return specs


def _tools(path: Path, shipped: dict[str, str]) -> dict[str, str]:
    """A release can drop tools and reword them, never invent one: there would be no code behind it."""
    tools = _toml(path)
    unknown = sorted(set(tools) - set(shipped))
    if unknown:
        raise InvalidBundle(f"{path}: tools {unknown} do not exist; the deployment has {sorted(shipped)}")
    blank = sorted(name for name, text in tools.items() if not isinstance(text, str) or not text.strip())
    if blank:
        raise InvalidBundle(f"{path}: the descriptions of {blank} must be non-empty text")
    return tools


def _load(path: Path, model: type[M]) -> M:
    """A TOML file as ``model``, refusing unknown keys: a misspelt setting must not pass silently."""
    data = _toml(path)
    unknown = sorted(set(data) - set(model.model_fields))
    if unknown:
        raise InvalidBundle(f"{path}: unknown keys {unknown}; expected some of {sorted(model.model_fields)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBundle(f"{path}: {describe(exc)}") from exc


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidBundle(f"{path}: {exc}") from exc
