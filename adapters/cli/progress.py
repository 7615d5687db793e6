"""A one-line progress bar on a terminal that log lines never break.

While the bar is shown, every log record first clears the bar's line, is printed, and the
bar is drawn again below it; on anything but a terminal only the final state is printed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

CLEAR = "\r\x1b[K"  # back to the line's start and erase it


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.line = ""  # the bar as last drawn; "" when none is showing

    def __call__(self, done: int, total: int, label: str) -> None:
        """Draw `done` of `total` (the ingest's `Progress` callback)."""
        if total <= 1 or (not self.stream.isatty() and done != total):
            return
        filled = self.width * done // total
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {label}"
        if done == total:
            self.stream.write(f"{CLEAR}{bar}\n")
            self.line = ""
        else:
            self.stream.write(f"{CLEAR}{bar}")
            self.line = bar
        self.stream.flush()

    @contextmanager
    def around_logs(self) -> Iterator[None]:
        """Route the root logger's handlers through the bar while it is shown."""
        root = logging.getLogger()
        inner = root.handlers[:]
        wrapped = [_AroundBar(h, self) for h in inner]
        root.handlers = list(wrapped)
        try:
            yield
        finally:
            root.handlers = inner


class _AroundBar(logging.Handler):
    def __init__(self, inner: logging.Handler, bar: ProgressBar) -> None:
        super().__init__(inner.level)
        self.inner = inner
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        showing = self.bar.line and getattr(self.inner, "stream", None) is self.bar.stream
        if showing:
            self.bar.stream.write(CLEAR)
        self.inner.handle(record)
        if showing:
            self.bar.stream.write(self.bar.line)
            self.bar.stream.flush()
