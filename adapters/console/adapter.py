"""A local chat: one user, one channel, commands from the terminal or piped input."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import getpass
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from adapters.console.render import render
from bot.core import Core
from bot.messages import FileReply, Place, Reply, User
from bot.port import Capabilities, Destination, Part, Posted

PLATFORM = "console"


class ConsoleAdapter:
    platform = PLATFORM
    capabilities = Capabilities(dedupes_sends=False)

    def __init__(
        self,
        core: Core,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        files_dir: Path | None = None,
    ):
        self.core = core
        # Where files the bot sends (exports) are written; None: they are printed.
        self.files_dir = files_dir
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._stopping = asyncio.Event()
        self._lines: asyncio.Queue[str | None] | None = None
        self._sent = 0
        name = _user_name()
        # The local user owns the terminal, so it may manage the one local channel.
        self.user = User(platform=PLATFORM, id="local", name=name, can_manage_channel=True)
        self.place = Place(platform=PLATFORM, id="console", name="console")

    async def start(self) -> None:
        """Read commands line by line until end of input or `stop()`."""
        interactive = self._in.isatty()
        if interactive:
            self._print("paperbot console — type /help, Ctrl-D to quit.")
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._lines = lines
        # A daemon thread, not asyncio.to_thread: a thread blocked on the terminal must not
        # keep Ctrl-C or SIGTERM from ending the process (the default executor is joined at
        # exit, so the bot would wait for one more line of input).
        threading.Thread(
            target=self._read, args=(loop, lines), name="console-stdin", daemon=True
        ).start()
        while not self._stopping.is_set():
            if interactive:
                self._out.write("> ")
                self._out.flush()
            line = await lines.get()
            if line is None:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not interactive:
                self._print(f"> {line}")
            for reply in await self.core.handle_text(line, self.user, self.place):
                self._print(await self._show(reply))
            self._print("")

    async def _show(self, reply: Reply) -> str:
        if isinstance(reply, FileReply) and self.files_dir is not None:
            path = self.files_dir / Path(reply.filename).name  # never a path out of the dir
            await asyncio.to_thread(_write, path, reply.content)
            return f"✓ {reply.text} Written to {path}"
        return render(reply)

    async def stop(self) -> None:
        self._stopping.set()
        if self._lines is not None:
            self._lines.put_nowait(None)

    def _read(self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
        """Feed input lines to the event loop, then None at end of input (in the thread)."""
        with contextlib.suppress(RuntimeError):  # the loop closed: the bot stopped meanwhile
            try:
                for line in self._input_lines():
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError):
                pass  # stdin went away (closed, unreadable): the same as end of input
            loop.call_soon_threadsafe(lines.put_nowait, None)

    def _input_lines(self) -> Iterator[str]:
        try:
            fd = self._in.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream
            yield from iter(self._in.readline, "")
            return
        # The raw file descriptor, not sys.stdin's buffer: at exit the interpreter would wait
        # for the buffer's lock, held by this thread while it blocks on the terminal.
        decoder = codecs.getincrementaldecoder(getattr(self._in, "encoding", None) or "utf-8")(
            errors="replace"
        )
        pending = ""
        while chunk := os.read(fd, 65536):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            yield from complete
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    def compose(self, reply: Reply) -> list[Part]:
        return [{"text": render(reply)}]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        """Print a message the bot posts on its own (a digest or an alert)."""
        where = f"#{destination.id}" if destination.kind == "channel" else f"DM {destination.id}"
        self._print(f"[posted to {where}]\n{part['text']}\n")
        self._sent += 1
        return Posted(f"console-{self._sent}")

    async def find_posted(self, destination: Destination, key: str) -> Posted | None:
        """Never asked: the console posts one message at a time (no `finds_posts`)."""
        return None

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)  # a later export of the same format replaces the file


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "you"
