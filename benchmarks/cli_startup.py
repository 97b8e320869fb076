"""How fast the CLI's read commands answer: wall time of a whole process, against `python -c pass`.

    .venv/bin/python benchmarks/cli_startup.py [--quick] [--repeat N]

Each command runs as a new process, as a user or a script starts it, on a fresh data directory (no
database yet: what a fresh clone sees) and on one holding 1,000 traces. Runs are interleaved with
`python -c pass` in the same loop, so the ratio holds on a loaded machine where absolute
milliseconds do not. One warm-up run per command (it creates the databases and .pyc files) is not
counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from benchmarks.common import Figure, Report, table

COMMANDS = (
    ["--help"],
    ["--version"],
    ["approvals", "list"],
    ["traces", "search"],
    ["review", "list"],
)
PROCTOR = [sys.executable, "-c", "import sys; from proctor.cli import main; sys.exit(main(sys.argv[1:]))"]
TARGET_MS = 1000.0


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one process: CPU time is what a loaded machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3:]} failed ({done.returncode}): {done.stderr[-500:]}")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return took, cpu


def populate(data_dir: Path) -> None:
    """1,000 traces over a week, for `traces search` and `review list` to read."""
    from proctor.settings import Settings
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore
    from tests.test_tracing_store import make_trace

    store = TraceStore(TraceSettings().store_url(Settings(data_dir=data_dir)))
    for i in range(1000):
        store.save(make_trace(f"bench-{i:05d}", age=timedelta(minutes=10 * i)))


def measure(repeat: int, data_dir: Path) -> list[tuple[str, float, float, float, float]]:
    """(command, median wall ms, max wall ms, median CPU ms, wall ratio to `python -c pass`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env["PROCTOR_DATA_DIR"] = str(data_dir)
    bare = [sys.executable, "-c", "pass"]
    for command in COMMANDS:  # warm-up: migrations of a fresh data dir, .pyc files
        timed(PROCTOR + command, env)
    samples: dict[str, list[tuple[float, float]]] = {" ".join(c): [] for c in COMMANDS}
    samples["python -c pass"] = []
    for _ in range(repeat):
        for command in COMMANDS:
            samples["python -c pass"].append(timed(bare, env))
            samples[" ".join(command)].append(timed(PROCTOR + command, env))
    base = statistics.median(w for w, _ in samples["python -c pass"])
    rows = []
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        rows.append((name, wall, max(w for w, _ in runs), statistics.median(c for _, c in runs), wall / base))
    return rows


def run(quick: bool = False, repeat: int | None = None) -> Report:
    repeat = repeat or (3 if quick else 15)
    sections, figures = [], []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        fresh, used = Path(folder) / "fresh", Path(folder) / "used"
        fresh.mkdir()
        used.mkdir()
        populate(used)
        for label, data_dir in (("fresh data dir", fresh), ("1,000 traces", used)):
            rows = measure(repeat, data_dir)
            sections.append(
                f"{label}, {repeat} runs each (wall ms, median and max):\n\n"
                + table(
                    ["command", "wall ms (median)", "wall ms (max)", "CPU ms (median)", "wall x python -c pass"],
                    [(f"`proctor {n}`" if n != "python -c pass" else f"`{n}`", f"{m:.0f}", f"{x:.0f}", f"{c:.0f}",
                      f"{r:.2f}x") for n, m, x, c, r in rows],
                )  # fmt: skip
            )
            commands, bare = [r for r in rows if r[0] != "python -c pass"], rows[-1]
            slowest = max(commands, key=lambda r: r[1])
            figures.append(
                Figure(
                    "7 cli startup",
                    f"slowest read command ({label}): `proctor {slowest[0]}`",
                    f"{slowest[1]:.0f} ms wall, {slowest[3]:.0f} ms CPU, {slowest[4]:.2f}x python -c pass"
                    f" ({bare[1]:.0f} ms wall)",
                    f"< {TARGET_MS:.0f} ms",
                    "met" if slowest[1] < TARGET_MS else "missed",
                )
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = f"Load average {load} after the runs.\n\n" + "\n\n".join(sections)
    return Report("7. CLI read commands, whole-process wall time", body, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs each instead of 15")
    parser.add_argument("--repeat", type=int, help="runs of each command")
    args = parser.parse_args()
    report = run(args.quick, args.repeat)
    print(report.markdown())
    for f in report.figures:
        print(f"- {f.figure}: {f.value} (target {f.target}: {f.verdict})")


if __name__ == "__main__":
    main()
