"""Minimal RTCP (RFC 3550 §6): SR, RR, SDES, BYE and compound packets, sans-IO.

Enough for a telephony endpoint: report reception quality (RR/SR report blocks), name ourselves (SDES CNAME,
mandatory in every compound packet, RFC 3550 §6.1) and say goodbye (BYE). Every other packet type (APP, XR,
RTPFB, PSFB, ...) is kept verbatim as :class:`RtcpUnknown`, so a compound packet from a richer peer still
parses and the interesting parts are not lost.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "RTCP_APP",
    "RTCP_BYE",
    "RTCP_RR",
    "RTCP_SDES",
    "RTCP_SR",
    "SDES_CNAME",
    "Bye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "RtcpParseError",
    "RtcpUnknown",
    "SdesChunk",
    "SdesItem",
    "SenderReport",
    "SourceDescription",
    "build_compound",
    "is_rtcp",
    "ntp_from_unix",
    "ntp_middle32",
    "ntp_to_unix",
    "parse_compound",
]

RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_APP = 204

SDES_CNAME = 1
"""SDES item types 1..8 are CNAME, NAME, EMAIL, PHONE, LOC, TOOL, NOTE, PRIV (RFC 3550 §6.5)."""

_MAX_COUNT = 31  # 5-bit RC/SC field (RFC 3550 §6.4.1)
_NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01 (RFC 3550 §4)

_HEADER = struct.Struct("!BBH")
_SR_INFO = struct.Struct("!IQIII")
_BLOCK = struct.Struct("!IIIIII")
_WORD = struct.Struct("!I")


class RtcpParseError(ValueError):
    """Malformed RTCP: the whole compound packet is to be discarded (RFC 3550 Appendix A.2)."""


# --- NTP time (RFC 3550 §4) --------------------------------------------------------------------------------


def ntp_from_unix(unix_time: float) -> int:
    """64-bit NTP timestamp (seconds since 1900 as 32.32 fixed point) for a Unix time."""
    return int((unix_time + _NTP_UNIX_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def ntp_to_unix(ntp: int) -> float:
    """Inverse of :func:`ntp_from_unix` (for the era 1900-2036)."""
    return ntp / (1 << 32) - _NTP_UNIX_OFFSET


def ntp_middle32(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp: the LSR field of a report block (RFC 3550 §6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


# --- report blocks -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report (RFC 3550 §6.4.1).

    ``fraction_lost`` is the 8-bit fixed-point fraction (lost/expected * 256) since the previous report;
    ``cumulative_lost`` is *signed* 24-bit (duplicates can make it negative); ``highest_sequence`` is the
    extended highest sequence number (cycles << 16 | max_seq); ``jitter`` is in timestamp units;
    ``last_sr`` is the middle 32 bits of the last SR's NTP time and ``delay_since_last_sr`` is in
    1/65536 s.
    """

    ssrc: int
    fraction_lost: int = 0
    cumulative_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    last_sr: int = 0
    delay_since_last_sr: int = 0

    def to_bytes(self) -> bytes:
        if not 0 <= self.fraction_lost <= 0xFF:
            raise ValueError(f"fraction_lost out of range: {self.fraction_lost}")
        if not -(1 << 23) <= self.cumulative_lost < (1 << 23):
            raise ValueError(f"cumulative_lost out of 24-bit signed range: {self.cumulative_lost}")
        lost_word = (self.fraction_lost << 24) | (self.cumulative_lost & 0xFFFFFF)
        return _BLOCK.pack(
            self.ssrc,
            lost_word,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )

    __bytes__ = to_bytes

    @classmethod
    def _parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)


def _parse_blocks(body: bytes, offset: int, count: int) -> tuple[tuple[ReportBlock, ...], int]:
    end = offset + count * _BLOCK.size
    if end > len(body):
        raise RtcpParseError(f"{count} report blocks do not fit in {len(body)} octets")
    blocks = tuple(ReportBlock._parse(body, offset + i * _BLOCK.size) for i in range(count))
    return blocks, end


def _check_count(what: str, items: tuple[object, ...]) -> None:
    if len(items) > _MAX_COUNT:
        raise ValueError(f"at most {_MAX_COUNT} {what} fit in one RTCP packet, got {len(items)}")


def _pack_packet(packet_type: int, count: int, body: bytes) -> bytes:
    """Common header (RFC 3550 §6.4.1): V=2, P=0, count, PT, length in 32-bit words minus one."""
    if len(body) % 4:
        raise ValueError("RTCP body must be a multiple of 32 bits")
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


