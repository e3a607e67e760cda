"""Typed SIP header values (RFC 3261 §20, §25.1; RFC 3581, 3515, 3892, 4028, 6665).

Each parser takes the header *value* text and returns a frozen value object whose ``str()`` is a valid
header value again. Unknown parameters are kept verbatim and in order: a UA that drops a peer's
parameter breaks interop (GENESYS.md §4.2), so nothing here normalises what it does not understand.

The objects are frozen slotted dataclasses; the parsers build them through the slot descriptors
(``_new_*``) because a frozen dataclass ``__init__`` costs about as much as the parse itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import SipParseError
from .params import (
    TOKEN_RE,
    Params,
    closing_quote,
    format_params,
    has_param,
    lookup_param,
    parse_params,
    quote,
    split_comma_list,
    unquote,
)
from .uri import (
    SIMPLE_SIP_URI,
    AbsoluteUri,
    SipUri,
    TelUri,
    Uri,
    cached_uri,
    format_host,
    parse_hostport,
    parse_uri,
    parse_uri_text,
)

__all__ = [
    "KNOWN_METHODS",
    "CSeq",
    "MediaType",
    "NameAddr",
    "ParamValue",
    "SessionExpires",
    "SubscriptionState",
    "Via",
    "format_params",
    "parse_cseq",
    "parse_media_type",
    "parse_name_addr",
    "parse_name_addr_list",
    "parse_param_value",
    "parse_params",
    "parse_session_expires",
    "parse_subscription_state",
    "parse_token_list",
    "parse_via",
    "quote",
    "split_comma_list",
    "unquote",
    "uri_user",
    "via_with_params",
]

_new = object.__new__


class _HasParams:
    """``param()`` for value objects that carry a ``params`` mapping (case-insensitive names)."""

    __slots__ = ()
    params: Params

    def param(self, name: str) -> str | None:
        """The value of parameter ``name``; ``None`` when absent *or* a flag (see :meth:`has_param`)."""
        return lookup_param(self.params, name)

    def has_param(self, name: str) -> bool:
        return has_param(self.params, name)

    def int_param(self, name: str) -> int | None:
        """A numeric parameter (``expires``, ``rport`` …) or ``None`` if absent or not a number."""
        raw = lookup_param(self.params, name)
        return int(raw) if raw and raw.isdigit() and raw.isascii() else None


# --------------------------------------------------------------------------------------------- Via


@dataclass(frozen=True, slots=True)
class Via(_HasParams):
    """One Via value: ``SIP/2.0/UDP host:port;branch=…;received=…;rport=…`` (RFC 3261 §20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    def __hash__(self) -> int:
        return hash((self.transport, self.host, self.port, tuple(self.params.items()), self.protocol))

    @property
    def branch(self) -> str | None:
        value = self.params.get("branch")
        return value if value is not None else lookup_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        """RFC 3261 §18.2.1: the source address the next hop saw, when it differed from sent-by."""
        return lookup_param(self.params, "received")

    @property
    def has_rport(self) -> bool:
        """RFC 3581 §3: the client asked for symmetric response routing (``rport`` flag present)."""
        params = self.params
        return "rport" in params or has_param(params, "rport")

    @property
    def rport(self) -> int | None:
        """RFC 3581 §4: the source port filled in by the server, or ``None`` (absent or bare flag)."""
        # int_param("rport") inlined: read for every request received and every response sent.
        params = self.params
        raw = params.get("rport")
        if raw is None and "rport" not in params:
            raw = lookup_param(params, "rport")
        return int(raw) if raw and raw.isdigit() and raw.isascii() else None

    @property
    def maddr(self) -> str | None:
        return lookup_param(self.params, "maddr")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def __str__(self) -> str:
        host = format_host(self.host)
        hostport = host if self.port is None else f"{host}:{self.port}"
        return f"{self.protocol}/{self.transport} {hostport}{format_params(self.params)}"


_via_transport = Via.__dict__["transport"].__set__
_via_host = Via.__dict__["host"].__set__
_via_port = Via.__dict__["port"].__set__
_via_params = Via.__dict__["params"].__set__
_via_protocol = Via.__dict__["protocol"].__set__


def via_with_params(via: Via, params: Params) -> Via:
    """``via`` with other parameters: what :func:`parse_via` returns for ``str()`` of the result, built
    without parsing (the top Via stamped with ``received``/``rport`` on every request, RFC 3581 §4)."""
    new = _new(Via)
    _via_transport(new, via.transport)
    _via_host(new, via.host)
    _via_port(new, via.port)
    _via_params(new, params)
    _via_protocol(new, via.protocol)
    return new


# The shape of nearly every Via on the wire; anything else takes the general path below.
_VIA_FAST_RE = re.compile(
    r"[ \t]*SIP/2\.0/([A-Za-z]+) +([A-Za-z0-9_][A-Za-z0-9\-_.]*|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\])"
    r"(?::([0-9]{1,5}))?(;.*)?\Z",
    re.S,
)
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# RFC 3261 §25.1 via-parm: sent-protocol LWS sent-by *( SEMI via-params ); SLASH and COLON allow SWS.
_VIA_GENERAL_RE = re.compile(
    rf"({_TOKEN})\s*/\s*({_TOKEN})\s*/\s*({_TOKEN})\s+(\[[^\]\s]*\]|[^\s:;\[\]]+)(?:\s*:\s*([0-9]+))?\s*(;.*)?\Z",
    re.S,
)


def parse_via(value: str) -> Via:
    """Parse one Via value (already split from a comma list). Raises :class:`SipParseError`."""
    match = _VIA_FAST_RE.match(value)
    if match is not None:
        transport, host, port_text, params_text = match.groups()
        if host[0] == "[":
            host = host[1:-1]
        protocol = "SIP/2.0"
    else:
        match = _VIA_GENERAL_RE.match(value.strip(" \t"))
        if match is None:
            raise SipParseError(f"bad Via {value[:80]!r}")
        name, version, transport, hostpart, port_text, params_text = match.groups()
        host, _ = parse_hostport(hostpart)
        protocol = f"{name.upper()}/{version}"
    port: int | None = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            raise SipParseError(f"Via port out of range in {value[:80]!r}")
    via = _new(Via)
    _via_transport(via, transport.upper())
    _via_host(via, host)
    _via_port(via, port)
    _via_params(via, parse_params(params_text) if params_text else {})
    _via_protocol(via, protocol)
    return via


# --------------------------------------------------------------------------------------- name-addr


@dataclass(frozen=True, slots=True)
class NameAddr(_HasParams):
    """From, To, Contact, Route, Record-Route, Refer-To, Referred-By values (RFC 3261 §20.10).

    ``uri`` is typed; ``params`` are the *header* parameters (``tag``, ``expires``, ``+sip.instance`` …),
    distinct from the URI's own parameters. ``display`` is unquoted; ``str()`` re-quotes it.
    A Contact of ``*`` is represented with ``star=True``.
    """

    uri: Uri
    display: str | None = None
    params: Params = field(default_factory=dict)
    star: bool = False
    # Parsed messages leave ``uri`` unset and keep its (already validated) text here; the URI object
    # is built on first access. A UAS that reads only the From/To tags never pays for the URI.
    _uri_text: str | None = field(default=None, init=False, repr=False, compare=False)

    if not TYPE_CHECKING:  # hidden from mypy so that a typo'd attribute is still a type error

        def __getattr__(self, name: str) -> Any:
            if name == "uri":
                text = self._uri_text
                if text is not None:
                    uri = parse_uri_text(text)
                    _na_uri(self, uri)
                    return uri
            elif name == "_uri_text":  # left unset by the parser when the URI was built right away
                return None
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __hash__(self) -> int:
        return hash((self.uri, self.display, tuple(self.params.items()), self.star))

    @property
    def tag(self) -> str | None:
        """The dialog tag of From/To (RFC 3261 §19.3)."""
        params = self.params
        if not params:
            return None
        value = params.get("tag")
        return value if value is not None else lookup_param(params, "tag")

    @property
    def expires(self) -> int | None:
        """Contact ``expires`` parameter in seconds (RFC 3261 §20.10), ``None`` if absent."""
        return self.int_param("expires")

    def with_tag(self, tag: str) -> NameAddr:
        """A copy with ``tag`` set (replacing any tag), e.g. a UAS adding its To tag."""
        return self.with_params(tag=tag)

    def with_params(self, **changes: str | None) -> NameAddr:
        """A copy with header parameters set (``None`` = flag); other parameters keep their order."""
        lowered = {name.lower(): (name, value) for name, value in changes.items()}
        params: dict[str, str | None] = {}
        for key, value in self.params.items():
            new = lowered.pop(key.lower(), None)
            params[key] = value if new is None else new[1]
        for name, value in lowered.values():
            params[name] = value
        return NameAddr(self.uri, self.display, params, self.star)

    def __str__(self) -> str:
        if self.star:
            return "*"
        if self.display is None:
            return f"<{self.uri}>{format_params(self.params)}"
        return f"{quote(self.display)} <{self.uri}>{format_params(self.params)}"


_na_uri = NameAddr.__dict__["uri"].__set__
_na_display = NameAddr.__dict__["display"].__set__
_na_params = NameAddr.__dict__["params"].__set__
_na_star = NameAddr.__dict__["star"].__set__
_na_uri_text = NameAddr.__dict__["_uri_text"].__set__

STAR = NameAddr(AbsoluteUri("*", ""), star=True)
# Unquoted display name: *(token LWS) (RFC 3261 §25.1); we also take UTF-8 words, as peers send them.
_DISPLAY_BAD_RE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f"<>,;]')


# The usual shapes in one match: ``"Quoted" <uri>;params``, ``Plain Words <uri>``, ``<uri>``, with the
# common SIP URI shape validated in the same pass (group 3, its port in group 4) and anything else in
# angle brackets left to parse_uri (group 5). Greedy classes that cannot overlap: linear on any input.
_NAME_ADDR_FAST_RE = re.compile(
    r'(?:[ \t]*"([^"\\\x00-\x1f]*)" *|([^"<>;,\\\x00-\x1f\x7f]*))'
    rf"<(?:({SIMPLE_SIP_URI})|([^<>\s\"]+))>"
    r'(;[^"\s,]*)?[ \t]*\Z'
)


def parse_name_addr(value: str) -> NameAddr:
    """Parse ``name-addr`` or ``addr-spec`` plus header params. Raises :class:`SipParseError`.

    In the addr-spec form everything after the first ``;`` is a header parameter (RFC 3261 §20.10),
    which is why a URI with parameters must be sent in angle brackets.
    """
    na = _NAME_ADDR_CACHE.get(value)
    if na is None:
        na = _parse_name_addr(value)
        if len(_NAME_ADDR_CACHE) >= _NAME_ADDR_CACHE_LIMIT:
            _NAME_ADDR_CACHE.clear()
        _NAME_ADDR_CACHE[value] = na
    return na


# Memo of the pure function parse_name_addr() (results are frozen): the To of every initial INVITE to a
# DID, and From/To/Contact/Route within a dialog, repeat verbatim. Tagged values of new calls miss.
_NAME_ADDR_CACHE: dict[str, NameAddr] = {}
_NAME_ADDR_CACHE_LIMIT = 4096


def _parse_name_addr(value: str) -> NameAddr:
    match = _NAME_ADDR_FAST_RE.match(value)
    if match is not None:
        display, plain, simple_uri, port, other_uri, params_text = match.groups()
        if plain:  # unquoted display name: *(token LWS), blanks normalised
            display = " ".join(plain.split()) or None
        na = _new(NameAddr)
        if simple_uri is not None and (port is None or int(port) <= 65535):
            uri = cached_uri(simple_uri)
            if uri is None:
                _na_uri_text(na, simple_uri)  # validated by the match; built on first access
            else:
                _na_uri(na, uri)
        else:
            _na_uri(na, parse_uri_text(simple_uri or other_uri))
        _na_display(na, display)
        _na_params(na, parse_params(params_text) if params_text else {})
        _na_star(na, False)
        return na
    return _parse_name_addr_general(value)


def _parse_name_addr_general(value: str) -> NameAddr:
    text = value.strip(" \t")
    if not text:
        raise SipParseError("empty name-addr")
    display: str | None = None
    first = text[0]
    if first == "<":
        gt = text.find(">")
        if gt < 0:
            raise SipParseError(f"unterminated <URI> in {value[:60]!r}")
        uri_text, rest = text[1:gt], text[gt + 1 :]
    elif first == '"':
        end = closing_quote(text)
        display = unquote(text[: end + 1])
        text = text[end + 1 :].lstrip(" \t")
        gt = text.find(">")
        if not text.startswith("<") or gt < 0:
            raise SipParseError(f"quoted display name without <URI> in {value[:60]!r}")
        uri_text, rest = text[1:gt], text[gt + 1 :]
    elif text == "*":
        return STAR
    else:
        lt = text.find("<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise SipParseError(f"unterminated <URI> in {value[:60]!r}")
            display = " ".join(text[:lt].split()) or None
            if display is not None and _DISPLAY_BAD_RE.search(display) is not None:
                raise SipParseError(f"bad display name in {value[:60]!r}")
            uri_text, rest = text[lt + 1 : gt], text[gt + 1 :]
        else:
            uri_text, semi, rest = text.partition(";")
            if semi:
                rest = ";" + rest
            if "," in uri_text or "?" in uri_text:
                raise SipParseError(f"addr-spec with ',' or '?' needs <> in {value[:60]!r}")
    na = _new(NameAddr)
    _na_uri(na, parse_uri(uri_text))
    _na_display(na, display)
    _na_params(na, parse_params(rest) if rest else {})
    _na_star(na, False)
    _na_uri_text(na, None)
    return na


def parse_name_addr_list(values: list[str]) -> list[NameAddr]:
    return [parse_name_addr(v) for v in values]


def uri_user(uri: Uri) -> str | None:
    """The user part of a SIP URI or the number of a tel URI: where a DNIS or ANI lives."""
    if isinstance(uri, SipUri):
        return uri.user
    if isinstance(uri, TelUri):
        return uri.number
    return None


# -------------------------------------------------------------------------------------------- CSeq


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (RFC 3261 §20.16): sequence number below 2**31 and the method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


_cseq_seq = CSeq.__dict__["seq"].__set__
_cseq_method = CSeq.__dict__["method"].__set__
KNOWN_METHODS = frozenset(
    ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "REFER", "NOTIFY", "SUBSCRIBE", "INFO",
     "UPDATE", "PRACK", "MESSAGE", "PUBLISH")
)  # fmt: skip


def is_method(text: str) -> bool:
    """RFC 3261 §25.1 Method = token (case-sensitive; unknown extension methods are fine)."""
    return text in KNOWN_METHODS or TOKEN_RE.match(text) is not None


def parse_cseq(value: str) -> CSeq:
    parts = value.split()
    if len(parts) != 2:
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    number, method = parts
    if not number.isdigit() or not number.isascii() or len(number) > 10 or not is_method(method):
        raise SipParseError(f"bad CSeq {value[:40]!r}")
    seq = int(number)
    if seq >= 2**31:
        raise SipParseError(f"CSeq number out of range {number[:20]!r}")
    cseq = _new(CSeq)
    _cseq_seq(cseq, seq)
    _cseq_method(cseq, method)
    return cseq


# ------------------------------------------------------------------------------------ Content-Type


@dataclass(frozen=True, slots=True)
class MediaType(_HasParams):
    """``Content-Type`` (RFC 3261 §20.15): lower-cased type/subtype plus params (``version=2.0`` …)."""

    type: str
    subtype: str
    params: Params = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.type, self.subtype, tuple(self.params.items())))

    @property
    def mime(self) -> str:
        return f"{self.type}/{self.subtype}"

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}{format_params(self.params)}"


