"""What the classifier sees of a text: hashed character and word n-grams, per window.

Deterministic and fast without a tokenizer or a Python loop over characters: the lowercased text's
UTF-8 bytes get a polynomial prefix hash (numpy, arithmetic modulo 2**64), from which every
character 3-, 4- and 5-gram, every word (a run of letters and digits, or of symbols like ``<|``)
and every pair of adjacent words gets its hash in one vector operation. Each hash is a slot in a
weight table of ``2**BITS``. A text is cut into overlapping windows of a few sentences, so that one
injected sentence inside a long benign article is scored on its own instead of being diluted; a
window's features are the n-grams that start in it, and prefix sums give every window's weight at once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from dataclasses import dataclass

import numpy as np

BITS = 20
CHAR_NS = (3, 4, 5)
WINDOW_CHARS = 320  # about two or three sentences: an instruction rarely needs more
KINDS = len(CHAR_NS) + 2  # character n-grams, words, word pairs
_MASK = np.uint64((1 << BITS) - 1)
_P = np.uint64(1_000_003)
_P_INVERSE = np.uint64(pow(1_000_003, -1, 1 << 64))
_SALTS = np.array([(0x9E3779B97F4A7C15 * (k + 1)) % (1 << 64) for k in range(KINDS)], dtype=np.uint64)
_SENTENCE_END = re.compile(r"[.!?:;]\s+|\n+")  # no lookbehind: the engine then skips to candidates
# Byte classes: 1 = part of a word (ASCII letters and digits, any non-ASCII byte), 2 = part of a symbol run.
_CLASS = np.zeros(256, dtype=np.int8)
_CLASS[[*range(48, 58), *range(97, 123), *range(65, 91), *range(128, 256)]] = 1
_CLASS[[ord(c) for c in "<>|[]{}#$@/\\"]] = 2


@dataclass(frozen=True, slots=True)
class Grams:
    """A text's n-grams, per kind: the byte offset each starts at (sorted) and its weight-table slot."""

    starts: list[np.ndarray]
    slots: list[np.ndarray]
    to_byte: np.ndarray | None  # char offset -> byte offset; None when the text is ASCII (the same)


