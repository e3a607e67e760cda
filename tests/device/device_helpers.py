"""Helpers for the device tests: a device server on 127.0.0.1 and a "Genesys" UAC built on takeback.net.

The UAC is a real SIP peer over real UDP sockets with a real RTP session (it sends RFC 4733 DTMF), so the
tests exercise the device exactly as Genesys would: INVITE with x-inin-cnv, the custom token header and
``User-to-User``, then REFER handling on the UAC side (202, NOTIFY sipfrag, BYE).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from takeback.device.config import parse_device_config
from takeback.device.records import read_recent
from takeback.device.server import App, DeviceServer
from takeback.media import MediaScheduler, MediaSession, PortAllocator, params_from_negotiated
from takeback.net import Call, IncomingRefer, TlsConfig, UserAgent
from takeback.sdp import LocalMedia, VersionKeeper, build_offer, parse_sdp, process_answer
from takeback.uui import encode

TOKEN = ("CUSTOM-DEVICE-TOKEN", "1234567")
DNIS = "+19999990001"


def device_yaml(tmp_path: Path, body: str = "", *, transport: str = "udp") -> str:
    """A test device.yaml: ephemeral port, records and TTS cache under ``tmp_path``, no HTTP."""
    return (
        f"listen: [{transport}:127.0.0.1:0]\n"
        f"records: {{path: {tmp_path / 'records.sqlite'}}}\n"
        f"media: {{tts_cache: {tmp_path / 'tts'}, port_range: 41000-41999, rtp_timeout: 0}}\n"
        "http: null\n" + body
    )


@contextlib.asynccontextmanager
async def running_device(
    tmp_path: Path,
    body: str = "",
    *,
    app: App | None = None,
    digest_key: bytes | None = None,
    http: Any = True,
    transport: str = "udp",
) -> AsyncIterator[DeviceServer]:
    config = parse_device_config(device_yaml(tmp_path, body, transport=transport), base_dir=tmp_path)
    server = DeviceServer(config, app=app, cwd=tmp_path, digest_key=digest_key, http=http)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def device_uri(server: DeviceServer, user: str = DNIS) -> str:
    endpoint = server.endpoints[0]
    return f"sip:{user}@{endpoint.host}:{endpoint.port}"


def rows(server: DeviceServer) -> list[dict[str, Any]]:
    return read_recent(server.records_path, 100)


async def wait_for(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll ``predicate`` every 10 ms, at most ``limit`` seconds (a bound, not an assertion on time)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


@dataclass
class ReferSeen:
    """What the Genesys side saw of the device's take-back."""

    refer_to: str
    request: Any
    refer: IncomingRefer


@dataclass
class Genesys:
    """The Genesys Cloud side as a UAC: places the transfer INVITE and answers the device's REFER.

    ``on_refer`` decides what happens to a REFER (default: 202, NOTIFY 100, NOTIFY 200, then BYE).
    """

    ua: UserAgent
    scheduler: MediaScheduler
    ports: PortAllocator
    refers: list[ReferSeen] = field(default_factory=list)
    media: list[MediaSession] = field(default_factory=list)
    on_refer: Callable[[IncomingRefer], Awaitable[None]] | None = None

    async def call(
        self,
        uri: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        uui: str | None = "This is my data",
        cnv: str | None = "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11",
        extra: tuple[tuple[str, str], ...] = (),
        timeout: float | None = 10.0,
        sdp: bytes | None = None,
    ) -> tuple[Call, MediaSession]:
        session = await MediaSession.open(self.scheduler, self.ports)
        self.media.append(session)
        local = LocalMedia("127.0.0.1", session.local_port)
        keeper = VersionKeeper(1)
        offer = build_offer(local, keeper=keeper)
        sent = [TOKEN] if headers is None else list(headers)
        if cnv is not None:
            sent.append(("x-inin-cnv", cnv))
        if uui is not None:
            sent.append(encode(uui))
        sent += list(extra)
        call = await self.ua.invite(
            uri,
            from_='"+13175551234" <sip:+13175551234@127.0.0.1>',
            headers=sent,
            body=offer.to_bytes() if sdp is None else sdp,
            timeout=timeout,
        )
        call.on_refer = self._refer
        assert call.response is not None
        if call.response.body:
            negotiated = process_answer(offer, parse_sdp(call.response.body))
            session.update(params_from_negotiated(negotiated))
            session.start()
        return call, session

    async def _refer(self, refer: IncomingRefer) -> None:
        self.refers.append(ReferSeen(refer.refer_to, refer.request, refer))
        if self.on_refer is not None:
            await self.on_refer(refer)
            return
        refer.accept()
        await refer.notify(200, "OK")
        if refer.call is not None:
            await refer.call.bye()

    async def close(self) -> None:
        for session in self.media:
            session.close()
        await self.ua.close()
        self.scheduler.close()


@contextlib.asynccontextmanager
async def genesys(listen: str = "udp:127.0.0.1:0", tls: TlsConfig | None = None) -> AsyncIterator[Genesys]:
    ua = UserAgent([listen], tls=tls)
    await ua.start()
    peer = Genesys(ua, MediaScheduler(), PortAllocator("127.0.0.1", 42000, 42999, dscp=None))
    try:
        yield peer
    finally:
        await peer.close()
