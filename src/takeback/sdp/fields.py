"""Typed views of the structural SDP lines (RFC 8866 §5): o=, c=, b=, t=, r=, z= and m=.

Each view parses from the text after ``<type>=`` and prints back to it. The description model keeps the
original text of every line, so these views never have to reproduce odd spacing byte for byte; they are
strict about content (numbers are numbers, IP literals are valid) and lenient about whitespace runs.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from takeback._frozen import slot_setters, trusted_builder
from takeback.sdp.errors import SdpParseError

__all__ = [
    "TOKEN_PATTERN",
    "TOKEN_RE",
    "Bandwidth",
    "Connection",
    "MediaLine",
    "Origin",
    "Timing",
    "addrtype_of",
    "is_token",
    "parse_int",
    "slot_setters",
    "trusted_builder",
    "validate_repeat",
    "validate_zone",
]

# RFC 8866 §9 token-char: visible ASCII except the separators " ( ) , / : ; < = > ? @ [ \ ] { }.
TOKEN_PATTERN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
TOKEN_RE = re.compile(TOKEN_PATTERN)
_TOKENS = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+(?: [!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+)*")
_PROTO = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+(?:/[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+)*")
_TYPED_TIME = re.compile(r"[0-9]{1,20}[dhms]?")
_SIGNED_TYPED_TIME = re.compile(r"-?[0-9]{1,20}[dhms]?")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?")
# A dotted-quad IPv4 literal exactly as ``ipaddress.IPv4Address`` accepts it (no leading zeros, each octet
# 0-255), as one regex: SDP addresses are checked on every description we parse or build, and the
# ``ipaddress`` constructor costs ~10x more on this hot path (bench/device.py).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_DOTTED = re.compile(r"[0-9.]+")
# Whitespace as ``str.isspace`` defines it (``\s`` in a str pattern is the same Unicode class): one C call
# instead of a generator over the characters.
_BLANK = re.compile(r"\s")
# Four non-empty words joined by single spaces: matches exactly when none of them is empty or holds blanks.
_FOUR_WORDS = re.compile(r"\S+ \S+ \S+ \S+")
_MAX_DIGITS = 20

# Fast paths for the shapes every offer has (``IN IP4 <dotted quad>``, ``audio <port> RTP/AVP <pt> ...``): one
# regex that accepts only what the general parser accepts, so a match needs no further checks. Anything
# else (IPv6, host names, odd spacing, port counts) takes the general path, which also words the errors.
_TOKEN = TOKEN_PATTERN
_ORIGIN_IP4 = re.compile(rf"(\S+) (\S+) ([0-9]{{1,64}}) (\S+) (IP4) ({_OCTET}(?:\.{_OCTET}){{3}})")
_CONNECTION_IP4 = re.compile(rf"({_TOKEN}) (IP4) ({_OCTET}(?:\.{_OCTET}){{3}})")
_MEDIA_LINE = re.compile(rf"({_TOKEN}) ([0-9]{{1,5}}) ({_TOKEN}(?:/{_TOKEN})*)((?: {_TOKEN})+)")


def is_token(text: str) -> bool:
    """True when ``text`` is an RFC 8866 token (attribute names, media types, bandwidth types)."""
    return TOKEN_RE.fullmatch(text) is not None


def parse_int(text: str, what: str, *, maximum: int | None = None, max_digits: int = _MAX_DIGITS) -> int:
    """Decimal ASCII digits only (``int()`` alone would accept ``+1``, ``1_0`` and non-ASCII digits)."""
    if not (0 < len(text) <= max_digits and text.isascii() and text.isdigit()):
        raise SdpParseError(f"{what}: expected a decimal number, got {text!r}")
    value = int(text)
    if maximum is not None and value > maximum:
        raise SdpParseError(f"{what}: {value} is larger than {maximum}")
    return value


def addrtype_of(address: str) -> str:
    """``IP6`` for an IPv6 literal, otherwise ``IP4`` (IPv4 literal or FQDN, RFC 8866 §5.7)."""
    if ":" not in address:  # IPv4 literals and FQDNs never contain a colon
        return "IP4"
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return "IP4"
    return "IP6"


def _check_token(text: str, what: str) -> None:
    if not is_token(text):
        raise SdpParseError(f"{what}: {text!r} is not a token")


def _check_address(addrtype: str, address: str, what: str) -> None:
    """RFC 8866 §5.7/§9 unicast-address: an IP literal of the declared family, or an FQDN."""
    if addrtype == "IP4":
        if _DOTTED.fullmatch(address) is not None:
            if _IPV4.fullmatch(address) is None:
                raise SdpParseError(f"{what}: invalid IPv4 address {address!r}")
        elif _HOSTNAME.fullmatch(address) is None:
            raise SdpParseError(f"{what}: {address!r} is neither an IPv4 address nor a host name")
    elif addrtype == "IP6":
        if ":" in address:
            try:
                ipaddress.IPv6Address(address)
            except ValueError:
                raise SdpParseError(f"{what}: invalid IPv6 address {address!r}") from None
        elif _HOSTNAME.fullmatch(address) is None:
            raise SdpParseError(f"{what}: {address!r} is neither an IPv6 address nor a host name")
    elif not address or _BLANK.search(address) is not None:
        raise SdpParseError(f"{what}: invalid address {address!r}")


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`` (RFC 8866 §5.2).

    ``session_id`` stays text: it is an opaque identifier that we only compare. ``session_version`` is a
    number because RFC 3264 §8 makes us increment it.
    """

    username: str
    session_id: str
    session_version: int
    nettype: str
    addrtype: str
    address: str

    def __post_init__(self) -> None:
        words = f"{self.username} {self.session_id} {self.nettype} {self.addrtype}"
        if _FOUR_WORDS.fullmatch(words) is None:  # the common case costs one regex call, not four loops
            for name in ("username", "session_id", "nettype", "addrtype"):
                text = getattr(self, name)
                if not text or _BLANK.search(text) is not None:
                    raise SdpParseError(f"o=: {name} {text!r} must be one non-empty word")
        if self.session_version < 0:
            raise SdpParseError("o=: session version must not be negative")
        _check_address(self.addrtype, self.address, "o=")

    @classmethod
    def create(
        cls, address: str, *, session_id: int | str = 0, session_version: int = 0, username: str = "-"
    ) -> Origin:
        """An ``IN`` origin whose address type follows ``address``."""
        return cls(username, str(session_id), session_version, "IN", addrtype_of(address), address)

    @classmethod
    def parse(cls, value: str) -> Origin:
        match = _ORIGIN_IP4.fullmatch(value)
        if match is not None:  # the usual IPv4 origin: the regex checked everything __post_init__ would
            username, session_id, version, nettype, addrtype, address = match.groups()
            return _trusted_origin(username, session_id, int(version), nettype, addrtype, address)
        return cls.parse_general(value)

    @classmethod
    def parse_general(cls, value: str) -> Origin:
        """``parse`` without the fast path (any spacing, IPv6, host names; the exact error messages)."""
        parts = value.split()
        if len(parts) != 6:
            raise SdpParseError(f"o=: expected 6 fields, got {len(parts)} in {value!r}")
        username, session_id, version, nettype, addrtype, address = parts
        # RFC 8866 §5.2 only suggests 64-bit NTP values; accept longer numbers rather than reject the call.
        session_version = parse_int(version, "o= session version", max_digits=64)
        return cls(username, session_id, session_version, nettype, addrtype, address)

    def with_version(self, session_version: int) -> Origin:
        # The constructor directly (validating as ``dataclasses.replace`` would, at a fraction of its cost).
        return Origin(
            self.username, self.session_id, session_version, self.nettype, self.addrtype, self.address
        )

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (RFC 8866 §5.7).

    ``ttl`` only exists for IPv4 multicast (``224.2.1.1/127``); ``count`` is the optional number of
    consecutive multicast addresses.
    """

    nettype: str
    addrtype: str
    address: str
    ttl: int | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if TOKEN_RE.fullmatch(self.nettype) is None:
            _check_token(self.nettype, "c= nettype")
        if TOKEN_RE.fullmatch(self.addrtype) is None:
            _check_token(self.addrtype, "c= addrtype")
        _check_address(self.addrtype, self.address, "c=")

    @classmethod
    def create(cls, address: str) -> Connection:
        """A unicast ``IN`` connection whose address type follows ``address``."""
        return cls("IN", addrtype_of(address), address)

    @classmethod
    def parse(cls, value: str) -> Connection:
        match = _CONNECTION_IP4.fullmatch(value)
        if match is not None:  # ``IN IP4 <dotted quad>``: the regex checked everything __post_init__ would
            return _trusted_connection(match[1], match[2], match[3], None, None)
        return cls.parse_general(value)

    @classmethod
    def parse_general(cls, value: str) -> Connection:
        """``parse`` without the fast path (multicast, IPv6, host names; the exact error messages)."""
        parts = value.split()
        if len(parts) != 3:
            raise SdpParseError(f"c=: expected 3 fields, got {len(parts)} in {value!r}")
        nettype, addrtype, address = parts
        if addrtype not in ("IP4", "IP6") or "/" not in address:
            return cls(nettype, addrtype, address)
        host, *suffix = address.split("/")
        numbers = [parse_int(item, "c= ttl/count", maximum=2**32) for item in suffix]
        if addrtype == "IP4" and len(numbers) in (1, 2):
            return cls(nettype, addrtype, host, numbers[0], numbers[1] if len(numbers) == 2 else None)
        if addrtype == "IP6" and len(numbers) == 1:
            return cls(nettype, addrtype, host, None, numbers[0])
        raise SdpParseError(f"c=: malformed connection address {address!r}")

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The address as an IP object, or ``None`` for a host name."""
        try:
            return ipaddress.ip_address(self.address)
        except ValueError:
            return None

    @property
    def is_hold(self) -> bool:
        """``c=IN IP4 0.0.0.0``: the RFC 2543 way to put a call on hold (RFC 3264 §8.4).

        The IPv6 unspecified address ``::`` is treated the same way: nothing can be sent to it either.
        """
        if ":" not in self.address:  # not IPv6: "0.0.0.0" is the only unspecified IPv4 that ipaddress takes
            return self.address == "0.0.0.0"
        ip = self.ip
        return ip is not None and ip.is_unspecified

    def __str__(self) -> str:
        text = f"{self.nettype} {self.addrtype} {self.address}"
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            text += f"/{self.count}"
        return text


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (RFC 8866 §5.8), e.g. ``AS:64`` (kbit/s) or ``TIAS:64000`` (RFC 3890)."""

    type: str
    value: int

    def __post_init__(self) -> None:
        _check_token(self.type, "b= type")
        if self.value < 0:
            raise SdpParseError("b=: bandwidth must not be negative")

    @classmethod
    def parse(cls, value: str) -> Bandwidth:
        kind, sep, amount = value.partition(":")
        if not sep:
            raise SdpParseError(f"b=: expected <type>:<value>, got {value!r}")
        return cls(kind, parse_int(amount, "b= value"))

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start-time> <stop-time>`` in NTP seconds (RFC 8866 §5.9); ``t=0 0`` is an unbounded session."""

    start: int = 0
    stop: int = 0

    @classmethod
    def parse(cls, value: str) -> Timing:
        if value == "0 0":  # nearly every description: share one immutable view
            return _UNBOUNDED
        parts = value.split()
        if len(parts) != 2:
            raise SdpParseError(f"t=: expected 2 fields, got {len(parts)} in {value!r}")
        return cls(parse_int(parts[0], "t= start"), parse_int(parts[1], "t= stop"))

    def __str__(self) -> str:
        return f"{self.start} {self.stop}"


