"""Packet synthesis checked by re-computation: checksums verify, fragments and segments reassemble."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network, IPv6Address

import pytest

from takeback.observe.frames import (
    IP_PROTO_TCP,
    IP_PROTO_UDP,
    TCP_ACK,
    TCP_PSH,
    TCP_SYN,
    TcpFlows,
    endpoint_ips,
    internet_checksum,
    ip_of,
    ip_packets,
    tcp_header,
    udp_datagram,
)

V4A, V4B = IPv4Address("127.0.0.1"), IPv4Address("127.0.0.2")
V6A, V6B = IPv6Address("::1"), IPv6Address("fd00::2")


def test_internet_checksum_rfc1071_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is its complement.
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2
    assert internet_checksum(b"\x01") == 0xFFFF - 0x0100  # odd length: padded with a zero octet


def pseudo(src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address, proto: int, length: int) -> bytes:
    if isinstance(src, IPv4Address):
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


@pytest.mark.parametrize(("src", "dst"), [(V4A, V4B), (V6A, V6B)])
@pytest.mark.parametrize("payload", [b"", b"x", b"INVITE sip:a SIP/2.0\r\n\r\n" * 3])
def test_udp_checksum_verifies(src: IPv4Address, dst: IPv4Address, payload: bytes) -> None:
    datagram = udp_datagram(src, dst, 5070, 5080, payload)
    assert struct.unpack_from("!HHH", datagram) == (5070, 5080, 8 + len(payload))
    assert struct.unpack_from("!H", datagram, 6)[0] != 0  # computed, never "no checksum"
    assert internet_checksum(pseudo(src, dst, IP_PROTO_UDP, len(datagram)) + datagram) == 0


@pytest.mark.parametrize(("src", "dst"), [(V4A, V4B), (V6A, V6B)])
def test_tcp_checksum_verifies(src: IPv4Address, dst: IPv4Address) -> None:
    flows = TcpFlows()
    for segment in flows.segments(("a", 1), ("b", 2), b"hello world", 1000):
        a, b = (src, dst) if segment.forward else (dst, src)
        raw = tcp_header(a, b, 1, 2, segment)
        assert internet_checksum(pseudo(a, b, IP_PROTO_TCP, len(raw)) + raw) == 0


def test_ipv4_header_checksum_and_fields() -> None:
    (packet,) = ip_packets(V4A, V4B, IP_PROTO_UDP, b"x" * 100, ident=7, mtu=1500, dont_fragment=False)
    assert internet_checksum(packet[:20]) == 0
    version_ihl, _, total, ident, frag, ttl, proto = struct.unpack_from("!BBHHHBB", packet)
    assert (version_ihl, total, ident, frag, ttl, proto) == (0x45, 120, 7, 0, 64, IP_PROTO_UDP)


def test_ipv4_fragments_reassemble() -> None:
    payload = bytes(range(256)) * 20  # 5120 octets
    packets = ip_packets(V4A, V4B, IP_PROTO_UDP, payload, ident=9, mtu=1500, dont_fragment=False)
    assert len(packets) == 4
    rebuilt = bytearray()
    for index, packet in enumerate(packets):
        assert len(packet) <= 1500 and internet_checksum(packet[:20]) == 0
        (frag,) = struct.unpack_from("!H", packet, 6)
        assert (frag & 0x1FFF) * 8 == len(rebuilt)
        assert bool(frag & 0x2000) == (index < len(packets) - 1)
        rebuilt += packet[20:]
    assert bytes(rebuilt) == payload


def test_ipv6_fragments_reassemble() -> None:
    payload = b"v6" * 2000
    packets = ip_packets(V6A, V6B, IP_PROTO_UDP, payload, ident=0x01020304, mtu=1280, dont_fragment=False)
    rebuilt = bytearray()
    for index, packet in enumerate(packets):
        assert len(packet) <= 1280 and packet[6] == 44  # Fragment extension header (RFC 8200 §4.5)
        next_header, _, offset_flags, ident = struct.unpack_from("!BBHI", packet, 40)
        assert (next_header, ident) == (IP_PROTO_UDP, 0x01020304)
        assert offset_flags & 0xFFF8 == len(rebuilt) and bool(offset_flags & 1) == (index < len(packets) - 1)
        rebuilt += packet[48:]
    assert bytes(rebuilt) == payload


def test_tcp_flow_handshake_segmentation_and_acks() -> None:
    flows = TcpFlows()
    client, server = ("127.0.0.1", 40000), ("127.0.0.1", 5080)
    first = flows.segments(client, server, b"a" * 2500, 1000)
    flags = [(segment.forward, segment.flags) for segment in first]
    assert flags == [
        (True, TCP_SYN), (False, TCP_SYN | TCP_ACK), (True, TCP_ACK),
        (True, TCP_ACK), (True, TCP_ACK), (True, TCP_ACK | TCP_PSH), (False, TCP_ACK),
    ]  # fmt: skip
    syn, syn_ack, _, *data, ack = first
    assert syn_ack.ack == syn.seq + 1
    assert [segment.seq - syn.seq - 1 for segment in data] == [0, 1000, 2000]
    assert [len(segment.payload) for segment in data] == [1000, 1000, 500]
    assert ack.ack == syn.seq + 1 + 2500 and ack.seq == syn_ack.seq + 1
    reply = flows.segments(server, client, b"b" * 10, 1000)
    assert [(segment.forward, segment.flags) for segment in reply] == [
        (True, TCP_ACK | TCP_PSH),
        (False, TCP_ACK),
    ]
    assert reply[0].seq == syn_ack.seq + 1 and reply[0].ack == syn.seq + 1 + 2500
    assert reply[1].ack == syn_ack.seq + 1 + 10


def test_tcp_flows_without_handshake_or_acks() -> None:
    flows = TcpFlows(handshake=False, acks=False)
    segments = flows.segments(("a", 1), ("b", 2), b"xyz", 1460)
    assert [(segment.forward, segment.payload) for segment in segments] == [(True, b"xyz")]


def test_hostnames_and_mapped_addresses() -> None:
    address = ip_of("sip.example.com")
    assert address == ip_of("SIP.EXAMPLE.COM") and address in IPv4Network("198.18.0.0/15")
    assert ip_of("::ffff:127.0.0.1") == V4A
    assert ip_of("[fe80::1%eth0]") == IPv6Address("fe80::1")
    assert endpoint_ips("127.0.0.1", "::1") == (IPv6Address("::ffff:127.0.0.1"), V6A)
