"""A deployment: the database, tools, agent specs, policy and model that settings (and a release) name.

Without a release it runs the settings' desk (``proctor.desk``: its tools, agents, policy, staff,
routing examples and offline hints). With one, everything that shapes behaviour comes from the
release bundle; the tools' code, the staff and the offline hints stay the desk's.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from types import ModuleType

from langchain.agents.middleware import AgentMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from proctor import escalations, toolkit
from proctor.approvals.ledger import ApprovalLedger
from proctor.approvals.policy import ApprovalPolicy, load_policy
from proctor.db import Database
from proctor.desk import Desk, DeskError, desk_of
from proctor.errors import ProctorError
from proctor.graphs.classifier import Example, FastClassifier, check_routes, load_examples, with_agent_examples
from proctor.releases.bundle import Release, check_desk
from proctor.guards.usage import UsageLedger
from proctor.identity import Directory, StaffDirectory, ThreadRequesters, load_staff
from proctor.chat_models import chat_model
from proctor.ownership import check_declared
from proctor.settings import Settings
from proctor.specialists import AgentSpec, load_specs
from proctor.toolkit import ToolSpec


@dataclass
class Deployment:
    settings: Settings
    release: Release | None = None

    def __post_init__(self) -> None:
        if self.release is not None:
            check_desk(self.release, self.desk.name)
            content = self.release.content
            update = {"model": content.model, "prices": content.prices, "guards": content.guards}
            self.settings = self.settings.model_copy(update=update)

    @property
    def release_id(self) -> str:
        return self.release.id if self.release else ""

    @cached_property
    def desk(self) -> Desk:
        """The settings' desk, their overrides applied."""
        return desk_of(self.settings)

    @cached_property
    def db(self) -> Database:
        """The domain database, migrated and seeded on first use."""
        db = Database(self.settings.domain_url)
        db.migrate([*toolkit.MIGRATIONS, *escalations.MIGRATIONS])
        for module in self._modules:
            if hasattr(module, "MIGRATIONS"):
                db.migrate(module.MIGRATIONS)
            if hasattr(module, "prepare"):
                module.prepare(db, self.settings.seed)
        return db

    @cached_property
    def tool_specs(self) -> list[ToolSpec]:
        shipped = [spec for module in self._modules for spec in module.TOOLS]
        check_declared(shipped)  # a tool that does not say whose records it touches never loads
        if self.release is None:
            return shipped
        described = self.release.content.tools  # a release may drop tools or reword them
        return [replace(s, description=described[s.name]) for s in shipped if s.name in described]

    @cached_property
    def tools(self) -> list[BaseTool]:
        return [spec.bind(self.db) for spec in self.tool_specs]

    @cached_property
    def specs(self) -> list[AgentSpec]:
        if self.release is not None:
            return list(self.release.content.agents)
        specs = load_specs(self.desk.agent_dirs, skip=self.desk.not_agents())
        if not specs:
            raise DeskError(f"desk {self.desk.name!r} has no agent specs in {[str(d) for d in self.desk.agent_dirs]}")
        return specs

    @cached_property
    def classifier(self) -> FastClassifier:
        """The front door's fast tier, trained on the desk's examples and its agents' own."""
        base = self.release.content.routes if self.release is not None else desk_routes(self.desk)
        examples = with_agent_examples(base, self.specs)
        check_routes(examples, (spec.name for spec in self.specs))
        return _classifier(tuple(examples))

    @cached_property
    def offline_hints(self) -> dict[str, tuple[str, ...]]:
        """The offline model's intent phrases by tool (the desk's ``offline`` file)."""
        hints = self.desk.offline_hints()
        unknown = sorted(set(hints) - {spec.name for spec in self.tool_specs})
        if unknown and self.release is None:  # a release may drop tools; its hints may outlive them
            raise DeskError(f"{self.desk.offline}: hints for {unknown}, which are not tools of this desk")
        return hints

    def desk_guards(self, spec: AgentSpec) -> list[AgentMiddleware]:
        """The desk's own guardrails for one agent: each tools module's ``GUARDS``, factories
        ``(deployment, spec) -> AgentMiddleware | None`` (None: not for this agent)."""
        made = (factory(self, spec) for module in self._modules for factory in getattr(module, "GUARDS", ()))
        return [guard for guard in made if guard is not None]

    @cached_property
    def grounding(self) -> tuple[str, Callable[[str], str | None]] | None:
        """(citation regex, id -> source text) from the first tool module that declares them."""
        for module in self._modules:
            if hasattr(module, "CITATION") and hasattr(module, "source_text"):
                db = self.db

                def lookup(source_id: str, module: ModuleType = module, db: Database = db) -> str | None:
                    with db.reading() as conn:
                        return module.source_text(conn, source_id)

                return module.CITATION, lookup
        return None

    @cached_property
    def usage(self) -> UsageLedger:
        return UsageLedger(self.db, self.settings.guards)

    @cached_property
    def policy(self) -> ApprovalPolicy:
        if self.release is not None:
            return self.release.content.policy
        return load_policy(self.desk.require("policy"))

    @cached_property
    def directory(self) -> Directory:
        """Who is staff (the staff file plus the policy's reviewers); everyone else is a customer."""
        staff = load_staff(self.desk.staff) if self.desk.staff else StaffDirectory()
        return Directory(staff, frozenset(r.id for r in self.policy.reviewers))

    @cached_property
    def threads(self) -> ThreadRequesters:
        return ThreadRequesters(self.db)

    @cached_property
    def ledger(self) -> ApprovalLedger:
        return ApprovalLedger(self.db, self.policy, {spec.name: spec for spec in self.tool_specs})

    @cached_property
    def model(self) -> BaseChatModel:
        return self.chat_model()

    def model_for(self, spec: AgentSpec) -> BaseChatModel:
        return self.chat_model(spec.model) if spec.model else self.model

    def chat_model(self, name: str | None = None) -> BaseChatModel:
        """``proctor.chat_models.chat_model``; an offline one knows this desk's hints and plans with its classifier."""
        from proctor.graphs.plan_execute import Plan, offline_planner

        planner = offline_planner(lambda: self.classifier)
        return chat_model(self.settings, name, hints=self.offline_hints, responders={Plan.__name__: planner})

    @cached_property
    def _modules(self) -> list:
        if not self.desk.tools:
            raise DeskError(f"desk {self.desk.name!r} ({self.desk.manifest}) has no tools: add tools.py or set tools = [...]")
        if self.settings.tool_modules is not None:
            return [import_tools(name) for name in self.desk.tools]
        try:
            return [import_tools(name) for name in self.desk.tools]
        except ToolModuleNotFound as exc:  # the desk's manifest named it, not the setting
            raise DeskError(f"{self.desk.manifest}: tools: {str(exc).removeprefix('PROCTOR_TOOL_MODULES: ')}") from exc


