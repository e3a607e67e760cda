"""The session description model: every line kept verbatim, typed views computed once.

A description is a tuple of ``Line`` objects (session section) plus one tuple per ``m=`` section. Keeping the
original text of each line is what makes ``bytes(parse_sdp(x)) == x`` hold for any well-formed CRLF input,
including unknown attributes, unknown line types and odd-but-legal spacing, in their original order.
Constructing a description validates it (``SdpParseError``), so a ``SessionDescription`` that exists is
always readable through its typed properties.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from takeback.sdp.attributes import (
    Attribute,
    Direction,
    RtpMap,
    parse_direction,
    parse_fmtps,
    parse_milliseconds,
    parse_rtpmaps,
)
from takeback.sdp.codecs import STATIC_PAYLOAD_TYPES, Codec
from takeback.sdp.crypto import CryptoAttribute
from takeback.sdp.errors import SdpParseError
from takeback.sdp.fields import (
    Bandwidth,
    Connection,
    MediaLine,
    Origin,
    Timing,
    validate_repeat,
    validate_zone,
)

__all__ = ["Line", "MediaDescription", "SessionDescription"]

# RFC 8866 §5: session-only text lines checked nowhere else; unknown letters are kept wherever they are.
_SESSION_ONLY = frozenset("osuep")
_KNOWN = frozenset("vosiuepcbtrzkam")
# A line type is one ASCII letter: one set lookup instead of len/isascii/isalpha on every line.
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Line:
    """``<type>=<value>`` with the value exactly as received (RFC 8866 §5)."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if self.type not in _LETTERS:
            raise SdpParseError(f"line type {self.type!r} must be one ASCII letter")
        value = self.value
        if "\r" in value or "\n" in value or "\0" in value:
            raise SdpParseError(f"{self.type}= value contains CR, LF or NUL")

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


