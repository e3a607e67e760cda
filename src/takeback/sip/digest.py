"""SIP Digest authentication: the response computation, the UAC answer, and a stateless-nonce UAS.

RFC 3261 §22.4 profiles HTTP Digest (RFC 2617) for SIP; RFC 7616 obsoletes RFC 2617 and adds SHA-256 and
SHA-512-256; RFC 8760 brings those to SIP. Implemented: MD5, SHA-256 and SHA-512-256 with their ``-sess``
variants, ``qop=auth``, ``qop=auth-int`` and the RFC 2069 no-qop form kept by RFC 2617 §3.2.2.

Sans-IO: values in, values out. Time is the caller's ``now``; random bytes come from a callable injected into
:class:`DigestServer` (``os.urandom`` unless the caller supplies one) and from the caller's ``cnonce`` on the
UAC side. The only state is the server's bounded nonce-count table used to detect replays.
"""

from __future__ import annotations

import binascii
import enum
import hashlib
import hmac
import math
import os
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeAlias

from takeback.sip.authparams import (
    Challenge,
    Credentials,
    DigestError,
    canonical_algorithm,
    check_field_text,
    parse_challenges,
)

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "Challenge",
    "Credentials",
    "DigestError",
    "DigestServer",
    "Ha1Lookup",
    "PasswordLookup",
    "Secret",
    "VerifyOutcome",
    "VerifyResult",
    "answer_challenge",
    "canonical_algorithm",
    "compute_ha1",
    "compute_response",
    "parse_challenges",
    "pick_best_challenge",
]

# --- Algorithms and the response computation (RFC 7616 §3.4.1-§3.4.3) ---

_HASHLIB_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
# Local preference when several challenges are answerable: strongest first (RFC 7616 §3.7, RFC 8760 §2.4).
_STRENGTH = {"MD5": 1, "SHA-256": 2, "SHA-512-256": 3}
_SESS = "-sess"


def _hash_available(hashlib_name: str) -> bool:
    try:
        hashlib.new(hashlib_name, usedforsecurity=False)
    except ValueError:  # SHA-512/256 needs OpenSSL; absent on some builds
        return False
    return True


SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(
    name + suffix
    for name, hashlib_name in _HASHLIB_NAMES.items()
    if _hash_available(hashlib_name)
    for suffix in ("", _SESS)
)
_QOP_PREFERENCE = ("auth", "auth-int")  # RFC 3261 §22.4: "auth" is what SIP UAs are expected to use


def _base_algorithm(algorithm: str) -> str:
    canonical = canonical_algorithm(algorithm)
    base = canonical.removesuffix(_SESS)
    if canonical not in SUPPORTED_ALGORITHMS:
        raise DigestError(f"unsupported digest algorithm {algorithm!r}")
    return base


def _is_sess(algorithm: str) -> bool:
    return canonical_algorithm(algorithm).endswith(_SESS)


# The constructors themselves: ``hashlib.new(name)`` goes through a Python-level dispatcher on every call.
_HASH_CONSTRUCTORS: dict[str, Callable[..., hashlib._Hash]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": partial(hashlib.new, "sha512_256"),
}


def _h(base: str, data: bytes) -> str:
    return _HASH_CONSTRUCTORS[base](data, usedforsecurity=False).hexdigest()


def _hs(base: str, *parts: str) -> str:
    """H(part1 ":" part2 ...) over UTF-8 (RFC 3261 text is UTF-8; RFC 7616 §3.4.4)."""
    return _h(base, ":".join(parts).encode("utf-8"))


def compute_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username ":" realm ":" password) with the algorithm's hash (RFC 7616 §3.4.2).

    This is what a server may store instead of the password. For a ``-sess`` algorithm it is still the plain
    value: the session key is derived from it per request by :func:`compute_response`.
    """
    return _hs(_base_algorithm(algorithm), username, realm, password)


def compute_response(
    algorithm: str,
    ha1: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The request-digest both sides compute (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 for the no-qop form).

    ``ha1`` is :func:`compute_ha1`'s value; ``-sess`` turns it into H(ha1 ":" nonce ":" cnonce) (§3.4.2).
    ``auth-int`` hashes the message body into A2 (§3.4.3; RFC 3261 §22.4: an absent body hashes as empty).
    """
    base = _base_algorithm(algorithm)
    if _is_sess(algorithm):
        if cnonce is None:
            raise DigestError(f"{algorithm} requires a cnonce")
        ha1 = _hs(base, ha1, nonce, cnonce)
    if qop in (None, "auth"):
        ha2 = _hs(base, method, uri)
    elif qop == "auth-int":
        ha2 = _hs(base, method, uri, _h(base, body))
    else:
        raise DigestError(f"unsupported qop {qop!r}")
    if qop is None:
        return _hs(base, ha1, nonce, ha2)
    if nc is None or cnonce is None:
        raise DigestError("qop requires nc and cnonce")
    return _hs(base, ha1, nonce, nc, cnonce, qop, ha2)


