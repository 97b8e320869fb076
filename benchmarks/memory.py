"""Memory over many runs: does ``Proctor.run`` stay flat where LangGraph's InMemorySaver grows?

Each workload runs in a fresh interpreter of its own (the three at once: memory is not a timing
figure), on its own copy of the seeded desk, with the offline model, a new thread and a new user
per run (the per-user daily quota would refuse runs otherwise), the three requests of
benchmarks/full_path.py in turn. After a warm-up, every ``--every`` runs it collects garbage and
samples the resident set size (/proc/self/statm) and the Python heap (``sys.getallocatedblocks``).

- proctor: ``Proctor.run`` as shipped (SQLite checkpointer, trace store, every guard);
- bare + InMemorySaver: the bare router + ``create_agent`` graph of full_path.py, the baseline
  that never frees a checkpoint;
- bare + SqliteSaver: the same graph on a checkpoint file.

Growth per 1,000 runs is compared between the first and the second half; flat means at most
1 MB per 1,000 runs (1 KB per run) in the second half.

    .venv/bin/python benchmarks/memory.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from benchmarks.common import Figure, Report, offline_langsmith, rss_mb, table, verdict

FLAT_MB_PER_1000 = 1.0
WARMUP = 30
WORKLOADS = {
    "proctor": "`Proctor.run` as shipped (SQLite checkpointer, trace store, guards), offline model",
    "bare-inmemory": "bare router + `create_agent` graph, InMemorySaver, offline model (baseline)",
    "bare-sqlite": "bare router + `create_agent` graph, SqliteSaver, offline model",
}


# --- the worker (a child process) -----------------------------------------------------------


def runner(workload: str, root: Path) -> Any:
    """A function running request number i of the workload."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from proctor.evals.desks import DeskCopies

    from benchmarks.full_path import REQUESTS, build_bare_graph, sqlite_saver
    from proctor.deployment import Deployment
    from proctor.offline import OfflineChatModel
    from proctor.runner import Proctor
    from proctor.settings import Settings

    settings = DeskCopies(root, Settings(), seed=7).fresh(workload)
    if workload == "proctor":
        desk = Proctor(settings)
        return lambda i: desk.run(REQUESTS[i % len(REQUESTS)].text, user_id=f"memory-{i}")
    deployment = Deployment(settings)
    saver = InMemorySaver() if workload == "bare-inmemory" else sqlite_saver(settings.data_dir / "checkpoints.sqlite")
    graph = build_bare_graph(OfflineChatModel(), deployment.tools, deployment.specs, saver)
    return lambda i: graph.invoke(
        {"messages": [HumanMessage(REQUESTS[i % len(REQUESTS)].text)]},
        {"configurable": {"thread_id": str(uuid.uuid4())}, "metadata": {"user_id": f"memory-{i}"}},
    )


def sample(runs: int, started: float) -> dict[str, float]:
    gc.collect()
    return {"runs": runs, "rss_mb": rss_mb(), "blocks": sys.getallocatedblocks(), "seconds": time.perf_counter() - started}


def worker(workload: str, runs: int, every: int) -> None:
    """Print one JSON sample per line: after the warm-up, then every ``every`` runs."""
    offline_langsmith()
    with tempfile.TemporaryDirectory(prefix=f"bench-memory-{workload}-") as root:
        run = runner(workload, Path(root))
        for i in range(WARMUP):
            run(-1 - i)
        started = time.perf_counter()
        print(json.dumps(sample(0, started)), flush=True)
        for i in range(1, runs + 1):
            run(i)
            if i % every == 0:
                print(json.dumps(sample(i, started)), flush=True)


# --- the parent -----------------------------------------------------------------------------


def start(workload: str, runs: int, every: int) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--worker", workload, "--runs", str(runs), "--every", str(every)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def collect(process: subprocess.Popen[str], workload: str) -> list[dict[str, float]]:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"memory: the {workload} worker failed with code {process.returncode}")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def growth(samples: list[dict[str, float]], key: str) -> tuple[float, float]:
    """Growth per 1,000 runs in the first and in the second half of the samples."""
    first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]
    def per(a: dict, b: dict) -> float:
        return (b[key] - a[key]) / (b["runs"] - a["runs"]) * 1000

    return per(first, middle), per(middle, last)


def run(quick: bool = False, runs: int | None = None) -> Report:
    runs = runs or (1_000 if quick else 10_000)
    every = max(1, runs // 10)
    processes = {w: start(w, runs, every) for w in WORKLOADS}
    samples = {w: collect(p, w) for w, p in processes.items()}
    rows, curve = [], []
    for workload, points in samples.items():
        mb_first, mb_second = growth(points, "rss_mb")
        blocks_first, blocks_second = growth(points, "blocks")
        ms_per_run = points[-1]["seconds"] / runs * 1000
        rows.append([WORKLOADS[workload], f"{points[0]['rss_mb']:.0f}", f"{points[-1]['rss_mb']:.0f}",
                     f"{mb_first:+.2f}", f"{mb_second:+.2f}", f"{blocks_first:+,.0f}", f"{blocks_second:+,.0f}",
                     f"{ms_per_run:.0f}"])  # fmt: skip
        curve.append([workload, *(f"{p['rss_mb']:.0f}" for p in points)])
    proctor_second = growth(samples["proctor"], "rss_mb")[1]
    baseline_second = growth(samples["bare-inmemory"], "rss_mb")[1]
    body = "\n".join([
        (f"{runs:,} runs per workload after {WARMUP} warm-up runs, sampled every {every:,} runs after a garbage "
        "collection. The three workloads run at once, so ms per run is indicative only.\n"),
        table(["workload", "RSS MB at start", f"RSS MB after {runs:,}", "MB / 1,000 runs, 1st half",
               "MB / 1,000 runs, 2nd half", "Python blocks / 1,000 runs, 1st half", "Python blocks / 1,000 runs, 2nd half",
               "wall ms / run"], rows),
        "\nRSS (MB) at each sample, from the warm-up on:\n",
        table(["workload", *(f"{int(p['runs']):,}" for p in samples["proctor"])], curve),
        (f"\nTarget: flat, at most {FLAT_MB_PER_1000:g} MB per 1,000 runs in the second half: proctor "
        f"**{proctor_second:+.2f} MB, {verdict(proctor_second, FLAT_MB_PER_1000)}** "
        f"(InMemorySaver baseline {baseline_second:+.2f} MB)."),
    ])  # fmt: skip
    figures = [
        Figure("6 memory", f"proctor RSS growth per 1,000 runs, 2nd half of {runs:,}", f"{proctor_second:+.2f} MB",
               f"<= {FLAT_MB_PER_1000:g} MB", verdict(proctor_second, FLAT_MB_PER_1000)),
        Figure("6 memory", "bare stack + InMemorySaver, same (baseline)", f"{baseline_second:+.2f} MB"),
    ]  # fmt: skip
    return Report(f"6. Memory over {runs:,} runs", body, figures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs per workload")
    parser.add_argument("--runs", type=int, help="runs per workload (default 10,000)")
    parser.add_argument("--worker", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--every", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.runs, args.every)
    else:
        print(run(args.quick, args.runs).markdown())


if __name__ == "__main__":
    main()
