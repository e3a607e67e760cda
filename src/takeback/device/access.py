"""Who may call the device: a pure policy that turns an INVITE and its source into a decision.

The article's "Controlling access to your SIP device" lists four independent controls ("nothing is
mandatory"); the device adds the expected-DNIS check of its step 2.3. They run in this order, each one only
when configured (GENESYS.md §4.3, §12 items 12-14):

1. **IP ACL** on the socket source address (never Via, which the sender writes): outside the list the
   request is dropped without a word (``acl_action: drop``, the default: a scanner learns nothing) or
   answered 403.
2. **Static custom header** (``CUSTOM-DEVICE-TOKEN: 1234567``): header name case-insensitive (RFC 3261
   §7.3.5, §12 item 14), value compared in constant time; missing or wrong: 403.
3. **Digest** (RFC 3261 §22.4, RFC 7616) with stateless signed nonces: no credentials → 401 challenge;
   wrong credentials on one of our nonces → 403 (the UAC already had its retry, RFC 3261 §22.4 leaves a
   re-challenge optional and a loop helps nobody); expired nonce with a right digest → 401 ``stale=true``
   (RFC 7616 §3.3: retry without asking for a password); replayed nonce-count or unknown nonce → 401.
4. **Expected DNIS** on the Request-URI user part (GENESYS.md §4.2: the number is the R-URI user): no
   match → 404.
5. **UUI token** in what Genesys would expose as ``Call.UUIData`` (GENESYS.md §5.2): missing/wrong → 403.

Sans-IO: :meth:`AccessPolicy.check` takes the request, the source address and ``now``; the only state is
the Digest server's bounded nonce-count table. :class:`LogOnce` rate-limits the log lines a flood of refused
requests would otherwise produce, per source.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from types import EllipsisType

from takeback.sip import Request, SipParseError, SipUri, TelUri
from takeback.sip.digest import Credentials, DigestError, DigestServer, Ha1Lookup, Secret, VerifyOutcome
from takeback.uui import decode_uui

from .config import AccessSettings, DigestSettings, DnisSettings, UuiTokenSettings

__all__ = [
    "AccessPolicy",
    "Decision",
    "DnisMatcher",
    "IpAcl",
    "LogOnce",
    "Verdict",
    "uui_token_of",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(enum.StrEnum):
    ACCEPT = "accept"
    RESPOND = "respond"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a request, and why.

    ``reason`` is a stable code for metrics and records (``acl``, ``token-missing``, ``token-mismatch``,
    ``digest-challenge``, ``digest-stale``, ``digest-replay``, ``digest-bad-nonce``, ``digest-malformed``,
    ``digest-bad-credentials``, ``dnis``, ``uui-token-missing``, ``uui-token-mismatch``, ``ok``);
    ``detail`` is for a human. ``auth`` summarises the Digest step (``off``, ``ok``, or the reason) and
    ``uui`` is the decoded inbound UUI when the policy looked at it.
    """

    verdict: Verdict
    reason: str
    status: int | None = None
    reason_phrase: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    detail: str = ""
    auth: str = "off"
    username: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPT

    @classmethod
    def accept(cls, *, auth: str = "off", username: str | None = None) -> Decision:
        if cls is Decision and auth == "off" and username is None:
            return _ACCEPTED  # every INVITE without Digest: one frozen value serves them all
        return cls(Verdict.ACCEPT, "ok", auth=auth, username=username)

    @classmethod
    def drop(cls, reason: str, detail: str = "") -> Decision:
        return cls(Verdict.DROP, reason, detail=detail)

    @classmethod
    def respond(
        cls,
        status: int,
        phrase: str,
        reason: str,
        detail: str = "",
        *,
        headers: tuple[tuple[str, str], ...] = (),
        auth: str = "off",
        username: str | None = None,
    ) -> Decision:
        return cls(Verdict.RESPOND, reason, status, phrase, headers, detail, auth, username)


_ACCEPTED = Decision(Verdict.ACCEPT, "ok")


# ----------------------------------------------------------------------------------------------- IP ACL


