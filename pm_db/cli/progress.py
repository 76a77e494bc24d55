"""Progress of long commands on stderr (stdout keeps the one result):

- on a terminal, a tqdm bar, drawn once the work has lasted half a second;
- elsewhere (a log, a pipe), a plain line `LABEL: DONE/TOTAL` about every 10 seconds
  and at the end, so a farm log shows the work is alive;
- nothing with --json, which promises exactly one document.

A Progress is called as `progress(done, total)`, the callback the services take; a total
of 0 means unknown (a count without a bar).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

START_AFTER_SECONDS = 0.5
PLAIN_EVERY_SECONDS = 10.0


class Progress:
    """Progress of one piece of work; use as a context manager, call with (done, total)."""

    def __init__(self, label: str, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.label = label
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.said_at = self.started
        self.last: tuple[int, int] | None = None
        self.bar: Any = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        self.last = (done, total)
        now = time.monotonic()
        if now - self.started < START_AFTER_SECONDS:
            return
        if self.terminal:
            self._draw(done, total)
        elif now - self.said_at >= PLAIN_EVERY_SECONDS:
            self._say(done, total)
            self.said_at = now

    def _draw(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total or None, desc=self.label, file=self.stream, unit="", dynamic_ncols=True
            )
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def _say(self, done: int, total: int) -> None:
        count = f"{done}/{total}" if total else str(done)
        print(f"{self.label}: {count}", file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar, or say the last count when a plain line was printed before."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif not self.terminal and self.last and self.said_at > self.started:
            self._say(*self.last)
