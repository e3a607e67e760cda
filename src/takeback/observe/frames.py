"""Synthesising the packets a SIP message would have been on the wire: IPv4/IPv6, UDP, TCP, Ethernet.

A trace holds application messages; a pcap needs frames. This module builds them so that a dissector
checking everything (Wireshark with checksum validation on) finds nothing to complain about:

* IPv4 header checksum (RFC 791 §3.1) and the one's-complement Internet checksum (RFC 1071);
* UDP checksum over the pseudo-header (RFC 768; mandatory over IPv6, RFC 8200 §8.1), a computed 0
  sent as 0xFFFF;
* TCP with per-connection sequence and acknowledgement numbers (RFC 9293 §3.4), an optional synthetic
  three-way handshake and pure ACKs so that TCP analysis sees one consistent stream, payload cut into
  MSS-sized segments;
* UDP datagrams larger than the MTU fragmented at the IP layer (RFC 791 §2.3 / RFC 8200 §4.5), as the
  sending kernel would have done.

Addresses that are not IP literals (a hostname in a trace) are mapped onto 198.18.0.0/15 (RFC 2544
benchmarking space) deterministically, so the capture still dissects; IPv4-mapped IPv6 addresses are
written as IPv4.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address

__all__ = [
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "IP_PROTO_TCP",
    "IP_PROTO_UDP",
    "IpAddress",
    "TcpFlows",
    "TcpSegment",
    "endpoint_ips",
    "ethernet_frame",
    "internet_checksum",
    "ip_of",
    "ip_packets",
    "tcp_header",
    "udp_datagram",
]

IpAddress = IPv4Address | IPv6Address

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
_IPV6_FRAGMENT = 44
_TTL = 64

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_PSH = 0x08
TCP_ACK = 0x10


def internet_checksum(data: bytes) -> int:
    """RFC 1071: one's-complement of the one's-complement sum of 16-bit words (odd length zero-padded)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@lru_cache(maxsize=1024)
def ip_of(host: str) -> IpAddress:
    """The IP address to write for ``host``: the literal itself, or a stable stand-in for a hostname."""
    text = host.strip("[]")
    try:
        address = ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        digest = hashlib.blake2s(text.lower().encode("utf-8", "replace"), digest_size=2).digest()
        return IPv4Address(bytes((198, 18 | (digest[0] & 1), digest[1] | 1, 1)))
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def endpoint_ips(src_host: str, dst_host: str) -> tuple[IpAddress, IpAddress]:
    """Both addresses of a packet in one family (an IPv4 side of a mixed pair becomes IPv4-mapped)."""
    src, dst = ip_of(src_host), ip_of(dst_host)
    if src.version != dst.version:
        if isinstance(src, IPv4Address):
            src = IPv6Address("::ffff:" + str(src))
        if isinstance(dst, IPv4Address):
            dst = IPv6Address("::ffff:" + str(dst))
    return src, dst


def _pseudo_header(src: IpAddress, dst: IpAddress, proto: int, length: int) -> bytes:
    """RFC 768 / RFC 9293 §3.1 (IPv4) and RFC 8200 §8.1 (IPv6) checksum pseudo-headers."""
    if isinstance(src, IPv4Address):
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


