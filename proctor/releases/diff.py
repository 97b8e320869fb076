"""A readable diff of two bundles: prompts line by line, every other part as stable text."""

from __future__ import annotations

import difflib
import json
from typing import Any

from proctor.releases.bundle import BundleContent


def diff_contents(a: BundleContent, b: BundleContent, *, a_name: str = "a", b_name: str = "b") -> str:
    """A unified diff per changed part (``agents/NAME/prompt``, ``tools``, ``policy``...); '' if none."""
    left, right = sections(a), sections(b)
    labels = sorted(left.keys() | right.keys(), key=lambda label: (not label.startswith("agents/"), label))
    chunks: list[str] = []
    for label in labels:
        before, after = left.get(label, ""), right.get(label, "")
        if before != after:
            chunks.extend(
                difflib.unified_diff(
                    before.splitlines(), after.splitlines(), f"{a_name}/{label}", f"{b_name}/{label}", lineterm=""
                )
            )
    return "\n".join(chunks)


def sections(content: BundleContent) -> dict[str, str]:
    """Each part as text whose lines change only where the part does."""
    parts: dict[str, str] = {}
    for agent in content.agents:
        parts[f"agents/{agent.name}/prompt"] = agent.prompt
        parts[f"agents/{agent.name}/spec"] = _json(agent.model_dump(mode="json", exclude={"prompt"}))
    parts["model"] = content.model
    parts["prices"] = _json({name: price.model_dump() for name, price in content.prices.items()})
    # One block per tool, so a reworded description shows as the lines that changed.
    parts["tools"] = "\n".join(f"[{name}]\n{text}\n" for name, text in sorted(content.tools.items()))
    parts["policy"] = _json(content.policy.model_dump(mode="json"))
    parts["guards"] = _json(content.guards.model_dump(mode="json"))
    parts["routes"] = "\n".join(example.model_dump_json() for example in content.routes)
    return parts


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
