"""The transport layer of one user agent: listening points, the connection table, sending by Peer.

RFC 3261 §18: responses go back on the connection the request came in on (§18.2.2) and requests reuse an
open connection to the same address (§18.1.1); when there is none we connect on demand and queue the bytes
meanwhile. Idle connections are closed after ``idle_timeout`` by one periodic sweep (not a timer per
connection: thousands of connections must not mean thousands of timer handles).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from collections.abc import Callable
from typing import Literal

from .address import LocalEndpoint, Peer, is_ip_literal
from .boundary import Boundary, MessageSink, Recorder
from .counters import Counters
from .listen import ListenSpec
from .resolve import Resolver
from .stream import StreamConnection
from .tls import TlsConfig, client_context, server_context
from .udp import SOCKET_BUFFER_BYTES, UdpEndpoint, open_udp_socket

__all__ = ["DEFAULT_IDLE_TIMEOUT", "TransportLayer"]

logger = logging.getLogger("takeback.net")

#: Seconds without traffic before a stream connection is closed; longer than any transaction (64*T1).
DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_MAX_CONNECTIONS = 20_000

_AddrKey = tuple[str, str, int]
Address = tuple[str, int]


def _is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return type(loop).__module__.startswith("uvloop")


class TransportLayer:
    """Owns every socket of a user agent. ``send(data, peer)`` is synchronous and never raises."""

    def __init__(
        self,
        sink: MessageSink,
        *,
        counters: Counters | None = None,
        tls: TlsConfig | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        udp_buffer_bytes: int = SOCKET_BUFFER_BYTES,
        reuse_port: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.sink = sink
        self.counters = counters if counters is not None else Counters()
        self.boundary = Boundary(self.counters, logger)
        self.tls = tls or TlsConfig()
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.udp_buffer_bytes = udp_buffer_bytes
        #: Listen with SO_REUSEPORT (several worker processes on one port: ``takeback.device.workers``).
        self.reuse_port = reuse_port
        self.loop = loop or asyncio.get_running_loop()
        self.endpoints: list[LocalEndpoint] = []
        self._udp: list[UdpEndpoint] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._by_id: dict[int, StreamConnection] = {}
        self._by_addr: dict[_AddrKey, StreamConnection] = {}
        self._ids = itertools.count(1)
        self._client_ssl: ssl.SSLContext | None = None
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # connects and DNS lookups in flight
        self.resolver = Resolver(self.loop)
        self._closed = False
        self._recorder: Recorder | None = None
        self._note: Callable[..., object] | None = None  # the recorder's ``note``, looked up once
        self._local: dict[str, Address] = {}  # transport -> (host, port) of its first listening point

    @property
    def recorder(self) -> Recorder | None:
        """Where every message sent and received is copied (``takeback.observe``: pcap, ladder, HEP)."""
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        self._recorder = recorder
        # ``note_addresses`` (SipTrace.for_party) skips the argument checks that _record makes needless.
        note = getattr(recorder, "note_addresses", None) or getattr(recorder, "note", None)
        self._note = note if recorder is not None else None

    def udp_receive_backlog(self) -> int | None:
        """The longest kernel receive queue (bytes) among our UDP sockets; None when none can be read."""
        backlogs = [b for b in (endpoint.receive_backlog() for endpoint in self._udp) if b is not None]
        return max(backlogs) if backlogs else None

    def receive_backlog(self) -> int | None:
        """How much input waits to be read: the longest UDP socket queue, or the bytes waiting on all
        TCP/TLS connections together if that is more (they are read in turn). None when nothing can tell."""
        udp = self.udp_receive_backlog()
        streams = sum(connection.receive_backlog() for connection in self._by_id.values())
        if udp is None and not self._servers and not self._by_id:
            return None
        return max(udp or 0, streams)

    # -- listening --

    async def listen(self, spec: ListenSpec) -> LocalEndpoint:
        """Open a listening point; returns it with the port actually bound (for port 0)."""
        if spec.transport == "UDP":
            sock = open_udp_socket(spec.host, spec.port, self.udp_buffer_bytes, reuse_port=self.reuse_port)
            protocol = UdpEndpoint(self.sink, self.counters, self.boundary)
            if _is_uvloop(self.loop):
                await self.loop.create_datagram_endpoint(lambda: protocol, sock=sock)
            else:
                protocol.attach(self.loop, sock)  # stock asyncio: batched reads (see UdpEndpoint)
            self._udp.append(protocol)
            port = sock.getsockname()[1]
        else:
            context = server_context(self.tls) if spec.transport == "TLS" else None
            server = await self.loop.create_server(
                lambda: self._accept(spec.transport),
                spec.host,
                spec.port,
                ssl=context,
                reuse_address=True,
                reuse_port=self.reuse_port or None,
                backlog=1024,
            )
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
        endpoint = LocalEndpoint(spec.transport, spec.host, port)
        self.endpoints.append(endpoint)
        self._local.clear()
        return endpoint

    def _accept(self, transport_name: str) -> StreamConnection:
        return StreamConnection(self, transport_name, next(self._ids))

    # -- sending --

    def send(self, data: bytes, peer: Peer) -> None:
        """Write ``data`` to ``peer``: UDP datagram, or the stream connection (opened if needed).

        A hostname (the core routed by a Contact/Route FQDN) is resolved first; failures are reported to
        the sink as ``transport_error(peer)`` (RFC 3261 §8.1.3.1), never raised.
        """
        self.counters.messages_out += 1
        if self._recorder is not None:
            self._record("out", data, peer)
        if not is_ip_literal(peer.host):
            address = self.resolver.cached(peer.host, self._family_preference(peer.transport))
            if address is None:
                task = self.loop.create_task(self._resolve_and_send(data, peer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            self._send_to(data, Peer(peer.transport, address, peer.port, peer.connection_id), peer)
        elif peer.transport == "UDP":
            self._send_udp(data, peer, peer)  # what _send_to does for UDP, one frame less per message
        else:
            self._send_to(data, peer, peer)

    def _record(self, direction: Literal["in", "out"], data: bytes, peer: Peer) -> None:
        """Copy one message to the recorder; tracing must never break signalling.

        A recorder with a ``note`` method (``SipTrace.for_party``) gets that call: the same recording without
        handing an entry back, which lets the trace put off the work until somebody reads it.
        """
        recorder = self._recorder
        if recorder is None:
            return
        transport = peer.transport
        here = self._local.get(transport)
        if here is None:
            for local in self.endpoints:
                if local.transport == transport:
                    break
            else:
                return
            here = self._local[transport] = (local.host, local.port)
        there = (peer.host, peer.port)
        src, dst = (here, there) if direction == "out" else (there, here)
        try:
            (self._note or recorder.record)(direction, transport, src, dst, data)
        except Exception as exc:
            self.boundary.notice("trace", "trace recorder failed: %s", exc)

    def record_received(self, data: bytes, peer: Peer) -> None:
        """Called by the user agent for each message it accepted from ``peer``."""
        if self._recorder is not None:
            self._record("in", data, peer)

    def _send_to(self, data: bytes, target: Peer, requested: Peer) -> None:
        if target.transport == "UDP":
            self._send_udp(data, target, requested)
            return
        connection = self._connection_for(target, requested)
        if connection is None or not connection.write(data):
            self.counters.send_failures += 1
            self._report_transport_error(requested)

    async def _resolve_and_send(self, data: bytes, peer: Peer) -> None:
        try:
            address = await self.resolver.resolve(peer.host, self._family_preference(peer.transport))
        except OSError as exc:
            self.counters.send_failures += 1
            self.boundary.notice("dns", "cannot resolve %s: %s", peer.host, exc)
            self._report_transport_error(peer)
            return
        self._send_to(data, Peer(peer.transport, address, peer.port, peer.connection_id), peer)

    def _family_preference(self, transport: str) -> bool | None:
        """For UDP, resolve to the family we have a socket for (True = IPv6); streams take either."""
        if transport != "UDP":
            return None
        families = {endpoint.is_ipv6 for endpoint in self._udp}
        return families.pop() if len(families) == 1 else None

    def _send_udp(self, data: bytes, peer: Peer, requested: Peer) -> None:
        want_v6 = ":" in peer.host
        for endpoint in self._udp:
            if endpoint.is_ipv6 == want_v6:
                try:
                    endpoint.send(data, peer.host, peer.port)
                except OSError as exc:
                    self.counters.send_failures += 1
                    self.boundary.notice("udp-send", "UDP send to %s failed: %s", peer, exc)
                    self._report_transport_error(requested)
                return
        self.counters.send_failures += 1
        self.boundary.notice("udp-no-socket", "no UDP listening point for %s", peer)
        self._report_transport_error(requested)

    def _connection_for(self, peer: Peer, requested: Peer) -> StreamConnection | None:
        """§18.2.2: the connection named by the core, else one to the same address, else a new one."""
        if peer.connection_id is not None:
            connection = self._by_id.get(peer.connection_id)
            if connection is not None and not connection.closed:
                return connection
        connection = self._by_addr.get((peer.transport, peer.host, peer.port))
        if connection is not None and not connection.closed:
            return connection
        if self._closed or peer.transport not in ("TCP", "TLS"):
            return None
        return self._connect(peer, requested)

    def connection(self, connection_id: int) -> StreamConnection | None:
        return self._by_id.get(connection_id)

    @property
    def connections(self) -> list[StreamConnection]:
        return list(self._by_id.values())

    # -- outgoing connections --

    def _connect(self, peer: Peer, requested: Peer) -> StreamConnection:
        connection_id = next(self._ids)
        target = Peer(peer.transport, peer.host, peer.port, connection_id)
        connection = StreamConnection(self, peer.transport, connection_id, outgoing_peer=target)
        self._by_id[connection_id] = connection
        self._by_addr[(peer.transport, peer.host, peer.port)] = connection
        task = self.loop.create_task(self._open(connection, target, requested))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return connection

    async def _open(self, connection: StreamConnection, target: Peer, requested: Peer) -> None:
        context: ssl.SSLContext | None = None
        server_hostname: str | None = None
        if target.transport == "TLS":
            if self._client_ssl is None:
                self._client_ssl = client_context(self.tls)
            context = self._client_ssl
            # RFC 5922 §7.2: check the name we were asked to reach (a hostname from a URI), not the IP.
            server_hostname = self.tls.server_name or requested.host
        try:
            await self.loop.create_connection(
                connection.factory(),
                target.host,
                target.port,
                ssl=context,
                server_hostname=server_hostname,
            )
        except (TimeoutError, OSError, ssl.SSLError, ValueError) as exc:
            self.counters.connect_failures += 1
            self.boundary.notice("connect-failed", "cannot connect to %s: %s", target, exc)
            connection.connect_failed()
            self._forget(connection)
            self._report_transport_error(Peer(requested.transport, requested.host, requested.port))
            return
        if connection.closed and connection.transport is not None:
            connection.transport.close()  # closed by us while the connect was in flight

    # -- connection bookkeeping (called by StreamConnection) --

    def _connection_made(self, connection: StreamConnection) -> None:
        counters = self.counters
        if connection.outgoing:
            counters.connections_opened += 1
        else:
            if len(self._by_id) >= self.max_connections or self._closed:
                counters.connections_rejected += 1
                self.boundary.notice("too-many-connections", "rejecting %s: limit reached", connection.peer)
                assert connection.transport is not None
                connection.transport.abort()
                return
            counters.connections_accepted += 1
            assert connection.peer is not None
            self._by_id[connection.connection_id] = connection
            peer = connection.peer
            self._by_addr[(peer.transport, peer.host, peer.port)] = connection
        counters.connections_open += 1
        self._schedule_sweep()

    def _connection_lost(self, connection: StreamConnection) -> None:
        if self._by_id.get(connection.connection_id) is connection:
            self.counters.connections_open -= 1
        self._forget(connection)
        self._notify_lost(connection.connection_id)

    def _forget(self, connection: StreamConnection) -> None:
        self._by_id.pop(connection.connection_id, None)
        peer = connection.peer
        if peer is not None:
            key = (peer.transport, peer.host, peer.port)
            if self._by_addr.get(key) is connection:
                del self._by_addr[key]

    def _notify_lost(self, connection_id: int) -> None:
        try:
            self.sink.connection_lost(connection_id)
        except Exception as exc:
            self.boundary.internal_error("connection_lost", exc)

    def _report_transport_error(self, peer: Peer) -> None:
        try:
            self.sink.transport_error(peer)
        except Exception as exc:
            self.boundary.internal_error("transport_error", exc)

    # -- idle sweep --

    def _schedule_sweep(self) -> None:
        if self._sweep_handle is None and not self._closed:
            interval = max(self.idle_timeout / 4, 0.01)
            self._sweep_handle = self.loop.call_later(interval, self._sweep)

    def _sweep(self) -> None:
        self._sweep_handle = None
        deadline = self.loop.time() - self.idle_timeout
        for connection in list(self._by_id.values()):
            if connection.transport is not None and connection.last_activity < deadline:
                self.counters.connections_idle_closed += 1
                connection.close()
        if self._by_id:
            self._schedule_sweep()

    # -- shutdown --

    async def close(self) -> None:
        """Close every socket; bounded: waits for servers and in-flight connects to finish closing."""
        self._closed = True
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self._by_id.values()):
            connection.close()
        for endpoint in self._udp:
            endpoint.close()
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        await asyncio.sleep(0)  # let connection_lost callbacks run
