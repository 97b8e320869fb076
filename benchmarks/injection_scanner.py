"""The prompt-injection scanner measured for generalisation, not memory. Prints markdown.

1. Leave one family out: for each of our attack families, a classifier trained without it (same
   recipe as the packaged one) is measured on that family, alone and planted inside benign desk text,
   and on every held-out benign set at once (its false-positive rate).
2. The packaged scanner on every set: public corpora (train splits marked), CyberSecEval (never
   trained on) per variant and per language, held-out benign sets of other domains (tau/tau2), the
   desk's own data (KB articles, tickets, golden requests) and the hand-written sets of the tests.
3. Speed: CPU per 2 KB text, the scanner against its rules alone, in the same run (a ratio).

    .venv/bin/python benchmarks/injection_scanner.py [--quick]

Public corpora from ../shared/corpora (or PROCTOR_CORPORA); without them, own and desk sets only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the hand-written sets live with the tests

from proctor.guards.injection import scan, scan_with, synthetic  # noqa: E402
from proctor.guards.injection.corpus import CORPORA, Corpus, load_corpora, own_sets  # noqa: E402
from proctor.guards.injection.model import Classifier  # noqa: E402
from proctor.guards.injection.train import fit_rows, rows_of, training_sets  # noqa: E402
from proctor.guards.injection.views import rule_hits  # noqa: E402
from proctor.tools.seed import KB_ARTICLES, TICKETS  # noqa: E402
from tests.test_injection_scanner import FRESH_ATTACKS, FRESH_BENIGN  # noqa: E402

GOLDEN = ROOT / "evals" / "golden" / "v1.jsonl"


def desk_sets() -> list[Corpus]:
    """The desk's own data, never trained on: what the agents read, and what customers ask."""
    sets = [Corpus("desk_kb_and_tickets", True, False,
                   [("benign", f"{a.title}\n{a.body}") for a in KB_ARTICLES]
                   + [("benign", f"{subject}\n{body}") for subject, body in TICKETS])]  # fmt: skip
    if GOLDEN.exists():
        tasks = [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]
        sets.append(Corpus("desk_golden_injections", True, True,
                           [(next(t for t in task["tags"] if t != "injection"), task["input"])
                            for task in tasks if "injection" in task["tags"]]))  # fmt: skip
        sets.append(Corpus("desk_golden_requests", True, False,
                           [("benign", task["input"]) for task in tasks if "injection" not in task["tags"]]))  # fmt: skip
    return sets


def test_sets() -> list[Corpus]:
    """Written after the rule scanner was measured and never learned from (the hand-written ones it learns from
    are in own_sets)."""
    return [
        Corpus("tests_fresh_attacks", True, True, [("fresh", t) for t in FRESH_ATTACKS]),
        Corpus("tests_fresh_benign", True, False, [("benign", t) for t in FRESH_BENIGN]),
    ]


def held_out(public: list[Corpus]) -> list[Corpus]:
    return [c for c in public if c.held_out] + desk_sets() + test_sets()