# --- SR / RR -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (RFC 3550 §6.4.1): sender info plus up to 31 report blocks, then opaque profile extensions."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def to_bytes(self) -> bytes:
        _check_count("report blocks", self.reports)
        info = _SR_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        )
        body = b"".join([info, *(r.to_bytes() for r in self.reports), self.extension])
        return _pack_packet(RTCP_SR, len(self.reports), body)

    __bytes__ = to_bytes

    @classmethod
    def _parse(cls, count: int, body: bytes) -> SenderReport:
        if len(body) < _SR_INFO.size:
            raise RtcpParseError("SR shorter than its sender info")
        ssrc, ntp, rtp_ts, packets, octets = _SR_INFO.unpack_from(body)
        reports, end = _parse_blocks(body, _SR_INFO.size, count)
        return cls(ssrc, ntp, rtp_ts, packets, octets, reports, body[end:])


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (RFC 3550 §6.4.2): the reporter's SSRC and up to 31 report blocks."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def to_bytes(self) -> bytes:
        _check_count("report blocks", self.reports)
        body = b"".join([_WORD.pack(self.ssrc), *(r.to_bytes() for r in self.reports), self.extension])
        return _pack_packet(RTCP_RR, len(self.reports), body)

    __bytes__ = to_bytes

    @classmethod
    def _parse(cls, count: int, body: bytes) -> ReceiverReport:
        if len(body) < _WORD.size:
            raise RtcpParseError("RR without SSRC")
        (ssrc,) = _WORD.unpack_from(body)
        reports, end = _parse_blocks(body, _WORD.size, count)
        return cls(ssrc, reports, body[end:])


# --- SDES --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdesItem:
    """One SDES item (RFC 3550 §6.5): type 1..255 and a UTF-8 text of at most 255 octets."""

    kind: int
    value: str

    def to_bytes(self) -> bytes:
        raw = self.value.encode("utf-8")
        if not 1 <= self.kind <= 0xFF:
            raise ValueError(f"SDES item type out of range: {self.kind}")
        if len(raw) > 0xFF:
            raise ValueError("SDES item longer than 255 octets")
        return bytes((self.kind, len(raw))) + raw


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """The items describing one source (RFC 3550 §6.5)."""

    ssrc: int
    items: tuple[SdesItem, ...] = ()

    @property
    def cname(self) -> str | None:
        """The CNAME item, the only one RFC 3550 §6.5.1 makes mandatory."""
        for item in self.items:
            if item.kind == SDES_CNAME:
                return item.value
        return None

    def to_bytes(self) -> bytes:
        raw = _WORD.pack(self.ssrc) + b"".join(item.to_bytes() for item in self.items)
        # The item list ends with at least one null octet, then pads to 32 bits (RFC 3550 §6.5).
        return raw + b"\x00" * (4 - len(raw) % 4)


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES packet (RFC 3550 §6.5): up to 31 chunks."""

    chunks: tuple[SdesChunk, ...] = ()

    @classmethod
    def cname(cls, ssrc: int, cname: str) -> SourceDescription:
        """The usual single-chunk SDES naming one source."""
        return cls((SdesChunk(ssrc, (SdesItem(SDES_CNAME, cname),)),))

    def to_bytes(self) -> bytes:
        _check_count("SDES chunks", self.chunks)
        body = b"".join(chunk.to_bytes() for chunk in self.chunks)
        return _pack_packet(RTCP_SDES, len(self.chunks), body)

    __bytes__ = to_bytes

    @classmethod
    def _parse(cls, count: int, body: bytes) -> SourceDescription:
        chunks = []
        offset = 0
        for _ in range(count):
            chunk, offset = _parse_chunk(body, offset)
            chunks.append(chunk)
        return cls(tuple(chunks))


def _parse_chunk(body: bytes, offset: int) -> tuple[SdesChunk, int]:
    if offset + 4 > len(body):
        raise RtcpParseError("SDES chunk truncated before its SSRC")
    (ssrc,) = _WORD.unpack_from(body, offset)
    offset += 4
    items = []
    while True:
        if offset >= len(body):
            raise RtcpParseError("SDES chunk without its terminating null item")
        kind = body[offset]
        if kind == 0:
            break
        if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
            raise RtcpParseError("SDES item runs past the packet")
        length = body[offset + 1]
        value = body[offset + 2 : offset + 2 + length].decode("utf-8", errors="replace")
        items.append(SdesItem(kind, value))
        offset += 2 + length
    # Skip the null octet(s) up to the next 32-bit boundary (chunks start aligned).
    next_chunk = (offset // 4 + 1) * 4
    if next_chunk > len(body):
        raise RtcpParseError("SDES chunk padding runs past the packet")
    return SdesChunk(ssrc, tuple(items)), next_chunk


# --- BYE ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (RFC 3550 §6.6): the sources leaving, and an optional reason."""

    ssrcs: tuple[int, ...]
    reason: str = ""

    def to_bytes(self) -> bytes:
        _check_count("BYE sources", self.ssrcs)
        body = b"".join(_WORD.pack(ssrc) for ssrc in self.ssrcs)
        if self.reason:
            raw = self.reason.encode("utf-8")
            if len(raw) > 0xFF:
                raise ValueError("BYE reason longer than 255 octets")
            reason = bytes((len(raw),)) + raw
            body += reason + b"\x00" * (-len(reason) % 4)
        return _pack_packet(RTCP_BYE, len(self.ssrcs), body)

    __bytes__ = to_bytes

    @classmethod
    def _parse(cls, count: int, body: bytes) -> Bye:
        end = 4 * count
        if end > len(body):
            raise RtcpParseError(f"BYE with {count} sources in {len(body)} octets")
        ssrcs = struct.unpack_from(f"!{count}I", body)
        reason = ""
        if end < len(body):
            length = body[end]
            if end + 1 + length > len(body):
                raise RtcpParseError("BYE reason runs past the packet")
            reason = body[end + 1 : end + 1 + length].decode("utf-8", errors="replace")
        return cls(ssrcs, reason)


