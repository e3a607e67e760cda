"""Authentication header values: the auth-param grammar and the typed Digest challenge and credentials.

``WWW-Authenticate``, ``Proxy-Authenticate``, ``Authorization`` and ``Proxy-Authorization`` each carry one
value shaped ``scheme LWS name=value *(COMMA name=value)``, a value being a token or a quoted-string
(RFC 3261 §25.1, RFC 7235 §2.1). SIP forbids combining these headers with commas (RFC 3261 §7.3.1), so one
header value holds exactly one challenge or one set of credentials.

Parsing has two paths that give the same results: a two-regex fast path for the one-line shape every
stack we meet sends, and the general parser for everything else (folding, quoted-pairs, empty list
elements, malformed input).

Hashing and the UAC/UAS logic live in :mod:`takeback.sip.digest`, which re-exports the types defined here.
Malformed input raises :class:`DigestError`, a :class:`~takeback.sip.errors.SipParseError` (so a
``ValueError`` with ``status`` 400): a UAS answers 400 to credentials it cannot read, and the transport
adapter never sees another exception type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from takeback.sip.errors import SipParseError

__all__ = [
    "ALGORITHM_NAMES",
    "AuthHeader",
    "AuthParam",
    "Challenge",
    "Credentials",
    "DigestError",
    "canonical_algorithm",
    "check_field_text",
    "format_auth_header",
    "is_token",
    "parse_auth_header",
    "parse_challenges",
    "quote_string",
]


class DigestError(SipParseError):
    """Malformed or unusable authentication data; ``status`` is the response a UAS sends (400 by default)."""


# RFC 3261 §25.1 token characters, plus the RFC 7230 tchar extras ``#$&^|`` that HTTP-derived stacks emit.
_TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~#$&^|"
_TOKEN_RE = re.compile(f"[{_TOKEN_CHARS}]+")
# RFC 3261 §7.3.1: folding (CRLF followed by whitespace) is equivalent to a single SP. A bare LF is tolerated.
_FOLD_RE = re.compile(r"\r?\n[ \t]+")
# One auth-param after optional whitespace: name, "=", then a quoted-string (group 2) or a token (group 3).
# qdtext excludes controls other than HTAB (RFC 3261 §25.1); a quoted-pair escapes any character but CR/LF.
# The alternatives are disjoint, so matching is linear in the input length (no backtracking blow-up).
_PARAM_RE = re.compile(
    f"[ \\t]*([{_TOKEN_CHARS}]+)[ \\t]*=[ \\t]*"
    f'(?:"((?:[^"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f]|\\\\[^\\r\\n])*)"|([{_TOKEN_CHARS}]+))[ \\t]*'
)
# The fast path's shape (see _fast_params): ``scheme SP param *(COMMA param)`` on one line, every
# quoted-string free of quoted-pairs, controls and lone surrogates. Text it accepts parses to the same
# result through the general parser; anything else (folding, escapes, empty list elements, bad input)
# takes the general path, which alone decides what is malformed.
_FAST_QDTEXT = '[^"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f\\ud800-\\udfff]*'
_FAST_PARAM = f'([{_TOKEN_CHARS}]+)[ \\t]*=[ \\t]*(?:"({_FAST_QDTEXT})"|([{_TOKEN_CHARS}]+))'
_FAST_PARAM_RE = re.compile(_FAST_PARAM)
_FAST_HEADER_RE = re.compile(
    f"[ \\t]*([{_TOKEN_CHARS}]+)[ \\t]+{_FAST_PARAM}(?:[ \\t]*,[ \\t]*{_FAST_PARAM})*[ \\t]*"
)
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")
_SPACES_RE = re.compile(r"[ \t]+")
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPE_RE = re.compile(r'(["\\])')
# Characters no header value may carry once unfolded: controls except HTAB, DEL, and lone surrogates (which
# cannot be encoded as UTF-8 and would break hashing later).
_FORBIDDEN_RE = re.compile("[\\x00-\\x08\\x0a-\\x1f\\x7f\\ud800-\\udfff]")

# The algorithm names RFC 7616 §6.1 registers; the digest module decides which of them it can compute.
ALGORITHM_NAMES = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")
_CANONICAL_ALGORITHMS = {name.lower(): name for name in ALGORITHM_NAMES}


def canonical_algorithm(name: str) -> str:
    """The registered spelling of an algorithm name (names compare case-insensitively, RFC 7616 §3.3);
    unknown names are returned unchanged."""
    return _CANONICAL_ALGORITHMS.get(name.lower(), name)


def _is_sess(algorithm: str) -> bool:
    return algorithm.lower().endswith("-sess")


def is_token(value: str) -> bool:
    """True when ``value`` may be sent without quotes (RFC 3261 §25.1 ``token``)."""
    return _TOKEN_RE.fullmatch(value) is not None


def check_field_text(name: str, value: str) -> None:
    """Reject text that no header value can carry (CR, LF, other controls, lone surrogates).

    Checked when a typed challenge or credential is built so that ``str()`` of it can never produce a header
    that smuggles a second header line (RFC 3261 §7.3.1) or fails to encode.
    """
    if _FORBIDDEN_RE.search(value):
        raise DigestError(f"{name} contains a control character")


def quote_string(value: str) -> str:
    """Render ``value`` as a quoted-string, escaping ``"`` and ``\\`` with quoted-pairs (RFC 3261 §25.1)."""
    check_field_text("quoted-string", value)
    return _quoted(value)