def _validate_common(line: Line, where: str) -> Attribute | Connection | Bandwidth | None:
    """Check one line that may appear at either level; return its typed view when it has one."""
    if line.type == "a":
        return Attribute.parse(line.value)
    if line.type == "c":
        return Connection.parse(line.value)
    if line.type == "b":
        return Bandwidth.parse(line.value)
    if line.type in "ik" or line.type not in _KNOWN:
        return None
    raise SdpParseError(f"'{line.type}=' line is not allowed {where}")


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One media section: ``lines[0]`` is the ``m=`` line, then its i=, c=, b=, k=, a= (and unknown) lines."""

    lines: tuple[Line, ...]
    media_line: MediaLine = field(init=False, repr=False, compare=False)
    attributes: tuple[Attribute, ...] = field(init=False, repr=False, compare=False)
    connections: tuple[Connection, ...] = field(init=False, repr=False, compare=False)
    bandwidths: tuple[Bandwidth, ...] = field(init=False, repr=False, compare=False)
    #: Derived views computed once (the description is immutable): ``codecs`` is read several times per
    #: offer/answer and builds a Codec per payload type.
    _memo: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "_memo", {})
        if not self.lines or self.lines[0].type != "m":
            raise SdpParseError("a media description must start with an m= line")
        attributes: list[Attribute] = []
        connections: list[Connection] = []
        bandwidths: list[Bandwidth] = []
        for line in self.lines[1:]:
            view = _validate_common(line, "inside a media description")
            if isinstance(view, Attribute):
                attributes.append(view)
            elif isinstance(view, Connection):
                connections.append(view)
            elif isinstance(view, Bandwidth):
                bandwidths.append(view)
        object.__setattr__(self, "media_line", MediaLine.parse(self.lines[0].value))
        object.__setattr__(self, "attributes", tuple(attributes))
        object.__setattr__(self, "connections", tuple(connections))
        object.__setattr__(self, "bandwidths", tuple(bandwidths))

    @classmethod
    def create(
        cls,
        media_line: MediaLine,
        *,
        connection: Connection | None = None,
        bandwidths: Iterable[Bandwidth] = (),
        attributes: Iterable[Attribute] = (),
    ) -> MediaDescription:
        """A media section with its lines in RFC 8866 order (m, c, b, a).

        The parts are typed views that validated themselves when they were built, so the section is
        assembled from them directly instead of printing and re-parsing every line (the answer path).
        """
        bandwidths, attributes = tuple(bandwidths), tuple(attributes)
        lines = [Line("m", str(media_line))]
        if connection is not None:
            lines.append(Line("c", str(connection)))
        lines.extend(Line("b", str(bandwidth)) for bandwidth in bandwidths)
        lines.extend(Line("a", str(attribute)) for attribute in attributes)
        made = object.__new__(cls)
        for name, value in (
            ("lines", tuple(lines)), ("media_line", media_line), ("attributes", attributes),
            ("connections", () if connection is None else (connection,)), ("bandwidths", bandwidths),
            ("_memo", {}),
        ):  # fmt: skip
            object.__setattr__(made, name, value)
        return made

    # --- the m= line -------------------------------------------------------------------------------------
    @property
    def media(self) -> str:
        """``audio``, ``video``, ``image``, ``application``, ..."""
        return self.media_line.media

    @property
    def port(self) -> int:
        return self.media_line.port

    @property
    def port_count(self) -> int | None:
        return self.media_line.port_count

    @property
    def proto(self) -> str:
        return self.media_line.proto

    @property
    def formats(self) -> tuple[str, ...]:
        return self.media_line.formats

    @property
    def is_rejected(self) -> bool:
        """Port 0: the stream is rejected or disabled (RFC 3264 §5.1, §6)."""
        return self.port == 0

    @property
    def is_srtp(self) -> bool:
        """Secure RTP profile (RTP/SAVP, RTP/SAVPF; RFC 3711 §12, RFC 5124)."""
        return self.proto.upper() in ("RTP/SAVP", "RTP/SAVPF")

    @property
    def payload_types(self) -> tuple[int, ...]:
        """The formats that are RTP payload type numbers (empty for non-RTP profiles)."""
        if not self.media_line.is_rtp:
            return ()
        return tuple(
            int(fmt)
            for fmt in self.formats
            if len(fmt) <= 3 and fmt.isascii() and fmt.isdigit() and int(fmt) <= 127
        )

    # --- lines and attributes ----------------------------------------------------------------------------
    @property
    def connection(self) -> Connection | None:
        """The first media-level ``c=`` (several are legal for layered multicast), else ``None``."""
        return self.connections[0] if self.connections else None

    def get(self, name: str) -> Attribute | None:
        """The first attribute called ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((attr for attr in self.attributes if attr.name.lower() == wanted), None)

    def values(self, name: str) -> tuple[str, ...]:
        """Values of every attribute called ``name``, in order (property attributes give ``""``)."""
        wanted = name.lower()
        return tuple(attr.value or "" for attr in self.attributes if attr.name.lower() == wanted)

    @property
    def direction(self) -> Direction | None:
        """The media-level direction attribute, or ``None`` (then the session level decides)."""
        return parse_direction(self.attributes)

    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        return parse_rtpmaps(self.attributes)

    @property
    def fmtps(self) -> dict[str, str]:
        return parse_fmtps(self.attributes)

    @property
    def ptime(self) -> int | None:
        """``a=ptime`` in milliseconds (RFC 8866 §6.4)."""
        return parse_milliseconds(self.attributes, "ptime")

    @property
    def maxptime(self) -> int | None:
        """``a=maxptime`` in milliseconds (RFC 8866 §6.5)."""
        return parse_milliseconds(self.attributes, "maxptime")

    @property
    def crypto(self) -> tuple[CryptoAttribute, ...]:
        """Well-formed ``a=crypto`` lines in order (RFC 4568); malformed ones are ignored."""
        result: list[CryptoAttribute] = []
        for value in self.values("crypto"):
            try:
                result.append(CryptoAttribute.parse(value))
            except SdpParseError:
                continue
        return tuple(result)

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """The offered payload formats in m= line order, from ``a=rtpmap`` or the RFC 3551 static table.

        A dynamic payload type without an rtpmap cannot be interpreted and is left out.
        """
        memo = self._memo.get("codecs")
        if memo is not None:
            return memo  # type: ignore[no-any-return]
        rtpmaps, fmtps = self.rtpmaps, self.fmtps
        result: list[Codec] = []
        for payload_type in self.payload_types:
            rtpmap = rtpmaps.get(payload_type)
            fmtp = fmtps.get(str(payload_type)) or None
            if rtpmap is not None:
                codec = Codec(
                    rtpmap.encoding_name, payload_type, rtpmap.clock_rate, rtpmap.channels or 1, fmtp
                )
            elif payload_type in STATIC_PAYLOAD_TYPES:
                codec = STATIC_PAYLOAD_TYPES[payload_type].with_fmtp(fmtp)
            else:
                continue
            result.append(codec)
        codecs = tuple(result)
        self._memo["codecs"] = codecs
        return codecs

    def text_lines(self) -> list[str]:
        return [str(line) for line in self.lines]


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP body: session-level ``lines`` (starting with ``v=0``) and the media sections."""

    lines: tuple[Line, ...]
    media: tuple[MediaDescription, ...] = ()
    origin: Origin = field(init=False, repr=False, compare=False)
    session_name: str | None = field(init=False, repr=False, compare=False)
    connection: Connection | None = field(init=False, repr=False, compare=False)
    bandwidths: tuple[Bandwidth, ...] = field(init=False, repr=False, compare=False)
    timings: tuple[Timing, ...] = field(init=False, repr=False, compare=False)
    attributes: tuple[Attribute, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "media", tuple(self.media))
        first = self.lines[0] if self.lines else None
        # What ``first != Line("v", "0")`` tests, without building and validating a Line each time.
        if type(first) is not Line or first.type != "v" or first.value != "0":
            raise SdpParseError("a session description must start with v=0 (RFC 8866 §5.1)")
        singles: dict[str, str] = {}
        attributes: list[Attribute] = []
        bandwidths: list[Bandwidth] = []
        timings: list[Timing] = []
        for line in self.lines[1:]:
            if line.type in "vosc":
                if line.type in singles:
                    raise SdpParseError(f"more than one '{line.type}=' line at session level")
                singles[line.type] = line.value
            view = self._validate_session_line(line)
            if isinstance(view, Attribute):
                attributes.append(view)
            elif isinstance(view, Bandwidth):
                bandwidths.append(view)
            elif isinstance(view, Timing):
                timings.append(view)
        if "o" not in singles:
            raise SdpParseError("the o= line is missing (RFC 8866 §5.2)")
        object.__setattr__(self, "origin", Origin.parse(singles["o"]))
        object.__setattr__(self, "session_name", singles.get("s"))
        connection = Connection.parse(singles["c"]) if "c" in singles else None
        object.__setattr__(self, "connection", connection)
        object.__setattr__(self, "bandwidths", tuple(bandwidths))
        object.__setattr__(self, "timings", tuple(timings))
        object.__setattr__(self, "attributes", tuple(attributes))

    @staticmethod
    def _validate_session_line(line: Line) -> Attribute | Bandwidth | Timing | None:
        if line.type == "v":
            raise SdpParseError("a second v= line: two descriptions concatenated?")
        if line.type == "m":
            raise SdpParseError("m= lines belong to media descriptions")
        if line.type == "t":
            return Timing.parse(line.value)
        if line.type == "r":
            validate_repeat(line.value)
            return None
        if line.type == "z":
            validate_zone(line.value)
            return None
        if line.type in _SESSION_ONLY:
            return None
        view = _validate_common(line, "at session level")
        return view if isinstance(view, Attribute | Bandwidth) else None

    @classmethod
    def create(
        cls,
        origin: Origin,
        *,
        session_name: str = "-",
        connection: Connection | None = None,
        bandwidths: Iterable[Bandwidth] = (),
        timings: Iterable[Timing | Line] = (Timing(),),
        attributes: Iterable[Attribute] = (),
        media: Sequence[MediaDescription] = (),
    ) -> SessionDescription:
        """A description with its session lines in RFC 8866 order (v, o, s, c, b, t, a).

        ``timings`` may hold ``Line`` objects to copy t=/r= lines verbatim (RFC 3264 §6: the answer's t= line
        equals the offer's).
        """
        bandwidths, attributes = tuple(bandwidths), tuple(attributes)
        lines = [Line("v", "0"), Line("o", str(origin)), Line("s", session_name)]
        if connection is not None:
            lines.append(Line("c", str(connection)))
        lines.extend(Line("b", str(bandwidth)) for bandwidth in bandwidths)
        timing_lines = [item if isinstance(item, Line) else Line("t", str(item)) for item in timings]
        if any(line.type not in ("t", "r") for line in timing_lines):
            return cls((*lines, *timing_lines, *(Line("a", str(a)) for a in attributes)), tuple(media))
        lines.extend(timing_lines)
        lines.extend(Line("a", str(attribute)) for attribute in attributes)
        # Typed parts validated themselves; verbatim t=/r= lines (copied from an offer) are checked here.
        views: list[Timing] = []
        for line in timing_lines:
            if line.type == "t":
                views.append(Timing.parse(line.value))
            else:
                validate_repeat(line.value)
        made = object.__new__(cls)
        for name, value in (
            ("lines", tuple(lines)), ("media", tuple(media)), ("origin", origin),
            ("session_name", session_name), ("connection", connection), ("bandwidths", bandwidths),
            ("timings", tuple(views)), ("attributes", attributes),
        ):  # fmt: skip
            object.__setattr__(made, name, value)
        return made

    # --- typed views -------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Always 0 (RFC 8866 §5.1)."""
        return 0

    def get(self, name: str) -> Attribute | None:
        """The first session-level attribute called ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((attr for attr in self.attributes if attr.name.lower() == wanted), None)

    def values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(attr.value or "" for attr in self.attributes if attr.name.lower() == wanted)

    @property
    def direction(self) -> Direction | None:
        """The session-level direction attribute (the default for every media section), or ``None``."""
        return parse_direction(self.attributes)

    def media_direction(self, media: MediaDescription) -> Direction:
        """Declared direction of ``media``: its own attribute, else the session's, else sendrecv
        (RFC 8866 §6.7, RFC 3264 §5.1)."""
        return media.direction or self.direction or Direction.SENDRECV

    def media_connection(self, media: MediaDescription) -> Connection | None:
        """The ``c=`` that applies to ``media``: its own, else the session-level one (RFC 8866 §5.7)."""
        return media.connection or self.connection

    def effective_direction(self, media: MediaDescription) -> Direction:
        """The declared direction, minus receiving when the address is ``0.0.0.0`` (RFC 3264 §8.4 hold)."""
        direction = self.media_direction(media)
        connection = self.media_connection(media)
        if connection is not None and connection.is_hold:
            return direction.without_receive()
        return direction

    # --- building and output -----------------------------------------------------------------------------
    def with_origin(self, origin: Origin) -> SessionDescription:
        """The same description with another ``o=`` line (used by the version keeper)."""
        lines = tuple(Line("o", str(origin)) if line.type == "o" else line for line in self.lines)
        # Only the o= line changes and ``origin`` validated itself: copy the other views as they are.
        made = object.__new__(SessionDescription)
        for name in _SESSION_FIELDS:
            object.__setattr__(made, name, getattr(self, name))
        object.__setattr__(made, "lines", lines)
        object.__setattr__(made, "origin", origin)
        return made

    def with_media(self, media: Sequence[MediaDescription]) -> SessionDescription:
        return SessionDescription(self.lines, tuple(media))

    def text_lines(self) -> list[str]:
        result = [str(line) for line in self.lines]
        for media in self.media:
            result.extend(media.text_lines())
        return result

    def to_text(self) -> str:
        """Every line terminated by CRLF (RFC 8866 §5)."""
        # ``str(line)`` inlined: this runs for every description we send.
        parts = [f"{line.type}={line.value}\r\n" for line in self.lines]
        for media in self.media:
            parts.extend([f"{line.type}={line.value}\r\n" for line in media.lines])
        return "".join(parts)

    def to_bytes(self) -> bytes:
        """UTF-8; bytes that were not UTF-8 on input come back unchanged (they travel as lone surrogates)."""
        return self.to_text().encode("utf-8", "surrogateescape")

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def __str__(self) -> str:
        return self.to_text()


_SESSION_FIELDS = tuple(f.name for f in fields(SessionDescription))