# --- UAC side ---


def _choose_qop(offered: tuple[str, ...]) -> str | None:
    if not offered:
        return None  # RFC 2069 compatibility (RFC 2617 §3.2.2)
    for option in _QOP_PREFERENCE:
        if option in offered:
            return option
    raise DigestError(f"no supported qop among {offered!r}")


def _answerable(challenge: Challenge) -> bool:
    if canonical_algorithm(challenge.algorithm) not in SUPPORTED_ALGORITHMS:
        return False
    return not challenge.qop or any(option in challenge.qop for option in _QOP_PREFERENCE)


def pick_best_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge a UAC should answer: the strongest supported algorithm, the topmost among equals.

    RFC 8760 §2.3 has the UAS list one challenge per algorithm, most preferred first, and §2.4 lets local
    policy override "topmost"; preferring the strongest hash means that re-ordering the headers cannot
    downgrade us to MD5 when SHA-256 is also offered (RFC 7616 §3.7, §5.9).
    """
    best: Challenge | None = None
    best_rank = 0
    for challenge in challenges:
        if not _answerable(challenge):
            continue
        rank = _STRENGTH[_base_algorithm(challenge.algorithm)]
        if rank > best_rank:
            best, best_rank = challenge, rank
    return best


def answer_challenge(
    challenge: Challenge,
    method: str,
    uri: str,
    username: str,
    password: str,
    *,
    cnonce: str,
    nc: int = 1,
    body: bytes = b"",
) -> Credentials:
    """Build the credentials answering ``challenge`` for a request ``method uri`` (RFC 7616 §3.4).

    ``cnonce`` comes from the caller (unpredictable, e.g. ``secrets.token_hex(8)``) and ``nc`` counts the
    requests made with this nonce, starting at 1. Chooses ``qop=auth`` when offered, else ``auth-int``
    (hashing ``body``), else the RFC 2069 form. Raises :class:`DigestError` for an unanswerable challenge.
    """
    algorithm = canonical_algorithm(challenge.algorithm)
    _base_algorithm(algorithm)  # raises for an unsupported algorithm
    qop = _choose_qop(challenge.qop)
    if not 1 <= nc <= 0xFFFFFFFF:
        raise DigestError("nc must be between 1 and 0xffffffff")
    if not cnonce:
        raise DigestError("cnonce must not be empty")
    send_cnonce = qop is not None or _is_sess(algorithm)
    nc_text = f"{nc:08x}" if qop is not None else None
    ha1 = compute_ha1(algorithm, username, challenge.realm, password)
    response = compute_response(
        algorithm,
        ha1,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
        body=body,
    )
    # RFC 7616 §3.4.4: with userhash the username field carries H(username ":" realm).
    sent_username = (
        _hs(_base_algorithm(algorithm), username, challenge.realm) if challenge.userhash else username
    )
    return Credentials(
        username=sent_username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=algorithm,
        cnonce=cnonce if send_cnonce else None,
        opaque=challenge.opaque,
        qop=qop,
        nc=nc_text,
        userhash=challenge.userhash,
    )


# --- UAS side ---

PasswordLookup: TypeAlias = Callable[[str], str | None]
"""username -> clear-text password, or None for an unknown user."""


@dataclass(frozen=True, slots=True)
class Ha1Lookup:
    """Look up a stored HA1 instead of a password: ``lookup(username, realm, base_algorithm)`` returns
    :func:`compute_ha1` for that user (hex), or None. ``base_algorithm`` is "MD5", "SHA-256" or "SHA-512-256"
    (a ``-sess`` request uses the plain HA1)."""

    lookup: Callable[[str, str, str], str | None]


Secret: TypeAlias = str | PasswordLookup | Ha1Lookup
"""What :meth:`DigestServer.verify` checks against: a password, a password lookup, or an HA1 lookup."""


class VerifyOutcome(enum.Enum):
    """What :meth:`DigestServer.verify` concluded, and what the caller should do about it."""

    OK = "ok"
    #: Wrong password/user/realm/algorithm/qop: challenge again (401/407) or refuse (403).
    BAD_CREDENTIALS = "bad-credentials"
    #: Correct digest on one of our nonces that expired (or can no longer be replay-checked): challenge again
    #: with ``stale=true`` so the UAC retries without asking for a password (RFC 7616 §3.3).
    STALE = "stale"
    #: The nonce is not one we issued (forged, corrupted, other realm or key): challenge again, stale=false.
    BAD_NONCE = "bad-nonce"
    #: The nonce-count did not increase for this nonce (RFC 7616 §3.4, §5.5): a replay; challenge again.
    REPLAY = "replay"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome, the username the request claimed (for the caller's own policy and logs), and why."""

    outcome: VerifyOutcome
    username: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is VerifyOutcome.OK


