"""The views an attacker hides instructions in, undone before the rules run over them.

NFKC folding, invisible characters, Latin lookalikes; emoji interleaving, letter spacing and
leetspeak; reversed, rot13, caesar, base64 and Unicode-tag text; HTML comments and CSS-hidden
markup; zero-width and bidi characters as signals of their own. :func:`rule_hits` is every rule
hit over every view of a text, each reported once.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
import unicodedata
from collections.abc import Iterable

from proctor.guards.injection.rules import FOREIGN_SCRIPT, Hit, evidence, match, noisy_or

# Characters that render as nothing: stripped before matching, and a signal of their own.
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DIRECTION_MARKS = frozenset("\u200e\u200f")  # legitimate in Hebrew and Arabic text: stripped, never a signal
_INVISIBLE_CHARS = _ZERO_WIDTH | _BIDI | _DIRECTION_MARKS
_INVISIBLE = re.compile("[" + "".join(sorted(_INVISIBLE_CHARS)) + "]")
_ZERO_WIDTH_RUN = re.compile("[" + "".join(sorted(_ZERO_WIDTH)) + "]+")
# Unicode ranges, checked against the handful of distinct non-ASCII characters of a text.
_TAGS = (("\U000e0020", "\U000e007e"),)  # invisible twins of ASCII
_GREEK_CYRILLIC = (("\u0370", "\u04ff"),)
_EMOJI_RANGES = (("\U0001f000", "\U0001faff"), ("\u2600", "\u27bf"), ("\u2b00", "\u2bff"))
FOREIGN_SCRIPTS = (("\u0600", "\u06ff"), ("\u0900", "\u09ff"), ("\u3040", "\u30ff"), ("\u3400", "\u9fff"), ("\uac00", "\ud7af"))
_TAG_CHARS = re.compile("[\U000e0020-\U000e007e]+")
# Latin lookalikes from Cyrillic and Greek that NFKC leaves alone.
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁɡһӏԛԝАВЕКМНОРСТХУІЅЈαβεηικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdghlqwABEKMHOPCTXYISJabenikvoptuxABEHIKMNOPTYX",
)
_MIXED_SCRIPT = re.compile(r"[a-zA-Z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][a-zA-Z]")
_LEET_BYTES = bytes.maketrans(b"013457@$|!", b"oieastasii")
_ORDINAL = re.compile(rb"\d+(?:st|nd|rd|th)")
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u2b00-\u2bff"
_EMOJI_INTERLEAVED = re.compile(f"(?:[a-z][{_EMOJI}]+){{3,}}[a-z]")
_EMOJI_DELETE = re.compile(f"[{_EMOJI}]")
_LETTER_SPACED = re.compile(r"(?<!\w)(?:[a-z][ .\-_*·]){2,}[a-z](?!\w)")
_SPACERS = re.compile(r"[ .\-_*·]")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HIDDEN_SEGMENT = re.compile(
    r"<[a-z]+[^>]{0,200}style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0"
    r"|color\s*:\s*(?:#fff(?:fff)?\b|white))[^\"']*[\"'][^>]*>(.{1,2000}?)</"
    r"|^\s*\[(?://|comment)\]:\s*(?:#|<>)\s*\((.{1,2000}?)\)\s*$",
    re.DOTALL | re.MULTILINE | re.IGNORECASE,
)
_HIDDEN_MARKERS = ("<!--", "style", "[//]", "[comment]")
# Punctuation becomes space so that words split cleanly; "_" stays, snake_case names are words.
_PUNCTUATION = string.punctuation.replace("_", "").encode()
_TO_SPACE = bytes.maketrans(_PUNCTUATION, b" " * len(_PUNCTUATION))
_ROT13 = bytes.maketrans(string.ascii_lowercase.encode(), (string.ascii_lowercase[13:] + string.ascii_lowercase[:13]).encode())
# Frequent English words: decides whether a caesar shift turned gibberish back into English.
_ENGLISH = frozenset(
    b"the you your and to of all is are a in this that it for with now ignore previous instructions please be not any"
    b" send".split()
)
_CAESAR_SAMPLE = 800  # characters: enough words to recognise English, cheap to shift 24 times

_DECODED_MIN_SCORE = 0.4  # a decoded view must itself read like an instruction: decoding noise does not
_DECODED_WEIGHT = 0.85  # instructions nobody can read at a glance are a strong signal


def _unusual(text: str) -> frozenset[str]:
    """The distinct non-ASCII characters: one pass, then every Unicode check looks at a handful of characters."""
    return frozenset() if text.isascii() else frozenset(c for c in set(text) if not c.isascii())


def _has(chars: frozenset[str], ranges: tuple[tuple[str, str], ...]) -> bool:
    return any(lo <= c <= hi for c in chars for lo, hi in ranges)


def _normalise(text: str, unusual: frozenset[str]) -> str:
    """NFKC folds fullwidth and mathematical letters; invisible characters go; lookalikes become Latin."""
    if not unusual:
        return text
    text = unicodedata.normalize("NFKC", text)
    if not unusual.isdisjoint(_INVISIBLE_CHARS):
        text = _INVISIBLE.sub("", text)
    if _has(unusual, _GREEK_CYRILLIC) and _MIXED_SCRIPT.search(text):
        text = text.translate(_HOMOGLYPHS)
    return text


def _words(low: str, unusual: frozenset[str]) -> frozenset[bytes]:
    """The gate's view of a text: its words as bytes (fast to split), plus a marker for CJK, Indic, Arabic."""
    words = set(low.encode("utf-8", "surrogatepass").translate(_TO_SPACE).split())
    if _has(unusual, FOREIGN_SCRIPTS):
        words.add(FOREIGN_SCRIPT)
    return frozenset(words)


