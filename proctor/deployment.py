"""A deployment: the database, tools, agent specs and model that one set of settings names."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from proctor import handoff, toolkit
from proctor.approvals.ledger import ApprovalLedger
from proctor.approvals.policy import ApprovalPolicy, load_policy
from proctor.db import Database
from proctor.guards.usage import Usage
from proctor.models import chat_model
from proctor.settings import Settings
from proctor.specialists import AgentSpec, load_specs
from proctor.toolkit import ToolSpec


@dataclass
class Deployment:
    settings: Settings

    @cached_property
    def db(self) -> Database:
        """The domain database, migrated and seeded on first use."""
        db = Database(self.settings.domain_url)
        db.migrate([*toolkit.MIGRATIONS, *handoff.MIGRATIONS])
        for module in self._modules:
            if hasattr(module, "MIGRATIONS"):
                db.migrate(module.MIGRATIONS)
            if hasattr(module, "prepare"):
                module.prepare(db, self.settings.seed)
        return db

    @cached_property
    def tool_specs(self) -> list[ToolSpec]:
        return [spec for module in self._modules for spec in module.TOOLS]

    @cached_property
    def tools(self) -> list[BaseTool]:
        return [spec.bind(self.db) for spec in self.tool_specs]

    @cached_property
    def specs(self) -> list[AgentSpec]:
        from proctor.agents import SPEC_DIR

        return load_specs([SPEC_DIR, *self.settings.agent_dirs])

    @cached_property
    def grounding(self) -> tuple[str, object] | None:
        """(citation regex, id -> source text) from the first tool module that declares them."""
        for module in self._modules:
            if hasattr(module, "CITATION") and hasattr(module, "source_text"):
                db = self.db

                def lookup(source_id: str, module=module) -> str | None:
                    with db.reading() as conn:
                        return module.source_text(conn, source_id)

                return module.CITATION, lookup
        return None

    @cached_property
    def usage(self) -> Usage:
        return Usage(self.db, self.settings.guards)

    @cached_property
    def policy(self) -> ApprovalPolicy:
        from proctor.agents import SPEC_DIR

        return load_policy(self.settings.approval_policy or SPEC_DIR / "policy" / "approvals.toml")

    @cached_property
    def ledger(self) -> ApprovalLedger:
        return ApprovalLedger(self.db, self.policy, {spec.name: spec for spec in self.tool_specs})

    @cached_property
    def model(self) -> BaseChatModel:
        return chat_model(self.settings)

    def model_for(self, spec: AgentSpec) -> BaseChatModel:
        return chat_model(self.settings, spec.model) if spec.model else self.model

    @cached_property
    def _modules(self) -> list:
        return [importlib.import_module(name) for name in self.settings.tool_modules]
