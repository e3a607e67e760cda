"""Test helpers for the runtime: a recording sink that can answer requests statelessly."""

from __future__ import annotations

import asyncio
import socket

from takeback.net.address import Peer
from takeback.net.listen import ListenSpec
from takeback.net.transport import TransportLayer
from takeback.sip import Request, Response, SipParseError

OPTIONS = (
    "OPTIONS sip:bob@{host} SIP/2.0\r\n"
    "Via: SIP/2.0/{transport} {host}:5999;branch=z9hG4bK{branch}\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@{host}>;tag=a1\r\n"
    "To: <sip:bob@{host}>\r\n"
    "Call-ID: {branch}@test\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


def options(host: str = "127.0.0.1", transport: str = "UDP", branch: str = "1") -> bytes:
    host = f"[{host}]" if ":" in host else host
    return OPTIONS.format(host=host, transport=transport, branch=branch).encode()


def ok_for(request: Request) -> Response:
    """A minimal 200 that copies the RFC 3261 §8.2.6.2 headers."""
    response = Response(200, "OK")
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.headers.get_raw(name):
            response.headers.add(name, value)
    return response


class RecordingSink:
    """Records everything; answers requests 200 on the peer they came from when ``answer`` is set."""

    def __init__(self, *, answer: bool = False) -> None:
        self.layer: object | None = None
        self.answer = answer
        self.messages: list[tuple[Request | Response, Peer]] = []
        self.errors: list[tuple[SipParseError, Peer, bytes | None]] = []
        self.lost: list[int] = []
        self.transport_errors: list[Peer] = []
        self.transport_error_event = asyncio.Event()
        self.arrived = asyncio.Event()
        self.lost_event = asyncio.Event()

    def message_received(self, message: Request | Response, peer: Peer) -> None:
        self.messages.append((message, peer))
        self.arrived.set()
        if self.answer and isinstance(message, Request):
            assert self.layer is not None
            self.layer.send(bytes(ok_for(message)), peer)  # type: ignore[attr-defined]

    def parse_error(self, error: SipParseError, peer: Peer, data: bytes | None) -> None:
        self.errors.append((error, peer, data))
        self.arrived.set()

    def connection_lost(self, connection_id: int) -> None:
        self.lost.append(connection_id)
        self.lost_event.set()

    def transport_error(self, peer: Peer) -> None:
        self.transport_errors.append(peer)
        self.transport_error_event.set()

    async def wait_for(self, count: int, *, limit: float = 5.0) -> None:
        """Wait (bounded) until ``count`` messages+errors have arrived."""

        async def until() -> None:
            while len(self.messages) + len(self.errors) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), limit)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


HOSTS = ["127.0.0.1", "::1"] if ipv6_loopback() else ["127.0.0.1"]


class Pair:
    """A client layer and a server layer (the server answers 200 statelessly)."""

    def __init__(self, client: TransportLayer, server: TransportLayer) -> None:
        self.client = client
        self.server = server
        assert isinstance(client.sink, RecordingSink) and isinstance(server.sink, RecordingSink)
        self.client_sink: RecordingSink = client.sink
        self.server_sink: RecordingSink = server.sink


async def make_layer(*specs: ListenSpec, answer: bool = False, **kwargs: object) -> TransportLayer:
    sink = RecordingSink(answer=answer)
    layer = TransportLayer(sink, **kwargs)  # type: ignore[arg-type]
    sink.layer = layer
    for spec in specs:
        await layer.listen(spec)
    return layer


def server_peer(pair: Pair, transport: str) -> Peer:
    endpoint = next(e for e in pair.server.endpoints if e.transport == transport)
    return Peer(transport, endpoint.host, endpoint.port)


def addr_of(peer: Peer) -> tuple[str, int]:
    return peer.host, peer.port
