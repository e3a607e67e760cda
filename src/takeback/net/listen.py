"""Listening-point spec strings: ``udp:127.0.0.1:5080``, ``tcp:[::1]:5080``, ``tls:0.0.0.0:5061``.

The CLI (``--listen``) and the config files name listening points this way; one parser keeps the
spelling rules in one place. IPv6 literals are bracketed as in a SIP URI (RFC 3261 §19.1.1, RFC 5118 §4)
so that the port separator stays unambiguous.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["TRANSPORTS", "ListenSpec", "parse_listen_spec"]

#: Transport names as they appear in a Via header (RFC 3261 §20.42), upper-case.
TRANSPORTS = ("UDP", "TCP", "TLS")
_DEFAULT_PORTS = {"UDP": 5060, "TCP": 5060, "TLS": 5061}  # RFC 3261 §19.1.2


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """One listening point: transport (``UDP``/``TCP``/``TLS``), IP literal (no brackets) and port.

    Port 0 asks the OS for an ephemeral port; the transport layer reports the bound one.
    """

    transport: str
    host: str
    port: int

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.is_ipv6 else self.host
        return f"{self.transport.lower()}:{host}:{self.port}"


def parse_listen_spec(text: str) -> ListenSpec:
    """Parse ``transport:host[:port]``; raises ``ValueError`` with a message fit for a usage error.

    The host must be an IP literal: a listening socket binds an address, and resolving names here would
    hide which interface is actually used.
    """
    transport, sep, rest = text.strip().partition(":")
    transport = transport.upper()
    if not sep or transport not in TRANSPORTS:
        raise ValueError(f"bad listen spec {text!r}: expected udp:|tcp:|tls: followed by HOST[:PORT]")
    host, port_text = _split_hostport(rest, text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"bad listen spec {text!r}: {host!r} is not an IP address") from None
    port = _DEFAULT_PORTS[transport] if port_text is None else _parse_port(port_text, text)
    return ListenSpec(transport, address.compressed, port)


def _split_hostport(rest: str, text: str) -> tuple[str, str | None]:
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError(f"bad listen spec {text!r}: unclosed '['")
        host, after = rest[1:end], rest[end + 1 :]
        if after and not after.startswith(":"):
            raise ValueError(f"bad listen spec {text!r}: junk after ']'")
        return host, after[1:] if after else None
    if rest.count(":") > 1:
        raise ValueError(f"bad listen spec {text!r}: bracket IPv6 addresses, e.g. tcp:[::1]:5080")
    host, sep, port = rest.partition(":")
    return host, port if sep else None


def _parse_port(port_text: str, text: str) -> int:
    if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
        raise ValueError(f"bad listen spec {text!r}: port must be 0..65535")
    return int(port_text)
