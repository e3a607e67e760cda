"""Addresses shared by the transports and the SIP core: :class:`Peer` and :class:`LocalEndpoint`.

The SIP core owns these types (``takeback.sip.peer``, docs/core-api.md §1); the runtime re-exports them
so that transport code has one import, and adds the socket-address conversions the core must not know.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from takeback.sip.peer import LocalEndpoint, Peer

__all__ = ["LocalEndpoint", "Peer", "is_ip_literal", "peer_from_sockaddr"]


def peer_from_sockaddr(transport: str, addr: tuple[object, ...], connection_id: int | None = None) -> Peer:
    """Build a :class:`Peer` from a socket address tuple (IPv4 pair or IPv6 4-tuple; scope id dropped)."""
    host = str(addr[0])
    if "%" in host:
        host = host.partition("%")[0]
    port = addr[1]
    assert isinstance(port, int)
    return Peer(transport, host, port, connection_id)


@lru_cache(maxsize=4096)
def is_ip_literal(host: str) -> bool:
    """Whether ``host`` needs no DNS lookup (the core may hand us a hostname from a Contact or Route)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
