"""SIP, SIPS, tel and absolute URIs (RFC 3261 §19.1, §25.1; RFC 3966).

Why our own: the take-back REFER lives or dies on escaping. ``Refer-To:
<sip:+33456456456@localhost?User-to-User=0054…%3Bencoding%3Dhex>`` must round-trip byte-exact, URI
headers are percent-decoded exactly once, and unknown URI parameters (Genesys' opaque Contact params,
GENESYS.md §4.2) are kept verbatim so they can be echoed in a Request-URI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote as _percent_decode

from .errors import SipParseError

__all__ = [
    "HEADER_SAFE",
    "PARAM_SAFE",
    "PASSWORD_SAFE",
    "USER_SAFE",
    "AbsoluteUri",
    "SipUri",
    "TelUri",
    "Uri",
    "cached_uri",
    "escape",
    "format_host",
    "looks_like_simple_sip_uri",
    "parse_hostport",
    "parse_uri",
    "parse_uri_params",
    "parse_uri_text",
    "unescape",
]

_ALPHANUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_UNRESERVED = _ALPHANUM | frozenset("-_.!~*'()")
# RFC 3261 §25.1: what may appear unescaped in each URI component. USER_SAFE leaves out "?" although
# user-unreserved allows it: a "?" before the "@" is ambiguous with URI headers holding an unescaped "@"
# (see _userinfo_ends_at), so we never write one.
USER_SAFE = _UNRESERVED | frozenset("&=+$,;/")
PASSWORD_SAFE = _UNRESERVED | frozenset("&=+$,")
HEADER_SAFE = _UNRESERVED | frozenset("[]/?:+$")
PARAM_SAFE = _UNRESERVED | frozenset("[]/:&+$")


@lru_cache(maxsize=32)
def _unsafe_pattern(safe: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[^" + re.escape("".join(sorted(safe))) + "]")


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8", "surrogateescape"))


def escape(text: str, safe: frozenset[str]) -> str:
    """Percent-encode every character of ``text`` outside ``safe`` (UTF-8, upper-case hex, §19.1.2)."""
    pattern = _unsafe_pattern(safe)
    if pattern.search(text) is None:
        return text
    return pattern.sub(_percent_encode, text)


def unescape(text: str) -> str:
    """Decode ``%XX`` escapes exactly once. A ``%`` not followed by two hex digits is kept literally.

    Bytes that are not UTF-8 come back as lone surrogates (``surrogateescape``) so that :func:`escape`
    restores them byte for byte.
    """
    if "%" not in text:
        return text
    parts = text.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        char = _ASCII_ESCAPES.get(part[:2])
        if char is None:  # a non-ASCII byte (UTF-8 sequences decode together) or a stray "%"
            return _percent_decode(text, errors="surrogateescape")
        out.append(char)
        out.append(part[2:])
    return "".join(out)


# "%3B" → ";" for every ASCII byte, either hex case: the escapes URIs carry in practice, decoded without
# going through bytes.
_ASCII_ESCAPES = {
    f"{high}{low}": chr(int(f"{high}{low}", 16)) for high in "01234567" for low in "0123456789abcdefABCDEF"
}


def format_host(host: str) -> str:
    """Bracket an IPv6 literal for use in a URI or Via (RFC 3261 §25.1 IPv6reference)."""
    return f"[{host}]" if ":" in host else host


def _format_params(params: Mapping[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI.

    ``params`` keeps URI parameters as written (names and values still escaped, order kept, ``None`` for
    a flag such as ``lr``) so that an opaque peer parameter is echoed byte for byte. ``headers`` are the
    ``?name=value`` URI headers, percent-decoded once; ``str()`` escapes them again (RFC 3261 §19.1.2:
    inside a header value ``;``, ``=``, ``&``, ``%`` and ``@`` are escaped). ``user``/``password`` are
    decoded too. ``host`` holds an IPv6 address without brackets.
    """

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: Mapping[str, str | None] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    # The text this URI was parsed from: str() returns it unchanged, so a peer's Contact or Route is
    # echoed verbatim (GENESYS.md §12 #3). Not an init field: dataclasses.replace() drops it.
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return hash(
            (
                self.scheme,
                self.user,
                self.password,
                self.host,
                self.port,
                tuple(self.params.items()),
                tuple(self.headers.items()),
            )
        )

    def param(self, name: str) -> str | None:
        """Case-insensitive parameter lookup (RFC 3261 §19.1.4). ``None`` if absent *or* a flag."""
        params = self.params
        if name in params:
            return params[name]
        lname = name.lower()
        for key, value in params.items():
            if key.lower() == lname:
                return value
        return None

    def has_param(self, name: str) -> bool:
        if name in self.params:
            return True
        lname = name.lower()
        return any(key.lower() == lname for key in self.params)

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased (``udp``, ``tcp``, ``tls`` …), or ``None``."""
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def is_secure(self) -> bool:
        return self.scheme == "sips"

    @property
    def hostport(self) -> str:
        host = format_host(self.host)
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        if self._text is not None:
            return self._text
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(escape(self.user, USER_SAFE))
            if self.password is not None:
                parts.append(":" + escape(self.password, PASSWORD_SAFE))
            parts.append("@")
        parts.append(self.hostport)
        if self.params:
            parts.append(_format_params(self.params))
        if self.headers:
            parts.append("?")
            parts.append(
                "&".join(
                    f"{escape(name, HEADER_SAFE)}={escape(value, HEADER_SAFE)}"
                    for name, value in self.headers.items()
                )
            )
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class TelUri:
    """A ``tel:`` URI (RFC 3966): the number as written and its parameters (verbatim)."""

    number: str
    params: Mapping[str, str | None] = field(default_factory=dict)
    scheme: str = "tel"

    def __hash__(self) -> int:
        return hash((self.number, tuple(self.params.items()), self.scheme))

    @property
    def is_global(self) -> bool:
        return self.number.startswith("+")

    def param(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.params.items():
            if key.lower() == lname:
                return value
        return None

    def __str__(self) -> str:
        return f"tel:{self.number}{_format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class AbsoluteUri:
    """Any other scheme (``mailto:``, ``urn:``, ``http:`` …), kept opaque and verbatim."""

    scheme: str
    value: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"


Uri = SipUri | TelUri | AbsoluteUri

# Building a frozen dataclass through its slot descriptors is several times cheaper than its __init__.
_new = object.__new__
_set_scheme = SipUri.__dict__["scheme"].__set__
_set_user = SipUri.__dict__["user"].__set__
_set_password = SipUri.__dict__["password"].__set__
_set_host = SipUri.__dict__["host"].__set__
_set_port = SipUri.__dict__["port"].__set__
_set_params = SipUri.__dict__["params"].__set__
_set_headers = SipUri.__dict__["headers"].__set__
_set_text = SipUri.__dict__["_text"].__set__

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
# host [":" port] [params] ["?" headers] after the userinfo (RFC 3261 §25.1). Hostnames are checked for
# their character set only; IPv6 references for theirs. Whitespace, quotes and angle brackets never
# appear in a URI.
_HOSTPART_RE = re.compile(
    r"([A-Za-z0-9_](?:[A-Za-z0-9\-_.]*)|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\])"
    r"(?::([0-9]{1,5}))?"
    r"(;[^?@\s<>\"]*)?"
    r"(?:\?([^\s<>\"]*))?\Z"
)
# The common case in one match: lower-case scheme, a user without password, ";" or "?" (those take
# the general path, which reads the same URIs the same way). Every piece is a class that cannot overlap
# its neighbour, so a hostile URI costs one linear scan.
_USER = r"[A-Za-z0-9\-_.!~*'()&=+$,%/]+"
_HOST = r"[A-Za-z0-9_][A-Za-z0-9\-_.]*|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]"
_PARAMS = r"(?:;[^;=?@\s<>\"]+(?:=[^;?@\s<>\"]*)?)+"
_HNAME = r"[A-Za-z0-9\-_.!~*'()+$\[\]/?:]+"
_HEADERS = rf"{_HNAME}=[^&\s<>\"]*(?:&{_HNAME}=[^&\s<>\"]*)*"
_SIP_FAST_RE = re.compile(
    rf"(sips?):(?:({_USER})@)?({_HOST})(?::([0-9]{{1,5}}))?({_PARAMS})?(?:\?({_HEADERS}))?\Z"
)
#: The same shape as a pattern to embed (one group: the port, which must still be checked <= 65535).
SIMPLE_SIP_URI = rf"sips?:(?:{_USER}@)?(?:{_HOST})(?::([0-9]{{1,5}}))?(?:{_PARAMS})?(?:\?{_HEADERS})?"
_USERINFO_BAD_RE = re.compile(r"[\x00-\x20\x7f<>\"\[\]{}|\\^`#]")
_OPAQUE_BAD_RE = re.compile(r"[\x00-\x20\x7f<>\"]")


# Memo of the pure function parse_uri(): URIs repeat across the messages of a dialog and across calls
# (Request-URI, To, Contact, Route). Results are frozen with read-only mappings, so sharing is safe.
# A plain dict (cleared when full) because callers peek at it: see cached_uri().
_CACHE: dict[str, Uri] = {}
_CACHE_LIMIT = 4096
cached_uri = _CACHE.get
"""The parsed URI for ``text`` if it is in the memo, else ``None`` (never parses)."""


def parse_uri(text: str) -> Uri:
    """Parse a URI in addr-spec form (no angle brackets). Raises :class:`SipParseError` (400)."""
    return parse_uri_text(text.strip())


def parse_uri_text(text: str) -> Uri:
    """:func:`parse_uri` for text known to carry no surrounding blanks (saves the strip)."""
    uri = _CACHE.get(text)
    if uri is None:
        uri = _parse_uri_uncached(text)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[text] = uri
    return uri


def looks_like_simple_sip_uri(text: str) -> bool:
    """Whether ``text`` is a SIP URI of the common shape that :func:`parse_uri` cannot reject.

    Lets a caller validate now and build the URI object only if somebody asks for it.
    """
    match = _SIP_FAST_RE.match(text)
    if match is None:
        return False
    port = match.group(4)
    return port is None or int(port) <= 65535


def _parse_uri_uncached(text: str) -> Uri:
    match = _SIP_FAST_RE.match(text)
    if match is not None:
        scheme, user, host, port_text, params_text, headers_text = match.groups()
        if user is not None and "%" in user:
            user = unescape(user)
        return _build_sip(scheme, user, None, host, port_text, params_text, headers_text, text)
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme or _SCHEME_RE.match(scheme) is None:
        raise SipParseError(f"not a URI: {text[:80]!r}")
    lscheme = scheme.lower()
    if lscheme in ("sip", "sips"):
        return _parse_sip(lscheme, rest, text)
    if lscheme == "tel":
        return _parse_tel(rest, text)
    if not rest or _OPAQUE_BAD_RE.search(rest) is not None:
        raise SipParseError(f"bad {scheme[:20]} URI {text[:80]!r}")
    return AbsoluteUri(lscheme, rest)


def _parse_sip(scheme: str, rest: str, text: str) -> SipUri:
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    if at >= 0 and _userinfo_ends_at(rest, at):
        userinfo, rest = rest[:at], rest[at + 1 :]
        if not userinfo or _USERINFO_BAD_RE.search(userinfo) is not None:
            raise SipParseError(f"bad user part in {text[:80]!r}")
        raw_user, has_pw, raw_pw = userinfo.partition(":")
        if not raw_user:
            raise SipParseError(f"empty user in {text[:80]!r}")
        user = unescape(raw_user)
        password = unescape(raw_pw) if has_pw else None
    match = _HOSTPART_RE.match(rest)
    if match is None:
        raise SipParseError(f"bad host, port, parameters or headers in {text[:80]!r}")
    host, port_text, params_text, headers_text = match.groups()
    return _build_sip(scheme, user, password, host, port_text, params_text, headers_text, text)


def _userinfo_ends_at(rest: str, at: int) -> bool:
    """Is the first "@" the end of the userinfo? A user may contain "?" (RFC 3261 §25.1 user-unreserved)
    and peers put unescaped "@" in URI header values (``?Replaces=a@b``): when a "?" comes first, it
    starts the headers if what precedes it reads as host[:port][;params], else it is part of the user."""
    query = rest.find("?", 0, at)
    return query < 0 or _HOSTPART_RE.match(rest[:query]) is None


def _build_sip(
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port_text: str | None,
    params_text: str | None,
    headers_text: str | None,
    text: str,
) -> SipUri:
    if host[0] == "[":
        host = host[1:-1]
    port: int | None = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            raise SipParseError(f"port out of range in {text[:80]!r}")
    params = parse_uri_params(params_text[1:]) if params_text else {}
    headers = _parse_uri_headers(headers_text) if headers_text else {}
    uri = _new(SipUri)
    _set_scheme(uri, scheme)
    _set_user(uri, user)
    _set_password(uri, password)
    _set_host(uri, host)
    _set_port(uri, port)
    _set_params(uri, params)
    _set_headers(uri, headers)
    _set_text(uri, text)
    return uri


def parse_hostport(hostport: str) -> tuple[str, int | None]:
    """Split ``host[:port]``; IPv6 references keep no brackets. Raises :class:`SipParseError`."""
    match = _HOSTPART_RE.match(hostport)
    if match is None or match.group(3) is not None or match.group(4) is not None:
        raise SipParseError(f"bad host or port {hostport[:60]!r}")
    host, port_text = match.group(1), match.group(2)
    if host[0] == "[":
        host = host[1:-1]
    if port_text is None:
        return host, None
    port = int(port_text)
    if port > 65535:
        raise SipParseError(f"port out of range in {hostport[:60]!r}")
    return host, port


def parse_uri_params(text: str) -> dict[str, str | None]:
    """``a=b;lr;c=d`` → ordered dict, kept verbatim (still escaped). Empty names are rejected."""
    params: dict[str, str | None] = {}
    for item in text.split(";"):
        name, eq, value = item.partition("=")
        if not name:
            raise SipParseError(f"empty URI parameter name in {text[:60]!r}")
        params[name] = value if eq else None
    return params


def _parse_uri_headers(text: str) -> dict[str, str]:
    """``?h1=v1&h2=v2``: names and values percent-decoded exactly once (RFC 3261 §19.1.1)."""
    headers: dict[str, str] = {}
    for item in text.split("&"):
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            # ``?User-to-User%3D00…`` (the "=" escaped too) is not RFC-correct but is seen in the wild
            # (GENESYS.md §12.1); a header name cannot contain "=", so split after decoding, still once.
            name, _, value = unescape(item).partition("=")
        else:
            name, value = unescape(name), unescape(value)
        if not name:
            raise SipParseError(f"empty URI header name in {text[:60]!r}")
        headers[name] = value
    return headers


def _parse_tel(rest: str, text: str) -> TelUri:
    """RFC 3966: ``tel:+1-201-555-0123;ext=1234``. The number keeps its visual separators."""
    number, semi, params_text = rest.partition(";")
    if not number or _OPAQUE_BAD_RE.search(rest) is not None or "?" in rest:
        raise SipParseError(f"bad tel URI {text[:80]!r}")
    params = parse_uri_params(params_text) if semi else {}
    return TelUri(number, params)
