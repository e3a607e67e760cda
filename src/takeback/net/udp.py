"""SIP over UDP: one socket per listening point (RFC 3261 §18.1.1, §18.2.1).

Each datagram is one message (§18.3 datagram framing, done by :func:`takeback.sip.parse_message`). Where a
response goes is the SIP core's decision (Via ``received``/``rport``, RFC 3581 §4); this module only
sends bytes to the address it is given.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections import deque
from typing import Any, cast

from takeback.sip import SipParseError, parse_message
from takeback.sip.parser import MAX_DATAGRAM

from .address import Peer
from .boundary import Boundary, MessageSink
from .counters import Counters

__all__ = ["SOCKET_BUFFER_BYTES", "UdpEndpoint", "open_udp_socket"]

#: Kernel buffer size asked for on UDP sockets (capped by net.core.rmem_max/wmem_max). The ~200 kB default
#: overflows within a fraction of a second when the process stalls (GC, a busy neighbour) at a few thousand
#: calls/s, and every dropped ACK or BYE costs a retransmission storm; measured on the 2-core benchmark
#: machine, 4 MB kept every call of a 4,000 calls/s burst while 1 MB did not.
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
_PEER_CACHE_MAX = 4096
_READ_BATCH = 64  # datagrams drained per wake-up in direct mode (bounded: other sockets get their turn)
_MAX_BACKLOG = 10_000  # datagrams queued while the socket's send buffer is full (direct mode)
_KEEPALIVE_MAX = 4  # "\r\n\r\n" or less: a CRLF keep-alive (RFC 5626 §3.5.1 uses STUN; peers send CRLF)


def open_udp_socket(
    host: str, port: int, buffer_bytes: int = SOCKET_BUFFER_BYTES, *, reuse_port: bool = False
) -> socket.socket:
    """A bound, non-blocking UDP socket with large buffers (IPv6 sockets are v6-only).

    ``buffer_bytes`` 0 keeps the kernel defaults. ``reuse_port``: join the port's SO_REUSEPORT group, so
    that several worker processes share it; the kernel hands each datagram to one socket of the group by
    a hash of its source and destination, so one peer address:port always reaches the same worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF) if buffer_bytes else ():
            sock.setsockopt(socket.SOL_SOCKET, option, buffer_bytes)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


_SO_MEMINFO = 55  # Linux <asm-generic/socket.h>; SK_MEMINFO_VARS u32 values follow
_MEMINFO_BYTES = 9 * 4


