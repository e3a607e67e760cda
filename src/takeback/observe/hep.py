"""HEPv3 (HEP/EEP, the Homer Encapsulation Protocol version 3): SIP trace entries to a Homer collector.

A HEPv3 packet is the 4 octets ``HEP3``, a 16-bit total length (header included), then chunks. Each
chunk is vendor id (16 bits, 0 = generic), type id (16 bits), length (16 bits, the 6-octet chunk header
included) and the value, all in network byte order. Generic chunk types used here:

====  ======================================  ====  ===================================
0x01  IP protocol family (2 IPv4, 10 IPv6)    0x09  timestamp, seconds since the epoch
0x02  IP protocol id (17 UDP, 6 TCP)          0x0a  timestamp, microseconds offset
0x03  IPv4 source address                     0x0b  protocol type (1 = SIP)
0x04  IPv4 destination address                0x0c  capture agent id (uint32)
0x05  IPv6 source address                     0x0e  authentication key (optional)
0x06  IPv6 destination address                0x0f  captured payload
0x07  source port                             0x11  correlation id (optional)
0x08  destination port                        0x13  capture agent name (optional)
====  ======================================  ====  ===================================

TLS is reported as protocol 6 (HEP has no TLS id; the payload is the decrypted SIP). Sending is UDP,
non-blocking and best effort: a full socket buffer or an unreachable collector drops the packet and
counts it, the SIP traffic being captured never waits for the collector.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from .frames import endpoint_ips
from .trace import Address, MirrorFilter, TraceEntry

__all__ = [
    "HEP_PROTO_SIP",
    "HepError",
    "HepPacket",
    "HepSender",
    "encode_hep3",
    "parse_hep3",
    "parse_hep_address",
]

logger = logging.getLogger("takeback.observe")

HEP_PROTO_SIP = 1
_MAGIC = b"HEP3"
_AF_INET = 2
_AF_INET6 = 10  # HEP uses the Linux AF_ values whatever the sender's platform
_IP_PROTO = {"UDP": 17, "TCP": 6, "TLS": 6}
_MAX_PACKET = 0xFFFF

_FAMILY, _PROTO, _SRC4, _DST4, _SRC6, _DST6 = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
_SPORT, _DPORT, _SEC, _USEC, _PTYPE, _AGENT = 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C
_AUTH, _PAYLOAD, _CORRELATION, _NODE_NAME = 0x0E, 0x0F, 0x11, 0x13


class HepError(ValueError):
    """Bytes that are not a well-formed HEPv3 packet, or an entry that cannot be encoded as one."""


@dataclass(frozen=True, slots=True)
class HepPacket:
    """A decoded HEPv3 packet. ``chunks`` holds every generic chunk by type id, known or not."""

    family: int
    ip_proto: int
    src: Address
    dst: Address
    seconds: int
    microseconds: int
    proto_type: int
    capture_id: int
    payload: bytes
    auth_key: bytes | None = None
    correlation_id: bytes | None = None
    node_name: str | None = None
    chunks: dict[int, bytes] = field(default_factory=dict)

    @property
    def timestamp(self) -> float:
        return self.seconds + self.microseconds / 1e6


def _chunk(type_id: int, value: bytes) -> bytes:
    if len(value) > _MAX_PACKET - 12:
        raise HepError(f"a {len(value)}-octet value does not fit in a HEPv3 chunk")
    return struct.pack("!HHH", 0, type_id, 6 + len(value)) + value


def encode_hep3(
    entry: TraceEntry,
    *,
    capture_id: int = 0,
    auth_key: str | bytes | None = None,
    node_name: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    """One trace entry as a HEPv3 packet. Raises :class:`HepError` when it would exceed 65535 octets."""
    src, dst = endpoint_ips(entry.src[0], entry.dst[0])
    v4 = isinstance(src, IPv4Address)
    seconds = int(entry.timestamp)
    micros = round((entry.timestamp - seconds) * 1_000_000)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    chunks = [
        _chunk(_FAMILY, bytes((_AF_INET if v4 else _AF_INET6,))),
        _chunk(_PROTO, bytes((_IP_PROTO.get(entry.transport, 17),))),
        _chunk(_SRC4 if v4 else _SRC6, src.packed),
        _chunk(_DST4 if v4 else _DST6, dst.packed),
        _chunk(_SPORT, struct.pack("!H", entry.src[1])),
        _chunk(_DPORT, struct.pack("!H", entry.dst[1])),
        _chunk(_SEC, struct.pack("!I", max(0, seconds) & 0xFFFFFFFF)),
        _chunk(_USEC, struct.pack("!I", max(0, micros))),
        _chunk(_PTYPE, bytes((HEP_PROTO_SIP,))),
        _chunk(_AGENT, struct.pack("!I", capture_id & 0xFFFFFFFF)),
    ]
    if auth_key is not None:
        chunks.append(_chunk(_AUTH, auth_key.encode() if isinstance(auth_key, str) else auth_key))
    chunks.append(_chunk(_PAYLOAD, entry.data))
    if correlation_id is not None:
        chunks.append(_chunk(_CORRELATION, correlation_id.encode("utf-8", "replace")))
    if node_name is not None:
        chunks.append(_chunk(_NODE_NAME, node_name.encode("utf-8", "replace")))
    body = b"".join(chunks)
    if 6 + len(body) > _MAX_PACKET:
        raise HepError(f"a {len(entry.data)}-byte message does not fit in one HEPv3 packet")
    return _MAGIC + struct.pack("!H", 6 + len(body)) + body


def parse_hep3(data: bytes) -> HepPacket:
    """Decode a HEPv3 packet (what a collector does); vendor chunks are skipped. Raises :class:`HepError`."""
    if len(data) < 6 or data[:4] != _MAGIC:
        raise HepError("not a HEPv3 packet")
    (total,) = struct.unpack_from("!H", data, 4)
    if total != len(data):
        raise HepError(f"HEP length {total} but {len(data)} octets received")
    chunks: dict[int, bytes] = {}
    offset = 6
    while offset < total:
        if offset + 6 > total:
            raise HepError("truncated chunk header")
        vendor, type_id, length = struct.unpack_from("!HHH", data, offset)
        if length < 6 or offset + length > total:
            raise HepError(f"bad chunk length {length} at offset {offset}")
        if vendor == 0:
            chunks[type_id] = data[offset + 6 : offset + length]
        offset += length
    return _packet_from_chunks(chunks)


def _packet_from_chunks(chunks: dict[int, bytes]) -> HepPacket:
    try:
        family = chunks[_FAMILY][0]
        if family == _AF_INET:
            src_ip, dst_ip = str(IPv4Address(chunks[_SRC4])), str(IPv4Address(chunks[_DST4]))
        elif family == _AF_INET6:
            src_ip, dst_ip = str(IPv6Address(chunks[_SRC6])), str(IPv6Address(chunks[_DST6]))
        else:
            raise HepError(f"unknown address family {family}")
        (sport,) = struct.unpack("!H", chunks[_SPORT])
        (dport,) = struct.unpack("!H", chunks[_DPORT])
        (seconds,) = struct.unpack("!I", chunks[_SEC])
        (micros,) = struct.unpack("!I", chunks[_USEC])
        (capture_id,) = struct.unpack("!I", chunks[_AGENT])
        return HepPacket(
            family=family,
            ip_proto=chunks[_PROTO][0],
            src=(src_ip, sport),
            dst=(dst_ip, dport),
            seconds=seconds,
            microseconds=micros,
            proto_type=chunks[_PTYPE][0],
            capture_id=capture_id,
            payload=chunks[_PAYLOAD],
            auth_key=chunks.get(_AUTH),
            correlation_id=chunks.get(_CORRELATION),
            node_name=chunks[_NODE_NAME].decode("utf-8", "replace") if _NODE_NAME in chunks else None,
            chunks=chunks,
        )
    except (KeyError, IndexError, struct.error, ValueError) as exc:
        if isinstance(exc, HepError):
            raise
        raise HepError(f"missing or malformed HEP chunk: {exc!r}") from exc


def parse_hep_address(text: str, default_port: int = 9060) -> tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"``, ``"udp:host:port"`` or a bare host (Homer's 9060) as a pair."""
    if text.lower().startswith("udp:"):
        text = text[4:]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in HEP address {text!r}")
    if port_text and not port_text.isdigit():
        raise ValueError(f"bad port in HEP address {text!r}")
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in HEP address {text!r}")
    return host, port


