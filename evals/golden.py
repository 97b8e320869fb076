"""The versioned golden set: typed loading, with errors that name the file and the line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from proctor.deployment import Deployment
from proctor.errors import ProctorError
from proctor.evals.task import Task
from proctor.graphs.classifier import ESCALATE
from proctor.graphs.front_door import CLARIFY, PLAN
from proctor.graphs.supervisor import hand_off_to_planner
from proctor.settings import Settings

GOLDEN_DIR = Path(__file__).with_name("golden")
"""The reference support desk's golden sets (its desk.toml names v2.jsonl)."""
SEED = 7
"""The desk seed the golden set's ids were drawn from: every task runs on a desk seeded with it."""

SplitChoice = Literal["test", "heldout", "paraphrase", "all"]


class GoldenSetError(ProctorError):
    """A golden set file has a line that is not a valid task."""


@dataclass(frozen=True)
class GoldenSet:
    version: str
    sha256: str
    path: Path
    tasks: tuple[Task, ...]

    def split(self, name: SplitChoice, first: int | None = None) -> list[Task]:
        """The split's tasks; with ``first``, a fixed subset of that many, round-robin over routes
        in file order, so every route is in it and the same number gives the same tasks."""
        tasks = [t for t in self.tasks if name == "all" or t.split == name]
        if first is None:
            return tasks
        by_route: dict[str, list[Task]] = {}
        for t in tasks:
            by_route.setdefault(t.expected_route, []).append(t)
        dealt = [t for rank in zip_longest(*by_route.values()) for t in rank if t is not None]
        picked = {t.id for t in dealt[:first]}
        return [t for t in tasks if t.id in picked]


def load_golden(path: Path | str | None = None, settings: Settings | None = None) -> GoldenSet:
    """Parse every line, checking its routes and tools against the settings' desk (default: the
    desk's golden set); the version is the file name (``v1.jsonl`` -> ``v1``), the hash its bytes'."""
    deployment = Deployment(settings or Settings())
    path = Path(path) if path is not None else deployment.desk.golden_file()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GoldenSetError(f"cannot read golden set {path}: {exc.strerror}") from exc
    tools, routes = known_tools(deployment), known_routes(deployment)
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        task = _parse(line, f"{path} line {lineno}")
        if task.id in first_line:
            first = first_line[task.id]
            raise GoldenSetError(f"{path} line {lineno}: duplicate task id {task.id!r} (first on line {first})")
        first_line[task.id] = lineno
        if task.expected_route not in routes:
            raise GoldenSetError(
                f"{path} line {lineno}: unknown route {task.expected_route!r}; known: {', '.join(sorted(routes))}"
            )
        unknown = sorted(task.tool_names() - tools)
        if unknown:
            raise GoldenSetError(f"{path} line {lineno}: unknown tool(s) {', '.join(unknown)}")
        tasks.append(task)
    if not tasks:
        raise GoldenSetError(f"{path} has no tasks")
    return GoldenSet(version=path.stem, sha256=hashlib.sha256(raw).hexdigest(), path=path, tasks=tuple(tasks))


def _parse(line: bytes, where: str) -> Task:
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise GoldenSetError(f"{where}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise GoldenSetError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
    try:
        return Task.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "task"
        raise GoldenSetError(f"{where}: {field}: {error['msg']}") from exc


def known_tools(deployment: Deployment | None = None) -> frozenset[str]:
    deployment = deployment or Deployment(Settings())
    return frozenset({spec.name for spec in deployment.tool_specs} | {hand_off_to_planner.name})


def known_routes(deployment: Deployment | None = None) -> frozenset[str]:
    deployment = deployment or Deployment(Settings())
    return frozenset({spec.name for spec in deployment.specs} | {CLARIFY, ESCALATE, PLAN})