def windows(text: str) -> list[tuple[int, int]]:
    """Sentence-aligned windows of at most WINDOW_CHARS, starting at every sentence and every half window."""
    size = len(text)
    if size <= WINDOW_CHARS:
        return [(0, size)]
    bounds = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), size]
    spans = set()
    for start in sorted({*bounds[:-1], *range(0, size, WINDOW_CHARS // 2)} - {size}):
        end = min(start + WINDOW_CHARS, size)
        cut = bounds[bisect_right(bounds, end) - 1]  # the last sentence end that fits
        spans.add((start, cut if cut - start >= WINDOW_CHARS // 2 else end))
    return sorted(spans)


def grams(text: str) -> Grams:
    low = text.lower()
    low = low if len(low) == len(text) else text  # a few characters change length when lowered: keep offsets
    data = np.frombuffer(low.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    to_byte = None if len(data) == len(low) else np.append(np.flatnonzero((data & 0xC0) != 0x80), len(data))
    size = len(data)
    powers, inverse = _powers(size)
    prefix = np.zeros(size + 1, dtype=np.uint64)
    prefix[1:] = np.cumsum(data.astype(np.uint64) * inverse[:size], dtype=np.uint64) * powers[1 : size + 1]

    def span_hash(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # sum of data[j] * P**(b - j), modulo 2**64
        return prefix[b] - prefix[a] * powers[b - a]

    starts, hashes = [], []
    for n in CHAR_NS:
        starts.append(_POSITIONS[: max(0, size - n + 1)] if size <= len(_POSITIONS) else np.arange(max(0, size - n + 1)))
        hashes.append(prefix[n:] - prefix[:-n] * powers[n])  # span_hash(at, at + n), by slices
    cls = _CLASS[data]
    edge = np.flatnonzero(np.diff(np.concatenate([[0], cls, [0]])) != 0)  # where the byte class changes
    first, last = edge[:-1], edge[1:]
    keep = cls[first[first < size]] != 0
    first, last = first[: len(keep)][keep], last[: len(keep)][keep]
    words = span_hash(first, last)
    starts += [first, first[:-1]]
    hashes += [words, words[:-1] * _P + words[1:]]
    sizes = [len(h) for h in hashes]  # every kind mixed in one pass: a short text costs a few numpy calls, not 25
    mixed = _slot(np.concatenate(hashes), np.repeat(_SALTS, sizes))
    ends = list(accumulate(sizes))
    slots = [mixed[end - n : end] for n, end in zip(sizes, ends)]
    return Grams(starts, slots, to_byte)


_POSITIONS = np.arange(1 << 16, dtype=np.int64)
_POWERS = np.cumprod(np.concatenate([[np.uint64(1)], np.full(1 << 16, _P, dtype=np.uint64)]), dtype=np.uint64)
_INVERSES = np.cumprod(np.concatenate([[np.uint64(1)], np.full(1 << 16, _P_INVERSE, dtype=np.uint64)]), dtype=np.uint64)


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**64 for i up to size: precomputed for texts up to 64 KiB."""
    if size < len(_POWERS):
        return _POWERS, _INVERSES
    full = np.concatenate([[np.uint64(1)], np.full(size, _P, dtype=np.uint64)])
    inverse = np.concatenate([[np.uint64(1)], np.full(size, _P_INVERSE, dtype=np.uint64)])
    return np.cumprod(full, dtype=np.uint64), np.cumprod(inverse, dtype=np.uint64)


def _slot(hashes: np.ndarray, salts: np.ndarray) -> np.ndarray:
    h = hashes ^ salts
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return (h & _MASK).astype(np.int64)


def _ranges(g: Grams, spans: list[tuple[int, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per kind, each window's [lo, hi) index range: the n-grams that start inside the window (and, for
    character n-grams, end inside it too)."""
    a = np.array([s for s, _ in spans], dtype=np.int64)
    b = np.array([e for _, e in spans], dtype=np.int64)
    if g.to_byte is not None:
        a, b = g.to_byte[a], g.to_byte[b]
    limits = [b - n + 1 for n in CHAR_NS] + [b, b]
    return [(np.searchsorted(s, a), np.searchsorted(s, np.maximum(a, hi))) for s, hi in zip(g.starts, limits)]


def window_slots(text: str, spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """Each window's slots, repeats kept: the training matrix's rows."""
    g = grams(text)
    ranges = _ranges(g, spans)
    return [np.concatenate([s[lo[i] : hi[i]] for s, (lo, hi) in zip(g.slots, ranges)]) for i in range(len(spans))]


def window_sums(text: str, spans: list[tuple[int, int]], table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum of slot weights, number of n-grams) of every window, by prefix sums over the byte positions."""
    g = grams(text)
    if len(spans) == 1 and spans[0] == (0, len(text)):  # a short text is one window: every n-gram is in it
        return (np.array([sum(float(table[slots].sum(dtype=np.float64)) for slots in g.slots)]),
                np.array([float(sum(len(slots) for slots in g.slots))]))  # fmt: skip
    a = np.array([s for s, _ in spans], dtype=np.int64)
    b = np.array([e for _, e in spans], dtype=np.int64)
    if g.to_byte is not None:
        a, b = g.to_byte[a], g.to_byte[b]
    total = np.zeros(len(spans))
    count = np.zeros(len(spans))
    for n, slots in zip(CHAR_NS, g.slots):  # one n-gram at every position: its index is its start
        prefix = np.concatenate([[0.0], np.cumsum(table[slots], dtype=np.float64)])
        lo, hi = np.minimum(a, len(slots)), np.minimum(np.maximum(a, b - n + 1), len(slots))
        total += prefix[hi] - prefix[lo]
        count += hi - lo
    length = int(b.max()) + 1  # a prefix at every offset up to the last window's end
    for starts, slots in zip(g.starts[len(CHAR_NS) :], g.slots[len(CHAR_NS) :]):  # words: sparse starts
        prefix = np.concatenate([[0.0], np.cumsum(np.bincount(starts, table[slots], minlength=length))])
        counts = np.concatenate([[0], np.cumsum(np.bincount(starts, minlength=length))])
        total += prefix[b] - prefix[a]
        count += counts[b] - counts[a]
    return total, count
