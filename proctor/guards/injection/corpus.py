"""The public corpora, read where they lie (../shared/corpora, never copied here), plus our own sets.

Every set is a :class:`Corpus` of (family, text) pairs, marked attack or benign and train or
held-out. Train splits and our generated families are what the classifier learns from; held-out
splits, CyberSecEval (never trained on) and the desk's own data are only ever measured.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from proctor.guards.injection import handwritten, synthetic

REPO = Path(__file__).resolve().parents[3]
CORPORA = Path(os.environ.get("PROCTOR_CORPORA") or REPO.parent / "shared" / "corpora")


@dataclass(frozen=True)
class Corpus:
    name: str
    held_out: bool
    attack: bool  # attack texts should be flagged; benign texts should not
    items: list[tuple[str, str]]  # (family, text); the corpus's own family names, "benign" for benign sets


def load_corpora(root: Path = CORPORA) -> list[Corpus]:
    """Every public set, attack or benign, marked held-out unless it is a train split the scanner learns from."""
    bipia, csec = root / "bipia" / "benchmark", root / "cyberseceval_prompt_injection"
    corpora = [
        Corpus(f"bipia_{kind}_{split}", split == "test", True, _bipia_attacks(bipia / f"{kind}_attack_{split}.json"))
        for kind in ("text", "code")
        for split in ("train", "test")
    ]
    corpora += [
        Corpus("cyberseceval", True, True, _cyberseceval(csec / "prompt_injection.json")),
        Corpus("cyberseceval_multilingual", True, True,
               _cyberseceval(csec / "prompt_injection_multilingual_machine_translated.json")),
    ]  # fmt: skip
    corpora += [Corpus(f"bipia_email_{split}", split == "test", False, _jsonl(bipia / "email" / f"{split}.jsonl", "context"))
                for split in ("train", "test")]  # fmt: skip
    corpora += [Corpus(f"tau_{name}", "train" not in name, False, _jsonl(root / "tau_bench" / f"{name}.jsonl", "instruction"))
                for name in ("retail_tasks_train", "retail_tasks_dev", "retail_tasks_test", "airline_tasks_test")]  # fmt: skip
    for domain in ("retail", "airline", "mock"):
        for split, tasks in _tau2(root / "tau2_bench" / domain).items():
            corpora.append(Corpus(f"tau2_{domain}_{split}", split != "train", False, tasks))
    policies = sorted((root / "tau_bench").glob("*_wiki.md")) + sorted((root / "tau2_bench").glob("*/policy.md"))
    corpora.append(Corpus("tau_policy_paragraphs", True, False, [("benign", p) for f in policies for p in _paragraphs(f)]))
    return corpora


def own_sets(count: int = 160, seed: int = 0) -> list[Corpus]:
    """Our generated families: attacks (one corpus per family, for leave-one-family-out) and benign look-alikes."""
    attacks = [Corpus(f"own_{f}", False, True, [(f, t) for t in synthetic.generate(f, count, seed)])
               for f in synthetic.ATTACK_FAMILIES]  # fmt: skip
    benign = [Corpus(f"own_{f}", False, False, [("benign", t) for t in synthetic.generate(f, count, seed)])
              for f in synthetic.BENIGN_FAMILIES]  # fmt: skip
    written = [Corpus("own_handwritten_attacks", False, True, handwritten.PARAPHRASED_ATTACKS),
               Corpus("own_handwritten_benign", False, False, [("benign", t) for t in handwritten.HARD_BENIGN])]
    return attacks + benign + written


def _bipia_attacks(path: Path) -> list[tuple[str, str]]:
    return [(family, text) for family, texts in json.loads(path.read_text()).items() for text in texts]


def _cyberseceval(path: Path) -> list[tuple[str, str]]:
    return [(case["injection_variant"], case["user_input"]) for case in json.loads(path.read_text())]


def _jsonl(path: Path, field: str) -> list[tuple[str, str]]:
    return [("benign", json.loads(line)[field]) for line in path.read_text().splitlines() if line.strip()]


def _tau2(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """What the customer brings to the desk: the user scenario's instructions and, in mock, the ticket."""
    splits = json.loads((folder / "split_tasks.json").read_text())
    ids = {task_id: split for split in ("train", "test") for task_id in splits.get(split, [])}
    tasks: dict[str, list[tuple[str, str]]] = {}
    for task in json.loads((folder / "tasks.json").read_text()):
        instructions = task["user_scenario"]["instructions"]
        parts = [instructions] if isinstance(instructions, str) else [
            value for key, value in instructions.items() if key != "domain" and value
        ]
        text = "\n".join(parts + ([task["ticket"]] if task.get("ticket") else []))
        tasks.setdefault(ids.get(task["id"], "all"), []).append(("benign", text))
    return tasks


def _paragraphs(path: Path) -> list[str]:
    return [p.strip() for p in path.read_text().split("\n\n") if p.strip()]
