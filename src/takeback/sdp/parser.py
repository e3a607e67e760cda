"""``parse_sdp``: bytes or text in, a validated ``SessionDescription`` out, ``SdpParseError`` otherwise.

Line handling (RFC 8866 §5): lines end in CRLF, but a bare LF is accepted because many stacks send it; the
output is always CRLF. Empty lines (a stray blank line at the end of a body is common) are skipped. Text is
UTF-8; other bytes are carried through unchanged as lone surrogates so that they serialize back as they came.
"""

from __future__ import annotations

from takeback.sdp.errors import SdpParseError
from takeback.sdp.model import Line, MediaDescription, SessionDescription

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
    lines = _split_lines(_decode(data))
    if not lines:
        raise SdpParseError("empty session description")
    sections: list[list[Line]] = [[]]
    for line in lines:
        if line.type == "m":
            sections.append([])
        sections[-1].append(line)
    session, *media = sections
    return SessionDescription(tuple(session), tuple(MediaDescription(tuple(lines)) for lines in media))
