"""Specialist agents declared as data, built with ``create_agent`` plus middleware."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    InputAgentState,
    OutputAgentState,
    ToolErrorMiddleware,
    ToolRetryMiddleware,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field, ValidationError

from proctor.context import RunContext
from proctor.errors import ProctorError, ToolError, TransientToolError
from proctor.model_failures import ModelFailures
from proctor.tomlfile import load_toml


class SpecError(ProctorError):
    """An agent spec file is malformed or names what does not exist."""


class Limits(BaseModel):
    max_model_calls: int = Field(8, ge=1, le=50)
    tool_retries: int = Field(3, ge=0, le=10)


class AgentSpec(BaseModel):
    """A specialist: everything that shapes its behaviour, as data."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    prompt: str
    scopes: list[str]
    tools: list[str] | None = Field(None, description="Restrict further to these tool names.")
    model: str | None = Field(None, description="Override the deployment's model.")
    grounded: bool = Field(False, description="Answers cite sources; check them (see proctor.guards.grounding).")
    limits: Limits = Limits()
    examples: list[str] = Field(
        default_factory=list, description="Requests that belong here: the front door's fast tier learns them."
    )


def load_specs(dirs: Iterable[Path], skip: Collection[Path] = ()) -> list[AgentSpec]:
    """Every ``*.toml`` in the folders, in name order, but ``skip``'s (a desk's manifest and hints
    may live beside its agents); later folders override by name."""
    specs: dict[str, AgentSpec] = {}
    skipped = {Path(p).resolve() for p in skip}
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.toml")):
            if path.resolve() in skipped:
                continue
            spec = load_toml(path, AgentSpec, SpecError, "agent spec")
            specs[spec.name] = spec
    return list(specs.values())


def tools_for(spec: AgentSpec, tools: Sequence[BaseTool]) -> list[BaseTool]:
    """Least privilege: the tools whose every scope the agent holds (and, if listed, named)."""
    held = set(spec.scopes)
    allowed = [t for t in tools if set((t.metadata or {}).get("scopes", ["*"])) <= held]
    if spec.tools is None:
        return allowed
    by_name = {t.name: t for t in allowed}
    missing = [n for n in spec.tools if n not in by_name]
    if missing:
        raise SpecError(f"agent {spec.name!r}: tools {missing} do not exist or are outside its scopes")
    return [by_name[n] for n in spec.tools]


def report_tool_error(exc: Exception, request: Any) -> str | None:
    """What the model reads when a tool fails: semantic errors verbatim, never a traceback."""
    name = request.tool_call["name"]
    if isinstance(exc, ToolError | ValidationError | ValueError):
        return f"Error from {name}: {exc}"
    return (
        f"Error from {name}: it failed unexpectedly ({type(exc).__name__}). Do not retry it; "
        "tell the user a human colleague will follow up."
    )


def default_middleware(spec: AgentSpec) -> list[AgentMiddleware[Any, Any, Any]]:
    """Tool error handling and model failures, innermost. (The model-call limit is enforced by the
    run budget guard, which adds no graph step, unlike ``ModelCallLimitMiddleware``'s hooks.)"""
    return [
        ModelFailures(),
        ToolErrorMiddleware(on_error=report_tool_error),
        ToolRetryMiddleware(
            max_retries=spec.limits.tool_retries,
            retry_on=(TransientToolError,),
            initial_delay=0.05,
            max_delay=2.0,
            jitter=True,
        ),
    ]


def build_specialist(
    spec: AgentSpec,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    middleware: Sequence[AgentMiddleware[Any, Any, Any]] = (),
) -> CompiledStateGraph[AgentState[Any], RunContext, InputAgentState, OutputAgentState[Any]]:
    """A compiled ``create_agent`` subgraph for one spec."""
    return create_agent(
        model,
        tools=tools_for(spec, tools),
        system_prompt=spec.prompt,
        middleware=[*middleware, *default_middleware(spec)],
        context_schema=RunContext,
        name=spec.name,
    )
