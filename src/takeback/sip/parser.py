"""Turning bytes into SIP messages: datagram framing (UDP) and stream framing (TCP/TLS).

RFC 3261 §7 (message grammar), §7.3.1 (LWS folding), §18.3 (framing: Content-Length is mandatory on
streams; on datagrams it may be absent and extra bytes are discarded), §7.5 and RFC 5626 §4.4.1 (CRLF
keep-alives between messages on a stream). Every failure is a :class:`SipParseError` carrying the status
to answer with and, once the header section could be split, the header fields seen
(``partial_headers``) so that a malformed request can still be answered (§8.2.6). No other exception
escapes.

Speed matters here (every datagram goes through it): the header section is split with a handful of
C-level calls (``split``, ``partition``, ``dict(zip(…))``) instead of a per-character loop, and only the
headers every message must carry are typed eagerly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from operator import itemgetter

from .errors import SipParseError
from .fields import Headers, checked_header_key, known_header_key
from .headers import KNOWN_METHODS, is_method, parse_cseq, parse_name_addr, parse_via
from .message import Request, Response
from .params import split_comma_list
from .uri import AbsoluteUri, SipUri, TelUri, cached_uri, parse_uri_text

__all__ = [
    "MAX_DATAGRAM",
    "MAX_STREAM_MESSAGE",
    "StreamParser",
    "error_response",
    "parse_head",
    "parse_message",
]

MAX_DATAGRAM = 65535
#: Largest message we buffer on a stream before answering 513/413 and closing (RFC 3261 §21.4.13/§21.5.14).
MAX_STREAM_MESSAGE = 256 * 1024
_REQUIRED = frozenset(("via", "call-id", "cseq", "from", "to"))
_SINGLETONS = ("call-id", "cseq", "from", "to", "content-length", "max-forwards")
_name_of = itemgetter(0)
_known_key = known_header_key
_sep_of = itemgetter(1)
_raw_value = itemgetter(2)
_new = object.__new__
_KNOWN_METHODS = KNOWN_METHODS


def parse_message(data: bytes, *, max_size: int = MAX_DATAGRAM) -> Request | Response:
    """Parse one complete message, as received in a UDP datagram (RFC 3261 §18.3 datagram rules).

    Content-Length may be absent (the body is the rest of the datagram); a Content-Length larger than
    what arrived is an error (400); extra bytes after the body are ignored; a datagram larger than
    ``max_size`` is refused with 513. CRLFs before the start line (keep-alives) are skipped, and a peer
    that ends its lines with a bare LF is understood.
    """
    if data.__class__ is not bytes:
        data = bytes(data)  # bytearray / memoryview from a transport
    if len(data) > max_size:
        raise SipParseError(f"message of {len(data)} bytes exceeds {max_size}", 513)
    end = data.find(b"\r\n\r\n")
    lines: list[str] | None = None
    if end > 0 and data[0] != 13:  # 13 = CR: leading keep-alive CRLFs take the careful path
        text = data[:end].decode("utf-8", "surrogateescape")
        lines = text.split("\r\n")
        if "\n" in "".join(lines):  # join + memchr: cheaper than text.count("\n") on every message
            lines = None  # a bare LF somewhere: the header section may even end earlier
        body_start = end + 4
    if lines is None:
        data = data.lstrip(b"\r\n")
        if not data:
            raise SipParseError("empty datagram (keep-alive)")
        head_end, body_start = find_head_end(data)
        if head_end < 0:
            if not data.endswith(b"\n"):
                raise SipParseError("no empty line after the headers")
            body_start = len(data)  # headers only, final empty line missing: be liberal
            head_end = len(data.rstrip(b"\r\n"))
        lines = _split_loose(data[:head_end].decode("utf-8", "surrogateescape"))
    message = _parse_lines(lines)
    message.wire = data
    raw_length = message.headers._first.get("content-length")  # type: ignore[union-attr]
    if raw_length is None:
        message.body = data[body_start:]
        return message
    value = raw_length.strip(" \t")
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise _with_headers(SipParseError(f"bad Content-Length {value[:20]!r}"), message)
    length = int(value)
    available = len(data) - body_start
    if length > available:
        raise _with_headers(
            SipParseError(f"Content-Length {length} exceeds the {available} body bytes received"), message
        )
    message.body = data[body_start : body_start + length] if length != available else data[body_start:]
    return message


def find_head_end(data: bytes | bytearray) -> tuple[int, int]:
    """``(end of header section, start of body)`` or ``(-1, -1)``: CRLFCRLF, or a bare-LF blank line."""
    end = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n", 0, end if end >= 0 else len(data))
    if lf >= 0:  # a peer using bare LF (liberal in what we accept, RFC 3261 §7)
        return (lf - 1 if data[lf - 1 : lf] == b"\r" else lf), lf + 2
    if end >= 0:
        return end, end + 4
    return -1, -1


def parse_head(head: bytes) -> Request | Response:
    """Parse a start line and header section (no body, no blank line); validate the mandatory parts.

    Validated here, so their accessors never raise later: start line (version 505, Request-URI scheme
    416), header names, single Call-ID/CSeq/From/To, CSeq (number < 2**31, method matching the request
    line, §8.2.2.3), the top Via, From and To (name-addr with a URI). Content-Length is left to the
    framing (datagram or stream) that reads it.
    """
    text = head.decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    if "\n" in "".join(lines):  # a bare LF inside a line
        lines = _split_loose(text)
    return _parse_lines(lines)


def _parse_lines(lines: list[str]) -> Request | Response:
    start = lines[0]
    fields = [line.partition(":") for line in lines[1:]]
    # Index key → raw value of the first occurrence in one C-level pass (later pairs win in dict(), so
    # the fields go in reversed). A name never seen before, a folded line or garbage maps to None.
    # zip(*fields) transposes the triples once: cheaper than three map(itemgetter) passes.
    names, seps, raws = zip(*fields, strict=True) if fields else ((), (), ())
    first: dict[str | None, str] = dict(zip(map(_known_key, reversed(names)), reversed(raws), strict=True))
    if None in first:  # the careful path
        lines = _unfold(lines)
        start = lines[0]
        fields = [line.partition(":") for line in lines[1:]]
        try:
            keys = list(map(checked_header_key, map(_name_of, fields)))
        except SipParseError as exc:
            raise _salvage(exc, fields, start) from None
        first = dict(zip(reversed(keys), map(_raw_value, reversed(fields)), strict=True))
        seps = tuple(map(_sep_of, fields))
    if "" in seps:
        raise _salvage(SipParseError("header line without a colon"), fields, start)
    headers: Headers = _new(Headers)  # Headers.from_fields(), inlined: this runs for every message
    headers._fields = fields
    headers._keys = None
    headers._first = first  # type: ignore[assignment]
    headers._dups = len(first) != len(fields)
    headers.typed = {}
    try:
        message = _parse_start_line(start, headers)
        _check_mandatory(message, headers, first)  # type: ignore[arg-type]
    except SipParseError as exc:
        exc.partial_headers = headers
        exc.start_line = start
        raise
    return message


def _split_loose(text: str) -> list[str]:
    """Lines of a header section that uses bare LF somewhere (RFC 3261 §7: be liberal)."""
    lines = text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _unfold(lines: list[str]) -> list[str]:
    """RFC 3261 §7.3.1: a line starting with SP/HTAB continues the previous header (LWS → one SP)."""
    if not any(line[:1] in (" ", "\t") for line in lines):
        return lines
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if len(out) < 2:
                raise SipParseError("continuation line before any header")
            content = line.strip(" \t")
            if content:
                out[-1] = out[-1].rstrip(" \t") + " " + content
        else:
            out.append(line)
    return out


def _salvage(exc: SipParseError, fields: list[tuple[str, str, str]], start: str) -> SipParseError:
    """Attach the well-formed header lines to an error about some other line (for §8.2.6 answers)."""
    good: list[tuple[str, str, str]] = []
    for field in fields:
        try:
            checked_header_key(field[0])
        except SipParseError:
            continue
        if field[1]:
            good.append(field)
    exc.partial_headers = Headers.from_fields(good)
    exc.start_line = start
    return exc


def _with_headers(exc: SipParseError, message: Request | Response) -> SipParseError:
    exc.partial_headers = message.headers
    exc.start_line = message.start_line()
    return exc


def _parse_start_line(start: str, headers: Headers) -> Request | Response:
    """RFC 3261 §7.1 Request-Line (single SPs, three parts) or §7.2 Status-Line."""
    if start[:4] == "SIP/" or (start[:1] in "sS" and start[:4].upper() == "SIP/"):
        version, _, rest = start.partition(" ")
        code, _, reason = rest.partition(" ")
        if version != "SIP/2.0":
            _check_version(version, response=True)
        if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] not in "123456":
            raise SipParseError(f"bad status code in {start[:60]!r}")  # §7.2: 100-699
        response: Response = _new(Response)
        response.body = b""
        response.wire = None
        response.headers = headers
        response.version = version
        response.status = int(code)
        response.reason = reason.strip(" \t")
        return response
    parts = start.split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise SipParseError(f"bad request line {start[:60]!r}")
    method, uri, version = parts
    if method not in _KNOWN_METHODS and not is_method(method):
        raise SipParseError(f"bad method {method[:30]!r}")
    if version != "SIP/2.0":
        _check_version(version, response=False)
    parsed = cached_uri(uri)
    if parsed is None or parsed.__class__ is AbsoluteUri:
        parsed = _parse_request_uri(uri)
    request: Request = _new(Request)
    request.body = b""
    request.wire = None
    request.headers = headers
    request.version = version
    request.method = method
    request.uri = uri
    request._ruri = (uri, parsed)
    return request


def _parse_request_uri(uri: str) -> SipUri | TelUri:
    """RFC 3261 §8.2.2.1: a scheme we do not serve gets 416; a garbled URI 400."""
    parsed = parse_uri_text(uri)
    if isinstance(parsed, AbsoluteUri):
        raise SipParseError(f"unsupported Request-URI scheme {parsed.scheme[:20]!r}", 416)
    return parsed


def _check_version(version: str, *, response: bool) -> None:
    """RFC 3261 §7.1: the version is case-insensitive; a request in another SIP version gets 505."""
    if version == "SIP/2.0" or version.upper() == "SIP/2.0":
        return
    if version.upper().startswith("SIP/") and not response:
        raise SipParseError(f"unsupported version {version[:20]!r}", 505)
    raise SipParseError(f"bad SIP version {version[:20]!r}")


def _check_mandatory(message: Request | Response, headers: Headers, index: dict[str, str]) -> None:
    """RFC 3261 §8.1.1: Via, From, To, Call-ID and CSeq are present, once each (Via may repeat), and
    parse; CSeq names the request's method (§8.2.2.3). ``index`` is ``headers.index()``."""
    if not index.keys() >= _REQUIRED:
        missing = sorted(_REQUIRED - index.keys())
        raise SipParseError(f"missing mandatory header(s): {', '.join(missing)}")
    if headers._dups:
        _check_singletons(headers)
    call_id = index["call-id"].split()
    if len(call_id) != 1:
        raise SipParseError("empty Call-ID or one with blanks inside (RFC 3261 §25.1 callid)")
    typed = headers.typed
    typed["call-id"] = call_id[0]
    cseq = typed["cseq"] = parse_cseq(index["cseq"])
    if cseq.method != getattr(message, "method", cseq.method):
        raise SipParseError(f"CSeq method {cseq.method!r} does not match the request line")
    via = index["via"]
    if "," in via:
        elements = split_comma_list(via)
        via = elements[0] if elements else ""
    typed["top:via"] = parse_via(via)
    typed["from"] = parse_name_addr(index["from"])
    typed["to"] = parse_name_addr(index["to"])


