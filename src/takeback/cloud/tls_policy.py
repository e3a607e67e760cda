"""Genesys Cloud's TLS profile (GENESYS.md §7 [DOC RC-TLS]) and why a handshake with a device failed.

Genesys speaks TLS 1.2 with eight cipher suites, all with RSA authentication, and ECDHE on secp384r1
only. The emulator applies the same list on both roles: as the TLS server of the device's in-dialog
connections (REFER, BYE) and as the TLS client of the INVITE it sends to a ``protocol: tls`` trunk. A device
whose certificate has an ECDSA key therefore cannot complete a handshake with real Genesys, and neither
can it with the emulator; :func:`explain_tls_failure` turns that into a reason that says so.

``ciphers: default`` (``emulator.tls.ciphers``) keeps Python's default suites and groups instead: a lab
whose device has an ECDSA certificate can still test everything else (real Genesys would refuse it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Literal

from takeback.net.tls import TlsConfig, client_context, der_key_type

__all__ = [
    "CIPHER_MODES",
    "GENESYS_CIPHERS",
    "GENESYS_CIPHER_SUITES",
    "GENESYS_DEPRECATED_SUITES",
    "GENESYS_ECDH_CURVE",
    "RSA_ONLY",
    "CipherMode",
    "cipher_settings",
    "explain_tls_failure",
    "handshake_failure_reason",
    "uses_genesys_suites",
]

CipherMode = Literal["genesys", "default"]
#: The values of ``emulator.tls.ciphers`` / ``--tls-ciphers``.
CIPHER_MODES: tuple[CipherMode, ...] = ("genesys", "default")

#: RC-TLS cipher list (2024/25), IANA name -> OpenSSL name, in the RC's order. The mapping was checked with
#: ``openssl ciphers -stdname`` (OpenSSL 3.0): 0x0035, 0x003D, 0x009C, 0x009D, 0xC014, 0xC028, 0xC02F, 0xC030.
GENESYS_CIPHER_SUITES: dict[str, str] = {
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
}

#: RC-TLS deprecation notice of 2025-03-24: these two "will be removed" (no date given). They are still
#: offered, as the RC still lists them; drop them from :data:`GENESYS_CIPHER_SUITES` once Genesys does, and
#: a device should not depend on them meanwhile.
GENESYS_DEPRECATED_SUITES: frozenset[str] = frozenset(
    {"TLS_RSA_WITH_AES_256_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"}
)

#: The OpenSSL cipher string of :data:`GENESYS_CIPHER_SUITES` (``SSLContext.set_ciphers``).
GENESYS_CIPHERS = ":".join(GENESYS_CIPHER_SUITES.values())
#: RC-TLS: "ECDHE, curve secp384r1 only".
GENESYS_ECDH_CURVE = "secp384r1"

#: What every reason about a cipher mismatch ends with.
RSA_ONLY = "Genesys offers RSA suites only (GENESYS.md §7); use an RSA certificate"

_NO_SHARED_CIPHER = ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE")


def cipher_settings(mode: CipherMode) -> tuple[str | None, str | None]:
    """The :class:`TlsConfig` fields ``(ciphers, ecdh_curve)`` of a cipher mode."""
    if mode == "genesys":
        return GENESYS_CIPHERS, GENESYS_ECDH_CURVE
    if mode == "default":
        return None, None
    raise ValueError(f"cipher mode {mode!r} is not one of {', '.join(CIPHER_MODES)}")


def uses_genesys_suites(config: TlsConfig | None) -> bool:
    return config is not None and config.ciphers == GENESYS_CIPHERS


def handshake_failure_reason(exc: BaseException, *, genesys: bool, key_type: str | None = None) -> str:
    """One line for a failed TLS handshake (``exc`` as the client saw it). ``genesys``: we offered the
    Genesys suites; ``key_type``: the device certificate's key, when known (:func:`explain_tls_failure`)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS handshake failed: the device certificate did not verify ({exc.verify_message})"
    if not _refused(exc):
        return f"TLS handshake failed: {getattr(exc, 'reason', None) or exc or type(exc).__name__}"
    if genesys and key_type not in (None, "RSA"):
        key = f"the device certificate has an {key_type} key"
        return f"TLS handshake failed: no shared cipher — {key}; {RSA_ONLY}"
    what = "no shared cipher" if isinstance(exc, ssl.SSLError) else "the device closed the connection"
    if not genesys:
        return f"TLS handshake failed: {what}"
    if key_type is None:
        return f"TLS handshake failed: {what} — {RSA_ONLY}, ECDHE on {GENESYS_ECDH_CURVE} only"
    return (
        f"TLS handshake failed: {what} — the device accepts none of Genesys' suites "
        f"(GENESYS.md §7: 8 RSA suites, ECDHE on {GENESYS_ECDH_CURVE} only)"
    )


def _refused(exc: BaseException) -> bool:
    """The device turned the handshake down: a handshake_failure alert, or (an asyncio server does this)
    the connection dropped without one. A refused TCP connect is not a handshake at all."""
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLEOFError):
        return getattr(exc, "reason", None) in _NO_SHARED_CIPHER
    return isinstance(exc, ConnectionResetError | ConnectionAbortedError | ssl.SSLEOFError)


async def explain_tls_failure(host: str, port: int, config: TlsConfig, *, timeout: float = 5.0) -> str | None:
    """Why a TLS connection to ``host:port`` fails with ``config``, or None if it does not (or cannot be
    reached at all: a refused connect says nothing about TLS). The transport reports a failed connect
    only as a transport error, so this repeats the handshake with the same client settings; when the
    device turns it down it also reads the device's certificate, with Python's default suites and no
    verification, to name its key type."""
    error = await _handshake(host, port, client_context(config), config.server_name or host, timeout)
    if error is None or not (isinstance(error, ssl.SSLError) or _refused(error)):
        return None
    key_type = await _peer_key_type(host, port, timeout) if _refused(error) else None
    return handshake_failure_reason(error, genesys=uses_genesys_suites(config), key_type=key_type)


async def _handshake(
    host: str, port: int, context: ssl.SSLContext, server_name: str | None, timeout: float
) -> BaseException | None:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=server_name), timeout
        )
    except (OSError, TimeoutError, ValueError) as exc:  # ssl.SSLError is an OSError
        return exc
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), timeout)
    return None


async def _peer_key_type(host: str, port: int, timeout: float) -> str | None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError, ValueError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return der_key_type(der) if der else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout)
