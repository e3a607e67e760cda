"""``a=`` attributes: the generic name/value split and typed readers for the ones offer/answer needs.

RFC 8866 §5.13 tells parsers to ignore attributes they do not understand. We extend that to known attributes
whose value is malformed (``a=rtpmap:x``): the typed readers skip them, while the line itself is kept
verbatim, so a peer's oddity never makes a whole offer unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from takeback.sdp.errors import SdpParseError
from takeback.sdp.fields import TOKEN_RE, trusted_builder

__all__ = [
    "Attribute",
    "Direction",
    "RtpMap",
    "fmtps_of",
    "milliseconds_of",
    "parse_direction",
    "parse_fmtps",
    "parse_milliseconds",
    "parse_rtpmaps",
    "rtpmaps_of",
]

_RTPMAP = re.compile(r"([0-9]{1,3})\s+([^\s/]+)/([0-9]{1,9})(?:/([0-9]{1,3}))?\s*")
_FMTP = re.compile(r"(\S+)(?:\s+(.*))?", re.DOTALL)
_MILLISECONDS = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,9}))?")


@dataclass(frozen=True, slots=True)
class Attribute:
    """``a=<name>`` (property attribute, ``value is None``) or ``a=<name>:<value>`` (RFC 8866 §5.13)."""

    name: str
    value: str | None = None

    def __post_init__(self) -> None:
        if TOKEN_RE.fullmatch(self.name) is None:  # is_token, without the extra Python call per line
            raise SdpParseError(f"a=: attribute name {self.name!r} is not a token")
        value = self.value
        if value is not None and ("\r" in value or "\n" in value or "\0" in value):
            raise SdpParseError(f"a={self.name}: value contains CR, LF or NUL")

    @classmethod
    def parse(cls, text: str) -> Attribute:
        name, sep, value = text.partition(":")
        return cls(name, value if sep else None)

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


class Direction(StrEnum):
    """Stream direction attributes (RFC 8866 §6.7) from the point of view of the description's author."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @classmethod
    def from_flags(cls, *, send: bool, receive: bool) -> Direction:
        if send:
            return cls.SENDRECV if receive else cls.SENDONLY
        return cls.RECVONLY if receive else cls.INACTIVE

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    def reversed(self) -> Direction:
        """The same stream seen from the other end: what one side sends, the other receives.

        RFC 3264 §6.1: an offered sendonly stream is answered recvonly, recvonly with sendonly, and
        sendrecv or inactive with themselves (or anything narrower).
        """
        return Direction.from_flags(send=self.receives, receive=self.sends)

    def intersect(self, other: Direction) -> Direction:
        """Only what both allow (used to combine the mirrored offer with our own intention)."""
        return Direction.from_flags(send=self.sends and other.sends, receive=self.receives and other.receives)

    def without_receive(self) -> Direction:
        """What ``c=0.0.0.0`` does to a direction: the author cannot receive (RFC 3264 §8.4)."""
        return Direction.from_flags(send=self.sends, receive=False)


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]`` (RFC 8866 §6.6)."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, value: str) -> RtpMap | None:
        """The typed view, or ``None`` when the value is malformed (the line is then ignored)."""
        match = _RTPMAP.fullmatch(value)
        if match is None:
            return None
        payload_type, clock_rate = int(match[1]), int(match[3])
        channels = int(match[4]) if match[4] is not None else None
        if payload_type > 127 or clock_rate == 0 or channels == 0:
            return None
        return _new_rtpmap(payload_type, match[2], clock_rate, channels)

    def __str__(self) -> str:
        suffix = "" if self.channels is None else f"/{self.channels}"
        return f"{self.payload_type} {self.encoding_name}/{self.clock_rate}{suffix}"


# The dataclass constructor without its keyword handling (RtpMap has no checks to skip): offers carry several.
_new_rtpmap = trusted_builder(RtpMap)


def _named(attributes: Iterable[Attribute], name: str) -> list[str]:
    """Values of the attributes called ``name`` (case-insensitively: peers are not consistent)."""
    return [item.value for item in attributes if item.value is not None and item.name.lower() == name]


def parse_rtpmaps(attributes: Iterable[Attribute]) -> dict[int, RtpMap]:
    """Payload type -> rtpmap; the first well-formed line for a payload type wins."""
    return rtpmaps_of(_named(attributes, "rtpmap"))


def rtpmaps_of(values: Iterable[str | None]) -> dict[int, RtpMap]:
    """``parse_rtpmaps`` for the values of attributes known to be called rtpmap (``None`` is skipped): a
    description that indexes its attributes by name once need not have them filtered again per reader."""
    result: dict[int, RtpMap] = {}
    for value in values:
        rtpmap = RtpMap.parse(value) if value is not None else None
        if rtpmap is not None:
            result.setdefault(rtpmap.payload_type, rtpmap)
    return result


def parse_fmtps(attributes: Iterable[Attribute]) -> dict[str, str]:
    """Format -> format-specific parameters, stripped (``a=fmtp:101 0-15`` gives ``{"101": "0-15"}``)."""
    return fmtps_of(_named(attributes, "fmtp"))


def fmtps_of(values: Iterable[str | None]) -> dict[str, str]:
    """``parse_fmtps`` for the values of attributes known to be called fmtp (``None`` is skipped)."""
    result: dict[str, str] = {}
    for value in values:
        match = _FMTP.fullmatch(value) if value is not None else None
        if match is not None:
            result.setdefault(match[1], (match[2] or "").strip())
    return result


def parse_milliseconds(attributes: Iterable[Attribute], name: str) -> int | None:
    """``a=ptime`` / ``a=maxptime`` (RFC 8866 §6.4, §6.5) in whole milliseconds; fractions are rounded.

    Whole milliseconds are what a packetizer can use; the fractional form (``22.5``) is legal but exotic.
    """
    return milliseconds_of(_named(attributes, name))


def milliseconds_of(values: Iterable[str | None]) -> int | None:
    """``parse_milliseconds`` for the values of attributes known to have the wanted name (``None``: none)."""
    for value in values:
        match = _MILLISECONDS.fullmatch(value.strip()) if value is not None else None
        if match is None:
            continue
        whole = int(match[1]) + (1 if match[2] is not None and match[2][0] >= "5" else 0)
        if whole > 0:
            return whole
    return None


def parse_direction(attributes: Iterable[Attribute]) -> Direction | None:
    """The first direction property attribute, or ``None`` when there is none (RFC 8866 §6.7)."""
    for attribute in attributes:
        if attribute.value is None:
            direction = _DIRECTIONS.get(attribute.name.lower())
            if direction is not None:
                return direction
    return None


# ``Direction(text)`` without the enum machinery and the ValueError for every other property attribute.
_DIRECTIONS = {direction.value: direction for direction in Direction}
