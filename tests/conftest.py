"""Shared fixtures: a seeded desk copied per test, scripted fake models."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage

from proctor.deployment import Deployment
from proctor.settings import Settings


class ScriptedModel(FakeMessagesListChatModel):
    """Replies with the scripted messages in order; accepts tools like a real chat model."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedModel:
        return self


def scripted(*messages: BaseMessage) -> ScriptedModel:
    return ScriptedModel(responses=list(messages))


def call(name: str, call_id: str = "c1", **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


@pytest.fixture(scope="session")
def seeded_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded domain database per session; tests get their own copy."""
    folder = tmp_path_factory.mktemp("seed")
    Deployment(Settings(data_dir=folder)).db  # migrates and seeds
    template = folder / "template.sqlite"
    with sqlite3.connect(folder / "desk.sqlite") as conn:  # one self-contained file, nothing in a WAL
        conn.execute("VACUUM INTO ?", (str(template),))
    return template


@pytest.fixture
def settings(tmp_path: Path, seeded_desk: Path) -> Settings:
    shutil.copy(seeded_desk, tmp_path / "desk.sqlite")
    return Settings(data_dir=tmp_path)


@pytest.fixture
def deployment(settings: Settings) -> Deployment:
    return Deployment(settings)


from tests.traffic import day  # noqa: E402, F401  (one scripted day of server traffic per session)
