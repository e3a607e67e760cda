"""RFC 3261 §18.2.1/§18.2.2 and RFC 3581: the fast paths of stamp_received and response_destination give
exactly what the general rules give (the rules are restated here as the reference)."""

from __future__ import annotations

import pytest

from takeback.sip import parse_message
from takeback.sip.headers import Via, format_params, parse_via
from takeback.sip.peer import Peer, default_port, response_destination, stamp_received
from takeback.sip.uri import format_host

SOURCES = [Peer("UDP", "192.0.2.7", 5099), Peer("UDP", "127.0.0.1", 5061), Peer("TCP", "127.0.0.1", 5061, 4)]
VIAS = [
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport",
    "SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK-1-0",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;RPORT",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport;Rport",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport;xrport=1",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport=5070",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport=abc",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;received=10.0.0.1;rport",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;Received=10.0.0.1;rport",
    "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1-0",
    "SIP/2.0/UDP host.example.com:5061;branch=z9hG4bK-1-0",
    "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK-1-0;rport",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;maddr=239.1.1.1;rport",
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;MADDR=239.1.1.1",
    "SIP/2.0/UDP 127.0.0.1:5061 ; branch=z9hG4bK-1-0 ; rport",
    "SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK-1-0;rport",
]


def _request(via: str) -> bytes:
    return (
        f"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\n"
        "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _reference_stamp(via: Via, peer: Peer) -> str | None:
    """§18.2.1 / RFC 3581 §4 as first written: the new top Via value, or None when it stays."""
    wants_rport = via.has_rport and via.rport is None
    if via.host == peer.host and not wants_rport:
        return None
    params = dict(via.params)
    params["received"] = peer.host
    if wants_rport:
        params = {k: (str(peer.port) if k.lower() == "rport" else v) for k, v in params.items()}
    value = f"{via.protocol}/{via.transport} {format_host(via.host)}"
    if via.port is not None:
        value += f":{via.port}"
    return value + format_params(params)


def _reference_destination(via: Via, source: Peer) -> Peer:
    """§18.2.2 / RFC 3581 §4 as first written."""
    if source.reliable:
        return source
    maddr = via.param("maddr")
    port = via.port or default_port(via.transport)
    if maddr:
        return Peer(source.transport, maddr, port)
    if via.rport is not None:
        return Peer(source.transport, via.received or source.host, via.rport)
    return Peer(source.transport, via.received or source.host, port)


@pytest.mark.parametrize("peer", SOURCES)
@pytest.mark.parametrize("via", VIAS)
def test_stamp_received_matches_the_general_rule(via, peer):
    request = parse_message(_request(via))
    before = request.top_via
    expected = _reference_stamp(before, peer)
    stamp_received(request, peer)
    written = request.headers.get("Via")
    assert written == (via if expected is None else expected)
    # the cached typed value is what parsing the written line gives
    assert request.top_via == parse_via(written)


@pytest.mark.parametrize("peer", SOURCES)
@pytest.mark.parametrize("via", VIAS)
def test_response_destination_matches_the_general_rule(via, peer):
    request = parse_message(_request(via))
    stamp_received(request, peer)
    assert response_destination(request.top_via, peer) == _reference_destination(request.top_via, peer)


def test_response_to_an_rport_client_goes_back_to_the_source_itself():
    source = Peer("UDP", "127.0.0.1", 5061)
    request = parse_message(_request(VIAS[0]))
    stamp_received(request, source)
    assert response_destination(request.top_via, source) is source


def test_peer_keeps_its_dataclass_contract():
    peer = Peer("UDP", "h", 5)
    assert peer == Peer(transport="UDP", host="h", port=5, connection_id=None)
    assert hash(peer) == hash(Peer("UDP", "h", 5))
    assert repr(peer) == "Peer(transport='UDP', host='h', port=5, connection_id=None)"
    with pytest.raises(AttributeError):
        peer.port = 6  # type: ignore[misc]
