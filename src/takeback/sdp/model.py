"""The session description model: every line kept verbatim, typed views computed once.

A description is a tuple of ``Line`` objects (session section) plus one tuple per ``m=`` section. Keeping the
original text of each line is what makes ``bytes(parse_sdp(x)) == x`` hold for any well-formed CRLF input,
including unknown attributes, unknown line types and odd-but-legal spacing, in their original order.
Constructing a description validates it (``SdpParseError``), so a ``SessionDescription`` that exists is
always readable through its typed properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from takeback.sdp.attributes import (
    Attribute,
    Direction,
    RtpMap,
    fmtps_of,
    milliseconds_of,
    parse_direction,
    rtpmaps_of,
)
from takeback.sdp.codecs import STATIC_PAYLOAD_TYPES, Codec
from takeback.sdp.crypto import CryptoAttribute
from takeback.sdp.errors import SdpParseError
from takeback.sdp.fields import (
    TOKEN_PATTERN,
    Bandwidth,
    Connection,
    MediaLine,
    Origin,
    Timing,
    slot_setters,
    trusted_builder,
    validate_repeat,
    validate_zone,
)

__all__ = ["Line", "MediaDescription", "SessionDescription", "assemble_session", "description_from_sections"]

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


# Lines and attributes whose text is known to be clean (see ``trusted_builder``): the parser checks a whole
# body for CR/LF/NUL at once, and typed views print no such characters.
trusted_line = trusted_builder(Line)
# The same, unrolled in the loops that make a dozen objects per description.
_new = object.__new__
set_line_type, set_line_value = slot_setters(Line)
_set_attribute_name, _set_attribute_value = slot_setters(Attribute)
_trusted_codec = trusted_builder(Codec)
_V0 = Line("v", "0")
_S_DASH = Line("s", "-")
# Attribute names joined by ':' (which no name can hold: the name ends at the first one): one regex call
# checks that every name is a token.
_NAMES = re.compile(rf"{TOKEN_PATTERN}(?::{TOKEN_PATTERN})*")


def _view_line(kind: str, text: str) -> Line:
    """The line of a typed view's text. Views hold no CR or LF, but some (a host name, an o= username)
    may hold NUL, which ``Line`` refuses: only then take the validating constructor, for its error."""
    return trusted_line(kind, text) if "\0" not in text else Line(kind, text)


def _split_attributes(
    lines: Sequence[Line],
) -> tuple[list[Attribute], list[Connection], list[Bandwidth], list[Line]] | None:
    """The a=, c= and b= views of ``lines`` plus the lines that need a closer look; ``None`` when a check
    fails, for the caller to redo the checks in line order (the first fault names the error).

    Attribute names are checked all at once and their values need no check: a ``Line`` value holds no CR,
    LF or NUL already.
    """
    attributes: list[Attribute] = []
    names: list[str] = []
    connections: list[Connection] = []
    bandwidths: list[Bandwidth] = []
    others: list[Line] = []
    try:
        for line in lines:
            kind = line.type
            if kind == "a":
                name, sep, value = line.value.partition(":")
                names.append(name)
                attribute = _new(Attribute)
                _set_attribute_name(attribute, name)
                _set_attribute_value(attribute, value if sep else None)
                attributes.append(attribute)
            elif kind == "c":
                connections.append(Connection.parse(line.value))
            elif kind == "b":
                bandwidths.append(Bandwidth.parse(line.value))
            else:
                others.append(line)
    except SdpParseError:
        return None
    if names and _NAMES.fullmatch(":".join(names)) is None:
        return None
    return attributes, connections, bandwidths, others


def _attribute_line(attribute: Attribute) -> Line:
    """``a=`` line of a validated attribute: a token name and a value without CR, LF or NUL."""
    value = attribute.value
    return trusted_line("a", attribute.name if value is None else f"{attribute.name}:{value}")


_MediaViews = tuple[MediaLine, tuple[Attribute, ...], tuple[Connection, ...], tuple[Bandwidth, ...]]


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
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "_memo", {})
        if not lines or lines[0].type != "m":
            raise SdpParseError("a media description must start with an m= line")
        views = self._views_fast(lines)
        if views is None:  # something to report: the checks again, in line order, for the first fault
            views = self._views_checked(lines)
        media_line, attributes, connections, bandwidths = views
        object.__setattr__(self, "media_line", media_line)
        object.__setattr__(self, "attributes", attributes)
        object.__setattr__(self, "connections", connections)
        object.__setattr__(self, "bandwidths", bandwidths)

    @staticmethod
    def _views_fast(lines: tuple[Line, ...]) -> _MediaViews | None:
        """The typed views when every line is fine, else ``None`` (the caller then finds the error)."""
        split = _split_attributes(lines[1:])
        if split is None:
            return None
        attributes, connections, bandwidths, others = split
        if others and any(line.type not in "ik" and line.type in _KNOWN for line in others):
            return None
        try:
            media_line = MediaLine.parse(lines[0].value)
        except SdpParseError:
            return None
        return media_line, tuple(attributes), tuple(connections), tuple(bandwidths)

    @staticmethod
    def _views_checked(lines: tuple[Line, ...]) -> _MediaViews:
        attributes: list[Attribute] = []
        connections: list[Connection] = []
        bandwidths: list[Bandwidth] = []
        for line in lines[1:]:
            view = _validate_common(line, "inside a media description")
            if isinstance(view, Attribute):
                attributes.append(view)
            elif isinstance(view, Connection):
                connections.append(view)
            elif isinstance(view, Bandwidth):
                bandwidths.append(view)
        media_line = MediaLine.parse(lines[0].value)
        return media_line, tuple(attributes), tuple(connections), tuple(bandwidths)

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
        lines = [trusted_line("m", str(media_line))]
        if connection is not None:
            lines.append(_view_line("c", str(connection)))
        lines.extend([trusted_line("b", str(bandwidth)) for bandwidth in bandwidths])
        for attribute in attributes:  # a token name and a value without CR, LF or NUL: a clean line
            line = _new(Line)
            set_line_type(line, "a")
            value = attribute.value
            set_line_value(line, attribute.name if value is None else f"{attribute.name}:{value}")
            lines.append(line)
        connections = () if connection is None else (connection,)
        return _trusted_media(tuple(lines), media_line, attributes, connections, bandwidths, {})

    def with_media_line(self, media_line: MediaLine) -> MediaDescription:
        """This section with another m= line (e.g. another port); its other lines and views are kept as they
        are: they do not depend on the m= line, and ``media_line`` validated itself."""
        lines = (trusted_line("m", str(media_line)), *self.lines[1:])
        return _trusted_media(lines, media_line, self.attributes, self.connections, self.bandwidths, {})

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
        result: list[int] = []
        for fmt in self.media_line.formats:
            if len(fmt) <= 3 and fmt.isascii() and fmt.isdigit():
                number = int(fmt)
                if number <= 127:
                    result.append(number)
        return tuple(result)

    # --- lines and attributes ----------------------------------------------------------------------------
    @property
    def connection(self) -> Connection | None:
        """The first media-level ``c=`` (several are legal for layered multicast), else ``None``."""
        return self.connections[0] if self.connections else None

    def _named(self, name: str) -> list[Attribute]:
        """The attributes called ``name`` (lower case), in order. The index is built once per description:
        offer/answer asks for rtpmap, fmtp, ptime, maxptime, mid, ... in turn."""
        index: dict[str, list[Attribute]] | None = self._memo.get("by_name")
        if index is None:
            index = {}
            for attribute in self.attributes:
                key = attribute.name.lower()
                if key in index:
                    index[key].append(attribute)
                else:
                    index[key] = [attribute]
            self._memo["by_name"] = index
        return index.get(name, [])

    def get(self, name: str) -> Attribute | None:
        """The first attribute called ``name`` (case-insensitive)."""
        named = self._named(name.lower())
        return named[0] if named else None

    def values(self, name: str) -> tuple[str, ...]:
        """Values of every attribute called ``name``, in order (property attributes give ``""``)."""
        return tuple(attr.value or "" for attr in self._named(name.lower()))

    @property
    def direction(self) -> Direction | None:
        """The media-level direction attribute, or ``None`` (then the session level decides)."""
        return parse_direction(self.attributes)

    # The readers take the values of the attributes ``_named`` found: no second filtering by name.
    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        return rtpmaps_of([attribute.value for attribute in self._named("rtpmap")])

    @property
    def fmtps(self) -> dict[str, str]:
        return fmtps_of([attribute.value for attribute in self._named("fmtp")])

    @property
    def ptime(self) -> int | None:
        """``a=ptime`` in milliseconds (RFC 8866 §6.4)."""
        return milliseconds_of([attribute.value for attribute in self._named("ptime")])

    @property
    def maxptime(self) -> int | None:
        """``a=maxptime`` in milliseconds (RFC 8866 §6.5)."""
        return milliseconds_of([attribute.value for attribute in self._named("maxptime")])

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
            # Valid codecs without ``Codec``'s checks: a well-formed rtpmap (a one-word name without '/',
            # payload type <= 127, positive rate and channels) or the static table, and a line's fmtp.
            if rtpmap is not None:
                codec = _trusted_codec(
                    rtpmap.encoding_name, payload_type, rtpmap.clock_rate, rtpmap.channels or 1, fmtp
                )
            elif payload_type in STATIC_PAYLOAD_TYPES:
                static = STATIC_PAYLOAD_TYPES[payload_type]
                codec = _trusted_codec(static.name, payload_type, static.clock_rate, static.channels, fmtp)
            else:
                continue
            result.append(codec)
        codecs = tuple(result)
        self._memo["codecs"] = codecs
        return codecs

    def text_lines(self) -> list[str]:
        return [str(line) for line in self.lines]


_trusted_media = trusted_builder(MediaDescription)

_SessionViews = tuple[
    Origin, str | None, Connection | None, tuple[Bandwidth, ...], tuple[Timing, ...], tuple[Attribute, ...]
]


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
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "media", tuple(self.media))
        first = lines[0] if lines else None
        # What ``first != Line("v", "0")`` tests, without building and validating a Line each time.
        if type(first) is not Line or first.type != "v" or first.value != "0":
            raise SdpParseError("a session description must start with v=0 (RFC 8866 §5.1)")
        views = self._views_fast(lines)
        if views is None:  # something to report: the checks again, in line order, for the first fault
            views = self._views_checked(lines)
        for name, value in zip(_SESSION_VIEWS, views, strict=True):
            object.__setattr__(self, name, value)

    @staticmethod
    def _views_fast(lines: tuple[Line, ...]) -> _SessionViews | None:
        """The typed views when every line is fine, else ``None`` (the caller then finds the error)."""
        split = _split_attributes(lines[1:])
        if split is None:
            return None
        attributes, connections, bandwidths, others = split
        singles: dict[str, str] = {}
        timings: list[Timing] = []
        try:
            for line in others:
                kind = line.type
                if kind == "t":
                    timings.append(Timing.parse(line.value))
                elif kind in "os":
                    if kind in singles:
                        return None
                    singles[kind] = line.value
                elif kind in "iuepk" or kind not in _KNOWN:
                    continue
                else:  # v=, m=, or r= and z= (rare, left to the general checks)
                    return None
            if len(connections) > 1 or "o" not in singles:
                return None
            origin = Origin.parse(singles["o"])
        except SdpParseError:
            return None
        connection = connections[0] if connections else None
        return (
            origin, singles.get("s"), connection, tuple(bandwidths), tuple(timings), tuple(attributes)
        )  # fmt: skip

    @staticmethod
    def _views_checked(lines: tuple[Line, ...]) -> _SessionViews:
        singles: dict[str, str] = {}
        attributes: list[Attribute] = []
        bandwidths: list[Bandwidth] = []
        timings: list[Timing] = []
        for line in lines[1:]:
            if line.type in "vosc":
                if line.type in singles:
                    raise SdpParseError(f"more than one '{line.type}=' line at session level")
                singles[line.type] = line.value
            view = SessionDescription._validate_session_line(line)
            if isinstance(view, Attribute):
                attributes.append(view)
            elif isinstance(view, Bandwidth):
                bandwidths.append(view)
            elif isinstance(view, Timing):
                timings.append(view)
        if "o" not in singles:
            raise SdpParseError("the o= line is missing (RFC 8866 §5.2)")
        origin = Origin.parse(singles["o"])
        connection = Connection.parse(singles["c"]) if "c" in singles else None
        return (
            origin, singles.get("s"), connection, tuple(bandwidths), tuple(timings), tuple(attributes)
        )  # fmt: skip

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
        name_line = _S_DASH if session_name == "-" else Line("s", session_name)
        lines = [_V0, _view_line("o", str(origin)), name_line]
        if connection is not None:
            lines.append(_view_line("c", str(connection)))
        lines.extend([trusted_line("b", str(bandwidth)) for bandwidth in bandwidths])
        timing_lines = [item if isinstance(item, Line) else trusted_line("t", str(item)) for item in timings]
        if any(line.type not in ("t", "r") for line in timing_lines):
            return cls((*lines, *timing_lines, *(Line("a", str(a)) for a in attributes)), tuple(media))
        lines.extend(timing_lines)
        lines.extend([_attribute_line(attribute) for attribute in attributes])
        # Typed parts validated themselves; verbatim t=/r= lines (copied from an offer) are checked here.
        views: list[Timing] = []
        for line in timing_lines:
            if line.type == "t":
                views.append(Timing.parse(line.value))
            else:
                validate_repeat(line.value)
        return _trusted_session(
            tuple(lines), tuple(media), origin, session_name, connection, bandwidths, tuple(views), attributes
        )

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
        line = _view_line("o", str(origin))
        if self.lines[1].type == "o":  # where ``create`` puts it
            lines = (self.lines[0], line, *self.lines[2:])
        else:
            lines = tuple(line if item.type == "o" else item for item in self.lines)
        # Only the o= line changes and ``origin`` validated itself: copy the other views as they are.
        values = _session_fields(self)
        return _trusted_session(lines, *values[1:_ORIGIN], origin, *values[_ORIGIN + 1 :])

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
_ORIGIN = _SESSION_FIELDS.index("origin")
_session_fields = attrgetter(*_SESSION_FIELDS)
_trusted_session = trusted_builder(SessionDescription)
_SESSION_VIEWS = ("origin", "session_name", "connection", "bandwidths", "timings", "attributes")


def assemble_session(
    origin: Origin,
    connection_line: Line | None,
    connection: Connection | None,
    timing_lines: Sequence[Line],
    timings: tuple[Timing, ...],
    media: Sequence[MediaDescription],
) -> SessionDescription:
    """``SessionDescription.create(origin, connection=..., timings=..., media=...)`` from parts that come
    with their lines: ``connection_line`` prints ``connection``, ``timing_lines`` hold exactly the t= lines
    whose views are ``timings`` (an offer's, copied by an answer: RFC 3264 §6). Nothing is printed or parsed
    again; the caller vouches for the pairs.
    """
    lines = [_V0, _view_line("o", str(origin)), _S_DASH]
    if connection_line is not None:
        lines.append(connection_line)
    lines.extend(timing_lines)
    return _trusted_session(tuple(lines), tuple(media), origin, "-", connection, (), timings, ())


def description_from_sections(
    session: tuple[Line, ...], media: Sequence[tuple[Line, ...]]
) -> SessionDescription:
    """``SessionDescription(session, tuple(MediaDescription(lines) for lines in media))``, the parser's way.

    The same checks and views; when every view comes out of the fast checks, the objects are assembled by
    the trusted builders instead of the dataclass constructors (a frozen dataclass sets each field with an
    ``object.__setattr__`` call, and ``__post_init__`` then overwrites most of them).
    """
    sections: list[MediaDescription] = []
    for lines in media:
        views = MediaDescription._views_fast(lines) if lines and lines[0].type == "m" else None
        sections.append(MediaDescription(lines) if views is None else _trusted_media(lines, *views, {}))
    first = session[0] if session else None
    if first is None or first.type != "v" or first.value != "0":
        return SessionDescription(session, tuple(sections))  # raises
    session_views = SessionDescription._views_fast(session)
    if session_views is None:
        return SessionDescription(session, tuple(sections))  # finds the fault
    return _trusted_session(session, tuple(sections), *session_views)
