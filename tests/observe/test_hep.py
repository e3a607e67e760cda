"""HEPv3 export: packets sent to a real UDP socket on 127.0.0.1 and decoded chunk by chunk."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from takeback.observe.hep import HepError, HepSender, encode_hep3, parse_hep3, parse_hep_address
from takeback.observe.trace import SipTrace, TraceEntry

from .scenario import DEVICE, GENESYS, START, genesys_invite

INVITE = genesys_invite(1)


@pytest.fixture
def collector() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    yield sock
    sock.close()


def chunk_walk(packet: bytes) -> list[tuple[int, int, bytes]]:
    """An independent walk over the chunk list: (vendor, type, value) in order."""
    assert packet[:4] == b"HEP3" and struct.unpack_from("!H", packet, 4)[0] == len(packet)
    chunks, offset = [], 6
    while offset < len(packet):
        vendor, type_id, length = struct.unpack_from("!HHH", packet, offset)
        chunks.append((vendor, type_id, packet[offset + 6 : offset + length]))
        offset += length
    assert offset == len(packet)
    return chunks


def test_sender_to_collector_round_trip(collector: socket.socket) -> None:
    entry = TraceEntry(START + 0.123456, "out", "UDP", GENESYS, DEVICE, INVITE, "genesys")
    with HepSender(collector.getsockname(), capture_id=2001, auth_key="s3cret", node_name="emu-1") as sender:
        assert sender.send(entry)
        data, _ = collector.recvfrom(65535)
    packet = parse_hep3(data)
    assert (packet.family, packet.ip_proto, packet.proto_type, packet.capture_id) == (2, 17, 1, 2001)
    assert (packet.src, packet.dst) == (GENESYS, DEVICE)
    assert (packet.seconds, packet.microseconds) == (int(START), 123456)
    assert (packet.auth_key, packet.node_name, packet.payload) == (b"s3cret", "emu-1", INVITE)
    walked = chunk_walk(data)
    assert {vendor for vendor, _, _ in walked} == {0}
    assert [type_id for _, type_id, _ in walked] == [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 14, 15, 19]
    values = {type_id: value for _, type_id, value in walked}
    assert values[1] == b"\x02" and values[2] == b"\x11" and values[11] == b"\x01"
    assert values[3] == socket.inet_aton("127.0.0.1") and values[7] == struct.pack("!H", 5070)
    assert values[12] == struct.pack("!I", 2001) and values[15] == INVITE


def test_ipv6_and_tcp_encoding() -> None:
    entry = TraceEntry(START, "in", "TLS", ("::1", 40000), ("2001:db8::5", 5061), INVITE)
    packet = parse_hep3(encode_hep3(entry, capture_id=7, correlation_id="call-1"))
    assert (packet.family, packet.ip_proto) == (10, 6)  # TLS reported as TCP
    assert (packet.src, packet.dst) == (("::1", 40000), ("2001:db8::5", 5061))
    assert packet.correlation_id == b"call-1" and packet.auth_key is None and packet.node_name is None
    assert packet.timestamp == START


def test_microseconds_round_up_into_the_next_second() -> None:
    entry = TraceEntry(1_700_000_000.9999999, "out", "UDP", GENESYS, DEVICE, b"x")
    packet = parse_hep3(encode_hep3(entry))
    assert (packet.seconds, packet.microseconds) == (1_700_000_001, 0)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HEP2\x00\x06",
        b"HEP3\x00\x07",
        b"HEP3\x00\x0b\x00\x00\x00\x01\x00",
        b"HEP3\x00\x0d\x00\x00\x00\x01\x00\x09\x02",
    ],
)
def test_malformed_packets_are_refused(data: bytes) -> None:
    with pytest.raises(HepError):
        parse_hep3(data)


def test_missing_mandatory_chunk_is_refused() -> None:
    packet = encode_hep3(TraceEntry(START, "out", "UDP", GENESYS, DEVICE, b"x"))
    chunks = [c for c in chunk_walk(packet) if c[1] != 7]  # drop the source port
    body = b"".join(struct.pack("!HHH", v, t, 6 + len(value)) + value for v, t, value in chunks)
    with pytest.raises(HepError):
        parse_hep3(b"HEP3" + struct.pack("!H", 6 + len(body)) + body)


def test_vendor_chunks_are_skipped() -> None:
    packet = encode_hep3(TraceEntry(START, "out", "UDP", GENESYS, DEVICE, b"x"))
    vendor = struct.pack("!HHH", 0x1234, 15, 9) + b"bad"
    patched = b"HEP3" + struct.pack("!H", len(packet) + len(vendor)) + packet[6:] + vendor
    assert parse_hep3(patched).payload == b"x"


def test_sender_as_subscriber_sends_mirrored_messages_once(collector: socket.socket) -> None:
    trace = SipTrace()
    sender = HepSender(collector.getsockname())
    trace.subscribe(sender)
    trace.record("out", "UDP", GENESYS, DEVICE, INVITE, party="genesys", timestamp=START)
    trace.record("in", "UDP", GENESYS, DEVICE, INVITE, party="device", timestamp=START + 0.0001)
    trace.record("out", "UDP", DEVICE, GENESYS, b"SIP/2.0 100 Trying\r\n\r\n", timestamp=START + 0.001)
    first, _ = collector.recvfrom(65535)
    second, _ = collector.recvfrom(65535)
    assert parse_hep3(first).payload == INVITE
    assert parse_hep3(second).payload.startswith(b"SIP/2.0 100")
    assert (sender.sent, sender.dropped) == (2, 0)
    sender.close()
    assert not sender.send(TraceEntry(START, "out", "UDP", GENESYS, DEVICE, b"late"))


def test_oversized_message_is_dropped_and_counted(collector: socket.socket) -> None:
    sender = HepSender(collector.getsockname())
    assert not sender.send(TraceEntry(START, "out", "TCP", GENESYS, DEVICE, b"x" * 70000))
    assert (sender.sent, sender.dropped) == (0, 1)
    sender.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9061", ("127.0.0.1", 9061)),
        ("udp:homer.example:9060", ("homer.example", 9060)),
        ("[::1]:9062", ("::1", 9062)),
        ("[::1]", ("::1", 9060)),
        ("collector", ("collector", 9060)),
    ],
)
def test_parse_hep_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_hep_address(text) == expected


@pytest.mark.parametrize("text", ["", ":9060", "host:port", "host:70000"])
def test_parse_hep_address_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hep_address(text)
