"""The transport layer: routing by Peer, connection table, idle sweep, limits, name resolution."""

from __future__ import annotations

import asyncio
import socket

import pytest

from takeback.net.address import Peer
from takeback.net.listen import ListenSpec

from .net_helpers import Pair, make_layer, options, server_peer


@pytest.mark.parametrize("layers", [("TCP", "127.0.0.1")], indirect=True)
async def test_tcp_response_falls_back_to_address_when_connection_id_unknown(layers: Pair) -> None:
    host = "127.0.0.1"
    layers.client.send(options(host, "TCP"), server_peer(layers, "TCP"))
    await layers.client_sink.wait_for(1)
    _request, peer = layers.server_sink.messages[0]
    stale = Peer(peer.transport, peer.host, peer.port, 999_999)
    layers.server.send(options(host, "TCP", "back"), stale)
    await layers.client_sink.wait_for(2)
    assert layers.server.counters.connections_opened == 0  # reused the accepted connection


async def test_idle_connection_closed() -> None:
    server = await make_layer(ListenSpec("TCP", "127.0.0.1", 0), answer=True, idle_timeout=0.05)
    client = await make_layer(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        endpoint = server.endpoints[0]
        client.send(options(transport="TCP"), Peer("TCP", endpoint.host, endpoint.port))
        await client.sink.wait_for(1)  # type: ignore[attr-defined]
        await asyncio.wait_for(client.sink.lost_event.wait(), 5)  # type: ignore[attr-defined]
        assert server.counters.connections_idle_closed == 1
        assert client.counters.connections_open == 0
    finally:
        await client.close()
        await server.close()


async def test_connect_failure_reported() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = await make_layer(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        client.send(options(transport="TCP"), Peer("TCP", "127.0.0.1", port))
        await asyncio.wait_for(client.sink.transport_error_event.wait(), 5)  # type: ignore[attr-defined]
        assert client.sink.transport_errors == [Peer("TCP", "127.0.0.1", port)]  # type: ignore[attr-defined]
        assert client.counters.connect_failures == 1
        assert client.counters.connections_open == 0
        assert not client.connections
    finally:
        await client.close()


async def test_connection_limit() -> None:
    server = await make_layer(ListenSpec("TCP", "127.0.0.1", 0), max_connections=1)
    try:
        endpoint = server.endpoints[0]
        _r1, w1 = await asyncio.open_connection(endpoint.host, endpoint.port)
        r2, w2 = await asyncio.open_connection(endpoint.host, endpoint.port)
        assert await asyncio.wait_for(r2.read(), 5) == b""
        assert server.counters.connections_rejected == 1
        assert server.counters.connections_open == 1
        w1.close()
        w2.close()
    finally:
        await server.close()


async def test_hostname_is_resolved() -> None:
    server = await make_layer(
        ListenSpec("UDP", "127.0.0.1", 0), ListenSpec("TCP", "127.0.0.1", 0), answer=True
    )
    client = await make_layer(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        udp, tcp = server.endpoints
        client.send(options(branch="u"), Peer("UDP", "localhost", udp.port))
        client.send(options(transport="TCP", branch="t"), Peer("TCP", "localhost", tcp.port))
        await client.sink.wait_for(2)  # type: ignore[attr-defined]
        assert server.counters.datagrams_in == 1 and server.counters.connections_accepted == 1
    finally:
        await client.close()
        await server.close()


async def test_unresolvable_hostname_reports_transport_error() -> None:
    client = await make_layer(ListenSpec("UDP", "127.0.0.1", 0))
    try:
        peer = Peer("UDP", "no-such-host.invalid", 5060)
        client.send(options(), peer)
        await asyncio.wait_for(client.sink.transport_error_event.wait(), 10)  # type: ignore[attr-defined]
        assert client.sink.transport_errors == [peer]  # type: ignore[attr-defined]
        assert client.counters.send_failures == 1
    finally:
        await client.close()