_NONCE_CONTEXT = b"takeback-sip-digest-nonce-v1\x00"
_NONCE_RANDOM_LEN = 16
_NONCE_TAG_LEN = 16  # 128-bit HMAC-SHA-256 truncation
_NONCE_PAYLOAD_LEN = 8 + _NONCE_RANDOM_LEN
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{54}")  # base64url of 40 bytes, unpadded
_CLOCK_TOLERANCE = 0.001  # issue times are rounded to the microsecond
_INT64 = 2**63


class _NonceCounts:
    """Highest nonce-count seen per nonce: the server's only state (RFC 7616 §3.4, §5.5).

    Bounded: entries leave in first-seen order once their nonce expires or the table is full. Evicting a live
    entry would forget its counter and let an old nc be replayed, so the issue time of every evicted live
    nonce raises a floor; an untracked nonce issued at or before the floor is reported as untrackable and the
    server answers STALE, which makes the UAC fetch a fresh nonce transparently.
    """

    def __init__(self, max_entries: int, lifetime: float) -> None:
        self._max = max_entries
        self._lifetime = lifetime
        self._counts: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._floor = -math.inf

    def __len__(self) -> int:
        return len(self._counts)

    def advance(self, nonce: str, issued: float, nc: int, now: float) -> VerifyOutcome:
        """Record ``nc`` for ``nonce`` if it is higher than any seen; REPLAY if not, STALE if untrackable."""
        self._prune(now)
        entry = self._counts.get(nonce)
        if entry is None and issued <= self._floor:
            return VerifyOutcome.STALE
        if nc <= (entry[1] if entry else 0):
            return VerifyOutcome.REPLAY
        self._counts[nonce] = (issued, nc)
        while len(self._counts) > self._max:
            _, (evicted_issued, _) = self._counts.popitem(last=False)
            self._floor = max(self._floor, evicted_issued)
        return VerifyOutcome.OK

    def _prune(self, now: float) -> None:
        while self._counts:
            issued, _ = next(iter(self._counts.values()))
            if now - issued <= self._lifetime:
                return
            self._counts.popitem(last=False)