def parse_media_type(value: str) -> MediaType:
    mime, semi, rest = value.partition(";")
    main, slash, sub = mime.partition("/")
    main, sub = main.strip(" \t"), sub.strip(" \t")
    if not slash or TOKEN_RE.match(main) is None or TOKEN_RE.match(sub) is None:
        raise SipParseError(f"bad media type {value[:40]!r}")
    return MediaType(main.lower(), sub.lower(), parse_params(semi + rest) if semi else {})


# ------------------------------------------------------------------------ value + params headers


@dataclass(frozen=True, slots=True)
class ParamValue(_HasParams):
    """A token or number followed by params: Event, Subscription-State, Session-Expires, Min-SE …"""

    value: str
    params: Params = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.value, tuple(self.params.items())))

    @property
    def id(self) -> str | None:
        """``Event: refer;id=93809824`` (RFC 6665 §8.2.1, RFC 3515 §2.4.6)."""
        return lookup_param(self.params, "id")

    @property
    def delta(self) -> int | None:
        """The value as a number of seconds (Session-Expires, Min-SE, Expires)."""
        value = self.value
        return int(value) if value.isdigit() and value.isascii() else None

    def __str__(self) -> str:
        return f"{self.value}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class SubscriptionState(ParamValue):
    """``Subscription-State: active;expires=60`` / ``terminated;reason=noresource`` (RFC 6665 §8.2.3)."""

    @property
    def state(self) -> str:
        """``active``, ``pending`` or ``terminated`` (lower-cased; extension states kept)."""
        return self.value.lower()

    @property
    def is_terminated(self) -> bool:
        return self.value.lower() == "terminated"

    @property
    def reason(self) -> str | None:
        return lookup_param(self.params, "reason")

    @property
    def expires(self) -> int | None:
        return self.int_param("expires")

    @property
    def retry_after(self) -> int | None:
        return self.int_param("retry-after")


