"""Progress of long commands, as the output can show it.

On a terminal, a rich progress bar, drawn only once the task has run for ``delay`` seconds (a
command that finishes sooner shows nothing) and redrawn at most ten times a second. Anywhere
else (a log file, CI, a pipe), plain lines, one every ``every`` seconds and one at the end,
never a redraw per step:

    costs resnet50: 12/64 bit pairs (19%), 3.1 s, about 13 s left

Library code reports through callbacks (``on_progress``) and never prints; the commands hand
those callbacks a :class:`Reporter`.

>>> import io
>>> out = io.StringIO()
>>> with Reporter("costs", total=4, unit="bit pairs", stream=out, delay=0.0, every=0.0) as r:
...     for done in range(1, 5):
...         r.update(done)
>>> print(out.getvalue().splitlines()[-1].split(",")[0])
costs: 4/4 bit pairs (100%)
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Reporter"]


class Reporter:
    """Progress of one task with ``total`` steps (``None``: unknown). Call :meth:`update` with
    the number of steps done, optionally a new total and a short status text."""

    def __init__(self, description: str, total: int | None = None, unit: str = "",
                 *, enabled: bool = True, stream: TextIO | None = None, delay: float = 2.0,
                 every: float = 10.0) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.delay, self.every = delay, every
        self.done, self.status = 0, ""
        self._t0 = time.monotonic()
        self._last = -float("inf")  # when the last plain line or redraw was made
        self._lines = 0
        self._bar: Any = None
        self._task: Any = None
        self._terminal = enabled and _is_terminal(self.stream)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def update(self, done: int, total: int | None = None, status: str = "") -> None:
        self.done = done
        if total is not None:
            self.total = total
        if status:
            self.status = status
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._t0 < self.delay:
            return
        if self._terminal:
            self._draw(now)
        elif now - self._last >= self.every:
            self._line(now)

    def close(self) -> None:
        """Finish: the bar's last state, or a last plain line if any line was written (or the
        task outlasted ``delay``)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._bar is not None:
            self._draw(now, force=True)
            self._bar.stop()
            self._bar = None
        elif not self._terminal and (self._lines or now - self._t0 >= self.delay):
            self._line(now)

    # -- rendering ----------------------------------------------------------------------------
    def _text(self, now: float) -> str:
        unit = f" {self.unit}" if self.unit else ""
        elapsed = now - self._t0
        if self.total:
            text = (f"{self.description}: {self.done:,}/{self.total:,}{unit} "
                    f"({100 * self.done / self.total:.0f}%), {elapsed:.1f} s")
            if 0 < self.done < self.total:
                text += f", about {elapsed * (self.total - self.done) / self.done:.0f} s left"
        else:
            text = f"{self.description}: {self.done:,}{unit}, {elapsed:.1f} s"
        return text + (f", {self.status}" if self.status else "")

    def _line(self, now: float) -> None:
        print(self._text(now), file=self.stream, flush=True)
        self._last = now
        self._lines += 1

    def _draw(self, now: float, force: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self._bar is None:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn(self.unit), TimeElapsedColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                                 console=Console(file=self.stream), auto_refresh=False,
                                 transient=False)
            self._task = self._bar.add_task(self.description, total=self.total, status="")
            self._bar.start()
        if force or now - self._last >= 0.1:
            self._bar.update(self._task, completed=self.done, total=self.total,
                             status=self.status)
            self._bar.refresh()
            self._last = now


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
