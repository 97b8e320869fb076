"""proctor: run AI agents in production on LangGraph."""

from proctor.graphs.supervisor import build_graph
from proctor.runner import Proctor, RunResult
from proctor.settings import Settings

__all__ = ["Proctor", "RunResult", "Settings", "build_graph"]
