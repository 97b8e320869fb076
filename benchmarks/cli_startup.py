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


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3:]} failed ({done.returncode}): {done.stderr[-500:]}")
    return took


def populate(data_dir: Path) -> None:
    """1,000 traces over a week, for `traces search` and `review list` to read."""
    from proctor.settings import Settings
    from proctor.tracing.settings import TraceSettings
    from proctor.tracing.store import TraceStore
    from tests.test_tracing_store import make_trace

    store = TraceStore(TraceSettings().store_url(Settings(data_dir=data_dir)))
    for i in range(1000):
        store.save(make_trace(f"bench-{i:05d}", age=timedelta(minutes=10 * i)))


def measure(repeat: int, data_dir: Path) -> list[tuple[str, float, float, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env["PROCTOR_DATA_DIR"] = str(data_dir)
    bare = [sys.executable, "-c", "pass"]
    for command in COMMANDS:  # warm-up: migrations of a fresh data dir, .pyc files
        wall_ms(PROCTOR + command, env)
    samples: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    baseline: list[float] = []
    for _ in range(repeat):
        for command in COMMANDS:
            baseline.append(wall_ms(bare, env))
            samples[" ".join(command)].append(wall_ms(PROCTOR + command, env))
    base = statistics.median(baseline)
    return [(name, statistics.median(ms), max(ms), statistics.median(ms) / base) for name, ms in samples.items()] + [
        ("python -c pass", base, max(baseline), 1.0)
    ]


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
                    ["command", "median ms", "max ms", "x python -c pass"],
                    [(f"`proctor {n}`" if n != "python -c pass" else f"`{n}`", f"{m:.0f}", f"{x:.0f}", f"{r:.2f}x")
                     for n, m, x, r in rows],
                )  # fmt: skip
            )
            slowest = max(rows[:-1], key=lambda r: r[1])
            figures.append(
                Figure(
                    "7 cli startup",
                    f"slowest read command ({label}): `proctor {slowest[0]}`",
                    f"{slowest[1]:.0f} ms, {slowest[3]:.2f}x python -c pass ({rows[-1][1]:.0f} ms)",
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