def _scan_raw(text: str) -> list[Hit]:
    """Rule hits on a text that has not been normalised (a decoded payload, a hidden segment)."""
    unusual = _unusual(text)
    plain = _normalise(text, unusual)
    low = plain.lower()
    return match(plain, low, _words(low, unusual))


def _obfuscation_hits(low: str, words: frozenset[bytes], unusual: frozenset[str], seen: set[int]) -> list[Hit]:
    """Undo emoji interleaving, letter spacing and leetspeak; report only what the plain text hid."""
    view, tricks = low, []
    if _has(unusual, _EMOJI_RANGES) and _EMOJI_INTERLEAVED.search(view):
        view, tricks = _EMOJI_DELETE.sub("", view), ["emoji-interleaved"]
    if sum(len(w) == 1 for w in words) >= 6 and _LETTER_SPACED.search(view):
        view = _LETTER_SPACED.sub(lambda m: _SPACERS.sub("", m.group(0)), view)
        tricks.append("letter-spaced")
    if sum(_is_leet(w) for w in words) >= 2:
        view = _byte_translate(view, _LEET_BYTES)
        tricks.append("leetspeak")
    if not tricks:
        return []
    new = [h for h in match(view, view, _words(view, unusual)) if h.rule not in seen]
    if noisy_or(h.weight for h in new) < _DECODED_MIN_SCORE:
        return []
    strongest = max(new, key=lambda h: h.weight)
    family = "hidden_text" if tricks == ["emoji-interleaved"] else "encoded_payload"
    return [Hit(family, _DECODED_WEIGHT, f"{'+'.join(tricks)} {strongest.family} {strongest.evidence}")]


def _is_leet(word: bytes) -> bool:
    """"pr3v10u5" is a word once its digits become letters; "w6067464", "inv10042" and "1st" are not."""
    return len(word) > 2 and not word.isalpha() and word.translate(_LEET_BYTES).isalpha() and not _ORDINAL.fullmatch(word)


def _decoded_hits(text: str, low: str, words: frozenset[bytes], unusual: frozenset[str], seen: set[int]) -> list[Hit]:
    """Re-scan what the text says once decoded: reversed, rot13, another caesar shift, base64, tag characters."""
    shifted = [("reversed", low[::-1]), ("rot13", _byte_translate(low, _ROT13))]
    if (caesar := _caesar(low)) is not None:
        shifted.append(caesar)
    views = [(how, match(view, view, _words(view, unusual))) for how, view in shifted]
    if any(len(w) >= 16 for w in words):
        views += [("base64", _scan_raw(decoded)) for decoded in _base64_payloads(text)]
    if tags := _tag_text(text, unusual):
        views.append(("unicode tags", _scan_raw(tags)))
    hits = []
    for how, view_hits in views:
        inner = [h for h in view_hits if h.rule not in seen]
        if noisy_or(h.weight for h in inner) >= _DECODED_MIN_SCORE:
            strongest = max(inner, key=lambda h: h.weight)
            hits.append(Hit("encoded_payload", _DECODED_WEIGHT, f"{how} {strongest.family} {strongest.evidence}"))
    return hits


def _caesar(low: str) -> tuple[str, str] | None:
    """The shift that turns the start of a text with no English in it into English, if one does."""
    words = low[:_CAESAR_SAMPLE].encode("utf-8", "surrogatepass").translate(_TO_SPACE).split()
    sample = [w for w in words if w.isalpha()]
    if len(sample) < 6 or _english_ratio(sample) >= 0.1:
        return None
    english = [0] * 26  # per shift, how many sample words it turns into English: one pass over the words
    for word in sample:
        for shift in _CAESAR_INDEX.get(word, ()):
            english[shift] += 1
    best = max((s for s in range(1, 26) if s != 13), key=lambda s: english[s])
    if english[best] < 0.2 * len(sample):
        return None
    return f"caesar shift {26 - best}", _byte_translate(low, _shift(best))