def _quoted(value: str) -> str:
    """:func:`quote_string` for text already checked by :func:`check_field_text`."""
    if '"' in value or "\\" in value:
        value = _ESCAPE_RE.sub(r"\\\1", value)
    return '"' + value + '"'


@dataclass(frozen=True, slots=True)
class AuthParam:
    """One ``name=value`` pair. ``name`` is lower-cased (names are case-insensitive, RFC 7616 §3.3);
    ``value`` is unescaped; ``quoted`` records the form received so unknown parameters survive
    re-serialization unchanged in meaning."""

    name: str
    value: str
    quoted: bool = False

    def __post_init__(self) -> None:
        if not is_token(self.name) or self.name != self.name.lower():
            raise DigestError(f"bad auth-param name {self.name!r}")
        check_field_text(self.name, self.value)

    def __str__(self) -> str:
        if self.quoted or not is_token(self.value):
            return f"{self.name}={quote_string(self.value)}"
        return f"{self.name}={self.value}"


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """A parsed authentication header value: the scheme as received and its parameters in order."""

    scheme: str
    params: tuple[AuthParam, ...] = ()

    def get(self, name: str) -> str | None:
        """The unescaped value of parameter ``name`` (case-insensitive), or None when absent."""
        wanted = name.lower()
        for param in self.params:
            if param.name == wanted:
                return param.value
        return None

    def __str__(self) -> str:
        return format_auth_header(self.scheme, self.params)


def format_auth_header(scheme: str, params: tuple[AuthParam, ...] | list[AuthParam]) -> str:
    """Serialize a scheme and its parameters as one header value, comma-separated (RFC 3261 §25.1)."""
    if not is_token(scheme):
        raise DigestError(f"bad auth scheme {scheme!r}")
    if not params:
        return scheme
    return scheme + " " + ", ".join(str(param) for param in params)


def parse_auth_header(value: str) -> AuthHeader:
    """Parse one authentication header value into its scheme and parameters.

    Tolerant where the RFCs ask recipients to be: any amount of whitespace around names, ``=`` and commas,
    header folding, empty list elements (RFC 7230 §7), upper-case parameter names. Strict where leniency
    would be ambiguous or unsafe: duplicate parameter names (RFC 7235 §2.1: each may occur once),
    unterminated quotes, bare control characters, and anything that is not an auth-param (e.g. a token68
    ``Basic`` blob).
    """
    fast = _fast_params(value)
    if fast is None:
        return _parse_auth_header_general(value)
    scheme, params = fast
    return AuthHeader(scheme, tuple(AuthParam(name, *param) for name, param in params.items()))


ParamMap = dict[str, tuple[str, bool]]
"""Auth-params by lower-case name, in received order: ``(unescaped value, quoted)``."""


def _fast_params(value: str) -> tuple[str, ParamMap] | None:
    """The scheme and params of a header in the common shape (no folding, escapes or empty elements), or
    None to let the general parser decide.

    Every header value of a Digest call goes through here; the general parser costs ~10 Python calls per
    parameter, this one two regex calls per header. ``_FAST_HEADER_RE`` validates the whole value; since a
    parameter can start neither with whitespace nor a comma, ``findall`` from the end of the scheme then
    yields exactly the parameters it matched. A token value is never empty, so an empty token group means
    the value was quoted. Duplicates are left to the general path, which refuses them (RFC 7235 §2.1).
    """
    match = _FAST_HEADER_RE.fullmatch(value)
    if match is None:
        return None
    found = _FAST_PARAM_RE.findall(value, match.end(1))
    params = {name.lower(): (token or quoted, not token) for name, quoted, token in found}
    if len(params) != len(found):
        return None
    return match.group(1), params


