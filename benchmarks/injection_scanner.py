"""The prompt-injection scanner measured: recall per attack family, false-positive rate per benign set, speed.

Public corpora from ../shared/corpora (skipped when absent), the repository's own hand-written sets
(tests/test_injection_scanner.py) and the desk's own texts (KB articles, tickets, golden eval requests).
"train" marks what the rules were tuned on; "held-out" was only ever measured. Prints markdown.

    .venv/bin/python benchmarks/injection_scanner.py [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the corpus loaders and the hand-written sets live with the tests

from proctor.guards.injection import scan  # noqa: E402
from proctor.tools.seed import KB_ARTICLES, TICKETS  # noqa: E402
from tests.test_injection_corpora import CORPORA, Corpus, family_table, load_corpora, measure, summary_table  # noqa: E402
from tests.test_injection_scanner import FRESH_ATTACKS, FRESH_BENIGN, HARD_BENIGN, PARAPHRASED_ATTACKS  # noqa: E402

GOLDEN = ROOT / "evals" / "golden" / "v1.jsonl"


def own_sets() -> list[Corpus]:
    return [
        Corpus("own_paraphrased_attacks (tuned on)", False, True, PARAPHRASED_ATTACKS),
        Corpus("own_hard_benign (tuned on)", False, False, [("benign", t) for t in HARD_BENIGN]),
        Corpus("own_fresh_attacks (never tuned)", True, True, [("fresh", t) for t in FRESH_ATTACKS]),
        Corpus("own_fresh_benign (never tuned)", True, False, [("benign", t) for t in FRESH_BENIGN]),
    ]


def desk_sets() -> list[Corpus]:
    """The desk's own data, never tuned on: KB articles and tickets the agents read, golden eval requests."""
    sets = [Corpus("desk_kb_and_tickets", True, False,
                   [("benign", f"{title}\n{body}") for title, _, body in KB_ARTICLES]
                   + [("benign", f"{subject}\n{body}") for subject, body in TICKETS])]
    if GOLDEN.exists():
        tasks = [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]
        sets.append(Corpus("desk_golden_injections", True, True,
                           [(next(t for t in task["tags"] if t != "injection"), task["input"])
                            for task in tasks if "injection" in task["tags"]]))
        sets.append(Corpus("desk_golden_requests", True, False,
                           [("benign", task["input"]) for task in tasks if "injection" not in task["tags"]]))
    return sets


def by_language(root: Path) -> Corpus:
    path = root / "cyberseceval_prompt_injection" / "prompt_injection_multilingual_machine_translated.json"
    cases = json.loads(path.read_text())
    return Corpus("cyberseceval_multilingual (by language)", True, True,
                  [(case["speaking_language"], case["user_input"]) for case in cases])


def throughput(texts: list[str], repeat: int) -> tuple[float, float, float]:
    """Texts per second over the corpora as they are, and median / p90 CPU microseconds per 2 KB text."""
    started = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            scan(text)
    per_second = repeat * len(texts) / (time.perf_counter() - started)
    padded = [(text + "\n") * (2048 // (len(text) + 1) + 1) for text in texts[:: max(1, len(texts) // 300)]]
    timings = []
    for text in (t[:2048] for t in padded):
        cpu = time.process_time()
        for _ in range(repeat):
            scan(text)
        timings.append((time.process_time() - cpu) / repeat * 1e6)
    timings.sort()
    return per_second, statistics.median(timings), timings[int(0.9 * len(timings))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    found = CORPORA.is_dir()
    if not found:
        print(f"(public corpora not found at {CORPORA}: own and desk sets only)\n")
    sets = (load_corpora(CORPORA) if found else []) + own_sets() + desk_sets()
    results = [measure(corpus) for corpus in sets]
    print("## Summary\n\n" + summary_table(results))
    print("\n## Recall per attack family")
    for r in results + ([measure(by_language(CORPORA))] if found else []):
        if r.corpus.attack:
            print("\n" + family_table(r))
    texts = [text for corpus in sets for _, text in corpus.items]
    per_second, median_us, p90_us = throughput(texts, args.repeat)
    print(f"\n## Speed\n\n{per_second:,.0f} texts/s over {len(texts)} corpus texts (mean {sum(map(len, texts)) / len(texts):,.0f}"
          f" chars); per 2 KB text: median {median_us:,.0f} µs, p90 {p90_us:,.0f} µs CPU")


if __name__ == "__main__":
    main()