def _shift(shift: int) -> bytes:
    letters = string.ascii_lowercase.encode()
    return bytes.maketrans(letters, letters[shift:] + letters[:shift])


# Every English word as each shift enciphers it -> the shifts that decipher it back.
_CAESAR_INDEX: dict[bytes, list[int]] = {}
for _shift_back in range(1, 26):
    for _word in _ENGLISH:
        _CAESAR_INDEX.setdefault(_word.translate(_shift(26 - _shift_back)), []).append(_shift_back)


def _byte_translate(text: str, table: bytes) -> str:
    """ASCII-to-ASCII substitution through UTF-8 bytes: many times faster than str.translate on non-ASCII text."""
    return text.encode("utf-8", "surrogatepass").translate(table).decode("utf-8", "surrogatepass")


def _english_ratio(words: list[bytes]) -> float:
    return sum(map(_ENGLISH.__contains__, words)) / len(words) if words else 0.0


def _tag_text(text: str, unusual: frozenset[str]) -> str:
    """The ASCII that Unicode tag characters (invisible, U+E0020..U+E007E) spell out."""
    if not _has(unusual, _TAGS):
        return ""
    return "".join(chr(ord(c) - 0xE0000) for c in "".join(_TAG_CHARS.findall(text)))


def _base64_payloads(text: str) -> Iterable[str]:
    """Base64 blobs that decode to readable text (tokens and binary attachments decode to noise)."""
    for found in _BASE64.finditer(text):
        blob = found.group(0).rstrip("=")
        altchars = b"-_" if "-" in blob or "_" in blob else None
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), altchars=altchars).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if " " in decoded and sum(c.isprintable() or c.isspace() for c in decoded) >= 0.9 * len(decoded):
            yield decoded


def _invisible_hits(text: str, unusual: frozenset[str]) -> list[Hit]:
    hits = []
    if not unusual.isdisjoint(_ZERO_WIDTH):
        runs = _ZERO_WIDTH_RUN.finditer(text)
        inside = [run.group(0) for run in runs if _latin(text, run.start() - 1) and _latin(text, run.end())]
        if inside:  # between Latin letters only: Persian and Indic scripts use zero-width joiners legitimately
            hits.append(Hit("hidden_text", 0.4, f"{len(''.join(inside))} zero-width characters inside words"))
    if not unusual.isdisjoint(_BIDI):
        hits.append(Hit("hidden_text", 0.4, "bidirectional control characters"))
    tags = _tag_text(text, unusual)
    if len(tags) > 8:  # flag emoji use a handful of tag characters; longer runs carry invisible ASCII
        hits.append(Hit("hidden_text", 0.6, f"invisible Unicode tag text {evidence(tags)}"))
    return hits


def _latin(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isascii() and text[index].isalpha()


def _hidden_segment_hits(plain: str) -> list[Hit]:
    """HTML comments, CSS-hidden elements and markdown comments that carry an instruction."""
    segments = [next(g for g in found.groups() if g is not None) for found in _HIDDEN_SEGMENT.finditer(plain)]
    hits = []
    for segment in _html_comments(plain) + segments:
        inner_hits = _scan_raw(segment)
        if noisy_or(h.weight for h in inner_hits) >= 0.3:
            hits.append(Hit("hidden_text", 0.6, f"hidden markup {inner_hits[0].evidence}"))
    return hits


def _html_comments(text: str) -> list[str]:
    """With str.find rather than a regex: thousands of unclosed "<!--" stay linear."""
    comments, start = [], text.find("<!--")
    while start >= 0 and (end := text.find("-->", start + 4)) >= 0:
        comments.append(text[start + 4 : end])
        start = text.find("<!--", end + 3)
    return comments


def rule_hits(text: str) -> list[Hit]:
    """Every rule that fires on the text or on one of its decoded views."""
    unusual = _unusual(text)
    plain = _normalise(text, unusual)
    low = plain.lower()
    words = _words(low, unusual)
    hits = match(plain, low, words)
    seen = {h.rule for h in hits}  # other views report only what the plain text did not already show
    hits += _obfuscation_hits(low, words, unusual, seen)
    hits += _decoded_hits(text, low, words, unusual, seen)
    hits += _invisible_hits(text, unusual)
    if any(marker in low for marker in _HIDDEN_MARKERS):
        hits += _hidden_segment_hits(plain)
    return hits