class ToolModuleNotFound(ProctorError):
    """A ``tool_modules`` entry that is neither an importable module nor a ``.py`` file."""


def import_tools(name: str) -> ModuleType:
    """A tool module by dotted name, or by the path of its ``.py`` file, imported once per process."""
    if not name.endswith(".py"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(f"{exc.name}.")):
                raise  # the module exists; something it imports does not
            raise ToolModuleNotFound(
                f"PROCTOR_TOOL_MODULES: no module {name!r} on the path; give the path of its .py file instead"
            ) from exc
    path = Path(name).expanduser().resolve()
    if not path.is_file():
        raise ToolModuleNotFound(f"PROCTOR_TOOL_MODULES: there is no file {path}")
    key = f"proctor_tools_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before it runs: dataclasses and pydantic look their module up
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def desk_routes(desk: Desk) -> list[Example]:
    """The desk's routing examples; none when it has no routes file (its agents' examples suffice)."""
    return load_examples(desk.routes) if desk.routes is not None else []


_CLASSIFIERS: dict[tuple[tuple[str, str], ...], FastClassifier] = {}


def _classifier(examples: tuple[Example, ...]) -> FastClassifier:
    """Trained once per set of examples and process (a release's never change)."""
    key = tuple((e.text, e.route) for e in examples)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = FastClassifier.from_examples(examples)
    return _CLASSIFIERS[key]