def udp_datagram(src: IpAddress, dst: IpAddress, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header plus payload with the checksum filled in (RFC 768)."""
    length = 8 + len(payload)
    if length > 0xFFFF:
        raise ValueError(f"a UDP datagram cannot carry {len(payload)} bytes")
    header = struct.pack("!HHHH", sport, dport, length, 0)
    checksum = internet_checksum(_pseudo_header(src, dst, IP_PROTO_UDP, length) + header + payload)
    return struct.pack("!HHHH", sport, dport, length, checksum or 0xFFFF) + payload


def tcp_header(src: IpAddress, dst: IpAddress, sport: int, dport: int, segment: TcpSegment) -> bytes:
    """A 20-byte TCP header (no options) plus payload, checksummed (RFC 9293 §3.1)."""
    fields = (sport, dport, segment.seq, segment.ack, 5 << 12 | segment.flags, segment.window, 0, 0)
    header = struct.pack("!HHIIHHHH", *fields)
    length = len(header) + len(segment.payload)
    checksum = internet_checksum(_pseudo_header(src, dst, IP_PROTO_TCP, length) + header + segment.payload)
    return header[:16] + struct.pack("!H", checksum) + header[18:] + segment.payload


def _ipv4_header(src: IPv4Address, dst: IPv4Address, proto: int, length: int, ident: int, frag: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident & 0xFFFF, frag, _TTL, proto, 0, src.packed, dst.packed
    )
    return header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]


def _ipv6_header(src: IPv6Address, dst: IPv6Address, next_header: int, length: int) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, length, next_header, _TTL, src.packed, dst.packed)


def ip_packets(
    src: IpAddress, dst: IpAddress, proto: int, transport: bytes, *, ident: int, mtu: int, dont_fragment: bool
) -> list[bytes]:
    """The IP packet(s) carrying ``transport``: one, or fragments of at most ``mtu`` bytes each."""
    if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
        if 20 + len(transport) <= mtu or dont_fragment:
            if 20 + len(transport) > 0xFFFF:
                raise ValueError("packet too large for IPv4")
            flags = 0x4000 if dont_fragment else 0
            return [_ipv4_header(src, dst, proto, len(transport), ident, flags) + transport]
        step = (mtu - 20) // 8 * 8
        packets = []
        for offset in range(0, len(transport), step):
            more = 0x2000 if offset + step < len(transport) else 0
            chunk = transport[offset : offset + step]
            packets.append(_ipv4_header(src, dst, proto, len(chunk), ident, more | offset // 8) + chunk)
        return packets
    assert isinstance(src, IPv6Address) and isinstance(dst, IPv6Address)
    if 40 + len(transport) <= mtu or dont_fragment:
        return [_ipv6_header(src, dst, proto, len(transport)) + transport]
    step = (mtu - 48) // 8 * 8
    packets = []
    for offset in range(0, len(transport), step):
        more = 1 if offset + step < len(transport) else 0
        chunk = transport[offset : offset + step]
        fragment = struct.pack("!BBHI", proto, 0, offset | more, ident & 0xFFFFFFFF)  # RFC 8200 §4.5
        packets.append(_ipv6_header(src, dst, _IPV6_FRAGMENT, 8 + len(chunk)) + fragment + chunk)
    return packets


@lru_cache(maxsize=1024)
def _mac(address: IpAddress) -> bytes:
    """A stable locally administered unicast MAC (first octet 0x02) for an IP address."""
    return b"\x02" + hashlib.blake2s(address.packed, digest_size=5).digest()


def ethernet_frame(src: IpAddress, dst: IpAddress, packet: bytes) -> bytes:
    """Ethernet II framing (no FCS, as capture files hold it)."""
    ethertype = ETHERTYPE_IPV4 if isinstance(src, IPv4Address) else ETHERTYPE_IPV6
    return _mac(dst) + _mac(src) + struct.pack("!H", ethertype) + packet


# ------------------------------------------------------------------------------------------- TCP flows


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """One TCP segment to emit; ``forward`` is True when it travels in the message's direction
    (``src`` to ``dst``), False for the peer's handshake reply and ACKs."""

    forward: bool
    seq: int
    ack: int
    flags: int
    payload: bytes = b""
    window: int = 65535


class _Connection:
    __slots__ = ("next_seq",)

    def __init__(self, isn_a: int, isn_b: int) -> None:
        self.next_seq: dict[bool, int] = {True: isn_a, False: isn_b}


_MOD = 0xFFFFFFFF  # sequence numbers are modulo 2**32 (RFC 9293 §3.4)
_FlowKey = tuple[tuple[str, int], tuple[str, int]]


class TcpFlows:
    """Sequence/acknowledgement bookkeeping per TCP connection, keyed by its address pair.

    The side that sends first is taken as the one that connected. ``handshake`` emits SYN, SYN-ACK, ACK
    before the first data; ``acks`` emits the receiver's pure ACK after each message, as a real receiver
    would, so TCP analysis never sees bytes in flight pile up. Initial sequence numbers derive from the
    addresses, so the same trace always gives the same capture. At most ``max_flows`` connections are
    remembered (least recently used dropped).
    """

    def __init__(self, *, handshake: bool = True, acks: bool = True, max_flows: int = 65536) -> None:
        self.handshake = handshake
        self.acks = acks
        self.max_flows = max_flows
        self._flows: OrderedDict[_FlowKey, tuple[_FlowKey, _Connection]] = OrderedDict()

    def segments(
        self, src: tuple[str, int], dst: tuple[str, int], payload: bytes, mss: int
    ) -> list[TcpSegment]:
        """The segments that carry ``payload`` from ``src`` to ``dst`` (at most ``mss`` bytes each),
        handshake and ACK included."""
        if mss < 1:
            raise ValueError("mss must be positive")
        key = (src, dst) if src <= dst else (dst, src)
        out: list[TcpSegment] = []
        known = self._flows.get(key)
        if known is None:
            isn_a = zlib.crc32(repr((src, dst)).encode()) & 0x7FFFFFFF
            isn_b = zlib.crc32(repr((dst, src)).encode()) & 0x7FFFFFFF
            known = ((src, dst), _Connection(isn_a, isn_b))
            self._flows[key] = known
            if len(self._flows) > self.max_flows:
                self._flows.popitem(last=False)
            if self.handshake:
                out += self._handshake(known[1])
        else:
            self._flows.move_to_end(key)
        initiator, connection = known
        out += self._data(connection, (src, dst) == initiator, payload, mss)
        return out

    def _handshake(self, connection: _Connection) -> list[TcpSegment]:
        """RFC 9293 §3.5: SYN (seq=ISN_a), SYN-ACK (seq=ISN_b, ack=ISN_a+1), ACK; each SYN takes one."""
        seq = connection.next_seq
        isn_a, isn_b = seq[True], seq[False]
        seq[True], seq[False] = isn_a + 1, isn_b + 1
        return [
            TcpSegment(True, isn_a, 0, TCP_SYN),
            TcpSegment(False, isn_b, isn_a + 1, TCP_SYN | TCP_ACK),
            TcpSegment(True, isn_a + 1, isn_b + 1, TCP_ACK),
        ]

    def _data(self, connection: _Connection, forward: bool, payload: bytes, mss: int) -> list[TcpSegment]:
        """Data segments (``forward`` says whether the sender is the initiator) and the receiver's ACK."""
        seq = connection.next_seq
        segments = []
        for offset in range(0, len(payload), mss):
            chunk = payload[offset : offset + mss]
            last = offset + mss >= len(payload)
            flags = TCP_ACK | (TCP_PSH if last else 0)
            segments.append(TcpSegment(True, seq[forward] & _MOD, seq[not forward] & _MOD, flags, chunk))
            seq[forward] += len(chunk)
        if self.acks and payload:
            segments.append(TcpSegment(False, seq[not forward] & _MOD, seq[forward] & _MOD, TCP_ACK))
        return segments
