"""SDES ``a=crypto`` attributes (RFC 4568) for SRTP keying on TLS trunks.

Grammar (RFC 4568 §9.1)::

    a=crypto:<tag> <crypto-suite> <key-params> [<session-param>] ...
    key-params = key-param *(";" key-param)
    key-param  = "inline:" <base64 key||salt> ["|" lifetime] ["|" MKI ":" MKI-length]

SRTP itself is out of scope here; this module reads, writes and selects keys. Key material comes from the
caller (``key_source(n) -> n random bytes``), which keeps the module free of hidden randomness.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from takeback.sdp.errors import SdpParseError

__all__ = [
    "DEFAULT_SUITES",
    "SUITE_KEY_LENGTHS",
    "CryptoAttribute",
    "KeyParams",
    "select_crypto",
]

# Master key + master salt lengths in bytes: RFC 4568 §6.2 (AES_CM_128, F8_128), RFC 6188 §7 (AES_192/256),
# RFC 7714 §12 (AEAD_AES_GCM: 128/256-bit key + 96-bit salt).
SUITE_KEY_LENGTHS: Mapping[str, int] = MappingProxyType(
    {
        "AES_CM_128_HMAC_SHA1_80": 30,
        "AES_CM_128_HMAC_SHA1_32": 30,
        "F8_128_HMAC_SHA1_80": 30,
        "AES_192_CM_HMAC_SHA1_80": 38,
        "AES_192_CM_HMAC_SHA1_32": 38,
        "AES_256_CM_HMAC_SHA1_80": 46,
        "AES_256_CM_HMAC_SHA1_32": 46,
        "AEAD_AES_128_GCM": 28,
        "AEAD_AES_256_GCM": 44,
    }
)
DEFAULT_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")

_TAG = re.compile(r"[0-9]{1,9}")
_SUITE = re.compile(r"[A-Za-z0-9_]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_LIFETIME = re.compile(r"(?:2\^)?[0-9]{1,20}")
_MKI = re.compile(r"[0-9]{1,20}:[0-9]{1,3}")
_METHOD = re.compile(r"[A-Za-z0-9_\-.]+")
_SESSION_PARAM = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class KeyParams:
    """One ``<method>:<info>`` key parameter. For ``inline`` (the only method RFC 4568 defines) ``key_salt``
    is the base64 text and ``lifetime``/``mki`` the optional ``|`` parts; other methods keep their whole info
    text in ``key_salt``."""

    key_salt: str
    lifetime: str | None = None
    mki: str | None = None
    method: str = "inline"

    def __post_init__(self) -> None:
        if _METHOD.fullmatch(self.method) is None:
            raise SdpParseError(f"a=crypto: bad key method {self.method!r}")
        if self.method.lower() != "inline":
            if not self.key_salt or any(ch.isspace() or ch == ";" for ch in self.key_salt):
                raise SdpParseError(f"a=crypto: bad key info {self.key_salt!r}")
            return
        if _BASE64.fullmatch(self.key_salt) is None or len(self.key_salt) % 4 == 1:
            raise SdpParseError("a=crypto: inline key is not base64")
        if self.lifetime is not None and _LIFETIME.fullmatch(self.lifetime) is None:
            raise SdpParseError(f"a=crypto: bad key lifetime {self.lifetime!r}")
        if self.mki is not None and _MKI.fullmatch(self.mki) is None:
            raise SdpParseError(f"a=crypto: bad MKI {self.mki!r}")

    @classmethod
    def parse(cls, text: str) -> KeyParams:
        method, sep, info = text.partition(":")
        if not sep:
            raise SdpParseError(f"a=crypto: key parameter {text!r} lacks '<method>:'")
        if method.lower() != "inline":
            return cls(info, method=method)
        key_salt, *rest = info.split("|")
        if len(rest) > 2:
            raise SdpParseError(f"a=crypto: too many '|' parts in {text!r}")
        lifetime: str | None = None
        mki: str | None = None
        for position, part in enumerate(rest):
            # RFC 4568 §9.1: lifetime comes first; an MKI is recognisable by its ':'.
            if ":" in part:
                mki = part
            elif position == 0:
                lifetime = part
            else:
                raise SdpParseError(f"a=crypto: expected MKI after lifetime in {text!r}")
        return cls(key_salt, lifetime, mki, method)

    @property
    def key(self) -> bytes:
        """The decoded master key || master salt (inline method)."""
        padded = self.key_salt + "=" * (-len(self.key_salt) % 4)
        try:
            return base64.b64decode(padded, validate=True)
        except binascii.Error:
            raise SdpParseError("a=crypto: inline key is not base64") from None

    @property
    def lifetime_packets(self) -> int | None:
        """The master key lifetime in packets (``2^31`` -> 2147483648), or ``None``."""
        if self.lifetime is None:
            return None
        if self.lifetime.startswith("2^"):
            exponent = int(self.lifetime[2:])
            return (
                2**exponent if exponent <= 64 else None
            )  # SRTP indices are 48-bit; anything larger is absurd
        return int(self.lifetime)

    def __str__(self) -> str:
        parts = [self.key_salt]
        if self.lifetime is not None:
            parts.append(self.lifetime)
        if self.mki is not None:
            parts.append(self.mki)
        return f"{self.method}:{'|'.join(parts)}"


@dataclass(frozen=True, slots=True)
class CryptoAttribute:
    """The value of one ``a=crypto`` line (without the ``crypto:`` name)."""

    tag: int
    suite: str
    key_params: tuple[KeyParams, ...]
    session_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.tag <= 999_999_999:
            raise SdpParseError(f"a=crypto: tag {self.tag} must have 1-9 digits")
        if _SUITE.fullmatch(self.suite) is None:
            raise SdpParseError(f"a=crypto: bad crypto-suite {self.suite!r}")
        if not self.key_params:
            raise SdpParseError("a=crypto: at least one key parameter is required")
        for param in self.session_params:
            if _SESSION_PARAM.fullmatch(param) is None:
                raise SdpParseError(f"a=crypto: bad session parameter {param!r}")

    @classmethod
    def parse(cls, value: str) -> CryptoAttribute:
        """Parse the text after ``a=crypto:``; raises ``SdpParseError`` when malformed."""
        parts = value.split()
        if len(parts) < 3:
            raise SdpParseError(f"a=crypto: expected <tag> <suite> <key-params>, got {value!r}")
        tag, suite, keys, *session_params = parts
        if _TAG.fullmatch(tag) is None:
            raise SdpParseError(f"a=crypto: bad tag {tag!r}")
        key_params = tuple(KeyParams.parse(item) for item in keys.split(";"))
        return cls(int(tag), suite, key_params, tuple(session_params))

    @classmethod
    def inline(
        cls,
        tag: int,
        suite: str,
        key: bytes,
        *,
        lifetime: str | None = None,
        mki: str | None = None,
        session_params: Sequence[str] = (),
    ) -> CryptoAttribute:
        """A crypto line carrying ``key`` (master key || salt); its length is checked for known suites."""
        expected = SUITE_KEY_LENGTHS.get(suite.upper())
        if expected is not None and len(key) != expected:
            raise ValueError(f"{suite} needs {expected} bytes of key and salt, got {len(key)}")
        text = base64.b64encode(key).decode("ascii")
        return cls(tag, suite, (KeyParams(text, lifetime, mki),), tuple(session_params))

    @property
    def key(self) -> bytes:
        """Master key || salt of the first key parameter."""
        return self.key_params[0].key

    @property
    def has_usable_key(self) -> bool:
        """Every key is inline, decodes, and has the length the (known) suite needs (RFC 4568 §6.1)."""
        expected = SUITE_KEY_LENGTHS.get(self.suite.upper())
        for params in self.key_params:
            if params.method.lower() != "inline":
                return False
            try:
                key = params.key
            except SdpParseError:
                return False
            if expected is None or len(key) != expected:
                return False
        return True

    def __str__(self) -> str:
        keys = ";".join(str(params) for params in self.key_params)
        return " ".join((str(self.tag), self.suite, keys, *self.session_params))


def select_crypto(
    offered: Sequence[CryptoAttribute],
    suites: Sequence[str],
    key_source: Callable[[int], bytes] | None,
    *,
    reuse: CryptoAttribute | None = None,
) -> tuple[CryptoAttribute, CryptoAttribute] | None:
    """Pick the offer's first acceptable crypto line and build our answer line: ``(remote, local)``.

    RFC 4568 §7.1.2: the answer carries exactly one crypto attribute with the same tag and suite as the
    offered one it accepts, and the answerer's own key. Lines with session parameters (``KDR=``,
    ``UNENCRYPTED_SRTP``, ...), several keys or an MKI are passed over, since we could not honour them.
    ``reuse`` keeps our key stable across re-INVITEs (RFC 4568 §7.1.4 allows it) so an unchanged re-offer
    gives an unchanged answer.
    """
    wanted = [suite.upper() for suite in suites]
    for candidate in offered:
        suite = candidate.suite.upper()
        if suite not in wanted or candidate.session_params or not candidate.has_usable_key:
            continue
        if len(candidate.key_params) != 1 or candidate.key_params[0].mki is not None:
            continue  # several master keys or an MKI (RFC 4568 §6.1): the SRTP engines keep one key, no MKI
        if reuse is not None and reuse.suite.upper() == suite:
            key = reuse.key
        elif key_source is not None:
            key = key_source(SUITE_KEY_LENGTHS[suite])
        else:
            return None
        return candidate, CryptoAttribute.inline(candidate.tag, candidate.suite, key)
    return None
