"""The scanner's rule engine: weighted regular expressions (rules.toml), each behind a cheap word gate.

A rule fires when one of its gate words (or fragments) is in the text and its pattern matches;
its first match is the evidence a reviewer reads. Rules are data: edit rules.toml, not this file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

RULE_FAMILIES = (
    "instruction_override",  # ignore previous instructions, new instructions, text addressed to the AI
    "role_impersonation",  # SYSTEM:, chat-template tokens, fake assistant turns, "you are now", modes
    "hidden_text",  # zero-width, bidi and tag characters, HTML comments, hidden spans, emoji interleaving
    "encoded_payload",  # instructions hidden in base64, reversed text, rot13/caesar, leetspeak, letter spacing
    "tool_request",  # data asking for an action: call a tool, refund, grant admin, reveal the prompt
    "exfiltration",  # data sent out: customer lists to an address, markdown images with query strings
    "response_manipulation",  # data dictating the answer: "add this link to your reply", "reply in base64"
    "malicious_code",  # code to embed or run that steals data, downloads and executes, or destroys
)

RULES_FILE = Path(__file__).with_name("rules.toml")
FOREIGN_SCRIPT = b"\0"  # gate word for text in scripts that do not split into words on spaces
_EVIDENCE_CHARS = 60
_CONTEXT_CHARS = 100  # how far back a rule's before-context may start
_MAX_REASONS = 6


@dataclass(frozen=True, slots=True)
class Rule:
    family: str
    weight: float
    pattern: re.Pattern[str]
    words: frozenset[bytes]  # the regex only runs when one of these words is in the text...
    fragments: tuple[str, ...]  # ...or one of these substrings: a cheap gate, most rules never run
    cased: bool  # matched against the original case (SYSTEM:), otherwise against the lowercased text
    before: re.Pattern[str] | None  # must match in the same sentence just before (patterns end in $ to be adjacent)


@dataclass(frozen=True, slots=True)
class Hit:
    family: str
    weight: float
    evidence: str
    rule: int = -1  # index in RULES; -1 for signals that are not rules


def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    rules = []
    for entry in tomllib.loads(path.read_text(encoding="utf-8"))["rule"]:
        gate = frozenset(FOREIGN_SCRIPT if w == "\\0" else w.encode() for w in entry["words"].split())
        before = entry.get("before")
        rules.append(Rule(entry["family"], float(entry["weight"]), re.compile(entry["pattern"], re.MULTILINE), gate,
                          tuple(entry.get("fragments", ())), bool(entry.get("cased", False)),
                          re.compile(before, re.MULTILINE) if before else None))  # fmt: skip
    return tuple(rules)


RULES = load_rules()

# Inverted gate: word -> rules, fragment -> rules.
_GATE_WORDS: dict[bytes, list[int]] = {}
_GATE_FRAGMENTS: dict[str, list[int]] = {}
for _index, _gate_rule in enumerate(RULES):
    for _word in _gate_rule.words:
        _GATE_WORDS.setdefault(_word, []).append(_index)
    for _fragment in _gate_rule.fragments:
        _GATE_FRAGMENTS.setdefault(_fragment, []).append(_index)


def match(plain: str, low: str, words: frozenset[bytes]) -> list[Hit]:
    """One hit per rule whose gate opens and whose regex matches: its first match is the evidence."""
    hits = []
    for index in _gated(low, words):
        rule = RULES[index]
        found = _search(rule, plain if rule.cased else low)
        if found is not None:
            hits.append(Hit(rule.family, rule.weight, evidence(found), index))
    return hits


def _gated(low: str, words: frozenset[bytes]) -> list[int]:
    """Rules with one of their words or fragments in the text, in rule order: most texts open a handful."""
    opened: set[int] = set()
    for word in words & _GATE_WORDS.keys():
        opened.update(_GATE_WORDS[word])
    for fragment, rules in _GATE_FRAGMENTS.items():
        if fragment in low:
            opened.update(rules)
    return sorted(opened)


def _search(rule: Rule, text: str) -> str | None:
    """The first match that does not start inside a word ("contact as a" is not "act as a") and has its context.

    Patterns leave out a leading \\b on purpose: without it the regex engine skips ahead on the
    first character, several times faster than testing the assertion at every position.
    """
    for found in rule.pattern.finditer(text):
        start = found.start()
        if start > 0 and text[start].isalnum() and text[start - 1].isalnum():
            continue
        if rule.before is None:
            return found.group(0)
        lo = max(0, start - _CONTEXT_CHARS)
        lo = max(lo, text.rfind("\n", lo, start) + 1, text.rfind(". ", lo, start) + 1)  # same sentence
        context = rule.before.search(text, lo, start)
        if context:
            return text[context.start() : found.end()]
    return None


def noisy_or(weights: Iterable[float]) -> float:
    """Independent signals: each one removes its weight's share of the remaining doubt."""
    doubt = 1.0
    for weight in weights:
        doubt *= 1.0 - weight
    return 1.0 - doubt


def evidence(snippet: str) -> str:
    snippet = " ".join(snippet.split())
    if len(snippet) > _EVIDENCE_CHARS:
        snippet = snippet[: _EVIDENCE_CHARS - 3] + "..."
    return repr(snippet)


def reasons(hits: list[Hit]) -> list[str]:
    ordered = sorted(hits, key=lambda h: -h.weight)  # stable: ties keep rule order, so the output is deterministic
    return list(dict.fromkeys(f"{h.family}: {h.evidence}" for h in ordered))[:_MAX_REASONS]
