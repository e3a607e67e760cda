"""Audio codecs as SDP describes them: encoding name, RTP payload type, clock rate, channels, fmtp.

The static payload types come from RFC 3551 §6 (Table 4); everything else is dynamic (96-127) and only means
what the description's ``a=rtpmap`` says it means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from takeback.sdp.attributes import Attribute

__all__ = [
    "G722",
    "G729",
    "OPUS",
    "PCMA",
    "PCMU",
    "STATIC_PAYLOAD_TYPES",
    "TELEPHONE_EVENT",
    "Codec",
    "codec_attributes",
    "codec_from_name",
    "resolve_codecs",
]

DYNAMIC_PAYLOAD_TYPES = range(96, 128)
_BLANK = re.compile(r"\s")  # what ``str.isspace`` calls whitespace, found in one C call


@dataclass(frozen=True, slots=True)
class Codec:
    """One RTP payload format. ``fmtp`` is the raw ``a=fmtp`` parameter text, or ``None`` when absent.

    Encoding names compare case-insensitively (RFC 4855 §3); ``channels`` is 1 unless the rtpmap says
    otherwise (RFC 8866 §6.6).
    """

    name: str
    payload_type: int
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or _BLANK.search(self.name) is not None:
            raise ValueError(f"codec name {self.name!r} must be one word without '/'")
        if not 0 <= self.payload_type <= 127:
            raise ValueError(f"payload type {self.payload_type} is outside 0-127 (RFC 3550 §5.1)")
        if self.clock_rate <= 0 or self.channels <= 0:
            raise ValueError("clock rate and channels must be positive")
        fmtp = self.fmtp
        if fmtp is not None and ("\r" in fmtp or "\n" in fmtp or "\0" in fmtp):
            raise ValueError("fmtp must not contain CR, LF or NUL")

    @property
    def rtpmap(self) -> str:
        """The ``a=rtpmap`` encoding part: ``PCMU/8000``, ``opus/48000/2``."""
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.name}/{self.clock_rate}{suffix}"

    @property
    def is_telephone_event(self) -> bool:
        """RFC 4733 DTMF events rather than audio."""
        return self.name.lower() == "telephone-event"

    def same_format(self, other: Codec) -> bool:
        """Same encoding (name, clock rate, channels), whatever the payload type and fmtp."""
        return (self.name.lower(), self.clock_rate, self.channels) == (
            other.name.lower(),
            other.clock_rate,
            other.channels,
        )

    # The constructor directly: it validates like ``dataclasses.replace`` does, at a fraction of the cost
    # (answers copy offered codecs on every call).
    def with_payload_type(self, payload_type: int) -> Codec:
        return Codec(self.name, payload_type, self.clock_rate, self.channels, self.fmtp)

    def with_fmtp(self, fmtp: str | None) -> Codec:
        return Codec(self.name, self.payload_type, self.clock_rate, self.channels, fmtp)


PCMU = Codec("PCMU", 0, 8000)
PCMA = Codec("PCMA", 8, 8000)
G722 = Codec("G722", 9, 8000)  # RFC 3551 §4.5.2: the RTP clock says 8000 although the audio is 16 kHz.
G729 = Codec("G729", 18, 8000)
OPUS = Codec("opus", 96, 48000, 2)  # RFC 7587 §7: always opus/48000/2; 96 = first dynamic type.
TELEPHONE_EVENT = Codec("telephone-event", 101, 8000, fmtp="0-16")  # RFC 4733 §2.4.1 events 0-16.

STATIC_PAYLOAD_TYPES: Mapping[int, Codec] = MappingProxyType(
    {
        0: PCMU,
        3: Codec("GSM", 3, 8000),
        4: Codec("G723", 4, 8000),
        5: Codec("DVI4", 5, 8000),
        6: Codec("DVI4", 6, 16000),
        7: Codec("LPC", 7, 8000),
        8: PCMA,
        9: G722,
        10: Codec("L16", 10, 44100, 2),
        11: Codec("L16", 11, 44100),
        12: Codec("QCELP", 12, 8000),
        13: Codec("CN", 13, 8000),
        14: Codec("MPA", 14, 90000),
        15: Codec("G728", 15, 8000),
        16: Codec("DVI4", 16, 11025),
        17: Codec("DVI4", 17, 22050),
        18: G729,
    }
)

_CATALOG: Mapping[str, Codec] = MappingProxyType(
    {codec.name.lower(): codec for codec in (PCMU, PCMA, G722, G729, OPUS, TELEPHONE_EVENT)}
)


def codec_from_name(name: str) -> Codec:
    """A codec from a configuration name: ``PCMU``, ``pcmu``, ``audio/opus`` (the Genesys trunk setting
    ``trunk_media_codec``), ``opus/48000/2``, ``telephone-event/48000``, ``L16/16000``.

    Known names take their catalog payload type; unknown names need a clock rate and get the first dynamic
    payload type, which ``resolve_codecs`` moves on collision. Raises ``ValueError`` for what cannot be read.
    """
    text = name.strip()
    if text.lower().startswith("audio/"):
        text = text[len("audio/") :]
    encoding, *numbers = text.split("/")
    if len(numbers) > 2 or not all(item.isascii() and item.isdigit() for item in numbers):
        raise ValueError(f"cannot read codec name {name!r}")
    known = _CATALOG.get(encoding.lower())
    if known is None:
        if not numbers:
            raise ValueError(f"unknown codec {name!r}: give its clock rate, e.g. {encoding}/8000")
        known = Codec(encoding, DYNAMIC_PAYLOAD_TYPES.start, 1)
    clock_rate = int(numbers[0]) if numbers else known.clock_rate
    channels = int(numbers[1]) if len(numbers) == 2 else known.channels
    if (clock_rate, channels) != (known.clock_rate, known.channels) and known.payload_type < 96:
        raise ValueError(f"{name!r}: static payload type {known.payload_type} is {known.rtpmap}")
    return replace(known, clock_rate=clock_rate, channels=channels)


def resolve_codecs(items: Iterable[Codec | str], *, reserved: Iterable[int] = ()) -> tuple[Codec, ...]:
    """Codecs from names or ``Codec`` objects, duplicates dropped, dynamic payload types made unique.

    A dynamic payload type that collides with ``reserved`` (e.g. telephone-event 101) or an earlier codec
    moves to the next free one in 96-127; two codecs claiming the same static type are a configuration error.
    """
    taken = set(reserved)
    result: list[Codec] = []
    for item in items:
        codec = codec_from_name(item) if isinstance(item, str) else item
        if any(codec.same_format(seen) for seen in result):
            continue
        if codec.payload_type in taken:
            if codec.payload_type not in DYNAMIC_PAYLOAD_TYPES:
                raise ValueError(f"payload type {codec.payload_type} of {codec.rtpmap} is already used")
            free = [pt for pt in DYNAMIC_PAYLOAD_TYPES if pt not in taken]
            if not free:
                raise ValueError("no dynamic payload type left (RFC 3551 §3: 96-127)")
            codec = codec.with_payload_type(free[0])
        taken.add(codec.payload_type)
        result.append(codec)
    return tuple(result)


def codec_attributes(codecs: Iterable[Codec]) -> list[Attribute]:
    """``a=rtpmap`` for every codec, each followed by its ``a=fmtp`` when it has one (RFC 8866 §6.6, §6.15).

    Static payload types get an rtpmap too: RFC 8866 §6.6 allows it and it spares the peer the table lookup.
    """
    attributes: list[Attribute] = []
    for codec in codecs:
        attributes.append(Attribute("rtpmap", f"{codec.payload_type} {codec.rtpmap}"))
        if codec.fmtp is not None:
            attributes.append(Attribute("fmtp", f"{codec.payload_type} {codec.fmtp}"))
    return attributes