class UdpEndpoint(asyncio.DatagramProtocol):
    """One UDP listening point: parses datagrams and hands them to the sink; sends bytes.

    Two ways to drive it, same behaviour: as the protocol of a loop datagram endpoint (uvloop, whose C
    receive path is the fastest), or :meth:`attach` to read the socket directly. Stock asyncio's endpoint
    reads ONE datagram per event-loop iteration (measured here: ~26 µs per datagram, and most of a
    100 k burst dropped); a reader that drains up to ``_READ_BATCH`` datagrams per wake-up costs ~4 µs.
    """

    def __init__(self, sink: MessageSink, counters: Counters, boundary: Boundary) -> None:
        self.sink = sink
        self.counters = counters
        self.boundary = boundary
        self.transport: asyncio.DatagramTransport | None = None
        self.is_ipv6 = False
        self._peers: dict[tuple[str | int, ...], Peer] = {}  # source address -> Peer (bounded)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None  # set when attached (direct socket mode)
        self._backlog: deque[tuple[bytes, tuple[str, int]]] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop: not a subclass
        sock = transport.get_extra_info("socket")
        self.is_ipv6 = sock is not None and sock.family == socket.AF_INET6

    def receive_backlog(self) -> int | None:
        """Bytes waiting in the kernel receive queue of this socket (Linux ``SO_MEMINFO`` rmem_alloc, which
        counts buffer overhead too), or None where the kernel cannot tell. This is how far behind the
        process is: an event loop reads a bounded batch per wake-up, so its own lag hides a long queue."""
        sock: Any = self._sock
        if sock is None and self.transport is not None:
            sock = self.transport.get_extra_info("socket")
        if sock is None:
            return None
        try:
            info = sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _MEMINFO_BYTES)
        except (OSError, ValueError):
            return None
        queued = int.from_bytes(info[:4], sys.byteorder)  # SK_MEMINFO_RMEM_ALLOC, the first u32
        return queued + sum(len(data) for data, _ in self._backlog)

    # -- direct socket mode (stock asyncio) --

    def attach(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        """Read ``sock`` with a batched reader instead of a loop datagram endpoint."""
        self._loop = loop
        self._sock = sock
        self.is_ipv6 = sock.family == socket.AF_INET6
        loop.add_reader(sock.fileno(), self._read_ready)

    def _read_ready(self) -> None:
        sock = self._sock
        if sock is None:
            return
        receive = sock.recvfrom
        for _ in range(_READ_BATCH):
            try:
                data, addr = receive(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
                return
            self.datagram_received(data, addr)

    def _send_direct(self, sock: socket.socket, data: bytes, addr: tuple[str, int]) -> None:
        if not self._backlog:
            try:
                sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                assert self._loop is not None
                self._loop.add_writer(sock.fileno(), self._write_ready)
            except OSError as exc:
                self.error_received(exc)
                return
        if len(self._backlog) >= _MAX_BACKLOG:
            self.counters.send_failures += 1
            return
        self._backlog.append((data, addr))

    def _write_ready(self) -> None:
        sock, backlog = self._sock, self._backlog
        while sock is not None and backlog:
            data, addr = backlog[0]
            try:
                sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
            backlog.popleft()
        if sock is not None and self._loop is not None:
            self._loop.remove_writer(sock.fileno())

    def close(self) -> None:
        """Close whichever way the endpoint is driven."""
        if self.transport is not None:
            self.transport.close()
        sock, loop = self._sock, self._loop
        if sock is not None and loop is not None:
            loop.remove_reader(sock.fileno())
            loop.remove_writer(sock.fileno())
            sock.close()
            self._sock = None
            self._backlog.clear()

    # -- receiving --

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        counters = self.counters
        counters.datagrams_in += 1
        peer = self._peers.get(addr)
        if peer is None:
            peer = self._peer(addr)
        if len(data) <= _KEEPALIVE_MAX and not data.strip():
            counters.keepalives_in += 1
            return
        try:
            message = parse_message(data)
        except SipParseError as error:
            counters.bad_datagrams += 1
            self.boundary.notice("bad-datagram", "bad datagram from %s:%s: %s", peer.host, peer.port, error)
            self._deliver_error(error, peer, data)
            return
        except Exception as exc:  # a parser bug must not kill the endpoint
            counters.bad_datagrams += 1
            self.boundary.internal_error("udp parse", exc)
            return
        counters.messages_in += 1
        try:
            self.sink.message_received(message, peer)
        except Exception as exc:
            self.boundary.internal_error("udp dispatch", exc)

    def _peer(self, addr: tuple[str | int, ...]) -> Peer:
        """Peers are immutable and a UA talks to few addresses: build each once (scope id dropped)."""
        host = str(addr[0]).partition("%")[0]
        port = addr[1]
        assert isinstance(port, int)
        peer = Peer("UDP", host, port)
        if len(self._peers) >= _PEER_CACHE_MAX:
            self._peers.clear()
        self._peers[addr] = peer
        return peer

    def _deliver_error(self, error: SipParseError, peer: Peer, data: bytes) -> None:
        try:
            self.sink.parse_error(error, peer, data)
        except Exception as exc:
            self.boundary.internal_error("udp parse-error dispatch", exc)

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (port unreachable …) on a connected-less socket: count, never fatal."""
        self.counters.send_failures += 1
        self.boundary.notice("udp-icmp", "UDP socket error: %s", exc)

    def send(self, data: bytes, host: str, port: int) -> None:
        sock = self._sock
        if sock is not None:
            self._send_direct(sock, data, (host, port))
            self.counters.datagrams_out += 1
            return
        transport = self.transport
        if transport is None or transport.is_closing():
            self.counters.send_failures += 1
            return
        transport.sendto(data, (host, port))
        self.counters.datagrams_out += 1
