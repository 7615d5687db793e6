"""The fake Discord's Gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, dispatch."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_objects import DiscordObjects


class FakeGateway(DiscordObjects):
    """A Gateway endpoint speaking JSON text frames, or zlib-stream when `compress` is set."""

    def __init__(self, *, token: str, compress: bool) -> None:
        super().__init__()
        self.token = token
        self.compress = compress  # binary zlib-stream frames, as Discord sends when asked
        self.identifies: list[dict[str, Any]] = []
        self._sockets: list[tuple[web.WebSocketResponse, dict[str, Any]]] = []
        self._changed = asyncio.Condition()  # notified on every request and connection
        self.port = 0  # set when the server starts

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch event to every connected session."""
        for ws, state in list(self._sockets):
            state["seq"] += 1
            await self._send(ws, state, {"op": 0, "t": event, "s": state["seq"], "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        state: dict[str, Any] = {"seq": 0, "shard": 0, "count": 1, "zlib": zlib.compressobj()}
        await self._send(
            ws, state, {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, d = frame.get("op"), frame.get("d")
                if op == 1:
                    await self._send(ws, state, {"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    await self._identify(ws, state, d)
                elif op == 6:
                    state["seq"] += 1
                    await self._send(
                        ws, state, {"op": 0, "t": "RESUMED", "s": state["seq"], "d": {}}
                    )
                elif op == 8:
                    state["seq"] += 1
                    await self._send(
                        ws,
                        state,
                        {
                            "op": 0,
                            "t": "GUILD_MEMBERS_CHUNK",
                            "s": state["seq"],
                            "d": {
                                "guild_id": d["guild_id"],
                                "members": [],
                                "chunk_index": 0,
                                "chunk_count": 1,
                                "nonce": d.get("nonce"),
                            },
                        },
                    )
        finally:
            self._sockets = [(w, s) for w, s in self._sockets if w is not ws]
            async with self._changed:
                self._changed.notify_all()
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, state: dict[str, Any], d: dict[str, Any]
    ) -> None:
        self.identifies.append(d)
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        shard, count = d.get("shard") or [0, 1]
        state.update(shard=shard, count=count)
        guilds = [g for g in (self.guild_id,) if (int(g) >> 22) % count == shard]
        state["seq"] += 1
        await self._send(
            ws,
            state,
            {
                "op": 0,
                "t": "READY",
                "s": state["seq"],
                "d": {
                    "v": 10,
                    "user": self.bot_user,
                    "session_id": f"session-{shard}",
                    "resume_gateway_url": self.gateway_url,
                    "shard": [shard, count],
                    "guilds": [{"id": g, "unavailable": True} for g in guilds],
                    "application": {"id": self.app_id, "flags": 0},
                },
            },
        )
        for _ in guilds:
            state["seq"] += 1
            await self._send(
                ws,
                state,
                {"op": 0, "t": "GUILD_CREATE", "s": state["seq"], "d": self.guild_create_obj()},
            )
        self._sockets.append((ws, state))
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, ws: web.WebSocketResponse, state: dict[str, Any], frame: Any) -> None:
        data = json.dumps(frame)
        if not self.compress:
            await ws.send_str(data)
            return
        z = state["zlib"]
        await ws.send_bytes(z.compress(data.encode()) + z.flush(zlib.Z_SYNC_FLUSH))

    @property
    def connected(self) -> int:
        return len(self._sockets)