def normalize_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a socket source; an IPv4-mapped IPv6 source (dual-stack socket) counts as IPv4."""
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_VERDICT_CACHE_SIZE = 4096


class IpAcl:
    """An allow list of networks (BYOC has allow lists only, GENESYS.md §3.3). ``None`` admits everyone."""

    def __init__(self, networks: list[str] | None) -> None:
        self.open = networks is None
        parsed = [ipaddress.ip_network(item) for item in networks or ()]
        self._v4 = [n for n in parsed if isinstance(n, ipaddress.IPv4Network)]
        self._v6 = [n for n in parsed if isinstance(n, ipaddress.IPv6Network)]
        # Every request is checked, and a trunk talks from a handful of addresses: remember the verdict
        # per source text (bounded; a flood of spoofed sources only empties it) instead of parsing the
        # address and walking the networks for each message.
        self._verdicts: dict[str, bool] = {}

    def allows(self, source: str) -> bool:
        if self.open:
            return True
        verdict = self._verdicts.get(source)
        if verdict is None:
            verdict = self._decide(source)
            if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[source] = verdict
        return verdict

    def _decide(self, source: str) -> bool:
        address = normalize_ip(source)
        if address is None:
            return False
        networks: list[Network] = [*self._v4] if address.version == 4 else [*self._v6]
        return any(address in network for network in networks)


# ------------------------------------------------------------------------------------------------ DNIS


class DnisMatcher:
    """Expected DNIS: E.164 list/ranges, short-number list/ranges, regexes (GENESYS.md §8.1 match types).

    Ranges compare digit strings of equal length, which orders them numerically. Regexes must match the
    whole user part (``re.fullmatch``) so that ``999\\d`` does not admit ``99912345``.
    """

    def __init__(self, settings: DnisSettings | None) -> None:
        self.settings = settings
        self._patterns = [re.compile(p) for p in settings.regex] if settings else []
        # Every INVITE is matched: the lists are split once into single numbers and ranges.
        self._e164 = _NumberList(settings.e164, settings.ignore_plus) if settings else None
        self._numbers = _NumberList(settings.numbers, False) if settings else None

    def matches(self, user: str | None) -> bool:
        settings = self.settings
        if settings is None:
            return True
        if not user:
            return False
        assert self._e164 is not None and self._numbers is not None
        candidates = {user}
        if settings.ignore_plus:
            bare = user.removeprefix("+")
            candidates |= {bare, "+" + bare}
        for candidate in candidates:
            if self._e164.has(candidate) or self._numbers.has(candidate):
                return True
            if any(pattern.fullmatch(candidate) for pattern in self._patterns):
                return True
        return False


class _NumberList:
    """A DNIS list (``+1999``, ``1000-1005``): a set of the single numbers, and the ranges, which compare
    digit strings of equal length (so lexical order is numeric order)."""

    def __init__(self, items: list[str], ignore_plus: bool) -> None:
        self.ignore_plus = ignore_plus
        self.single: set[str] = set()
        self.ranges: list[tuple[str, str]] = []
        for item in items:
            start, _, end = item.partition("-")
            end = end or start
            if ignore_plus:
                start, end = start.removeprefix("+"), end.removeprefix("+")
            if start == end:
                self.single.add(start)
            else:
                self.ranges.append((start, end))

    def has(self, number: str) -> bool:
        key = number.removeprefix("+") if self.ignore_plus else number
        if key in self.single:
            return True
        return any(len(key) == len(start) and start <= key <= end for start, end in self.ranges)


def dnis_of(request: Request) -> str | None:
    """The user part of the Request-URI without user parameters (``+1999;npdi`` -> ``+1999``)."""
    try:
        uri = request.request_uri
    except SipParseError:
        return None
    if isinstance(uri, TelUri):
        return uri.number
    if isinstance(uri, SipUri) and uri.user:
        return uri.user.partition(";")[0]
    return None


# ------------------------------------------------------------------------------------------- UUI token


def uui_token_of(uui: str | None, settings: UuiTokenSettings) -> str | None:
    """The token field of the decoded UUI per ``settings`` (None when absent)."""
    if uui is None:
        return None
    if settings.field is None:
        return uui
    fields = uui.split(settings.separator)
    if isinstance(settings.field, int):
        return fields[settings.field] if settings.field < len(fields) else None
    for item in fields:
        name, sep, value = item.partition(settings.key_separator)
        if sep and name.strip() == settings.field:
            return value.strip()
    return None


def _same_secret(received: str, expected: str) -> bool:
    """Constant-time comparison (timing must not reveal how much of a guess was right)."""
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))


# --------------------------------------------------------------------------------------------- policy


class AccessPolicy:
    """The five checks of the module docstring, configured by ``access:`` of device.yaml.

    ``digest_key`` signs nonces (``digest.secret_key`` when configured, else random per process);
    ``random_bytes`` feeds the nonces (inject a deterministic one in tests).
    """

    def __init__(
        self,
        settings: AccessSettings,
        *,
        digest_key: bytes | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.settings = settings
        self.acl = IpAcl(settings.ip_acl)
        self.dnis = DnisMatcher(settings.dnis)
        self.digest: DigestServer | None = None
        self._secret: Secret | None = None
        self._token_value = settings.token.value.encode("utf-8") if settings.token is not None else b""
        if settings.digest is not None:
            self.digest, self._secret = _digest_server(settings.digest, digest_key, random_bytes)

    def check_source(self, source_ip: str) -> Decision | None:
        """Step 1 alone, for every request (OPTIONS, in-dialog requests): None when admitted."""
        if self.acl.allows(source_ip):
            return None
        detail = f"source {source_ip} is outside access.ip_acl"
        if self.settings.acl_action == "403":
            return Decision.respond(403, "Forbidden", "acl", detail)
        return Decision.drop("acl", detail)

    def check(
        self, request: Request, source_ip: str, now: float, *, dnis: str | EllipsisType | None = ...
    ) -> Decision:
        """All five steps for an initial INVITE from ``source_ip`` at time ``now``. ``dnis``:
        :func:`dnis_of` the request, when the caller has it already."""
        refused = self.check_source(source_ip)
        if refused is not None:
            return refused
        refused = self._check_token(request)
        if refused is not None:
            return refused
        auth, username = "off", None
        if self.digest is not None:
            outcome = self._check_digest(request, now)
            if not outcome.accepted:
                return outcome
            auth, username = outcome.auth, outcome.username
        user = dnis_of(request) if dnis is ... else dnis
        if not self.dnis.matches(user):
            return Decision.respond(
                404, "Not Found", "dnis", f"DNIS {user!r} is not expected", auth=auth, username=username
            )
        refused = self._check_uui_token(request)
        if refused is not None:
            return Decision.respond(
                refused.status or 403,
                refused.reason_phrase,
                refused.reason,
                refused.detail,
                auth=auth,
                username=username,
            )
        return Decision.accept(auth=auth, username=username)

    # -- the steps --------------------------------------------------------------------------------------

    def _check_token(self, request: Request) -> Decision | None:
        token = self.settings.token
        if token is None:
            return None
        values = request.headers.get_all(token.header)
        if not values:
            return Decision.respond(403, "Forbidden", "token-missing", f"no {token.header} header")
        # Every copy must be right: a proxy that appends a second header must not make a guess pass.
        expected = self._token_value
        for value in values:  # _same_secret, with our side encoded once
            if not hmac.compare_digest(value.strip().encode("utf-8"), expected):
                return Decision.respond(403, "Forbidden", "token-mismatch", f"wrong {token.header} value")
        return None

    def _check_digest(self, request: Request, now: float) -> Decision:
        assert self.digest is not None and self._secret is not None
        settings = self.settings.digest
        assert settings is not None
        header = "Authorization" if settings.status == 401 else "Proxy-Authorization"
        ours: Credentials | None = None
        for value in request.headers.get_all(header):
            if not value.strip().lower().startswith("digest"):
                continue
            try:
                credentials = Credentials.parse(value)
            except DigestError as exc:
                return Decision.respond(
                    exc.status, "Bad Request", "digest-malformed", str(exc), auth="malformed"
                )
            if credentials.realm == self.digest.realm:
                ours = credentials
                break
        if ours is None:
            return self._challenge(now, "digest-challenge", "no credentials for our realm")
        result = self.digest.verify(request.method, ours, self._secret, now, body=request.body)
        outcome = result.outcome
        if outcome is VerifyOutcome.OK:
            return Decision.accept(auth="ok", username=result.username)
        if outcome is VerifyOutcome.BAD_CREDENTIALS:
            return Decision.respond(
                403,
                "Forbidden",
                "digest-bad-credentials",
                result.reason,
                auth="bad-credentials",
                username=result.username,
            )
        reason = {
            VerifyOutcome.STALE: "digest-stale",
            VerifyOutcome.REPLAY: "digest-replay",
            VerifyOutcome.BAD_NONCE: "digest-bad-nonce",
        }[outcome]
        return self._challenge(now, reason, result.reason, stale=outcome is VerifyOutcome.STALE)

    def _challenge(self, now: float, reason: str, detail: str, *, stale: bool = False) -> Decision:
        assert self.digest is not None and self.settings.digest is not None
        status = self.settings.digest.status
        name, phrase = (
            ("WWW-Authenticate", "Unauthorized")
            if status == 401
            else ("Proxy-Authenticate", "Proxy Authentication Required")
        )
        headers = tuple((name, str(challenge)) for challenge in self.digest.challenges(now, stale=stale))
        auth = reason.removeprefix("digest-")
        return Decision.respond(status, phrase, reason, detail, headers=headers, auth=auth)

    def _check_uui_token(self, request: Request) -> Decision | None:
        settings = self.settings.uui_token
        if settings is None:
            return None
        uui = decode_uui(request.headers).text
        token = uui_token_of(uui, settings)
        if token is None:
            return Decision.respond(403, "Forbidden", "uui-token-missing", "no UUI token")
        if not _same_secret(token, settings.value):
            return Decision.respond(403, "Forbidden", "uui-token-mismatch", "wrong UUI token")
        return None


def _digest_server(
    settings: DigestSettings, key: bytes | None, random_bytes: Callable[[int], bytes]
) -> tuple[DigestServer, Secret]:
    if key is None:
        key = settings.secret_key.encode("utf-8") if settings.secret_key else random_bytes(32)
    server = DigestServer(
        settings.realm,
        key,
        settings.nonce_lifetime,
        algorithms=settings.algorithms,
        qop=settings.qop,
        random_bytes=random_bytes,
    )
    username = settings.username
    secret: Secret
    if settings.ha1 is not None:
        ha1 = settings.ha1.lower()
        secret = Ha1Lookup(lambda user, _realm, _base: ha1 if user == username else None)
    else:
        password = settings.password

        def lookup(user: str) -> str | None:
            return password if user == username else None

        secret = lookup
    return server, secret


# -------------------------------------------------------------------------------------------- log once


class LogOnce:
    """Per-key log rate limiting: the first event of a key logs, then at most one line per ``interval``.

    ``check(key, now)`` returns None (stay quiet) or the number of events suppressed since the last line
    (to say "and 57 more"). At most ``max_keys`` keys are remembered (oldest forgotten first), so a flood
    from many spoofed sources costs bounded memory; a forgotten key simply logs again.
    """

    def __init__(self, interval: float, *, max_keys: int = 4096) -> None:
        if interval < 0 or max_keys < 1:
            raise ValueError("interval must be >= 0 and max_keys >= 1")
        self.interval = interval
        self.max_keys = max_keys
        self._seen: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, key: Hashable, now: float) -> int | None:
        entry = self._seen.get(key)
        if entry is not None:
            last, suppressed = entry
            if now - last < self.interval:
                self._seen[key] = (last, suppressed + 1)
                return None
            del self._seen[key]
            self._seen[key] = (now, 0)
            return suppressed
        self._seen[key] = (now, 0)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return 0
