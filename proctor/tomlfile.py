"""Typed TOML files (agent specs, policies, rubrics): one way to read them, one kind of error."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from proctor.errors import ProctorError

M = TypeVar("M", bound=BaseModel)


def load_toml(path: Path, model: type[M], error: type[ProctorError], what: str) -> M:
    """``model`` read from ``path``; a missing or malformed file raises ``error`` naming the file."""
    try:
        return model.model_validate(tomllib.loads(Path(path).read_text()))
    except FileNotFoundError as exc:
        raise error(f"{what} file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise error(f"{path}: {exc}") from exc
