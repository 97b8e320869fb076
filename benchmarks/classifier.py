"""The front door's route decision: latency per request against trivial baselines, and routing accuracy.

Latency: every request of the desk's ``routes.jsonl`` and the golden eval set, each decided alone, in
turn by ``split_parts`` (the multi-part regex rule alone: the floor of any front door), the bare
stack's keyword router (benchmarks/full_path.py), ``FastClassifier.classify`` and ``FrontDoor.decide``
(rule, then classifier). Wall microseconds per call (median, p90, p99: they include whatever else
the machine runs) and mean CPU per call; the ratios to ``split_parts`` (CPU) are measured in the same run.

Accuracy: held-out accuracy as the README states it (``split_holdout``: 20% of the examples,
stratified, the classifier trained on the rest), per route; and the front door as shipped
(trained on every example, the multi-part rule included) on the golden eval tasks, minus the
few whose text is also a training example.

    .venv/bin/python benchmarks/classifier.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, `benchmarks.*` still imports

from proctor.evals.golden import load_golden
from proctor.graphs.classifier import (
    FastClassifier,
    evaluate,
    load_examples,
    split_holdout,
    split_parts,
)
from proctor.graphs.classifier import ESCALATE
from proctor.graphs.front_door import CLARIFY, FrontDoor

from benchmarks.common import Figure, Report, median, table
from benchmarks.full_path import keyword_route
from proctor.deployment import Deployment
from proctor.desk import load_desk
from proctor.settings import Settings


def front_door(classifier: FastClassifier) -> FrontDoor:
    """The shipped routes and threshold, no LLM tier (offline: the fast tier always decides)."""
    settings = Settings()
    specs = Deployment(settings).specs
    routes = {s.name: s.description for s in specs} | {ESCALATE: "", CLARIFY: ""}
    return FrontDoor(routes, classifier=classifier, threshold=settings.classifier_threshold)


def latencies(decide: Callable[[str], object], texts: Sequence[str], repeat: int) -> tuple[list[float], float]:
    """Wall µs of each call, and mean CPU µs per call."""
    wall: list[float] = []
    cpu = time.process_time()
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            decide(text)
            wall.append((time.perf_counter() - start) * 1e6)
    return wall, (time.process_time() - cpu) / (repeat * len(texts)) * 1e6


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def latency_table(texts: list[str], repeat: int) -> tuple[str, float, float]:
    """The table, ``FrontDoor.decide``'s mean CPU ms per request and its ratio to ``split_parts``."""
    shipped = Deployment(Settings()).classifier
    door = front_door(shipped)
    candidates: dict[str, Callable[[str], object]] = {
        "`split_parts` (multi-part rule alone)": split_parts,
        "keyword router (the bare stack's)": keyword_route,
        "`FastClassifier.classify`": shipped.classify,
        "`FrontDoor.decide` (rule, then classifier)": door.decide,
    }
    for decide in candidates.values():  # warm up
        for text in texts[:20]:
            decide(text)
    measured = {name: latencies(decide, texts, repeat) for name, decide in candidates.items()}
    floor = measured["`split_parts` (multi-part rule alone)"][1]
    rows = [
        [name, f"{statistics.median(wall):,.1f}", f"{percentile(wall, 90):,.1f}", f"{percentile(wall, 99):,.1f}",
         f"{cpu:,.1f}", f"{cpu / floor:,.3g}x"]
        for name, (wall, cpu) in measured.items()
    ]  # fmt: skip
    decide_cpu_ms = measured["`FrontDoor.decide` (rule, then classifier)"][1] / 1000
    headers = ["decision", "median µs (wall)", "p90 µs", "p99 µs", "mean CPU µs", "CPU / split_parts"]
    return table(headers, rows), decide_cpu_ms, decide_cpu_ms * 1000 / floor


def holdout_accuracy() -> tuple[float, str, int]:
    train, holdout = split_holdout(load_examples(load_desk(Settings().desk).require("routes")))
    classifier = FastClassifier.from_examples(train)
    overall = evaluate(classifier, holdout)
    by_route: dict[str, list[bool]] = {}
    for example in holdout:
        by_route.setdefault(example.route, []).append(classifier.classify(example.text).route == example.route)
    rows = [[route, len(hits), f"{sum(hits) / len(hits):.2f}"] for route, hits in sorted(by_route.items())]
    rows.append(["**all**", len(holdout), f"**{overall:.2f}**"])
    return overall, table(["route", "held-out examples", "accuracy"], rows), len(train)


def golden_accuracy() -> tuple[float, str, int]:
    door = front_door(Deployment(Settings()).classifier)
    trained_on = {e.text.strip().lower() for e in load_examples(load_desk(Settings().desk).require("routes"))}
    tasks = [t for t in load_golden().tasks if t.input.strip().lower() not in trained_on]
    hits: dict[str, list[bool]] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    for task in tasks:
        route = door.decide(task.input).route
        hits.setdefault(task.expected_route, []).append(route == task.expected_route)
        if route != task.expected_route:
            confusions[(task.expected_route, route)] += 1
    overall = sum(sum(h) for h in hits.values()) / len(tasks)
    rows = [[route, len(h), f"{sum(h) / len(h):.2f}"] for route, h in sorted(hits.items())]
    rows.append(["**all**", len(tasks), f"**{overall:.2f}**"])
    mistakes = ", ".join(f"{want} -> {got} ({n})" for (want, got), n in confusions.most_common(6))
    return overall, table(["expected route", "golden tasks", "accuracy"], rows) + f"\n\nMost frequent mistakes: {mistakes or 'none'}.", len(tasks)


def run(quick: bool = False) -> Report:
    examples = [e.text for e in load_examples(load_desk(Settings().desk).require("routes"))]
    golden = [t.input for t in load_golden().tasks]
    texts = examples + golden
    repeat = 1 if quick else 5
    Deployment(Settings()).classifier  # noqa: B018  # trained before any clock starts
    latency, decide_ms, ratio = latency_table(texts, repeat)
    holdout, holdout_rows, trained = holdout_accuracy()
    golden_acc, golden_rows, n_golden = golden_accuracy()
    body = "\n".join([
        (f"Latency per request over {len(texts)} texts ({len(examples)} labelled examples and {len(golden)} golden "
        f"requests, mean {median(len(t) for t in texts):.0f} characters), each decided alone, {repeat} pass(es):\n"),
        latency,
        f"\nHeld-out accuracy (`split_holdout`, trained on {trained} examples):\n",
        holdout_rows,
        ("\nThe front door as shipped (`FrontDoor.decide`, trained on every example) on the golden eval tasks "
        "whose text is not a training example:\n"),
        golden_rows,
    ])  # fmt: skip
    figures = [
        Figure("3 front door", "route decision CPU per request (`FrontDoor.decide`, mean)", f"{decide_ms:.2f} ms ({ratio:,.0f}x split_parts)"),
        Figure("3 front door", "held-out routing accuracy", f"{holdout:.2f}"),
        Figure("3 front door", f"routing accuracy on {n_golden} golden tasks (multi-part rule included)", f"{golden_acc:.2f}"),
    ]
    return Report("3. Front-door classifier: latency and routing accuracy", body, figures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pass over the texts")
    print(run(parser.parse_args(argv).quick).markdown())


if __name__ == "__main__":
    main()
