"""proctor: run AI agents in production on LangGraph."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proctor.graphs.supervisor import build_graph
    from proctor.runner import Proctor, RunResult
    from proctor.settings import Settings

__all__ = ["Proctor", "RunResult", "Settings", "build_graph"]

# Imported on first use, so `import proctor.<anything>` (the CLI's read commands) stays cheap.
_LAZY = {
    "Proctor": "proctor.runner",
    "RunResult": "proctor.runner",
    "Settings": "proctor.settings",
    "build_graph": "proctor.graphs.supervisor",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'proctor' has no attribute {name!r}")