def _check_singletons(headers: Headers) -> None:
    keys = headers.keys
    for key in _SINGLETONS:
        if keys.count(key) > 1 and (key != "content-length" or len(set(headers.get_raw(key))) > 1):
            raise SipParseError(f"repeated {key} header")


def _content_length(raw: str, message: Request | Response) -> int:
    value = raw.strip(" \t")
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise _with_headers(SipParseError(f"bad Content-Length {value[:20]!r}"), message)
    return int(value)


# ------------------------------------------------------------------------------- stream framing

# Content-Length (or "l") at the start of a header line, value possibly folded onto the next line.
_FRAMING_RE = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*(?:\r?\n[ \t]+)?([^\r\n]*)", re.I)


def _framing_length(head: bytes) -> int:
    """Content-Length read straight off the bytes: framing must not depend on the rest of the grammar."""
    values = {value.strip(b" \t") for value in _FRAMING_RE.findall(head)}
    if not values:
        raise SipParseError("missing Content-Length on a stream transport")
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length headers")
    value = values.pop()
    if not value.isdigit() or len(value) > 9:
        raise SipParseError(f"bad Content-Length {value[:20]!r}")
    return int(value)


class StreamParser:
    """Incremental framing of a TCP/TLS byte stream into messages (RFC 3261 §18.3).

    ``feed()`` buffers bytes and yields every complete message. A framing error (missing or bad
    Content-Length, oversized message) raises :class:`SipParseError`; the stream is then unusable and
    the caller must close the connection (``broken`` stays true). A message that frames correctly but
    does not parse also raises, after which the stream stays usable (``broken`` false): the bad message
    has been consumed, and ``feed(b"")`` yields whatever complete messages follow it.

    CRLFs between messages are keep-alives (RFC 5626 §4.4.1 sends CRLFCRLF and expects a CRLF back):
    ``keepalives`` counts the CRLF pairs skipped, for the transport to answer.
    """

    def __init__(self, max_message_size: int = MAX_STREAM_MESSAGE) -> None:
        self._buffer = bytearray()
        self.max_message_size = max_message_size
        self.broken = False
        self.keepalives = 0
        # A parsed head waiting for its body: (body start, total length, message or the grammar error).
        self._pending: tuple[int, int, Request | Response | SipParseError] | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> Iterator[Request | Response]:
        """Add received bytes; yield each complete message (lazily: iterate to consume)."""
        if self.broken:
            raise SipParseError("stream already failed framing")
        self._buffer += data
        while True:
            message = self._next_message()
            if message is None:
                return
            yield message

    def _fail(self, exc: SipParseError) -> SipParseError:
        self.broken = True
        self._pending = None
        return exc

    def _next_message(self) -> Request | Response | None:
        pending = self._pending
        if pending is None:
            pending = self._frame()
            if pending is None:
                return None
        body_start, total, parsed = pending
        buf = self._buffer
        if len(buf) < total:
            self._pending = pending
            return None
        self._pending = None
        body = bytes(buf[body_start:total])
        wire = bytes(buf[:total])
        del buf[:total]
        if isinstance(parsed, SipParseError):
            raise parsed  # framed correctly: the stream stays usable
        parsed.body = body
        parsed.wire = wire
        return parsed

    def _frame(self) -> tuple[int, int, Request | Response | SipParseError] | None:
        self._skip_keepalives()
        buf = self._buffer
        if not buf:
            return None
        head_end, body_start = find_head_end(buf)
        if head_end < 0:
            if len(buf) > self.max_message_size:
                raise self._fail(SipParseError("header section too large", 513))
            return None
        head = bytes(buf[:head_end])
        parsed: Request | Response | SipParseError
        try:
            parsed = parse_head(head)
            length = _stream_length(parsed)
        except SipParseError as exc:
            parsed = exc
            try:
                length = _framing_length(b"\n" + head)
            except SipParseError as framing:
                raise self._fail(framing) from None
        total = body_start + length
        if total > self.max_message_size:
            # The body is what makes it too large (the header section alone fitted): 413, else 513.
            status = 413 if body_start <= self.max_message_size else 513
            too_large = SipParseError(f"message of {total} bytes exceeds {self.max_message_size}", status)
            raise self._fail(too_large)
        return body_start, total, parsed

    def _skip_keepalives(self) -> None:
        buf = self._buffer
        skip = 0
        while buf[skip : skip + 2] == b"\r\n":
            skip += 2
            self.keepalives += 1
        if skip:
            del buf[:skip]


