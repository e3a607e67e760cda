"""SIP over TCP streams: framing, reuse, bad messages, garbage, oversized input, dispatch errors."""

from __future__ import annotations

import asyncio
import socket

import pytest

from takeback.net.address import Peer
from takeback.net.listen import ListenSpec
from takeback.net.transport import TransportLayer
from takeback.sip import Request, Response

from .net_helpers import HOSTS, Pair, RecordingSink, addr_of, options, server_peer


@pytest.mark.parametrize("layers", [("TCP", h) for h in HOSTS], indirect=True)
async def test_tcp_reuses_one_connection_and_answers_on_it(layers: Pair) -> None:
    host = layers.server.endpoints[0].host
    target = server_peer(layers, "TCP")
    for n in range(3):
        layers.client.send(options(host, "TCP", str(n)), target)
    await layers.client_sink.wait_for(3)
    assert layers.client.counters.connections_opened == 1
    assert layers.server.counters.connections_accepted == 1
    ids = {peer.connection_id for _m, peer in layers.server_sink.messages}
    assert len(ids) == 1 and None not in ids
    client_ids = {peer.connection_id for _m, peer in layers.client_sink.messages}
    assert len(client_ids) == 1
    assert [m.status for m, _p in layers.client_sink.messages] == [200, 200, 200]  # type: ignore[union-attr]


@pytest.mark.parametrize("layers", [("TCP", "127.0.0.1")], indirect=True)
async def test_bad_message_on_stream_keeps_connection(layers: Pair) -> None:
    reader, writer = await asyncio.open_connection(*addr_of(server_peer(layers, "TCP")))
    garbage = b"INVITE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"  # frames, lacks mandatory headers
    writer.write(garbage + b"\r\n\r\n" + options(transport="TCP"))
    await layers.server_sink.wait_for(2)
    assert layers.server.counters.bad_stream_messages == 1
    assert layers.server.counters.keepalives_in >= 1
    assert layers.server_sink.errors[0][0].status == 400
    line = await asyncio.wait_for(reader.readline(), 5)
    assert line == b"SIP/2.0 200 OK\r\n"  # the good message after the bad one was answered
    writer.close()


@pytest.mark.parametrize("layers", [("TCP", "127.0.0.1")], indirect=True)
async def test_garbage_stream_is_closed(layers: Pair) -> None:
    reader, writer = await asyncio.open_connection(*addr_of(server_peer(layers, "TCP")))
    writer.write(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)  # EOF: the server closed the connection
    assert data == b""
    await asyncio.wait_for(layers.server_sink.lost_event.wait(), 5)
    assert layers.server.counters.stream_errors == 1
    assert layers.server.counters.connections_open == 0
    writer.close()


@pytest.mark.parametrize("layers", [("TCP", "127.0.0.1")], indirect=True)
async def test_oversized_header_section_closes(layers: Pair) -> None:
    reader, writer = await asyncio.open_connection(*addr_of(server_peer(layers, "TCP")))
    chunk = b"X-Junk: " + b"a" * 8000 + b"\r\n"
    for _ in range(40):  # ~320 kB without an empty line
        writer.write(chunk)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert layers.server.counters.stream_errors == 1
    writer.close()


async def test_sink_exception_does_not_kill_transport() -> None:
    class Exploding(RecordingSink):
        def message_received(self, message: Request | Response, peer: Peer) -> None:
            super().message_received(message, peer)
            raise RuntimeError("boom")

    sink = Exploding()
    server = TransportLayer(sink)
    endpoint = await server.listen(ListenSpec("TCP", "127.0.0.1", 0))
    udp = await server.listen(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        _reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        writer.write(options(transport="TCP", branch="1") + options(transport="TCP", branch="2"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(options(branch="3"), (udp.host, udp.port))
        await sink.wait_for(3)
        assert server.counters.internal_errors == 3
        writer.close()
    finally:
        await server.close()


@pytest.mark.parametrize("layers", [("TCP", "127.0.0.1")], indirect=True)
async def test_crlf_keepalive_ping_gets_pong(layers: Pair) -> None:
    reader, writer = await asyncio.open_connection(*addr_of(server_peer(layers, "TCP")))
    writer.write(b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
    assert layers.server.counters.keepalives_in == 2
    writer.close()
