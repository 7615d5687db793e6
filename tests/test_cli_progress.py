"""`paperbot ingest`'s progress bar on a terminal: log lines never break it."""

from __future__ import annotations

import io
import logging

from adapters.cli.progress import CLEAR, ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_line_clears_the_bar_prints_and_the_bar_comes_back() -> None:
    term = Terminal()
    bar = ProgressBar(term, width=4)
    root = logging.getLogger()
    handler = logging.StreamHandler(term)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved, level = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.INFO
    try:
        with bar.around_logs():
            bar(1, 2, "2025-01-01")
            logging.getLogger("bot.services.ingest").warning("paper source failed for 2025-01-02")
            bar(2, 2, "2025-01-02")
    finally:
        root.handlers, root.level = saved, level
    lines = term.getvalue().split("\n")
    # Each log line starts on a cleared line, and the bar is drawn again after it.
    assert (
        lines[0] == f"{CLEAR}[##..] 1/2 2025-01-01{CLEAR}WARNING paper source failed for 2025-01-02"
    )
    assert lines[1] == f"[##..] 1/2 2025-01-01{CLEAR}[####] 2/2 2025-01-02"
    assert lines[2] == ""
    assert root.handlers == saved  # the bar let go of the logs


def test_off_a_terminal_only_the_end_is_printed() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, width=4)
    bar(1, 3, "a")
    bar(2, 3, "b")
    bar(3, 3, "c")
    assert out.getvalue() == f"{CLEAR}[####] 3/3 c\n"