def _stream_length(message: Request | Response) -> int:
    raw = message.headers.index().get("content-length")
    if raw is None:
        raise SipParseError("missing Content-Length on a stream transport")
    return _content_length(raw, message)


# ------------------------------------------------------------------------ answering bad requests


def error_response(error: SipParseError, *, to_tag: str | None = None) -> Response | None:
    """The response to a request that failed to parse, or ``None`` if it cannot be routed.

    RFC 3261 §8.2.6: copy every Via, From, To, Call-ID and CSeq from the request; add ``to_tag`` to To
    when it has none (§8.2.6.2). Responses and ACKs are never answered, and without a Via there is
    nowhere to send one.
    """
    partial = error.partial_headers
    if partial is None or not error.is_request:
        return None
    vias = partial.get_raw("Via")
    if not vias or "call-id" not in partial.index() or "cseq" not in partial.index():
        return None
    cseq = partial.get("CSeq") or ""
    if cseq.split()[-1:] == ["ACK"]:
        return None  # an ACK is never answered, not even a malformed one (RFC 3261 §17.2.1, §17.1.1.3)
    headers = Headers()
    for via in vias:
        headers.add("Via", via)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = partial.get(name)
        if value is None:
            continue
        if name == "To" and to_tag is not None:
            value = _with_to_tag(value, to_tag)
        headers.add(name, value)
    return Response(error.status, error.reason, headers)


def _with_to_tag(value: str, tag: str) -> str:
    try:
        to = parse_name_addr(value)
    except SipParseError:
        return value
    return value if to.tag is not None else str(to.with_tag(tag))
