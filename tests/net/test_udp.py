"""SIP over UDP on real loopback sockets: datagrams, keep-alives, bad input, buffers."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from takeback.net.address import Peer
from takeback.net.boundary import Boundary
from takeback.net.counters import Counters
from takeback.net.listen import ListenSpec
from takeback.net.udp import UdpEndpoint
from takeback.sip import Request, Response

from .net_helpers import HOSTS, Pair, RecordingSink, make_layer, options, server_peer


@pytest.mark.parametrize("layers", [("UDP", h) for h in HOSTS], indirect=True)
async def test_udp_request_and_response(layers: Pair) -> None:
    host = layers.server.endpoints[0].host
    layers.client.send(options(host), server_peer(layers, "UDP"))
    await layers.client_sink.wait_for(1)
    request, from_peer = layers.server_sink.messages[0]
    assert isinstance(request, Request) and request.method == "OPTIONS"
    assert from_peer.transport == "UDP" and from_peer.host == host and from_peer.connection_id is None
    response, _ = layers.client_sink.messages[0]
    assert isinstance(response, Response) and response.status == 200
    assert layers.server.counters.datagrams_in == 1 and layers.server.counters.datagrams_out == 1


@pytest.mark.parametrize("layers", [("UDP", "127.0.0.1")], indirect=True)
async def test_bad_datagrams_counted_and_reported(layers: Pair) -> None:
    target = server_peer(layers, "UDP")
    layers.client.send(b"NOT SIP AT ALL\r\n\r\n", target)
    layers.client.send(b"\r\n\r\n", target)  # keep-alive: ignored silently
    layers.client.send(options(branch="ok"), target)
    await layers.server_sink.wait_for(2)
    counters = layers.server.counters
    assert counters.bad_datagrams == 1 and counters.keepalives_in == 1 and counters.messages_in == 1
    error, _peer, data = layers.server_sink.errors[0]
    assert error.status == 400 and data == b"NOT SIP AT ALL\r\n\r\n"


async def test_udp_with_os_default_buffers() -> None:
    server = await make_layer(ListenSpec("UDP", "127.0.0.1", 0), answer=True, udp_buffer_bytes=0)
    client = await make_layer(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        client.send(options(), Peer("UDP", "127.0.0.1", server.endpoints[0].port))
        await client.sink.wait_for(1)  # type: ignore[attr-defined]
    finally:
        await client.close()
        await server.close()


class _FullSendBuffer(socket.socket):
    """A real UDP socket whose first sends report a full send buffer (EAGAIN cannot be provoked on
    loopback, where the kernel frees the buffer synchronously)."""

    full_for = 2

    def sendto(self, data, address):  # type: ignore[no-untyped-def,override]
        if self.full_for > 0:
            self.full_for -= 1
            raise BlockingIOError
        return super().sendto(data, address)


async def test_direct_mode_queues_while_send_buffer_is_full() -> None:
    loop = asyncio.get_running_loop()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    sock = _FullSendBuffer(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    counters = Counters()
    endpoint = UdpEndpoint(RecordingSink(), counters, Boundary(counters, logging.getLogger("test")))
    endpoint.attach(loop, sock)
    try:
        for n in range(5):
            endpoint.send(b"datagram %d" % n, *receiver.getsockname())
        received = []
        for _ in range(100):  # bounded: the writer callback flushes the backlog
            try:
                received.append(receiver.recv(100))
            except BlockingIOError:
                if len(received) == 5:
                    break
                await asyncio.sleep(0.01)
        assert received == [b"datagram %d" % n for n in range(5)]  # order kept
        assert counters.datagrams_out == 5 and counters.send_failures == 0
    finally:
        endpoint.close()
        receiver.close()
