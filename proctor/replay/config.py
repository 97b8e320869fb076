"""Configuration: what the replay runs on, as a release bundle. Every variant (the trace's release,
``release``, ``prompt_version``, ``model``) is a release, so what changed is the releases' own diff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from proctor.releases.bundle import ID_PREFIX, BundleContent, Release, snapshot
from proctor.releases.diff import diff_contents
from proctor.releases.store import ReleaseStore
from proctor.settings import Settings
from proctor.tracing.settings import installed_release

PACKAGED = "packaged defaults"


class ReplayConfig(BaseModel):
    """What to change; nothing set replays on the release the trace ran on."""

    model: str | None = None  # every agent runs on it
    prompt_version: str | None = None  # a release whose agents' prompts replace the base's
    release: str | None = None  # the base release (default: the trace's)


@dataclass(frozen=True)
class Setup:
    release: Release | None  # what the replay runs on; None: the packaged defaults
    label: str
    original_label: str
    changed: str  # unified diff from the original's bundle to the replay's; '' when the same
    notes: list[str]


def setup(config: ReplayConfig, trace_release: str, settings: Settings, store: ReleaseStore) -> Setup:
    """Resolve ``config`` against the release a trace ran on (a release id, or a package version).
    Overrides make an in-memory release that is never stored."""
    original = store.get(trace_release) if trace_release.startswith(ID_PREFIX) else None
    base = store.get(config.release) if config.release else original
    release, label = base, base.id if base else _packaged(installed_release())
    if config.prompt_version or config.model:
        content = base.content if base else snapshot(settings)
        if config.prompt_version:
            donor = store.get(config.prompt_version)
            content = _with_prompts(content, donor.content)
            label += f", prompts of {donor.id}"
        if config.model:
            content = _with_model(content, config.model)
            label += f", model {config.model}"
        release = _unstored(content, base)
    changed = ""
    if (release.id if release else None) != (original.id if original else None):
        before, after = _content(original, settings), _content(release, settings)
        changed = diff_contents(before, after, a_name="original", b_name="replay")
    original_label = original.id if original else _packaged(trace_release)
    return Setup(release, label, original_label, changed, _version_notes(original, trace_release))


def _with_prompts(content: BundleContent, donor: BundleContent) -> BundleContent:
    prompts = {agent.name: agent.prompt for agent in donor.agents}
    agents = [a.model_copy(update={"prompt": prompts.get(a.name, a.prompt)}) for a in content.agents]
    return content.model_copy(update={"agents": agents})


def _with_model(content: BundleContent, model: str) -> BundleContent:
    agents = [a.model_copy(update={"model": None}) for a in content.agents]  # no agent keeps its own model
    return content.model_copy(update={"model": model, "agents": agents})


def _unstored(content: BundleContent, parent: Release | None) -> Release:
    return Release(
        id=content.release_id(),
        parent=parent.id if parent else None,
        author="proctor replay",
        message="a replay's configuration, never stored",
        created_at=datetime.now(UTC),
        content=content,
    )


def _content(release: Release | None, settings: Settings) -> BundleContent:
    return release.content if release else snapshot(settings)


def _packaged(version: str) -> str:
    return f"{PACKAGED} (proctor {version})" if version else PACKAGED


def _version_notes(original: Release | None, trace_release: str) -> list[str]:
    installed = installed_release()
    if original is None and trace_release and trace_release != installed:
        return [f"the trace ran on proctor {trace_release}'s packaged defaults; the replay on proctor {installed}'s"]
    return []
