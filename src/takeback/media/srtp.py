"""SRTP for one media session: our key protects what we send, the peer's key opens what we receive.

SDES (RFC 4568 §6.1) gives each direction its own master key, so a session holds an outbound and an
inbound transform. Two engines do the work behind one interface, :class:`SrtpTransforms`:

* ``libsrtp`` (the ``pylibsrtp`` binding): about twice as fast (``bench/results/srtp.json``,
  docs/DECISIONS.md "SRTP engine"), used when it is installed and knows the suite;
* ``takeback``: :class:`takeback.rtp.srtp.SrtpContext`, pure Python on ``cryptography``, the reference
  the tests check libsrtp against, and the fallback (no binding, or the AES-192/256 suites that
  ``pylibsrtp`` does not expose).

Both raise the exception types of :mod:`takeback.rtp.srtp`, so callers count failures the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal

from takeback.media.params import SrtpKeys
from takeback.rtp.srtp import (
    SUITES,
    SrtpAuthenticationError,
    SrtpContext,
    SrtpError,
    SrtpFormatError,
    SrtpReplayError,
)

__all__ = ["ENGINES", "SrtpEngine", "SrtpTransforms", "available_engines", "open_transforms"]

SrtpEngine = Literal["auto", "libsrtp", "takeback"]
ENGINES: tuple[SrtpEngine, ...] = ("auto", "libsrtp", "takeback")
Transform = Callable[[bytes], bytes]

_pylibsrtp: ModuleType | None
try:
    import pylibsrtp as _pylibsrtp
except ImportError:  # optional at import time; pyproject makes it a dependency
    _pylibsrtp = None

_LIBSRTP_PROFILES: dict[str, Any] = (
    {}
    if _pylibsrtp is None
    else {
        "AES_CM_128_HMAC_SHA1_80": _pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        "AES_CM_128_HMAC_SHA1_32": _pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    }
)


def available_engines(suite: str) -> tuple[str, ...]:
    """Engines able to run ``suite`` here, fastest first."""
    name = suite.upper()
    engines = []
    if name in _LIBSRTP_PROFILES:
        engines.append("libsrtp")
    if name in SUITES:
        engines.append("takeback")
    return tuple(engines)


class SrtpTransforms:
    """``protect``/``protect_rtcp`` (our key) and ``unprotect``/``unprotect_rtcp`` (the peer's key).

    The four attributes are plain callables looked up once by the sender and receiver; ``engine`` says
    which implementation runs them.
    """

    __slots__ = ("engine", "protect", "protect_rtcp", "suite", "unprotect", "unprotect_rtcp")

    def __init__(
        self,
        engine: str,
        suite: str,
        protect: Transform,
        unprotect: Transform,
        protect_rtcp: Transform,
        unprotect_rtcp: Transform,
    ) -> None:
        self.engine = engine
        self.suite = suite
        self.protect = protect
        self.unprotect = unprotect
        self.protect_rtcp = protect_rtcp
        self.unprotect_rtcp = unprotect_rtcp

    def __repr__(self) -> str:
        return f"<SrtpTransforms {self.suite} via {self.engine}>"


def open_transforms(keys: SrtpKeys, engine: SrtpEngine = "auto") -> SrtpTransforms:
    """Build both directions for ``keys``; ``engine="auto"`` takes libsrtp when it can.

    Raises ``ValueError`` for an unknown suite, a wrong key length, or an engine that cannot run it.
    """
    if engine not in ENGINES:
        raise ValueError(f"SRTP engine must be one of {ENGINES}, not {engine!r}")
    suite = keys.suite.upper()
    engines = available_engines(suite)
    if not engines:
        raise ValueError(f"unsupported SRTP crypto suite {keys.suite!r}")
    chosen = engines[0] if engine == "auto" else engine
    if chosen not in engines:
        raise ValueError(f"the {chosen} SRTP engine cannot run {suite} here (available: {engines})")
    if chosen == "libsrtp":
        return _libsrtp(suite, keys)
    outbound = SrtpContext(suite, keys.local_key)
    inbound = SrtpContext(suite, keys.remote_key)
    return SrtpTransforms(
        "takeback", suite, outbound.protect, inbound.unprotect, outbound.protect_rtcp, inbound.unprotect_rtcp
    )


def _libsrtp(suite: str, keys: SrtpKeys) -> SrtpTransforms:
    assert _pylibsrtp is not None
    library = _pylibsrtp
    policy = library.Policy
    expected = SUITES[suite].master_length
    for key in (keys.local_key, keys.remote_key):
        if len(key) != expected:  # libsrtp would read only the first bytes of a longer key
            raise ValueError(f"{suite} needs {expected} bytes of key and salt, got {len(key)}")
    profile = _LIBSRTP_PROFILES[suite]
    outbound_policy = policy(key=keys.local_key, ssrc_type=policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
    outbound_policy.allow_repeat_tx = True  # a resent packet (same index) is not an error when sending
    outbound = library.Session(outbound_policy)
    inbound = library.Session(
        policy(key=keys.remote_key, ssrc_type=policy.SSRC_ANY_INBOUND, srtp_profile=profile)
    )
    error = library.Error

    def protect(packet: bytes) -> bytes:
        try:
            result: bytes = outbound.protect(packet)
        except (error, TypeError, ValueError) as exc:
            raise _translate(exc) from None
        return result

    def unprotect(packet: bytes) -> bytes:
        try:
            result: bytes = inbound.unprotect(packet)
        except (error, TypeError, ValueError) as exc:
            raise _translate(exc) from None
        return result

    def protect_rtcp(packet: bytes) -> bytes:
        try:
            result: bytes = outbound.protect_rtcp(packet)
        except (error, TypeError, ValueError) as exc:
            raise _translate(exc) from None
        return result

    def unprotect_rtcp(packet: bytes) -> bytes:
        try:
            result: bytes = inbound.unprotect_rtcp(packet)
        except (error, TypeError, ValueError) as exc:
            raise _translate(exc) from None
        return result

    return SrtpTransforms("libsrtp", suite, protect, unprotect, protect_rtcp, unprotect_rtcp)


def _translate(exc: Exception) -> SrtpError:
    """libsrtp's status text as one of our exception types (RFC 3711 §3.3 steps that failed)."""
    text = str(exc)
    if "authentication" in text:
        return SrtpAuthenticationError(f"libsrtp: {text}")
    if "replay" in text or "too old" in text:
        return SrtpReplayError(f"libsrtp: {text}")
    if isinstance(exc, TypeError | ValueError) or "parse" in text or "bad param" in text:
        return SrtpFormatError(f"libsrtp: {text}")
    return SrtpError(f"libsrtp: {text}")
