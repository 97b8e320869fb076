"""Progress of a long eval on stderr: tasks done, rate, ETA and failures so far.

On a terminal one line is redrawn in place (at most ten times a second); otherwise (CI logs, a
file) a plain line is written at every tenth of the run, so logs stay short and greppable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24  # characters of the bar


class Progress:
    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self._drawn_at = float("-inf")
        self._next_line = 1

    def advance(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.tty:
            now = self.clock()
            if now - self._drawn_at >= 0.1 or self.done == self.total:
                self._drawn_at = now
                self.stream.write("\r" + self.line(bar=True) + "\033[K")
                self.stream.flush()
        elif self.done * 10 >= self._next_line * self.total or self.done == self.total:
            self._next_line = self.done * 10 // max(self.total, 1) + 1
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()

    def line(self, *, bar: bool = False) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else None
        share = self.done / self.total if self.total else 1.0
        drawn = f"[{'#' * round(share * WIDTH):<{WIDTH}}] " if bar else ""
        eta = "done" if self.done >= self.total else f"ETA {_duration(left)}"
        return (
            f"eval {drawn}{self.done}/{self.total} tasks ({share:.0%})  {rate:.2f} tasks/s  {eta}"
            f"  {self.failed} failed  {_duration(elapsed)} elapsed"
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
