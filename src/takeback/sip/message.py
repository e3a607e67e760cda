"""The SIP message model: :class:`Request`, :class:`Response` and their typed accessors (RFC 3261 §7).

Parsing is lazy where it pays: the parser splits the header section and validates what every message
must get right (start line, mandatory headers, Content-Length); typed values are parsed on first access
and cached *on the Headers object*, keyed by the header they were read from (``cseq``, ``top:via``,
``name-addrs:contact``: a header key, optionally behind a ``kind:`` prefix); a mutation drops the values
of the header it touches, so a typed value can never go stale after an edit. A UAS reading the top
Via branch, the tags, Call-ID, CSeq and a couple of custom headers parses nothing else.

Accessors of the mandatory headers (``call_id``, ``cseq``, ``top_via``, ``from_``, ``to``) never raise
on a message that came out of :func:`~takeback.sip.parser.parse_message` (From/To URIs were validated;
the URI objects are built on first access to ``.uri``); the others raise :class:`SipParseError`
(status 400) when the header is malformed. List-valued accessors return fresh lists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import SipParseError
from .fields import COMPACT_FORMS, Headers, canonical_name, header_key
from .headers import (
    CSeq,
    MediaType,
    NameAddr,
    ParamValue,
    SessionExpires,
    SubscriptionState,
    Via,
    parse_cseq,
    parse_media_type,
    parse_name_addr,
    parse_param_value,
    parse_session_expires,
    parse_subscription_state,
    parse_token_list,
    parse_via,
)
from .uri import Uri, parse_uri

__all__ = ["COMPACT_FORMS", "Headers", "Message", "Request", "Response", "canonical_name", "header_key"]

_T = TypeVar("_T")
_MISSING: Any = object()


def _delta_seconds(value: str, name: str) -> int:
    value = value.strip(" \t")
    if not value.isdigit() or not value.isascii() or len(value) > 10:
        raise SipParseError(f"bad {name} {value[:20]!r}")
    return int(value)


class Message(ABC):
    """What requests and responses share: headers, body, and cached typed header accessors."""

    __slots__ = ("body", "headers", "version", "wire")

    headers: Headers
    body: bytes
    version: str
    #: The bytes this message was parsed from, exactly as received (None for messages built here). What a
    #: trace or pcap must show: ``bytes(message)`` is a re-serialisation (folding undone, edits applied).
    wire: bytes | None

    def __init__(self, headers: Headers | None, body: bytes, version: str) -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.version = version
        self.wire = None

    # ------------------------------------------------------------------------------ plumbing

    def _typed(self, key: str, build: Callable[[], _T]) -> _T:
        cache = self.headers.typed
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = build()
        return value  # type: ignore[no-any-return]

    def invalidate(self) -> None:
        """Forget cached typed values (kept for callers that edit ``headers`` internals directly)."""
        self.headers.typed = {}

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    # --------------------------------------------------------------- mandatory headers (§8.1.1)

    @property
    def call_id(self) -> str:
        headers = self.headers
        value = headers.typed.get("call-id")
        if value is None:
            value = headers.get("Call-ID")
            if not value:
                raise SipParseError("missing Call-ID header")
            headers.typed["call-id"] = value
        return value

    @property
    def cseq(self) -> CSeq:
        cache = self.headers.typed
        value = cache.get("cseq")
        if value is None:
            value = cache["cseq"] = parse_cseq(self._required("CSeq"))
        return value

    @property
    def top_via(self) -> Via:
        """The first Via element: the transaction's branch and where responses go (RFC 3261 §18.2.2)."""
        cache = self.headers.typed
        value = cache.get("top:via")
        if value is None:
            value = cache["top:via"] = parse_via(self._required("Via"))
        return value

    @property
    def vias(self) -> list[Via]:
        """Every Via element, top first (a fresh list: callers may reorder it)."""
        return list(self._typed("via", lambda: [parse_via(v) for v in self.headers.get_all("Via")]))

    @property
    def from_(self) -> NameAddr:
        cache = self.headers.typed
        value = cache.get("from")
        if value is None:
            value = cache["from"] = parse_name_addr(self._required("From"))
        return value

    @property
    def to(self) -> NameAddr:
        cache = self.headers.typed
        value = cache.get("to")
        if value is None:
            value = cache["to"] = parse_name_addr(self._required("To"))
        return value

    # ----------------------------------------------------------------------- other typed values

    @property
    def contacts(self) -> list[NameAddr]:
        return self.name_addrs("Contact")

    @property
    def contact(self) -> NameAddr | None:
        contacts = self._name_addrs("Contact")
        return contacts[0] if contacts else None

    @property
    def routes(self) -> list[NameAddr]:
        return self.name_addrs("Route")

    @property
    def record_routes(self) -> list[NameAddr]:
        """Record-Route in received order (a UAC reverses it for its route set, RFC 3261 §12.1.2)."""
        return self.name_addrs("Record-Route")

    @property
    def refer_to(self) -> NameAddr | None:
        """RFC 3515 §2.1 Refer-To (compact ``r``); its URI headers are decoded once."""
        return self.name_addr("Refer-To")

    @property
    def referred_by(self) -> NameAddr | None:
        """RFC 3892 Referred-By (compact ``b``)."""
        return self.name_addr("Referred-By")

    @property
    def content_type(self) -> MediaType | None:
        def build() -> MediaType | None:
            value = self.headers.get("Content-Type")
            return parse_media_type(value) if value else None

        return self._typed("content-type", build)

    @property
    def content_length(self) -> int | None:
        """The Content-Length header as received (``None`` if absent); ``bytes()`` writes the true one."""

        def build() -> int | None:
            value = self.headers.get("Content-Length")
            return None if value is None else _delta_seconds(value, "Content-Length")

        return self._typed("content-length", build)

    @property
    def max_forwards(self) -> int | None:
        def build() -> int | None:
            value = self.headers.get("Max-Forwards")
            if value is None:
                return None
            hops = _delta_seconds(value, "Max-Forwards")
            if hops > 255:
                raise SipParseError(f"bad Max-Forwards {value[:20]!r}")
            return hops

        return self._typed("max-forwards", build)

    @property
    def expires(self) -> int | None:
        """Expires header in seconds (RFC 3261 §20.19)."""
        return self._int_header("Expires")

    @property
    def min_se(self) -> int | None:
        """Min-SE in seconds (RFC 4028 §5); its parameters, if any, are ignored."""

        def build() -> int | None:
            value = self.param_value("Min-SE")
            return None if value is None else _delta_seconds(value.value, "Min-SE")

        return self._typed("delta:min-se", build)

    @property
    def event(self) -> ParamValue | None:
        """``Event: refer;id=93809824`` (RFC 6665 §8.2.1, compact ``o``): package in ``value``, ``.id``."""
        return self.param_value("Event")

    @property
    def subscription_state(self) -> SubscriptionState | None:
        """RFC 6665 §8.2.3: ``.state``, ``.reason``, ``.expires``, ``.retry_after``."""

        def build() -> SubscriptionState | None:
            value = self.headers.get("Subscription-State")
            return None if value is None else parse_subscription_state(value)

        return self._typed("subscription-state", build)

    @property
    def session_expires(self) -> SessionExpires | None:
        """RFC 4028 §4 (compact ``x``): ``.seconds``, ``.refresher``."""

        def build() -> SessionExpires | None:
            value = self.headers.get("Session-Expires")
            return None if value is None else parse_session_expires(value)

        return self._typed("session-expires", build)

    @property
    def allow(self) -> list[str]:
        return self.token_list("Allow")

    @property
    def supported(self) -> list[str]:
        return self.token_list("Supported")

    @property
    def require(self) -> list[str]:
        return self.token_list("Require")

    def token_list(self, name: str) -> list[str]:
        """Allow, Supported, Require, Unsupported …: every element of every line, checked as tokens."""
        key = "tokens:" + header_key(name)
        return list(self._typed(key, lambda: parse_token_list(self.headers.get_all(name))))

    def _int_header(self, name: str) -> int | None:
        def build() -> int | None:
            value = self.headers.get(name)
            return None if value is None else _delta_seconds(value, name)

        return self._typed("int:" + header_key(name), build)

    def name_addrs(self, name: str) -> list[NameAddr]:
        """All values of a name-addr header (Contact, Route, P-Asserted-Identity …), typed; a fresh list."""
        return list(self._name_addrs(name))

    def _name_addrs(self, name: str) -> list[NameAddr]:
        return self._typed(
            "name-addrs:" + header_key(name),
            lambda: [parse_name_addr(v) for v in self.headers.get_all(name)],
        )

    def name_addr(self, name: str) -> NameAddr | None:
        """The first value of a single name-addr header (Refer-To, Referred-By …), typed."""

        def build() -> NameAddr | None:
            value = self.headers.get(name)
            return parse_name_addr(value) if value is not None else None

        return self._typed("name-addr:" + header_key(name), build)

    def param_value(self, name: str) -> ParamValue | None:
        """Event, Subscription-State, Session-Expires, Min-SE, Expires … as value + params."""

        def build() -> ParamValue | None:
            value = self.headers.get(name)
            return parse_param_value(value) if value is not None else None

        return self._typed("param-value:" + header_key(name), build)

    # ---------------------------------------------------------------------------- serialising

    @property
    def is_request(self) -> bool:
        return isinstance(self, Request)

    @abstractmethod
    def start_line(self) -> str:
        """``INVITE sip:… SIP/2.0`` or ``SIP/2.0 200 OK``."""

    def __bytes__(self) -> bytes:
        """The wire form, with a Content-Length that matches ``body`` (RFC 3261 §20.14)."""
        body = self.body
        text = f"{self.start_line()}\r\n{self.headers.text_with_length(len(body))}\r\n\r\n"  # one join
        head = text.encode("utf-8", "surrogateescape")
        return head + body if body else head


class Request(Message):
    """A SIP request. ``uri`` is the Request-URI text; ``request_uri`` the parsed, cached form."""

    __slots__ = ("_ruri", "method", "uri")

    method: str
    uri: str

    def __init__(
        self,
        method: str,
        uri: str | Uri,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        super().__init__(headers, body, version)
        self.method = method
        if isinstance(uri, str):
            self.uri = uri
            self._ruri: tuple[str, Uri] | None = None
        else:
            self.uri = str(uri)
            self._ruri = (self.uri, uri)

    @property
    def request_uri(self) -> Uri:
        cached = self._ruri
        if cached is not None and cached[0] is self.uri:
            return cached[1]
        parsed = parse_uri(self.uri)
        self._ruri = (self.uri, parsed)
        return parsed

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    """A SIP response."""

    __slots__ = ("reason", "status")

    status: int
    reason: str

    def __init__(
        self,
        status: int,
        reason: str = "",
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = "SIP/2.0",
    ) -> None:
        super().__init__(headers, body, version)
        self.status = status
        self.reason = reason

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"
