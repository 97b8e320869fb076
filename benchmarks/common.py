"""Shared by the benchmarks: markdown tables, summary figures, CPU timing, seeded desks, offline LangSmith.

Benchmarks report ratios measured side by side in one run; they never assert on time.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, `benchmarks.*` must still import
    sys.path.insert(0, str(ROOT))

from benchmarks.recorder import RecorderProcess

__all__ = ["ROOT", "Figure", "RecorderProcess", "Report", "cpu_ms", "median", "offline_langsmith", "rss_mb", "table", "unlimited", "verdict"]


@dataclass(frozen=True)
class Figure:
    """One line of the suite's summary table."""

    benchmark: str
    figure: str
    value: str
    target: str = ""
    verdict: str = ""  # "met", "missed" or "" when there is no target


@dataclass
class Report:
    """What one benchmark prints: a markdown section and its summary figures."""

    title: str
    body: str
    figures: list[Figure] = field(default_factory=list)

    def markdown(self) -> str:
        return f"## {self.title}\n\n{self.body.strip()}\n"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; numbers are printed as given (format them before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(value: float, target: float, *, at_most: bool = True) -> str:
    return "met" if (value <= target if at_most else value >= target) else "missed"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def cpu_ms(fn: Callable[[], object], calls: int) -> float:
    """Process CPU milliseconds per call of ``fn`` (every thread of this process counts)."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1000


def unlimited(settings: Any) -> Any:
    """``Settings`` with the daily per-user limits out of the way: one owner asks thousands of times."""
    guards = settings.guards.model_copy(update={"requests_per_user_per_day": 10**9, "usd_per_user_per_day": 1e9})
    return settings.model_copy(update={"guards": guards})


def rss_mb() -> float:
    """Resident set size of this process, from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def offline_langsmith() -> None:
    """No tracing unless a benchmark asks for it, never to the internet, and no log noise.

    LangChain adds a LangSmith tracer to every run by itself when these variables are set.
    The recorder answers /info without zstd, so the client warns once per client that it falls
    back to plain multipart: that is intended.
    """
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        os.environ.pop(name, None)
    logging.getLogger("langsmith").setLevel(logging.ERROR)
