"""RTP data packets (RFC 3550 §5.1, §5.3.1), and the sender-side sequencer.

:class:`RtpPacket` is an immutable value: ``RtpPacket.parse(data)`` validates a datagram and ``bytes(pkt)``
produces one. The common case of a voice call, a fixed 12-octet header in front of a G.711 frame, is one
``struct`` call and one concatenation; CSRCs, a header extension and padding take a slower general path.

:class:`RtpSender` owns the state RFC 3550 §5.1 gives a sender: its SSRC and the next sequence number and
timestamp, all starting at random values. The randomness comes from outside (a ``random.Random`` or
explicit values), never from a module-level generator, so a test or a replay can be exact.

For convenience this module also re-exports the wrap-safe arithmetic (:func:`seq_diff`, :func:`ts_diff`)
and :class:`ReceiveStatistics`, which live in their own modules.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from takeback.rtp.rtcp import ReportBlock, SenderReport, ntp_from_unix
from takeback.rtp.sequence import SEQ_MOD, TS_MOD, seq_add, seq_diff, ts_add, ts_diff
from takeback.rtp.stats import ReceiveStatistics

__all__ = [
    "RTP_HEADER_SIZE",
    "SEQ_MOD",
    "TS_MOD",
    "ReceiveStatistics",
    "RtpExtension",
    "RtpPacket",
    "RtpParseError",
    "RtpSender",
    "seq_add",
    "seq_diff",
    "ts_add",
    "ts_diff",
]

RTP_HEADER_SIZE = 12
"""The fixed header (RFC 3550 §5.1), before CSRCs and extension."""

_HEADER = struct.Struct("!BBHII")
_EXT_HEADER = struct.Struct("!HH")
_VERSION_BITS = 0x80  # V=2 in the top two bits of the first octet
_MAX_CSRC = 15
_MAX_EXT_WORDS = 0xFFFF


class RtpParseError(ValueError):
    """A datagram that is not a valid RTP packet; the receiver drops it (RFC 3550 Appendix A.1)."""


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """The header extension (RFC 3550 §5.3.1): a 16-bit profile-defined value and whole 32-bit words.

    ``profile`` is 0xBEDE for RFC 8285 one-byte elements and 0x1000-0x100F for two-byte ones; the
    elements themselves stay opaque here.
    """

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise ValueError(f"extension profile out of 16-bit range: {self.profile}")
        if len(self.data) % 4 or len(self.data) > 4 * _MAX_EXT_WORDS:
            raise ValueError("extension data must be whole 32-bit words, at most 65535 of them")

    def to_bytes(self) -> bytes:
        return _EXT_HEADER.pack(self.profile, len(self.data) // 4) + self.data

    __bytes__ = to_bytes


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. ``padding`` is the total number of padding octets (0 = none, else 1..255).

    RFC 3550 §5.1: the last padding octet holds the padding count, the others are ignored on receipt and
    sent as zeros, so ``parse(bytes(p)) == p`` always holds while ``bytes(parse(d)) == d`` only holds when
    the sender also padded with zeros.
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        # One chained comparison on the fast path; the detailed message only when it fails.
        if not (
            0 <= self.payload_type <= 0x7F
            and 0 <= self.sequence <= 0xFFFF
            and 0 <= self.timestamp <= 0xFFFFFFFF
            and 0 <= self.ssrc <= 0xFFFFFFFF
            and 0 <= self.padding <= 0xFF
        ):
            raise ValueError(self._range_error())
        if self.csrc and (len(self.csrc) > _MAX_CSRC or not all(0 <= c <= 0xFFFFFFFF for c in self.csrc)):
            raise ValueError("at most 15 CSRCs, each a 32-bit value (RFC 3550 §5.1)")

    def _range_error(self) -> str:
        limits = {
            "payload_type": 0x7F,
            "sequence": 0xFFFF,
            "timestamp": 0xFFFFFFFF,
            "ssrc": 0xFFFFFFFF,
            "padding": 0xFF,
        }
        for name, top in limits.items():
            value = getattr(self, name)
            if not 0 <= value <= top:
                return f"RTP {name} out of range 0..{top}: {value}"
        return "RTP header field out of range"  # pragma: no cover - unreachable by construction

    # --- serialization (RFC 3550 §5.1) -------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        if not self.csrc and self.extension is None and not self.padding:
            return (
                _HEADER.pack(
                    _VERSION_BITS,
                    (self.marker << 7) | self.payload_type,
                    self.sequence,
                    self.timestamp,
                    self.ssrc,
                )
                + self.payload
            )
        return self._to_bytes_general()

    __bytes__ = to_bytes

    def _to_bytes_general(self) -> bytes:
        first = _VERSION_BITS | len(self.csrc)
        if self.padding:
            first |= 0x20  # P bit
        if self.extension is not None:
            first |= 0x10  # X bit
        parts = [
            _HEADER.pack(
                first, (self.marker << 7) | self.payload_type, self.sequence, self.timestamp, self.ssrc
            )
        ]
        if self.csrc:
            parts.append(struct.pack(f"!{len(self.csrc)}I", *self.csrc))
        if self.extension is not None:
            parts.append(self.extension.to_bytes())
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes((self.padding,)))
        return b"".join(parts)

    # --- parsing (RFC 3550 §5.1, §5.3.1, Appendix A.1 validity checks) ----------------------------------

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        """Parse one datagram; raises :class:`RtpParseError` and nothing else on malformed input."""
        size = len(data)
        if size < RTP_HEADER_SIZE:
            raise RtpParseError(f"datagram of {size} octets is shorter than the RTP header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        if not first & 0x3F:
            # Fast path: no padding, no extension, no CSRC.
            return _trusted(
                second & 0x7F, sequence, timestamp, ssrc, bytes(data[RTP_HEADER_SIZE:]), second > 0x7F
            )
        offset = RTP_HEADER_SIZE
        csrc: tuple[int, ...] = ()
        count = first & 0x0F
        if count:
            offset += 4 * count
            if offset > size:
                raise RtpParseError(f"{count} CSRCs do not fit in {size} octets")
            csrc = struct.unpack_from(f"!{count}I", data, RTP_HEADER_SIZE)
        extension = None
        if first & 0x10:
            extension, offset = _parse_extension(data, offset)
        end = size
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or padding > size - offset:
                raise RtpParseError(
                    f"padding count {padding} does not fit the {size - offset} payload octets"
                )
            end -= padding
        return _trusted(
            second & 0x7F,
            sequence,
            timestamp,
            ssrc,
            bytes(data[offset:end]),
            second > 0x7F,
            csrc,
            extension,
            padding,
        )

    @property
    def header_size(self) -> int:
        """Octets before the payload: fixed header, CSRCs and extension."""
        size = RTP_HEADER_SIZE + 4 * len(self.csrc)
        if self.extension is not None:
            size += 4 + len(self.extension.data)
        return size


# A frozen dataclass assigns each field through object.__setattr__, which costs as much as the rest of
# parsing. Parsed fields are in range by construction, so parse() fills the slots directly instead.
_new = object.__new__
_SLOT_SETTERS = tuple(RtpPacket.__dict__[name].__set__ for name in RtpPacket.__dataclass_fields__)
(
    _set_payload_type,
    _set_sequence,
    _set_timestamp,
    _set_ssrc,
    _set_payload,
    _set_marker,
    _set_csrc,
    _set_extension,
    _set_padding,
) = _SLOT_SETTERS


def _trusted(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrc: tuple[int, ...] = (),
    extension: RtpExtension | None = None,
    padding: int = 0,
) -> RtpPacket:
    """An :class:`RtpPacket` from fields already known to be in range (skips ``__post_init__``)."""
    packet = _new(RtpPacket)
    _set_payload_type(packet, payload_type)
    _set_sequence(packet, sequence)
    _set_timestamp(packet, timestamp)
    _set_ssrc(packet, ssrc)
    _set_payload(packet, payload)
    _set_marker(packet, marker)
    _set_csrc(packet, csrc)
    _set_extension(packet, extension)
    _set_padding(packet, padding)
    return packet


def _parse_extension(data: bytes | bytearray | memoryview, offset: int) -> tuple[RtpExtension, int]:
    """RFC 3550 §5.3.1: 16 bits profile-defined, 16 bits length in words (excluding this header word)."""
    if offset + 4 > len(data):
        raise RtpParseError("X bit set but no room for the extension header")
    profile, words = _EXT_HEADER.unpack_from(data, offset)
    start = offset + 4
    end = start + 4 * words
    if end > len(data):
        raise RtpParseError(f"extension of {words} words runs past the datagram")
    return RtpExtension(profile, bytes(data[start:end])), end


class RtpSender:
    """Stamps outgoing packets of one source: SSRC, sequence number and media clock (RFC 3550 §5.1).

    ``sequence`` and ``timestamp`` are those of the *next* packet. Either pass ``rng`` (a
    ``random.Random``, or ``random.SystemRandom()`` in production) or all three of ``ssrc``, ``sequence``
    and ``timestamp``; values given explicitly win over the generator.
    """

    def __init__(
        self,
        payload_type: int,
        *,
        rng: random.Random | None = None,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
        clock_rate: int = 8000,
    ) -> None:
        if rng is None and (ssrc is None or sequence is None or timestamp is None):
            raise ValueError("pass rng=random.Random(...) or explicit ssrc, sequence and timestamp")
        if not 0 <= payload_type <= 0x7F:
            raise ValueError(f"payload type out of range: {payload_type}")
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.ssrc = ssrc if ssrc is not None else _draw(rng, 32)
        self.sequence = sequence if sequence is not None else _draw(rng, 16)
        self.timestamp = timestamp if timestamp is not None else _draw(rng, 32)
        if not (0 <= self.ssrc < TS_MOD and 0 <= self.sequence < SEQ_MOD and 0 <= self.timestamp < TS_MOD):
            raise ValueError("ssrc/timestamp must be 32-bit and sequence 16-bit values")
        self.packet_count = 0
        self.octet_count = 0

    def next_packet(
        self, payload: bytes, samples: int, *, marker: bool = False, payload_type: int | None = None
    ) -> RtpPacket:
        """The next packet, carrying ``samples`` sampling periods of media; advances both counters."""
        packet = self.packet_at(payload, self.timestamp, marker=marker, payload_type=payload_type)
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        return packet

    def packet_at(
        self, payload: bytes, timestamp: int, *, marker: bool = False, payload_type: int | None = None
    ) -> RtpPacket:
        """A packet with an explicit timestamp, e.g. an RFC 4733 event that keeps its start timestamp.

        Consumes a sequence number; leaves the media clock alone.
        """
        if payload_type is None:
            payload_type = self.payload_type
        elif not 0 <= payload_type <= 0x7F:
            raise ValueError(f"payload type out of range: {payload_type}")
        if not 0 <= timestamp <= 0xFFFFFFFF:
            raise ValueError(f"timestamp out of 32-bit range: {timestamp}")
        packet = _trusted(payload_type, self.sequence, timestamp, self.ssrc, payload, marker)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packet_count = (self.packet_count + 1) & 0xFFFFFFFF
        self.octet_count = (self.octet_count + len(payload)) & 0xFFFFFFFF
        return packet

    def advance(self, samples: int) -> None:
        """Move the media clock without sending (silence suppression, or time spent on DTMF events)."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF

    def sender_report(
        self, now_unix: float, *, rtp_timestamp: int | None = None, reports: Iterable[ReportBlock] = ()
    ) -> SenderReport:
        """An SR for this source (RFC 3550 §6.4.1).

        ``rtp_timestamp`` is the media clock at wall-clock ``now_unix``; by default the next packet's
        timestamp, which is right for a sender pacing in real time.
        """
        return SenderReport(
            ssrc=self.ssrc,
            ntp_timestamp=ntp_from_unix(now_unix),
            rtp_timestamp=self.timestamp if rtp_timestamp is None else rtp_timestamp,
            packet_count=self.packet_count,
            octet_count=self.octet_count,
            reports=tuple(reports),
        )


def _draw(rng: random.Random | None, bits: int) -> int:
    assert rng is not None  # guarded by the constructor
    return rng.getrandbits(bits)