_UNBOUNDED = Timing()


def validate_repeat(value: str) -> None:
    """``r=<repeat interval> <active duration> <offsets from start-time>`` (RFC 8866 §5.10)."""
    parts = value.split()
    if len(parts) < 3 or not all(_TYPED_TIME.fullmatch(part) for part in parts):
        raise SdpParseError(f"r=: malformed repeat times {value!r}")


def validate_zone(value: str) -> None:
    """``z=<adjustment time> <offset> ...`` pairs (RFC 8866 §5.11); offsets may be negative."""
    parts = value.split()
    if not parts or len(parts) % 2:
        raise SdpParseError(f"z=: expected adjustment/offset pairs, got {value!r}")
    for adjustment, offset in zip(parts[::2], parts[1::2], strict=True):
        if not (adjustment.isascii() and adjustment.isdigit() and len(adjustment) <= _MAX_DIGITS):
            raise SdpParseError(f"z=: malformed adjustment time {adjustment!r}")
        if _SIGNED_TYPED_TIME.fullmatch(offset) is None:
            raise SdpParseError(f"z=: malformed offset {offset!r}")


@dataclass(frozen=True, slots=True)
class MediaLine:
    """``m=<media> <port>[/<number of ports>] <proto> <fmt> ...`` (RFC 8866 §5.14).

    A rejected stream (port 0) may come without formats; RFC 8866 requires one, but answers seen in the wild
    omit it and the meaning is unambiguous, so we accept that case only.
    """

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None

    def __post_init__(self) -> None:
        if TOKEN_RE.fullmatch(self.media) is None:
            _check_token(self.media, "m= media")
        if _PROTO.fullmatch(self.proto) is None:
            raise SdpParseError(f"m=: {self.proto!r} is not a transport protocol")
        if not 0 <= self.port <= 65535:
            raise SdpParseError(f"m=: port {self.port} out of range")
        if self.port_count is not None and self.port_count < 1:
            raise SdpParseError("m=: number of ports must be positive")
        if not self.formats and self.port != 0:
            raise SdpParseError("m=: an active media stream needs at least one format")
        # One regex over the joined formats; per format only to name the bad one. A format holding a blank
        # is not a token, and then the joined text does not match either.
        if self.formats and _TOKENS.fullmatch(" ".join(self.formats)) is None:
            for fmt in self.formats:
                _check_token(fmt, "m= format")

    @classmethod
    def parse(cls, value: str) -> MediaLine:
        match = _MEDIA_LINE.fullmatch(value)
        if match is not None and int(match[2]) <= 65535:  # single spaces, no port count: all checked
            return _trusted_media_line(match[1], int(match[2]), match[3], tuple(match[4].split()), None)
        return cls.parse_general(value)

    @classmethod
    def parse_general(cls, value: str) -> MediaLine:
        """``parse`` without the fast path (odd spacing, port counts; the exact error messages)."""
        parts = value.split()
        if len(parts) < 3:
            raise SdpParseError(f"m=: expected <media> <port> <proto> <fmt>..., got {value!r}")
        media, port_text, proto, *formats = parts
        port_text, slash, count_text = port_text.partition("/")
        port = parse_int(port_text, "m= port", maximum=65535)
        count = parse_int(count_text, "m= number of ports", maximum=65535) if slash else None
        return cls(media, port, proto, tuple(formats), count)

    @property
    def is_rtp(self) -> bool:
        """RTP-based profile (RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ...): formats are payload types."""
        return "RTP" in self.proto.upper().split("/")

    def __str__(self) -> str:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        return " ".join((self.media, port, self.proto, *self.formats))


_trusted_origin = trusted_builder(Origin)
_trusted_connection = trusted_builder(Connection)
_trusted_media_line = trusted_builder(MediaLine)