class DigestServer:
    """A UAS/proxy Digest authenticator with stateless, HMAC-signed nonces (RFC 7616 §3.3 and §5.4).

    A nonce is base64url(issue-time || random || HMAC-SHA-256(key, realm || issue-time || random)[:16]); the
    server recognises its own nonces and their age without storing them, so any process sharing ``secret_key``
    can verify. ``nonce_lifetime`` (seconds) bounds how long a nonce is accepted before STALE.

    ``algorithms`` is in preference order: :meth:`challenges` emits one challenge per algorithm, first = most
    preferred (RFC 8760 §2.3). Keep ``"MD5"`` first (or alone) for peers that read only the first header,
    such as SIPp 3.6. ``qop=()`` selects the RFC 2069 form (no nc: no replay detection within the lifetime).

    ``max_tracked_nonces`` bounds the replay table. Size it for the logins expected within one
    ``nonce_lifetime``; beyond that, the oldest entries are dropped and their nonces answered STALE (one extra
    round trip for the UAC, never an accepted replay).
    """

    def __init__(
        self,
        realm: str,
        secret_key: bytes,
        nonce_lifetime: float,
        algorithms: Sequence[str] = ("MD5",),
        qop: Sequence[str] = ("auth",),
        *,
        opaque: str | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
        max_tracked_nonces: int = 10_000,
    ) -> None:
        check_field_text("realm", realm)
        if len(secret_key) < 16:
            raise ValueError("secret_key must be at least 16 bytes")
        if not (math.isfinite(nonce_lifetime) and nonce_lifetime > 0):
            raise ValueError("nonce_lifetime must be a positive number of seconds")
        canonical = tuple(canonical_algorithm(a) for a in algorithms)
        if not canonical or any(a not in SUPPORTED_ALGORITHMS for a in canonical):
            raise ValueError(f"algorithms must be a non-empty subset of {SUPPORTED_ALGORITHMS}")
        options = tuple(q.lower() for q in qop)
        if any(q not in _QOP_PREFERENCE for q in options):
            raise ValueError(f"qop must be a subset of {_QOP_PREFERENCE}")
        if max_tracked_nonces < 1:
            raise ValueError("max_tracked_nonces must be at least 1")
        if opaque is not None:
            check_field_text("opaque", opaque)
        self.realm = realm
        self.nonce_lifetime = float(nonce_lifetime)
        self.algorithms: tuple[str, ...] = canonical
        self.qop: tuple[str, ...] = options
        self.opaque = opaque
        self._key = secret_key
        self._sign_prefix = _NONCE_CONTEXT + realm.encode("utf-8") + b"\x00"
        self._random_bytes = random_bytes
        self._counts = _NonceCounts(max_tracked_nonces, self.nonce_lifetime)

    @property
    def tracked_nonces(self) -> int:
        """How many nonces currently have a recorded nonce-count (bounded by ``max_tracked_nonces``)."""
        return len(self._counts)

    # -- nonces ---------------------------------------------------------------------------------------------

    def issue_nonce(self, now: float) -> str:
        """A fresh signed nonce carrying ``now`` as its issue time."""
        if not math.isfinite(now) or not -_INT64 < now * 1e6 < _INT64:
            raise ValueError("now must be a finite time in seconds")
        random_part = self._random_bytes(_NONCE_RANDOM_LEN)
        if len(random_part) != _NONCE_RANDOM_LEN:
            raise ValueError("random_bytes returned the wrong number of bytes")
        payload = struct.pack(">q", math.floor(now * 1e6)) + random_part
        return _b64(payload + self._sign(payload))

    def nonce_issued_at(self, nonce: str) -> float | None:
        """The issue time of a nonce this server signed; None if it did not (forged, corrupted, aliased)."""
        if not _NONCE_RE.fullmatch(nonce):
            return None
        raw = binascii.a2b_base64(nonce.encode("ascii").translate(_FROM_URLSAFE) + b"==")
        if _b64(raw) != nonce:  # non-canonical base64: same bytes, different string; refuse the alias
            return None
        payload, tag = raw[:_NONCE_PAYLOAD_LEN], raw[_NONCE_PAYLOAD_LEN:]
        if not hmac.compare_digest(self._sign(payload), tag):
            return None
        (issued_us,) = struct.unpack(">q", payload[:8])
        return float(issued_us) / 1e6

    def _sign(self, payload: bytes) -> bytes:
        return hmac.digest(self._key, self._sign_prefix + payload, "sha256")[:_NONCE_TAG_LEN]

    # -- challenges -----------------------------------------------------------------------------------------

    def challenges(self, now: float, *, stale: bool = False) -> tuple[Challenge, ...]:
        """One challenge per configured algorithm, most preferred first, sharing one fresh nonce
        (RFC 8760 §2.3). Put each in its own ``WWW-Authenticate``/``Proxy-Authenticate`` header."""
        nonce = self.issue_nonce(now)
        return tuple(
            Challenge(
                realm=self.realm,
                nonce=nonce,
                algorithm=algorithm,
                qop=self.qop,
                opaque=self.opaque,
                stale=stale,
            )
            for algorithm in self.algorithms
        )

    def challenge(self, now: float, stale: bool = False) -> Challenge:
        """The single challenge for the most preferred algorithm."""
        return self.challenges(now, stale=stale)[0]

    # -- verification ---------------------------------------------------------------------------------------

    def verify(
        self, method: str, credentials: Credentials, secret: Secret, now: float, body: bytes = b""
    ) -> VerifyResult:
        """Check ``credentials`` sent with a request ``method`` (and ``body`` for ``auth-int``).

        ``secret`` is the password (any username is then accepted: check ``result.username`` yourself), a
        :data:`PasswordLookup`, or an :class:`Ha1Lookup`. Order matters: a forged nonce is BAD_NONCE whatever
        the digest; STALE is reported only when the digest is right (RFC 7616 §3.3 "stale"), so a guessing
        attacker learns nothing from it; the nonce-count is recorded only after the digest verified, so
        unauthenticated traffic cannot fill the replay table.

        ``credentials.uri`` is not compared with the Request-URI: SIPp 3.6 sends ``sip:host:port`` there and
        proxies may rewrite the Request-URI (RFC 3261 §16.5); a caller whose policy wants the check does it.
        """
        if not math.isfinite(now):
            raise ValueError(
                "now must be a finite time in seconds"
            )  # NaN would silently skip the expiry check
        user = credentials.username
        refusal = self._policy_refusal(credentials)
        if refusal:
            return VerifyResult(VerifyOutcome.BAD_CREDENTIALS, user, refusal)
        issued = self.nonce_issued_at(credentials.nonce)
        if issued is None:
            return VerifyResult(VerifyOutcome.BAD_NONCE, user, "nonce not issued by this server")
        ha1 = self._ha1(secret, user, credentials.algorithm)
        if ha1 is None:
            return VerifyResult(VerifyOutcome.BAD_CREDENTIALS, user, "unknown user")
        expected = compute_response(
            credentials.algorithm,
            ha1,
            nonce=credentials.nonce,
            method=method,
            uri=credentials.uri,
            qop=credentials.qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
            body=body,
        )
        received = credentials.response.lower().encode("utf-8")
        if not hmac.compare_digest(expected.encode("ascii"), received):
            return VerifyResult(VerifyOutcome.BAD_CREDENTIALS, user, "response digest mismatch")
        age = now - issued
        if age > self.nonce_lifetime or age < -_CLOCK_TOLERANCE:
            return VerifyResult(VerifyOutcome.STALE, user, "nonce expired")
        nonce_count = credentials.nonce_count
        if nonce_count is not None:
            outcome = self._counts.advance(credentials.nonce, issued, nonce_count, now)
            if outcome is VerifyOutcome.REPLAY:
                return VerifyResult(outcome, user, f"nonce-count {credentials.nc} not above the last one")
            if outcome is VerifyOutcome.STALE:
                return VerifyResult(outcome, user, "nonce evicted from the replay table")
        return VerifyResult(VerifyOutcome.OK, user)

    def _policy_refusal(self, credentials: Credentials) -> str:
        """Why these credentials answer something we never offered ("" when they match our challenge)."""
        if credentials.realm != self.realm:
            return "realm mismatch"
        if canonical_algorithm(credentials.algorithm) not in self.algorithms:
            return f"algorithm {credentials.algorithm} not offered"
        if credentials.qop is None and self.qop:
            return "qop required"  # RFC 2617 §3.2.2: MUST use qop when the server offered it
        if credentials.qop is not None and credentials.qop not in self.qop:
            return f"qop {credentials.qop} not offered"
        if self.opaque is not None and credentials.opaque != self.opaque:
            return "opaque not echoed"  # RFC 7616 §3.4: returned unchanged
        if credentials.userhash:
            return "userhash not offered"
        return ""

    def _ha1(self, secret: Secret, username: str, algorithm: str) -> str | None:
        base = _base_algorithm(algorithm)
        if isinstance(secret, Ha1Lookup):
            stored = secret.lookup(username, self.realm, base)
            return None if stored is None else stored.lower()
        password = secret if isinstance(secret, str) else secret(username)
        if password is None:
            return None
        return compute_ha1(base, username, self.realm, password)


def _b64(raw: bytes) -> str:
    """base64url without padding (RFC 4648 §5); binascii directly, as the base64 module's wrappers cost
    several Python calls per nonce."""
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
