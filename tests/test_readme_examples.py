"""Every example in README.md runs as written, so a README change that breaks one fails CI.

``python`` and ``bash`` blocks are examples: each ``python`` block runs in a fresh directory (the
SDK one against a real dev server started with the README's own ``langgraph dev`` environment),
and each command of a ``bash`` block runs against a temporary data directory, unless it is one of
the kinds listed in ``NOT_RUN`` (setup, the suite itself, benchmarks, configuration naming an
outside endpoint). Unlabelled blocks are synopses (``proctor approvals show ID [--json]``): each
command and option they name must exist in ``proctor … --help``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from proctor.cli import main
from tests.servers import REPO, start_dev_server

README = REPO / "README.md"
BIN = Path(sys.executable).parent

# A command of a bash block that starts like this is not run here, for the reason given.
NOT_RUN = {
    "python3 -m venv": "setup: the environment this suite runs in",
    ".venv/bin/pip install": "setup: the environment this suite runs in",
    "scripts/test": "the test suite itself",
    "scripts/local-llm": "downloads and serves a real model (minutes): tests/test_real_model.py does it",
    ".venv/bin/python benchmarks/": "a benchmark, not a test (minutes long)",
    ".venv/bin/python -m benchmarks.": "a benchmark, not a test (minutes long)",
    "export PROCTOR_MODEL=": "configuration naming an outside model endpoint",
    "export PROCTOR_DATABASE_URL=": "configuration naming a Postgres server",
    "export PROCTOR_TRACE_URL=": "configuration naming a Postgres server",
    "export PROCTOR_CHECKPOINT_URL=": "configuration naming a Postgres server",
}
# What each python block must print (by the heading it is under), beyond running without error.
PRINTS = {
    "Embedded use": ["billing", "Refunded", "KB-001"],
    "Serve it": ["refund_invoice", "Refunded $129.00"],
}


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    heading: str
    line: int

    def __str__(self) -> str:
        return f"README.md line {self.line} ({self.heading})"


OPENER = re.compile(r"^(`{3,})([^`]*)$")  # CommonMark: a backtick fence's info string has no backtick


def blocks(text: str) -> list[Block]:
    found, heading, fence = [], "", None
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif opener := OPENER.match(line):
                fence = (opener[1], opener[2].strip(), number, [])
        elif re.fullmatch(rf"{fence[0]}`*\s*", line):
            found.append(Block(fence[1], "\n".join(fence[3]), heading, fence[2]))
            fence = None
        else:
            fence[3].append(line)
    return found


def commands(block: Block) -> list[str]:
    """The block's commands: lines joined by ``\\``, split at ``&&``, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines()]
    return [part.strip() for line in lines if line and not line.startswith("#") for part in line.split("&&")]


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCTOR_", "OPENAI_", "LANGSMITH_API"))}
    return {**env, "PROCTOR_DATA_DIR": str(data_dir), "LANGSMITH_TRACING": "false", "PATH": f"{BIN}:{env['PATH']}"}


ALL = blocks(README.read_text(encoding="utf-8"))
PYTHON = [b for b in ALL if b.lang == "python"]
BASH = [b for b in ALL if b.lang == "bash"]
SYNOPSES = [b for b in ALL if b.lang == ""]


def test_the_readme_has_the_examples_this_module_knows():
    assert len(PYTHON) >= 3 and len(BASH) >= 5 and len(SYNOPSES) >= 5
    assert set(PRINTS) <= {b.heading for b in PYTHON}


def run_python(block: Block, cwd: Path, env: dict[str, str], code: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code or block.text], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{block} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    for expected in PRINTS.get(block.heading, []):
        assert expected in done.stdout, f"{block} did not print {expected!r}:\n{done.stdout[-2000:]}"
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in PYTHON if b.heading != "Serve it"], ids=str)
def test_python_examples_run_as_written(block, tmp_path):
    run_python(block, tmp_path, clean_env(tmp_path / ".proctor"))


@pytest.mark.slow
@pytest.mark.parametrize("block", BASH, ids=str)
def test_bash_examples_run_as_written(block, tmp_path):
    for command in commands(block):
        if any(command.startswith(prefix) for prefix in NOT_RUN) or dev_server(command):
            continue
        words = shlex.split(command)
        assert words[0] in ("proctor", ".venv/bin/proctor"), (
            f"{block}: `{command}` is neither run here nor in NOT_RUN: run it or say why not"
        )
        done = subprocess.run(
            [str(BIN / "proctor"), *words[1:]], cwd=tmp_path, env=clean_env(tmp_path / "data"),
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"{block}: `{command}` exited {done.returncode}:\n{done.stderr[-3000:]}"


def dev_server(command: str) -> tuple[dict[str, str], list[str]] | None:
    """(environment, options) of a `VAR=value … langgraph dev OPTIONS` command, else None."""
    words = shlex.split(command)
    at = next((i for i, w in enumerate(words) if w.endswith("langgraph") and words[i + 1 : i + 2] == ["dev"]), None)
    if at is None or not all("=" in w for w in words[:at]):
        return None
    return dict(w.split("=", 1) for w in words[:at]), words[at + 2 :]


def serve_it() -> tuple[dict[str, str], list[str]]:
    """The environment and options of the README's `langgraph dev` command (it runs in the SDK test)."""
    [found] = [found for b in BASH for c in commands(b) if (found := dev_server(c))]
    return found


@pytest.mark.server
@pytest.mark.slow
def test_the_sdk_example_runs_against_the_dev_server_the_readme_starts(tmp_path):
    env, options = serve_it()
    assert {"LANGGRAPH_CLI_NO_ANALYTICS", "LANGGRAPH_NO_VERSION_CHECK", "PROCTOR_API_TOKENS"} <= set(env)
    assert options[:1] == ["--no-browser"] and set(options) <= {"--no-browser", "--host", "127.0.0.1", "--port", "2024"}
    [block] = [b for b in PYTHON if b.heading == "Serve it"]
    assert 'URL = "http://127.0.0.1:2024"' in block.text
    server = start_dev_server(tmp_path / "server", env=env)  # on a free port: the fixture's one change
    try:
        code = block.text.replace("http://127.0.0.1:2024", server.url)
        run_python(block, tmp_path, clean_env(tmp_path / "client"), code)
    finally:
        server.stop()


def help_of(words: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0, words
    return capsys.readouterr().out


def test_synopses_name_real_commands_and_options(capsys):
    checked = 0
    for block in SYNOPSES:
        for command in commands(block):
            if not command.startswith("proctor "):
                continue
            words = command.split()[1:]
            path = []
            for word in words:  # the subcommand words: lowercase, before any option or placeholder
                if not re.fullmatch(r"[a-z][a-z-]*(?:\|[a-z][a-z-]*)*", word) or "|" in (path[-1] if path else ""):
                    break
                path.append(word)
            for alternative in path[-1].split("|") if path else [""]:
                text = help_of([*path[:-1], alternative] if alternative else path, capsys)
                for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", command):
                    assert option in text, f"{block}: `{command}`: {option} is not an option of proctor {' '.join(path)}"
                checked += 1
    assert checked >= 20