def _general_params(value: str) -> tuple[str, ParamMap]:
    """What :func:`_fast_params` computes, through the general parser (raises on malformed input)."""
    header = _parse_auth_header_general(value)
    return header.scheme, {param.name: (param.value, param.quoted) for param in header.params}


def _auth_params(value: str) -> tuple[str, ParamMap]:
    return _fast_params(value) or _general_params(value)


def _parse_auth_header_general(value: str) -> AuthHeader:
    """The full grammar of :func:`parse_auth_header`: folding, quoted-pairs, empty list elements, and the
    verdict (and error message) on everything malformed."""
    text = _FOLD_RE.sub(" ", value)
    if "\r" in text or "\n" in text:
        raise DigestError("authentication header contains a line break")
    pos = _skip_ws(text, 0)
    scheme_match = _TOKEN_RE.match(text, pos)
    if scheme_match is None:
        raise DigestError("authentication header has no scheme")
    scheme = scheme_match.group()
    pos = scheme_match.end()
    params = _parse_params(text, pos)
    return AuthHeader(scheme, params)


def _parse_params(text: str, pos: int) -> tuple[AuthParam, ...]:
    """Parse the comma-separated auth-params starting at ``pos`` (just after the scheme)."""
    end = len(text)
    rest_start = _skip_ws(text, pos)
    if rest_start == end:
        return ()
    if rest_start == pos:
        raise DigestError("auth scheme must be followed by whitespace")
    params: list[AuthParam] = []
    seen: set[str] = set()
    pos = rest_start
    while pos < end:
        if text[pos] == ",":  # empty list element, e.g. "a=1,,b=2" or a trailing comma
            pos = _skip_ws(text, pos + 1)
            continue
        match = _PARAM_RE.match(text, pos)
        if match is None:
            raise DigestError(f"malformed auth-param at offset {pos}")
        param = _param_from_match(match)
        if param.name in seen:
            raise DigestError(f"duplicate auth-param {param.name!r}")
        seen.add(param.name)
        params.append(param)
        pos = match.end()
        if pos < end:
            if text[pos] != ",":
                raise DigestError(f"expected ',' between auth-params at offset {pos}")
            pos = _skip_ws(text, pos + 1)
    return tuple(params)


def _skip_ws(text: str, pos: int) -> int:
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    return pos


def _param_from_match(match: re.Match[str]) -> AuthParam:
    name = match.group(1).lower()
    quoted_body = match.group(2)
    if quoted_body is None:
        return AuthParam(name, match.group(3), quoted=False)
    return AuthParam(name, _UNESCAPE_RE.sub(r"\1", quoted_body), quoted=True)


_CHALLENGE_NAMES = frozenset(
    {"realm", "domain", "nonce", "opaque", "stale", "algorithm", "qop", "charset", "userhash"}
)
_CREDENTIAL_NAMES = frozenset(
    {
        "username",
        "username*",
        "realm",
        "nonce",
        "uri",
        "response",
        "algorithm",
        "cnonce",
        "opaque",
        "qop",
        "nc",
    }
    | {"userhash"}
)


def _check_extras(extra: tuple[AuthParam, ...], known: frozenset[str]) -> None:
    if not extra:
        return
    names = [param.name for param in extra]
    if len(set(names)) != len(names) or known.intersection(names):
        raise DigestError("unknown auth-params must be unique and must not repeat a known parameter")


def _check_token(name: str, value: str) -> None:
    if not is_token(value):
        raise DigestError(f"{name} must be a token, got {value!r}")


def _flag(value: str | None) -> bool:
    # RFC 2617 §3.2.1: any value other than "true" (case-insensitive) means false.
    return value is not None and value.lower() == "true"


def _require(values: dict[str, str], name: str) -> str:
    value = values.get(name)
    if value is None:
        raise DigestError(f"Digest {name} parameter missing")
    return value


def _digest_params(value: str, parse: Callable[[str], tuple[str, ParamMap]] = _auth_params) -> ParamMap:
    scheme, params = parse(value)
    if scheme.lower() != "digest":
        raise DigestError(f"not a Digest header (scheme {scheme!r})")
    return params


