"""``parse_sdp``: bytes or text in, a validated ``SessionDescription`` out, ``SdpParseError`` otherwise.

Line handling (RFC 8866 §5): lines end in CRLF, but a bare LF is accepted because many stacks send it; the
output is always CRLF. Empty lines (a stray blank line at the end of a body is common) are skipped. Text is
UTF-8; other bytes are carried through unchanged as lone surrogates so that they serialize back as they came.
"""

from __future__ import annotations

from takeback.sdp.errors import SdpParseError
from takeback.sdp.model import (
    Line,
    SessionDescription,
    description_from_sections,
    set_line_type,
    set_line_value,
)

__all__ = ["parse_sdp"]


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        try:
            data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise SdpParseError("text contains characters that cannot be encoded") from None
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data).decode("utf-8", "surrogateescape")
    raise SdpParseError(f"expected bytes or str, got {type(data).__name__}")


_new = object.__new__
# A line type is one ASCII letter.
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _sections_fast(text: str) -> list[list[Line]] | None:
    """The session lines and each media section's lines, or ``None`` if anything needs reporting (then
    ``_split_lines`` names the line at fault).

    One check of the whole body stands in for the per-line CR/LF/NUL checks of ``Line.__post_init__``: with
    no NUL, and CRs only in CRLF line ends, no line value can hold any of them.
    """
    if "\0" in text:
        return None
    crs = text.count("\r")
    if crs == 0:
        raws = text.split("\n")
    elif crs == text.count("\r\n") == text.count("\n"):  # CRLF throughout, as RFC 8866 §5 says
        raws = text.split("\r\n")
    else:
        return None
    sections: list[list[Line]] = [[]]
    current = sections[0]
    for raw in raws:
        if not raw:  # blank lines are skipped, as in ``_split_lines``
            continue
        kind = raw[0]
        if raw[1:2] != "=" or kind not in _LETTERS:
            return None
        if kind == "m":
            current = []
            sections.append(current)
        line = _new(Line)
        set_line_type(line, kind)
        set_line_value(line, raw[2:])
        current.append(line)
    return sections


def _split_lines(text: str) -> list[Line]:
    lines: list[Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        if not raw:
            continue
        if len(raw) < 2 or raw[1] != "=":
            raise SdpParseError(f"expected '<type>=<value>', got {raw[:40]!r}", number)
        try:
            lines.append(Line(raw[0], raw[2:]))
        except SdpParseError as exc:
            raise SdpParseError(str(exc), number) from None
    return lines


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse one SDP body (RFC 8866 / RFC 4566) and validate it.

    Raises ``SdpParseError`` (a ``ValueError``) for anything that is not a readable description, and no other
    exception. Unknown line types and attributes are kept verbatim.
    """
    text = _decode(data)
    sections = _sections_fast(text)
    if sections is None:
        lines = _split_lines(text)  # raises for a malformed line, naming it
        sections = [[]]
        for line in lines:
            if line.type == "m":
                sections.append([])
            sections[-1].append(line)
    if not sections[0] and len(sections) == 1:
        raise SdpParseError("empty session description")
    session, *media = sections
    return description_from_sections(tuple(session), [tuple(lines) for lines in media])
