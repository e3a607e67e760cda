"""``message/sipfrag`` bodies (RFC 3420): the NOTIFY payload that reports a REFER's progress (RFC 3515).

A fragment is a *partial* SIP message: ``sipfrag = [ start-line ] *message-header [ CRLF [ message-body ] ]``.
So, unlike :func:`~takeback.sip.parser.parse_message`, nothing is mandatory besides what we need to
return a typed object (the start line): no Via/From/To/Call-ID/CSeq checks, no Content-Length rules,
and a missing final CRLF is fine (``SIP/2.0 200 OK`` alone is a valid fragment). Writing one never adds
a Content-Length either: ``SIP/2.0 100 Trying\\r\\n`` is the whole 20-byte body of GENESYS.md §10 (5).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import SipParseError
from .fields import Headers, checked_header_key
from .headers import is_method
from .message import Request, Response
from .uri import parse_uri

__all__ = ["SIPFRAG", "build_sipfrag", "parse_sipfrag", "serialize_sipfrag", "sipfrag_for_status"]

#: The media type to put in Content-Type (RFC 3515 §2.4.5 requires the version parameter's absence to
#: mean 2.0, but Genesys and most peers send it).
SIPFRAG = "message/sipfrag;version=2.0"
MAX_SIPFRAG = 65535


def parse_sipfrag(body: bytes) -> Request | Response:
    """Parse a sipfrag body into a (partial) :class:`Request` or :class:`Response`.

    The start line is required here (a fragment without one cannot say what it is about); header
    names must be tokens and every header line needs a colon; headers are optional. Raises
    :class:`SipParseError` (400) and nothing else.
    """
    if len(body) > MAX_SIPFRAG:
        raise SipParseError(f"sipfrag of {len(body)} bytes is too large", 413)
    data = bytes(body).lstrip(b"\r\n")
    head, rest = _split_head(data)
    text = head.decode("utf-8", "surrogateescape")
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SipParseError("empty sipfrag")
    headers = Headers.from_fields(_fields(lines[1:]))
    message = _start_line(lines[0], headers)
    message.body = rest
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    end = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n", 0, end if end >= 0 else len(data))
    if lf >= 0:
        return data[:lf], data[lf + 2 :]
    if end >= 0:
        return data[:end], data[end + 4 :]
    return data, b""


def _fields(lines: list[str]) -> list[tuple[str, str, str]]:
    fields: list[tuple[str, str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):  # RFC 3261 §7.3.1 folding
            if not fields:
                raise SipParseError("continuation line before any header in sipfrag")
            name, sep, value = fields[-1]
            if line.strip(" \t"):
                fields[-1] = (name, sep, value.rstrip(" \t") + " " + line.strip(" \t"))
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise SipParseError(f"sipfrag header line without a colon: {line[:60]!r}")
        checked_header_key(name)
        fields.append((name, sep, value))
    return fields


def _start_line(line: str, headers: Headers) -> Request | Response:
    if line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version.upper() != "SIP/2.0":
            raise SipParseError(f"bad version in sipfrag {line[:60]!r}")
        if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] not in "123456":
            raise SipParseError(f"bad status code in sipfrag {line[:60]!r}")
        return Response(int(code), reason.strip(" \t"), headers, b"", version)
    parts = line.split(" ")
    if len(parts) != 3 or not is_method(parts[0]) or parts[2].upper() != "SIP/2.0":
        raise SipParseError(f"bad sipfrag start line {line[:60]!r}")
    parse_uri(parts[1])  # any scheme: a fragment may quote a request we would not serve
    return Request(parts[0], parts[1], headers, b"", parts[2])


def serialize_sipfrag(message: Request | Response) -> bytes:
    """The fragment's bytes: start line, header lines as they are (no Content-Length added), then the
    blank line and body only if there is a body."""
    lines = [message.start_line(), *message.headers.lines()]
    text = "\r\n".join(lines) + "\r\n"
    if message.body:
        return (text + "\r\n").encode("utf-8", "surrogateescape") + message.body
    return text.encode("utf-8", "surrogateescape")


def build_sipfrag(status: int, reason: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A response fragment such as ``SIP/2.0 200 OK\\r\\n`` (plus optional header lines)."""
    if not 100 <= status <= 699:
        raise ValueError(f"status out of range: {status}")
    if "\r" in reason or "\n" in reason:
        raise ValueError(f"reason phrase with a line break: {reason!r}")
    return serialize_sipfrag(Response(status, reason, Headers(headers)))


def sipfrag_for_status(response: Response) -> bytes:
    """The status line of ``response`` as a fragment: what a REFER notifier reports (RFC 3515 §2.4.5)."""
    return build_sipfrag(response.status, response.reason)
