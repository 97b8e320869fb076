"""The core (proctor/, graphs/) imports no desk and names no desk's files: PROCTOR_DESK alone says
which desk runs. The reference support desk (proctor.agents, proctor.tools) is one desk among others."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = [REPO / "proctor", REPO / "graphs"]
DESK_MODULES = ("proctor.tools", "proctor.agents")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import proctor, proctor.graphs
names = []
for package in (proctor, proctor.graphs):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.startswith(("proctor.evals", "proctor.tools", "proctor.agents")):
            importlib.import_module(info.name)
            names.append(info.name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_every_core_module_imports_no_desk() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert len(out["imported"]) > 60 and "proctor.graphs.supervisor" in out["imported"]
    desks = [m for m in out["loaded"] if m.startswith(DESK_MODULES)]
    assert not desks, f"core modules imported desk modules: {desks}"


def test_no_core_source_names_a_desk_module_or_path() -> None:
    named = re.compile(r"proctor\.(tools|agents)\b|SPEC_DIR|agents/policy|graphs/routes\.jsonl|evals/golden")
    found = []
    for root in CORE:
        for path in root.rglob("*.py"):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if named.search(line) and not line.startswith('DEFAULT_DESK = "proctor.agents"'):
                    found.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert not found, "\n".join(found)