class HepSender:
    """Sends every entry it is given to a Homer collector over UDP; usable as a trace subscriber.

    The collector address is resolved once, here. ``capture_id`` identifies this agent in Homer;
    ``auth_key`` and ``node_name`` are sent when set. ``dedupe`` sends a message both ends recorded only
    once. :attr:`sent` and :attr:`dropped` count packets.
    """

    def __init__(
        self,
        address: tuple[str, int] | str,
        *,
        capture_id: int = 2001,
        auth_key: str | None = None,
        node_name: str | None = None,
        dedupe: bool = True,
    ) -> None:
        host, port = parse_hep_address(address) if isinstance(address, str) else address
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.address = sockaddr
        self.capture_id = capture_id
        self.auth_key = auth_key
        self.node_name = node_name
        self.sent = 0
        self.dropped = 0
        self._mirrors = MirrorFilter() if dedupe else None
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self.closed = False

    def send(self, entry: TraceEntry) -> bool:
        """Encode and send one entry; False when it was skipped (mirror copy) or dropped."""
        if self.closed or (self._mirrors is not None and self._mirrors.is_mirror(entry)):
            return False
        try:
            packet = encode_hep3(
                entry, capture_id=self.capture_id, auth_key=self.auth_key, node_name=self.node_name
            )
            self._socket.sendto(packet, self.address)
        except (OSError, HepError) as exc:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(
                    "HEP export to %s failed (%s); further failures are only counted", self.address, exc
                )
            return False
        self.sent += 1
        return True

    __call__ = send

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._socket.close()

    def __enter__(self) -> HepSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