@dataclass(frozen=True, slots=True)
class SessionExpires(ParamValue):
    """``Session-Expires: 1800;refresher=uac`` (RFC 4028 §4)."""

    @property
    def seconds(self) -> int:
        delta = self.delta
        if delta is None:  # pragma: no cover - parse_session_expires() guarantees a number
            raise SipParseError(f"bad Session-Expires {self.value[:20]!r}")
        return delta

    @property
    def refresher(self) -> str | None:
        """``uac`` or ``uas`` (lower-cased), ``None`` when the parameter is absent."""
        value = lookup_param(self.params, "refresher")
        return value.lower() if value else None


def _split_value(value: str) -> tuple[str, Params]:
    main, semi, rest = value.partition(";")
    main = main.strip(" \t")
    if not main:
        raise SipParseError(f"missing value in {value[:40]!r}")
    return main, parse_params(semi + rest) if semi else {}


_PV = TypeVar("_PV", bound=ParamValue)
_pv_value = ParamValue.__dict__["value"].__set__
_pv_params = ParamValue.__dict__["params"].__set__


def _param_value(cls: type[_PV], main: str, params: Params) -> _PV:
    """``cls(main, params)`` through the slot descriptors (a frozen ``__init__`` costs more than the
    parse; every NOTIFY has an Event and a Subscription-State)."""
    built = _new(cls)
    _pv_value(built, main)
    _pv_params(built, params)
    return built


def parse_param_value(value: str) -> ParamValue:
    main, params = _split_value(value)
    return _param_value(ParamValue, main, params)


def parse_subscription_state(value: str) -> SubscriptionState:
    main, params = _split_value(value)
    if TOKEN_RE.match(main) is None:
        raise SipParseError(f"bad Subscription-State {value[:40]!r}")
    return _param_value(SubscriptionState, main, params)


def parse_session_expires(value: str) -> SessionExpires:
    main, params = _split_value(value)
    if not main.isdigit() or not main.isascii():
        raise SipParseError(f"bad Session-Expires {value[:40]!r}")
    return _param_value(SessionExpires, main, params)


def parse_token_list(values: list[str]) -> list[str]:
    """Allow, Supported, Require …: the already comma-split elements, each checked to be a token."""
    for value in values:
        if TOKEN_RE.match(value) is None:
            raise SipParseError(f"bad token {value[:40]!r}")
    return values
