"""proctor: run AI agents in production on LangGraph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proctor.lazy import lazy_exports

if TYPE_CHECKING:
    from proctor.graphs.supervisor import build_graph
    from proctor.runner import Proctor, RunResult
    from proctor.settings import Settings

__all__ = ["Proctor", "RunResult", "Settings", "build_graph"]

# Imported on first use, so `import proctor.<anything>` (the CLI's read commands) stays cheap.
_LAZY = {
    "Proctor": "runner",
    "RunResult": "runner",
    "Settings": "settings",
    "build_graph": "graphs.supervisor",
}

__getattr__ = lazy_exports(__name__, _LAZY, globals())
