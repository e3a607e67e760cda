"""One call's UDP socket: one ``recvfrom`` per readiness, ``sendto`` straight on the socket.

Readiness comes from a :class:`Reactor`: normally the :class:`~takeback.media.scheduler.MediaScheduler`,
which collects it for all sockets once per tick (:mod:`takeback.media.poller`), else the event loop's own
``add_reader``. Either way one ``recvfrom(2048)`` is done per readiness (epoll is level triggered, so a
second queued datagram makes the socket readable again). Not the loop's datagram transport: on stock
asyncio it calls ``recvfrom(256 KiB)``, allocating and shrinking a quarter-megabyte buffer per packet
(measured: 13 µs per packet against 5 µs). Sending bypasses transports and calls ``sock.sendto`` on the
non-blocking socket: the paced sender owns timing, a datagram that cannot be sent *now* is worthless 20 ms
later, so instead of buffering (what ``transport.sendto`` does) it is counted and dropped.
"""

from __future__ import annotations

import _socket
import asyncio
import functools
import ipaddress
import socket
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["DatagramHandler", "Reactor", "RtpSocket", "sendable_address"]

DatagramHandler = Callable[[bytes, Any], None]
_MAX_DATAGRAM = 2048  # RTP on an Ethernet path never exceeds the MTU; larger datagrams are truncated


class Reactor(Protocol):
    """Something that calls back when a file descriptor is readable (an event loop, the scheduler)."""

    def add_reader(self, fd: int, callback: Callable[[], None]) -> Any: ...

    def remove_reader(self, fd: int) -> Any: ...


def sendable_address(family: socket.AddressFamily, address: tuple[str, int]) -> tuple[Any, ...]:
    """Spell ``address`` the way ``sendto`` on a socket of ``family`` wants it.

    A dual-stack IPv6 socket reaches IPv4 peers through IPv4-mapped addresses (RFC 4291 §2.5.5.2); the peer's
    packets also arrive with that spelling, so symmetric-RTP comparisons stay consistent. The address must be
    numeric: the media path never resolves names.
    """
    host, port = address
    spelled = _sendable_host(family, host)
    if family == socket.AF_INET6:
        return (spelled, port, 0, 0)
    return (spelled, port)


@functools.lru_cache(maxsize=1024)
def _sendable_host(family: socket.AddressFamily, host: str) -> str:
    """The host part of :func:`sendable_address`, cached per host: a few media servers, a port per call.

    (Parsing with ``ipaddress`` costs more than the rest of a session's setup; errors are not cached.)
    """
    ip = ipaddress.ip_address(host)
    if family == socket.AF_INET6:
        if ip.version == 4:
            return f"::ffff:{ip}"
        return str(ip)
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is None:
            raise ValueError(f"cannot reach IPv6 peer {host} from an IPv4 RTP socket")
        return str(mapped)
    return str(ip)


class RtpSocket:
    """A bound UDP socket wired to a datagram handler; :meth:`sendto` never blocks and never buffers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.family = _family_of(sock)
        self._reactor: Reactor | None = None
        self.handler: DatagramHandler | None = None
        """Where datagrams go; replaceable while running (a session turns SRTP on or off this way)."""
        self.send_dropped = 0
        self.send_errors = 0
        self.receive_errors = 0

    @property
    def local_address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    async def start(self, handler: DatagramHandler, reactor: Reactor | None = None) -> None:
        """Deliver datagrams to ``handler(data, source)``; ``reactor`` (default: the loop) watches the fd.

        :attr:`handler` is read per datagram, so assigning it later redirects the stream without
        re-registering the descriptor.
        """
        self.attach(handler, reactor)

    def attach(self, handler: DatagramHandler, reactor: Reactor | None = None) -> None:
        """:meth:`start` without the coroutine (it never waits), for callers on the loop already."""
        receive = self.sock.recvfrom
        self.handler = handler

        def readable() -> None:
            try:
                data, address = receive(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error reported on the socket (port unreachable): count, go on
                self.receive_errors += 1
                return
            self.handler(data, address)  # type: ignore[misc]  # set above

        self._reactor = reactor if reactor is not None else asyncio.get_running_loop()
        self._reactor.add_reader(self.sock.fileno(), readable)

    def sendto(self, data: bytes | bytearray | memoryview, address: tuple[Any, ...]) -> bool:
        """Send one datagram now; on a full socket buffer drop it (RTP is useless late) and return False."""
        try:
            self.sock.sendto(data, address)
        except BlockingIOError:
            self.send_dropped += 1
            return False
        except OSError:
            self.send_errors += 1
            return False
        return True

    def close(self) -> None:
        """Stop receiving and close the socket."""
        if self.sock.fileno() == -1:
            return
        if self._reactor is not None:
            try:  # noqa: SIM105  (once per call: contextlib.suppress costs more than the rest of close)
                self._reactor.remove_reader(self.sock.fileno())
            except RuntimeError:  # the loop is closed: nothing watches the socket
                pass
            self._reactor = None
        self.sock.close()


_FAMILIES = {int(family): family for family in (socket.AF_INET, socket.AF_INET6)}
_raw_family = _socket.socket.family.__get__  # the plain int, without ``socket.family``'s enum conversion


def _family_of(sock: socket.socket) -> socket.AddressFamily:
    """``socket.AddressFamily(sock.family)``, minus two enum conversions (3 µs of a session's set-up)."""
    if isinstance(sock, _socket.socket):
        family = _FAMILIES.get(_raw_family(sock))
        if family is not None:
            return family
    return socket.AddressFamily(sock.family)
