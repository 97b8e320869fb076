"""A desk: one deployable unit (tools, agents, policy, staff, rubric, routes, golden set, offline hints).

``PROCTOR_DESK`` names it: a folder holding ``desk.toml``, the path of a ``desk.toml``, or a dotted
package name whose folder holds one (found without importing it: the core never imports a desk).
Every manifest key is optional; a key left out takes its conventional path, and a conventional
path that does not exist means the desk has none of it. A path the manifest names must exist.
The older settings stay as overrides: ``tool_modules`` replaces the desk's tools, ``agent_dirs``
adds agent folders, ``approval_policy``, ``staff_directory`` and ``review_rubric`` replace files.
"""

from __future__ import annotations

import importlib.util
import tomllib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proctor.errors import ProctorError

if TYPE_CHECKING:
    from proctor.settings import Settings

MANIFEST = "desk.toml"
DEFAULT_DESK = "proctor.agents"
"""The reference support desk, by name only."""


class DeskError(ProctorError):
    """``PROCTOR_DESK`` names no desk, or its manifest is malformed or names a file that is missing."""


class _Manifest(BaseModel):
    """``desk.toml`` as written: paths relative to its folder, each with its conventional default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", description="The desk's name; default: its folder's.")
    tools: list[str] = Field(default_factory=lambda: ["tools.py"], description="Dotted modules or .py paths.")
    agents: str = Field("agents", description="Folder of agent spec TOML files.")
    policy: str = "policy/approvals.toml"
    staff: str = "policy/staff.toml"
    review_rubric: str = "policy/review_rubric.toml"
    routes: str = Field("routes.jsonl", description="Routing examples; agents' own examples are added.")
    golden: str = Field("golden.jsonl", description="A golden set file, or a folder of them (the last by name).")
    offline: str = Field("offline.toml", description="The offline model's hints: tool name -> intent phrases.")
    demo: str = Field("demo.toml", description="`proctor demo`'s tour: requests and the query filling their ids.")


class Desk(BaseModel):
    """A desk with every path resolved and the settings' overrides applied."""

    model_config = ConfigDict(frozen=True)

    name: str
    manifest: Path
    tools: tuple[str, ...] = Field(description="Dotted module names, or absolute paths of .py files.")
    agent_dirs: tuple[Path, ...]
    policy: Path | None
    staff: Path | None
    review_rubric: Path | None
    routes: Path | None
    golden: Path | None
    offline: Path | None
    demo: Path | None = None

    @property
    def root(self) -> Path:
        return self.manifest.parent

    def not_agents(self) -> frozenset[Path]:
        """TOML files of the desk that live beside its agent specs but are none (``agents = "."``)."""
        parts = (self.manifest, self.offline, self.demo, self.policy, self.staff, self.review_rubric)
        return frozenset(p for p in parts if p)

    def require(self, what: str) -> Path:
        """The path of part ``what``, or a ``DeskError`` saying the desk has none."""
        path = getattr(self, what)
        if path is None:
            default = _Manifest.model_fields[what].default
            raise DeskError(f"desk {self.name!r} ({self.manifest}) has no {what}: add {default} or set {what} = ...")
        return path

    def golden_file(self) -> Path:
        """The golden set: the file, or the last ``*.jsonl`` by name of the folder."""
        path = self.require("golden")
        if not path.is_dir():
            return path
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise DeskError(f"desk {self.name!r}: the golden folder {path} has no *.jsonl file")
        return files[-1]

    def offline_hints(self) -> dict[str, tuple[str, ...]]:
        """Tool name -> intent phrases, lower case; {} when the desk has no hints file."""
        if self.offline is None:
            return {}
        data = _toml(self.offline, "offline hints")
        bad = sorted(k for k, v in data.items() if not (isinstance(v, list) and all(isinstance(i, str) for i in v)))
        if bad:
            raise DeskError(f"{self.offline}: {bad} must be lists of phrases (tool name = [\"phrase\", ...])")
        return {tool: tuple(p.lower() for p in phrases) for tool, phrases in data.items()}