def planted(texts: list[str], carriers: list[str], seed: int = 0) -> list[str]:
    """Each attack inside a benign desk text: at its start, in its middle or at its end."""
    rng = random.Random(seed)
    out = []
    for text in texts:
        carrier = rng.choice(carriers)
        cut = rng.choice([0, len(carrier) // 2, len(carrier)])
        cut = carrier.rfind(" ", 0, cut) + 1 if cut else 0
        out.append(f"{carrier[:cut]}{text} {carrier[cut:]}".strip())
    return out


def flags(model: Classifier, texts: list[str]) -> int:
    return sum(scan_with(model, text).flagged for text in texts)


def leave_one_family_out(public_root: Path) -> str:
    sets = training_sets(public_root)
    rows = rows_of(sets)
    families = np.array(rows.families)
    benign_sets = [c for c in held_out(load_corpora(public_root) if public_root.is_dir() else []) if not c.attack]
    benign = [t for c in benign_sets for _, t in c.items]
    carriers = [f"{subject}\n{body}" for subject, body in TICKETS] + [a.body for a in KB_ARTICLES]
    lines = ["| held-out family | texts | recall alone | recall planted in desk text | FPR on held-out benign |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for family in synthetic.ATTACK_FAMILIES:
        model = fit_rows(rows, keep=families != family)
        texts = synthetic.generate(family, 160, seed=1)  # a fresh draw: other slot values than training's
        alone, inside = flags(model, texts), flags(model, planted(texts, carriers))
        fp = flags(model, benign)
        lines.append(f"| {family} | {len(texts)} | {alone / len(texts):.1%} | {inside / len(texts):.1%} | "
                     f"{fp / len(benign):.2%} ({fp}/{len(benign)}) |")  # fmt: skip
    return "\n".join(lines)


def measure(corpus: Corpus) -> tuple[Counter, Counter]:
    flagged, total = Counter[str](), Counter[str]()
    for family, text in corpus.items:
        total[family] += 1
        flagged[family] += scan(text).flagged
    return flagged, total


def summary(sets: list[Corpus]) -> str:
    lines = ["| set | split | kind | texts | flagged | recall / FPR |", "|---|---|---|---:|---:|---:|"]
    details = []
    for corpus in sets:
        flagged, total = measure(corpus)
        n, f = sum(total.values()), sum(flagged.values())
        split = "held-out" if corpus.held_out else "train"
        metric = f"recall {f / n:.0%}" if corpus.attack else f"FPR {f / n:.1%}"
        lines.append(f"| {corpus.name} | {split} | {'attack' if corpus.attack else 'benign'} | {n} | {f} | {metric} |")
        if corpus.attack and corpus.held_out and len(total) > 1:
            rows = sorted(total.items(), key=lambda kv: (-flagged[kv[0]] / kv[1], kv[0]))
            details.append(f"| {corpus.name}: family | flagged / texts |\n|---|---:|\n"
                           + "\n".join(f"| {k} | {flagged[k]}/{v} |" for k, v in rows))  # fmt: skip
    return "\n".join(lines) + "\n\n" + "\n\n".join(details)


def speed(texts: list[str], repeat: int) -> str:
    """Median CPU microseconds per 2 KB text: the scanner, and its rules alone (their ratio is the figure)."""
    padded = [((t + "\n") * (2048 // (len(t) + 1) + 1))[:2048] for t in texts[:: max(1, len(texts) // 200)]]
    full, rules = [], []
    for text in padded:
        for fn, into in ((scan, full), (rule_hits, rules)):
            cpu = time.process_time()
            for _ in range(repeat):
                fn(text)
            into.append((time.process_time() - cpu) / repeat * 1e6)
    f, r = statistics.median(full), statistics.median(rules)
    return (f"per 2 KB text, median CPU: scanner {f:,.0f} µs, its rules alone {r:,.0f} µs (x{f / r:.2f}); "
            f"p90 scanner {sorted(full)[int(0.9 * len(full))]:,.0f} µs; {len(padded)} texts x {repeat}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip leave-one-family-out (it trains 7 models)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    found = CORPORA.is_dir()
    if not found:
        print(f"(public corpora not found at {CORPORA}: own and desk sets only)\n")
    public = load_corpora(CORPORA) if found else []
    if not args.quick:
        print("## Leave one family out\n\n" + leave_one_family_out(CORPORA) + "\n")
    sets = public + own_sets() + held_out([])
    if found:
        path = CORPORA / "cyberseceval_prompt_injection" / "prompt_injection_multilingual_machine_translated.json"
        sets.append(Corpus("cyberseceval_multilingual (by language)", True, True,
                           [(c["speaking_language"], c["user_input"]) for c in json.loads(path.read_text())]))  # fmt: skip
    print("## The packaged scanner on every set\n\n" + summary(sets) + "\n")
    print("## Speed\n\n" + speed([t for c in sets for _, t in c.items], args.repeat))


if __name__ == "__main__":
    main()