# --- anything else -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtcpUnknown:
    """A packet type this module does not interpret (APP, XR, feedback ...), kept verbatim."""

    packet_type: int
    count: int
    body: bytes

    def to_bytes(self) -> bytes:
        if not 0 <= self.count <= _MAX_COUNT:
            raise ValueError(f"count out of range: {self.count}")
        return _pack_packet(self.packet_type, self.count, self.body)

    __bytes__ = to_bytes


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | RtcpUnknown


# --- compound packets (RFC 3550 §6.1) ----------------------------------------------------------------------


def is_rtcp(data: bytes | bytearray | memoryview) -> bool:
    """Whether a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 §4: second octet 192..223)."""
    return len(data) >= 2 and data[0] >> 6 == 2 and 192 <= data[1] <= 223


def parse_compound(data: bytes | bytearray | memoryview) -> list[RtcpPacket]:
    """Split and parse a compound RTCP datagram, validating it as RFC 3550 Appendix A.2 describes.

    Checks: version 2 everywhere, each length field inside the datagram, the lengths adding up to the
    datagram size, and padding only in the last packet. The first packet is *not* required to be SR/RR so
    that reduced-size RTCP (RFC 5506) also parses.
    """
    packets: list[RtcpPacket] = []
    offset = 0
    total = len(data)
    if total < _HEADER.size:
        raise RtcpParseError("RTCP datagram shorter than one header")
    while offset < total:
        if offset + _HEADER.size > total:
            raise RtcpParseError("trailing octets after the last RTCP packet")
        first, packet_type, length = _HEADER.unpack_from(data, offset)
        if first >> 6 != 2:
            raise RtcpParseError(f"RTCP version {first >> 6}, expected 2")
        end = offset + 4 * (length + 1)
        if end > total:
            raise RtcpParseError("RTCP length field runs past the datagram")
        body = bytes(data[offset + _HEADER.size : end])
        if first & 0x20:
            if end != total:
                raise RtcpParseError(
                    "padding is only allowed in the last packet of a compound (RFC 3550 A.2)"
                )
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise RtcpParseError(f"invalid RTCP padding count {pad}")
            body = body[:-pad]
        packets.append(_parse_one(packet_type, first & 0x1F, body))
        offset = end
    return packets


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    if packet_type == RTCP_SR:
        return SenderReport._parse(count, body)
    if packet_type == RTCP_RR:
        return ReceiverReport._parse(count, body)
    if packet_type == RTCP_SDES:
        return SourceDescription._parse(count, body)
    if packet_type == RTCP_BYE:
        return Bye._parse(count, body)
    return RtcpUnknown(packet_type, count, body)


def build_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """Concatenate packets into one compound datagram (RFC 3550 §6.1).

    The caller chooses the order; a conforming compound starts with an SR or RR and carries an SDES CNAME.
    """
    return b"".join(packet.to_bytes() for packet in packets)