def desk_of(settings: Settings) -> Desk:
    """The settings' desk, with their overrides applied."""
    desk = load_desk(settings.desk)
    update: dict[str, object] = {"agent_dirs": (*desk.agent_dirs, *(Path(d) for d in settings.agent_dirs))}
    if settings.tool_modules is not None:
        update["tools"] = tuple(settings.tool_modules)
    for field, override in (
        ("policy", settings.approval_policy),
        ("staff", settings.staff_directory),
        ("review_rubric", settings.review_rubric),
    ):
        if override is not None:
            update[field] = Path(override)
    return desk.model_copy(update=update)


@cache
def load_desk(ref: str) -> Desk:
    """The desk ``ref`` names (see the module doc), read once per process."""
    manifest = find_manifest(ref)
    data = _toml(manifest, "desk manifest")
    try:
        raw = _Manifest.model_validate(data)
    except ValidationError as exc:
        unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden")
        if unknown:
            raise DeskError(
                f"{manifest}: unknown keys {unknown}; a desk.toml may set {sorted(_Manifest.model_fields)}"
            ) from None
        first = exc.errors()[0]
        raise DeskError(f"{manifest}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    root, given = manifest.parent, set(data)

    def part(key: str, folder: bool = False) -> Path | None:
        path = (root / getattr(raw, key)).resolve()
        if path.exists():
            if folder and not path.is_dir():
                raise DeskError(f"{manifest}: {key} = {getattr(raw, key)!r} is not a folder")
            return path
        if key in given:
            raise DeskError(f"{manifest}: {key} = {getattr(raw, key)!r}: there is no {path}")
        return None  # a conventional path that is absent: the desk has none of it

    agents = part("agents", folder=True)
    return Desk(
        name=raw.name or root.name,
        manifest=manifest,
        tools=tuple(_tool_module(manifest, entry) for entry in raw.tools if _wanted(root, entry, "tools" in given)),
        agent_dirs=(agents,) if agents else (),
        policy=part("policy"),
        staff=part("staff"),
        review_rubric=part("review_rubric"),
        routes=part("routes"),
        golden=part("golden"),
        offline=part("offline"),
        demo=part("demo"),
    )


def find_manifest(ref: str) -> Path:
    """The ``desk.toml`` that ``ref`` (a folder, a manifest's path or a package name) names."""
    path = Path(ref).expanduser()
    if path.is_dir():
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise DeskError(f"PROCTOR_DESK: the folder {path.resolve()} has no {MANIFEST}")
        return manifest.resolve()
    if path.is_file():
        return path.resolve()
    if ref.endswith(".toml") or "/" in ref or ref.startswith(("~", ".")) or not ref.replace(".", "").replace("_", "").isalnum():
        raise DeskError(f"PROCTOR_DESK: there is no folder or file {path.resolve()}")
    try:
        spec = importlib.util.find_spec(ref)  # imports the parent packages, never the desk itself
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise DeskError(f"PROCTOR_DESK: {ref!r} is neither a folder, a {MANIFEST} nor an importable package")
    manifest = Path(folders[0]) / MANIFEST
    if not manifest.is_file():
        raise DeskError(f"PROCTOR_DESK: the package {ref} ({folders[0]}) has no {MANIFEST}")
    return manifest.resolve()


def _wanted(root: Path, entry: str, given: bool) -> bool:
    """The conventional ``tools.py`` counts only when it exists; a named entry always does."""
    return given or (root / entry).is_file()


def _tool_module(manifest: Path, entry: str) -> str:
    if not entry.endswith(".py"):
        return entry  # a dotted module name: imported by proctor.deployment.import_tools
    path = (manifest.parent / entry).resolve()
    if not path.is_file():
        raise DeskError(f"{manifest}: tools: there is no file {path}")
    return str(path)


def _toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DeskError(f"{what} {path}: {exc}") from None