def _values(params: ParamMap) -> dict[str, str]:
    return {name: value for name, (value, _) in params.items()}


def _extras(params: ParamMap, known: frozenset[str]) -> tuple[AuthParam, ...]:
    return tuple(AuthParam(name, *param) for name, param in params.items() if name not in known)


def _token_param(values: dict[str, str], name: str) -> str | None:
    value = values.get(name)
    if value is not None:
        _check_token(name, value)
    return value


@dataclass(frozen=True, slots=True)
class Challenge:
    """A ``WWW-Authenticate``/``Proxy-Authenticate`` Digest challenge (RFC 7616 §3.3, RFC 3261 §25.1).

    ``algorithm`` defaults to MD5 when absent (RFC 7616 §3.3). ``qop`` lists the offered options; an empty
    tuple is the RFC 2069 form. ``extra`` keeps unknown parameters (RFC 7616 §3.3: "ignore unknown") so a
    proxy or a test can re-emit them.
    """

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    domain: tuple[str, ...] = ()
    userhash: bool = False
    charset: str | None = None
    extra: tuple[AuthParam, ...] = ()

    def __post_init__(self) -> None:
        for name, text in (("realm", self.realm), ("nonce", self.nonce), ("opaque", self.opaque or "")):
            check_field_text(name, text)
        _check_token("algorithm", self.algorithm)
        for option in self.qop:
            _check_token("qop", option)
        for uri in self.domain:
            check_field_text("domain", uri)
            if not uri or " " in uri or "\t" in uri:
                raise DigestError("domain entries must be non-empty and free of whitespace")
        if self.charset is not None:
            _check_token("charset", self.charset)
        _check_extras(self.extra, _CHALLENGE_NAMES)

    @classmethod
    def parse(cls, value: str) -> Challenge:
        """Parse a challenge header value; raises :class:`DigestError` (400) when it is not a usable one."""
        return cls._from_params(_digest_params(value))

    @classmethod
    def _from_params(cls, params: ParamMap) -> Challenge:
        values = _values(params)
        qop_text = values.get("qop")
        domain_text = values.get("domain")
        return cls(
            realm=_require(values, "realm"),
            nonce=_require(values, "nonce"),
            algorithm=canonical_algorithm(_token_param(values, "algorithm") or "MD5"),
            # qop-options is a quoted comma list (RFC 7616 §3.3); values are case-insensitive tokens
            qop=tuple(o.strip().lower() for o in (qop_text or "").split(",") if o.strip()),
            opaque=values.get("opaque"),
            stale=_flag(values.get("stale")),
            domain=tuple(uri for uri in _SPACES_RE.split(domain_text or "") if uri),
            userhash=_flag(values.get("userhash")),
            charset=_token_param(values, "charset"),
            extra=_extras(params, _CHALLENGE_NAMES),
        )

    def __str__(self) -> str:
        """Quoted: realm, domain, nonce, opaque, qop; unquoted: stale, algorithm, charset, userhash
        (RFC 7616 §3.3 "for historical reasons")."""
        # Rendered directly (a UAS sends one per challenged request): __post_init__ already checked every
        # field, so this is what format_auth_header would produce from the equivalent AuthParams.
        parts = ["Digest realm=" + _quoted(self.realm)]
        if self.domain:
            parts.append("domain=" + _quoted(" ".join(self.domain)))
        parts.append("nonce=" + _quoted(self.nonce))
        if self.opaque is not None:
            parts.append("opaque=" + _quoted(self.opaque))
        if self.stale:
            parts.append("stale=true")
        parts.append("algorithm=" + self.algorithm)
        if self.qop:
            parts.append("qop=" + _quoted(",".join(self.qop)))
        if self.charset is not None:
            parts.append("charset=" + self.charset)
        if self.userhash:
            parts.append("userhash=true")
        parts.extend(str(param) for param in self.extra)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An ``Authorization``/``Proxy-Authorization`` Digest response (RFC 7616 §3.4, RFC 3261 §25.1).

    ``nc`` is kept as the 8-hex-digit text received because the digest hashes that exact text
    (:attr:`nonce_count` gives the number). With ``userhash`` true, ``username`` is the hashed form.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    cnonce: str | None = None
    opaque: str | None = None
    qop: str | None = None
    nc: str | None = None
    userhash: bool = False
    extra: tuple[AuthParam, ...] = ()

    def __post_init__(self) -> None:
        # One scan over all the quoted fields: the verdict (and the message) is the same as field by field.
        texts = (self.username, self.realm, self.nonce, self.uri, self.response, self.cnonce, self.opaque)
        check_field_text("credentials", "".join(filter(None, texts)))
        _check_token("algorithm", self.algorithm)
        if self.qop is not None:
            _check_token("qop", self.qop)
            if self.nc is None or self.cnonce is None:
                raise DigestError("qop requires nc and cnonce (RFC 7616 §3.4)")
        if self.nc is not None and not _NC_RE.fullmatch(self.nc):
            raise DigestError("nc must be 8 hex digits (RFC 3261 §25.1 nc-value)")
        if _is_sess(self.algorithm) and self.cnonce is None:
            raise DigestError(f"{self.algorithm} requires a cnonce (RFC 7616 §3.4.2)")
        _check_extras(self.extra, _CREDENTIAL_NAMES)

    @property
    def nonce_count(self) -> int | None:
        """``nc`` as a number, or None without qop."""
        return None if self.nc is None else int(self.nc, 16)

    @classmethod
    def parse(cls, value: str) -> Credentials:
        """Parse a credentials header value; :class:`DigestError` (400) when malformed or incomplete."""
        return cls._from_params(_digest_params(value))

    @classmethod
    def _from_params(cls, params: ParamMap) -> Credentials:
        values = _values(params)
        qop = _token_param(values, "qop")
        return cls(
            username=_username(values),
            realm=_require(values, "realm"),
            nonce=_require(values, "nonce"),
            uri=_require(values, "uri"),
            response=_require(values, "response"),
            algorithm=canonical_algorithm(_token_param(values, "algorithm") or "MD5"),
            cnonce=values.get("cnonce"),
            opaque=values.get("opaque"),
            qop=None if qop is None else qop.lower(),
            nc=values.get("nc"),
            userhash=_flag(values.get("userhash")),
            extra=_extras(params, _CREDENTIAL_NAMES),
        )

    def __str__(self) -> str:
        """Quoted: username, realm, nonce, uri, response, cnonce, opaque; unquoted: algorithm, qop, nc,
        userhash (RFC 7616 §3.4). ``nonce`` precedes ``cnonce`` so naive substring scanners (SIPp's
        ``getAuthParameter``) find the right one."""
        params = [
            AuthParam("username", self.username, quoted=True),
            AuthParam("realm", self.realm, quoted=True),
            AuthParam("nonce", self.nonce, quoted=True),
            AuthParam("uri", self.uri, quoted=True),
            AuthParam("response", self.response, quoted=True),
            AuthParam("algorithm", self.algorithm),
        ]
        if self.cnonce is not None:
            params.append(AuthParam("cnonce", self.cnonce, quoted=True))
        if self.opaque is not None:
            params.append(AuthParam("opaque", self.opaque, quoted=True))
        if self.qop is not None:
            params.append(AuthParam("qop", self.qop))
        if self.nc is not None:
            params.append(AuthParam("nc", self.nc))
        if self.userhash:
            params.append(AuthParam("userhash", "true"))
        return format_auth_header("Digest", [*params, *self.extra])


