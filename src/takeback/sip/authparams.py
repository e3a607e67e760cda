"""Authentication header values: the auth-param grammar and the typed Digest challenge and credentials.

``WWW-Authenticate``, ``Proxy-Authenticate``, ``Authorization`` and ``Proxy-Authorization`` each carry one
value shaped ``scheme LWS name=value *(COMMA name=value)``, a value being a token or a quoted-string
(RFC 3261 §25.1, RFC 7235 §2.1). SIP forbids combining these headers with commas (RFC 3261 §7.3.1), so one
header value holds exactly one challenge or one set of credentials.

Hashing and the UAC/UAS logic live in :mod:`takeback.sip.digest`, which re-exports the types defined here.
Malformed input raises :class:`DigestError`, a :class:`~takeback.sip.errors.SipParseError` (so a
``ValueError`` with ``status`` 400): a UAS answers 400 to credentials it cannot read, and the transport
adapter never sees another exception type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    return '"' + _ESCAPE_RE.sub(r"\\\1", value) + '"'


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
    names = [param.name for param in extra]
    if len(set(names)) != len(names) or known.intersection(names):
        raise DigestError("unknown auth-params must be unique and must not repeat a known parameter")


def _check_token(name: str, value: str) -> None:
    if not is_token(value):
        raise DigestError(f"{name} must be a token, got {value!r}")


def _flag(value: str | None) -> bool:
    # RFC 2617 §3.2.1: any value other than "true" (case-insensitive) means false.
    return value is not None and value.lower() == "true"


def _require(header: AuthHeader, name: str) -> str:
    value = header.get(name)
    if value is None:
        raise DigestError(f"Digest {name} parameter missing")
    return value


def _digest_header(value: str) -> AuthHeader:
    header = parse_auth_header(value)
    if header.scheme.lower() != "digest":
        raise DigestError(f"not a Digest header (scheme {header.scheme!r})")
    return header


def _token_param(header: AuthHeader, name: str) -> str | None:
    value = header.get(name)
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
        header = _digest_header(value)
        qop_text = header.get("qop")
        domain_text = header.get("domain")
        return cls(
            realm=_require(header, "realm"),
            nonce=_require(header, "nonce"),
            algorithm=canonical_algorithm(_token_param(header, "algorithm") or "MD5"),
            # qop-options is a quoted comma list (RFC 7616 §3.3); values are case-insensitive tokens
            qop=tuple(o.strip().lower() for o in (qop_text or "").split(",") if o.strip()),
            opaque=header.get("opaque"),
            stale=_flag(header.get("stale")),
            domain=tuple(uri for uri in _SPACES_RE.split(domain_text or "") if uri),
            userhash=_flag(header.get("userhash")),
            charset=_token_param(header, "charset"),
            extra=tuple(p for p in header.params if p.name not in _CHALLENGE_NAMES),
        )

    def __str__(self) -> str:
        """Quoted: realm, domain, nonce, opaque, qop; unquoted: stale, algorithm, charset, userhash
        (RFC 7616 §3.3 "for historical reasons")."""
        params = [AuthParam("realm", self.realm, quoted=True)]
        if self.domain:
            params.append(AuthParam("domain", " ".join(self.domain), quoted=True))
        params.append(AuthParam("nonce", self.nonce, quoted=True))
        if self.opaque is not None:
            params.append(AuthParam("opaque", self.opaque, quoted=True))
        if self.stale:
            params.append(AuthParam("stale", "true"))
        params.append(AuthParam("algorithm", self.algorithm))
        if self.qop:
            params.append(AuthParam("qop", ",".join(self.qop), quoted=True))
        if self.charset is not None:
            params.append(AuthParam("charset", self.charset))
        if self.userhash:
            params.append(AuthParam("userhash", "true"))
        return format_auth_header("Digest", [*params, *self.extra])


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
        texts = (self.username, self.realm, self.nonce, self.uri, self.response, self.cnonce, self.opaque)
        for text in texts:
            check_field_text("credentials", text or "")
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
        header = _digest_header(value)
        qop = _token_param(header, "qop")
        return cls(
            username=_username(header),
            realm=_require(header, "realm"),
            nonce=_require(header, "nonce"),
            uri=_require(header, "uri"),
            response=_require(header, "response"),
            algorithm=canonical_algorithm(_token_param(header, "algorithm") or "MD5"),
            cnonce=header.get("cnonce"),
            opaque=header.get("opaque"),
            qop=None if qop is None else qop.lower(),
            nc=header.get("nc"),
            userhash=_flag(header.get("userhash")),
            extra=tuple(p for p in header.params if p.name not in _CREDENTIAL_NAMES),
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


def _username(header: AuthHeader) -> str:
    """``username``, or the RFC 7616 §3.4.4 ``username*`` ext-value (RFC 5987: ``UTF-8''pct-encoded``)."""
    plain, extended = header.get("username"), header.get("username*")
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
