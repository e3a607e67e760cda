"""Signals and measurements shared by the media tests."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from array import array
from collections.abc import Awaitable
from typing import TypeVar

from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator
from takeback.media._audioop import audioop

T = TypeVar("T")
SAFETY = 10.0  # generous safety-net timeout (seconds): never an assertion about speed


def chirp(
    seconds: float, rate: int = 8000, f0: float = 300.0, f1: float = 3000.0, amplitude: int = 9000
) -> bytes:
    """A linear sweep: unlike a tone it correlates with itself at exactly one lag."""
    count = int(seconds * rate)
    k = (f1 - f0) / seconds
    return struct.pack(
        f"<{count}h",
        *(
            int(amplitude * math.sin(2 * math.pi * (f0 * (i / rate) + k / 2 * (i / rate) ** 2)))
            for i in range(count)
        ),
    )


def correlation_at_best_lag(received: bytes, reference: bytes) -> tuple[int, float]:
    """(lag in samples, normalised cross-correlation) of ``reference`` inside ``received``."""
    if len(received) < len(reference):
        received = received + bytes(len(reference) - len(received))
    lag, _factor = audioop.findfit(received, reference)
    window = array("h", received[2 * lag : 2 * lag + len(reference)])
    ref = array("h", reference)
    dot = sum(a * b for a, b in zip(window, ref, strict=True))
    norm = math.sqrt(sum(a * a for a in window) * sum(b * b for b in ref))
    return lag, (dot / norm if norm else 0.0)


def rms(pcm: bytes) -> int:
    return audioop.rms(pcm, 2) if pcm else 0


async def within(awaitable: Awaitable[T], timeout: float = SAFETY) -> T:
    """Await with a safety-net timeout so a broken test fails instead of hanging."""
    return await asyncio.wait_for(awaitable, timeout)


async def session_pair(
    scheduler: MediaScheduler, ports: PortAllocator, **options: object
) -> tuple[MediaSession, MediaSession]:
    """Two started sessions on 127.0.0.1 sending to each other."""
    a = await MediaSession.open(scheduler, ports, **options)  # type: ignore[arg-type]
    b = await MediaSession.open(scheduler, ports, **options)  # type: ignore[arg-type]
    a.update(MediaParams(remote=b.local_address))
    b.update(MediaParams(remote=a.local_address))
    a.start()
    b.start()
    return a, b


def udp_socket() -> socket.socket:
    """A plain socket that never reads: a peer that stays silent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


class Sink(asyncio.DatagramProtocol):
    """A raw UDP endpoint on 127.0.0.1 that queues what it receives (works on asyncio and uvloop)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> Sink:
        sink = cls()
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: sink, local_addr=("127.0.0.1", 0))
        return sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    async def receive(self, timeout: float = SAFETY) -> tuple[bytes, tuple[str, int]]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, address)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def rtp(
    payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False
) -> bytes:
    return (
        struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, sequence, timestamp, ssrc)
        + payload
    )


class EventLog:
    """Records a session's events from the moment it is attached (no race with a task starting later)."""

    def __init__(self, session: MediaSession) -> None:
        self.events: list[object] = []
        self._changed = asyncio.Event()
        session.add_listener(self._on_event)

    def _on_event(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()

    def of_type(self, kind: type[T]) -> list[T]:
        return [event for event in self.events if isinstance(event, kind)]

    async def next(self, kind: type[T], timeout: float = SAFETY) -> T:
        """The first recorded event of ``kind`` (waiting for it if needed)."""

        async def wait() -> T:
            while True:
                found = self.of_type(kind)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)
