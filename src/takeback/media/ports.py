"""Allocation of RTP (and optional RTCP) UDP ports from a configured range.

RFC 3550 §11: RTP uses an even port and RTCP the next odd one. Genesys sends media to and from UDP
16384-65535 (GENESYS.md §2.3), so the device's range is configuration; a firewall in front of a real device
is opened for exactly that range, which is why we never fall back to an ephemeral port when it is full.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass, field

from takeback.media.errors import PortRangeExhausted

__all__ = ["DSCP_EF", "PortAllocator", "PortLease"]

DSCP_EF = 46
"""Expedited Forwarding (RFC 3246), the usual marking for voice RTP."""

_BIND_FAILURES = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})
_DGRAM_NONBLOCK = socket.SOCK_DGRAM | getattr(socket, "SOCK_NONBLOCK", 0)


@dataclass(slots=True)
class PortLease:
    """The sockets bound for one call; give them back with :meth:`release` (idempotent)."""

    port: int
    rtp: socket.socket
    rtcp: socket.socket | None
    _owner: PortAllocator | None = field(default=None, repr=False)

    def release(self) -> None:
        """Close the sockets and return the port to the pool."""
        owner, self._owner = self._owner, None
        if owner is None:
            return
        for sock in (self.rtp, self.rtcp):
            if sock is not None and sock.fileno() != -1:
                sock.close()
        owner._give_back(self.port)


class PortAllocator:
    """Hands out bound, non-blocking UDP sockets on even ports of ``[port_min, port_max]``.

    Ports are handed out round-robin rather than lowest-first so that a port freed by a finished call is not
    reused at once: late packets of the old call would otherwise land in the new one. Ports held by other
    processes are skipped (bind fails); only when every even port was tried is
    :class:`PortRangeExhausted` raised.

    ``host`` must be a numeric address; ``"::"`` binds dual-stack (IPv4 peers appear as ``::ffff:a.b.c.d``).
    """

    def __init__(
        self,
        host: str = "0.0.0.0",
        port_min: int = 16384,
        port_max: int = 32767,
        *,
        rtcp: bool = False,
        dscp: int | None = DSCP_EF,
        receive_buffer: int | None = None,
    ) -> None:
        self.family = _family_of(host)
        self.host = host
        self.rtcp = rtcp
        self.dscp = dscp
        self.receive_buffer = receive_buffer
        first = port_min + (port_min & 1)
        last = port_max - 1 if rtcp else port_max
        if not 1 <= port_min <= port_max <= 0xFFFF or first > last:
            raise ValueError(
                f"port range {port_min}-{port_max} holds no even RTP port"
                + (" with RTCP on port+1" if rtcp else "")
            )
        self.port_min = port_min
        self.port_max = port_max
        self._candidates = range(first, last + 1, 2)
        self._cursor = 0
        self._in_use: set[int] = set()

    @property
    def capacity(self) -> int:
        """Number of even ports in the range (an upper bound on concurrent calls)."""
        return len(self._candidates)

    @property
    def in_use(self) -> int:
        """Ports currently leased by this allocator."""
        return len(self._in_use)

    def allocate(self) -> PortLease:
        """Bind the next free even port (and port+1 for RTCP when enabled)."""
        total = len(self._candidates)
        for _ in range(total):
            port = self._candidates[self._cursor]
            self._cursor = (self._cursor + 1) % total
            if port in self._in_use:
                continue
            lease = self._try_bind(port)
            if lease is not None:
                self._in_use.add(port)
                return lease
        raise PortRangeExhausted(
            f"no free RTP port in {self.port_min}-{self.port_max} on {self.host}: all {total} even ports "
            f"are taken ({len(self._in_use)} by this process, {total - len(self._in_use)} by other sockets)"
            + ("; RTCP needs port+1 free as well" if self.rtcp else "")
        )

    def _try_bind(self, port: int) -> PortLease | None:
        rtp = self._bind(port)
        if rtp is None:
            return None
        rtcp = None
        if self.rtcp:
            rtcp = self._bind(port + 1)
            if rtcp is None:
                rtp.close()
                return None
        return PortLease(port, rtp, rtcp, self)

    def _bind(self, port: int) -> socket.socket | None:
        # Non-blocking from birth where the OS allows (Linux): no separate setblocking() system call per call.
        sock = socket.socket(self.family, _DGRAM_NONBLOCK)
        try:
            if self.family == socket.AF_INET6 and ipaddress.ip_address(self.host).is_unspecified:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind((self.host, port))
        except OSError as exc:
            sock.close()
            if exc.errno in _BIND_FAILURES:
                return None
            raise
        if _DGRAM_NONBLOCK == socket.SOCK_DGRAM:
            sock.setblocking(False)
        self._tune(sock)
        return sock

    def _tune(self, sock: socket.socket) -> None:
        if self.dscp is not None:
            tos = self.dscp << 2  # DSCP is the upper six bits of TOS / traffic class (RFC 2474 §3)
            try:
                if self.family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
                else:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
            except OSError:
                pass  # marking is best effort; some sandboxes forbid it
        if self.receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)

    def _give_back(self, port: int) -> None:
        self._in_use.discard(port)


def _family_of(host: str) -> socket.AddressFamily:
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"RTP bind address must be a numeric IPv4/IPv6 address, not {host!r}") from exc
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET
