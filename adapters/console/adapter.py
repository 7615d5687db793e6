"""A local chat: one user, one channel, commands from the terminal or piped input."""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from adapters.console.render import render
from bot.core import Core
from bot.messages import Place, Reply, User
from bot.port import Capabilities, Destination, Part, Posted

PLATFORM = "console"


class ConsoleAdapter:
    platform = PLATFORM
    capabilities = Capabilities(dedupes_sends=False)

    def __init__(self, core: Core, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.core = core
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._stopping = asyncio.Event()
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
        while not self._stopping.is_set():
            if interactive:
                self._out.write("> ")
                self._out.flush()
            line = await asyncio.to_thread(self._in.readline)
            if not line:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not interactive:
                self._print(f"> {line}")
            for reply in await self.core.handle_text(line, self.user, self.place):
                self._print(render(reply))
            self._print("")

    async def stop(self) -> None:
        self._stopping.set()

    def compose(self, reply: Reply) -> list[Part]:
        return [{"text": render(reply)}]

    async def post(self, destination: Destination, part: Part, *, key: str) -> Posted:
        """Print a message the bot posts on its own (a digest or an alert)."""
        where = f"#{destination.id}" if destination.kind == "channel" else f"DM {destination.id}"
        self._print(f"[posted to {where}]\n{part['text']}\n")
        self._sent += 1
        return Posted(f"console-{self._sent}")

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "you"
