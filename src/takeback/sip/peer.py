"""Addresses: where a message came from, where one must go (RFC 3261 §18, RFC 3581).

The core never resolves names or opens sockets; it only decides *which* transport, host and port a message
is for and hands the runtime a :class:`Peer`. Response routing (§18.2.2) and the ``received``/``rport``
stamping of an incoming top Via (§18.2.1, RFC 3581 §4) live here because both are pure functions of the
top Via and the packet's source.
"""

from __future__ import annotations

from dataclasses import dataclass

from takeback._frozen import slot_setters

from .headers import Via, via_with_params
from .message import Request
from .params import Params, lookup_param
from .uri import SipUri, format_host, parse_uri

__all__ = [
    "RELIABLE_TRANSPORTS",
    "LocalEndpoint",
    "Peer",
    "default_port",
    "response_destination",
    "stamp_received",
    "uri_destination",
]

RELIABLE_TRANSPORTS = frozenset({"TCP", "TLS", "SCTP", "WS", "WSS"})
_ABSENT = ""  # a default no parameter value equals: params.get(name, _ABSENT) is None only for a flag


@dataclass(frozen=True, slots=True, init=False)
class Peer:
    """One end of a hop: transport, host, port, and for streams the runtime's connection id."""

    transport: str
    host: str
    port: int
    connection_id: int | None = None

    def __init__(self, transport: str, host: str, port: int, connection_id: int | None = None) -> None:
        # The slots' own setters: a frozen dataclass's __init__ goes through object.__setattr__ per field,
        # twice the cost, and the runtime makes a Peer per datagram.
        _set_transport(self, transport)
        _set_host(self, host)
        _set_port(self, port)
        _set_connection_id(self, connection_id)

    @property
    def reliable(self) -> bool:
        """TCP/TLS: no retransmission timers, zero-length wait timers (RFC 3261 §17.1.1.2, §17.1.2.2)."""
        return self.transport in RELIABLE_TRANSPORTS


_set_transport, _set_host, _set_port, _set_connection_id = slot_setters(Peer)


@dataclass(frozen=True, slots=True)
class LocalEndpoint:
    """A listening point of this UA; ``advertise`` replaces ``host`` in Via/Contact (FQDN for TLS)."""

    transport: str
    host: str
    port: int
    advertise: str | None = None

    @property
    def hostport(self) -> str:
        return f"{format_host(self.advertise or self.host)}:{self.port}"


def default_port(transport: str) -> int:
    """RFC 3261 §19.1.2: 5061 for TLS, 5060 otherwise."""
    return 5061 if transport in ("TLS", "WSS") else 5060


def stamp_received(request: Request, peer: Peer) -> None:
    """RFC 3261 §18.2.1 and RFC 3581 §4: record the source address in the top Via.

    ``received`` is added when the sent-by host differs from the source IP (always when ``rport`` was
    asked for), and an empty ``rport`` is filled with the source port. The Via line is rewritten only
    when something changes, so a well-behaved peer sees its Via echoed untouched (GENESYS.md §4.2).
    """
    via = request.top_via
    params = via.params
    if params.get("rport", _ABSENT) is None and ";".join(params).lower().count("rport") == 1:
        # Fast path, what every RFC 3581 client sends: a bare ``rport`` flag spelled the usual way and no
        # other spelling of it, so the general path below would fill exactly that one key and add
        # ``received`` (same keys, same order, same text).
        params = dict(params)
        params["received"] = peer.host
        params["rport"] = str(peer.port)
    else:
        wants_rport = via.has_rport and via.rport is None
        if via.host == peer.host and not wants_rport:
            return
        params = dict(params)
        if via.host != peer.host or wants_rport:
            params["received"] = peer.host
        if wants_rport:
            params = {k: (str(peer.port) if k.lower() == "rport" else v) for k, v in params.items()}
    new_value = f"{via.protocol}/{via.transport} {format_host(via.host)}"
    if via.port is not None:
        new_value += f":{via.port}"
    # format_params(params), as one list comprehension (its generator resumes once per parameter)
    new_value += "".join([f";{k}" if v is None else f";{k}={v}" for k, v in params.items()])
    headers = request.headers
    headers.replace_first("Via", new_value)
    # The edit dropped only the Via values from the typed cache (CSeq, From, To stay parsed); the new top
    # Via is the old one with these params, exactly what parsing ``new_value`` would give.
    headers.typed["top:via"] = via_with_params(via, params)


def response_destination(via: Via, source: Peer) -> Peer:
    """Where a response to a request received from ``source`` with top Via ``via`` goes (§18.2.2).

    Reliable transports answer on the same connection (the runtime reopens to the same address if it is
    gone). Otherwise ``maddr`` wins, then the source address when ``rport`` was filled (RFC 3581 §4), then
    ``received`` with the sent-by port.
    """
    if source.transport in RELIABLE_TRANSPORTS:
        return source
    params = via.params
    maddr = _param(params, "maddr")
    port = via.port or default_port(via.transport)
    if maddr:
        return Peer(source.transport, maddr, port)
    rport = via.rport
    host = _param(params, "received") or source.host
    if rport is not None:
        port = rport
    if host == source.host and port == source.port and source.connection_id is None:
        return source  # what stamp_received makes of a NATed or RFC 3581 client: answer the source itself
    return Peer(source.transport, host, port)


def _param(params: Params, name: str) -> str | None:
    """:func:`lookup_param` that skips its case-insensitive scan when no spelling of ``name`` is there."""
    value = params.get(name)
    if value is not None or name in params or name not in ";".join(params).lower():
        return value
    return lookup_param(params, name)


def uri_destination(uri_text: str, default_transport: str, hint: Peer | None = None) -> Peer:
    """Next hop for a request routed by a URI (route or remote target), RFC 3263 simplified.

    Transport: the ``transport`` URI parameter, else TLS for ``sips:``, else the transport the dialog
    already uses (we prefer keeping the connection the peer opened over RFC 3263's UDP default). The
    host may stay a hostname: resolving it is the runtime's job. On a stream transport to the host we
    last heard the peer from, its connection id is offered for reuse (RFC 5923 spirit): the runtime
    writes on it while it is open, and connects to ``(host, port)`` otherwise.
    """
    uri = parse_uri(uri_text)
    if not isinstance(uri, SipUri):
        if hint is not None:
            return hint
        raise ValueError(f"cannot route to non-SIP URI {uri_text!r}")
    transport = (uri.transport or "").upper()
    if not transport:
        transport = "TLS" if uri.scheme == "sips" else default_transport
    host = uri.param("maddr") or uri.host
    port = uri.port or default_port(transport)
    if hint is not None and hint.transport == transport and hint.host == host:
        if hint.port == port:
            return hint
        if hint.connection_id is not None:
            return Peer(transport, host, port, hint.connection_id)
    return Peer(transport, host, port)