def _username(values: dict[str, str]) -> str:
    """``username``, or the RFC 7616 §3.4.4 ``username*`` ext-value (RFC 5987: ``UTF-8''pct-encoded``)."""
    plain, extended = values.get("username"), values.get("username*")
    if extended is None:
        if plain is None:
            raise DigestError("Digest username parameter missing")
        return plain
    if plain is not None:
        raise DigestError("username and username* are mutually exclusive (RFC 7616 §3.4.4)")
    charset, _, rest = extended.partition("'")
    _language, quote_found, encoded = rest.partition("'")
    if charset.lower() != "utf-8" or not quote_found:
        raise DigestError("username* must be UTF-8''<pct-encoded>")
    try:
        decoded = unquote(encoded, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise DigestError("username* is not valid UTF-8") from exc
    check_field_text("username*", decoded)
    return decoded


def parse_challenges(values: Iterable[str]) -> tuple[Challenge, ...]:
    """Parse every Digest challenge among several header values, skipping other schemes and malformed ones.

    A UAC answers the best challenge it understands rather than fail on one it does not (RFC 8760 §2.4).
    """
    challenges: list[Challenge] = []
    for value in values:
        try:
            challenges.append(Challenge.parse(value))
        except DigestError:
            continue
    return tuple(challenges)
