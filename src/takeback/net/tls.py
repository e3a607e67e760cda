"""TLS contexts for SIP over TLS (RFC 3261 §26.2, RFC 5922 for certificate identity).

TLS 1.2 is the floor (RFC 8996 deprecates 1.0/1.1; RFC 7525 §3.1.1). The server presents the configured
certificate chain; as a client we verify the peer against a CA file or the system store and, unless turned
off, check that the certificate names the host we meant to reach (SNI carries that name too). A peer that
must mimic another product's TLS (the Genesys emulator, GENESYS.md §7) narrows the TLS 1.2 cipher suites
and the ECDHE groups with ``ciphers`` / ``ecdh_curve``, on both roles.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

__all__ = [
    "TLS_VERSIONS",
    "TlsConfig",
    "TlsFileError",
    "certificate_key_type",
    "check_files",
    "client_context",
    "der_key_type",
    "server_context",
]

#: The ``max_version`` spellings we accept (``None`` = whatever OpenSSL offers, today 1.3).
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS settings of one user agent.

    ``certfile``/``keyfile``: our certificate chain (required to listen on TLS; also offered as a client
    certificate when set). ``cafile``: trust anchors for verifying peers (``None`` = the default store).
    ``check_hostname``: verify the server name (RFC 5922 §7.2); turning it off still verifies the chain.
    ``verify_peer``: False disables chain verification altogether (lab use only).
    ``server_name``: SNI / expected name when we connect to an IP literal that the certificate does not
    name (e.g. ``"localhost"``); by default the peer's IP literal is checked against the IP SANs.
    ``require_client_cert``: servers demand a client certificate (mutual TLS, checked against ``cafile``).
    ``offer_client_cert``: False keeps ``certfile`` for listening only (one-way TLS, as Genesys does:
    GENESYS.md §7 "mutual TLS not supported"). ``max_version``: ``"1.2"`` caps the protocol (Genesys
    speaks TLS 1.2 only, §7); ``None`` lets OpenSSL offer its newest.
    ``ciphers``: an OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are not affected); ``None`` keeps
    Python's default (ECDHE/DHE with AEAD or AES, no RSA key exchange). ``ecdh_curve``: the one ECDHE
    group offered (client) or accepted (server), e.g. ``"secp384r1"``; ``None`` = OpenSSL's list.
    """

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    check_hostname: bool = True
    verify_peer: bool = True
    server_name: str | None = None
    require_client_cert: bool = False
    offer_client_cert: bool = True
    max_version: str | None = None
    ciphers: str | None = None
    ecdh_curve: str | None = None


def _harden(context: ssl.SSLContext, config: TlsConfig) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.max_version is not None:
        context.maximum_version = TLS_VERSIONS[config.max_version]
    context.options |= ssl.OP_NO_COMPRESSION  # CRIME; SIP headers carry credentials
    if config.ciphers is not None:
        context.set_ciphers(config.ciphers)
    if config.ecdh_curve is not None:
        # SSL_CTX_set_tmp_ecdh under the hood: on OpenSSL 3 it replaces the supported-groups list with this
        # one group, so it narrows what a client offers as well as what a server accepts.
        context.set_ecdh_curve(config.ecdh_curve)
    return context


def server_context(config: TlsConfig) -> ssl.SSLContext:
    """The context of a TLS listening point; raises ``ValueError`` if no certificate is configured."""
    if not config.certfile:
        raise ValueError("a TLS listener needs tls.certfile (and keyfile unless the chain file holds it)")
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), config)
    context.load_cert_chain(config.certfile, config.keyfile)
    if config.require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        _load_trust(context, config)
    return context


def client_context(config: TlsConfig) -> ssl.SSLContext:
    """The context for outgoing TLS connections."""
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), config)
    if not config.verify_peer:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = config.check_hostname
        _load_trust(context, config)
    if config.certfile and config.offer_client_cert:
        context.load_cert_chain(config.certfile, config.keyfile)
    return context


def _load_trust(context: ssl.SSLContext, config: TlsConfig) -> None:
    if config.cafile:
        context.load_verify_locations(cafile=config.cafile)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)


class TlsFileError(ValueError):
    """A TLS file that cannot be used; ``field`` is the :class:`TlsConfig` field (``certfile``, ``keyfile``,
    ``cafile``) so that callers can name their own option for it (``--tls-cert``, ``tls.certfile``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_files(config: TlsConfig, *, listen: bool) -> None:
    """Load every configured file now, so that a bad one stops start-up naming its field, instead of
    failing the first handshake (the client context is built lazily, at the first outgoing connection).

    ``listen``: a TLS listener is configured, so ``certfile`` is required. Raises :class:`TlsFileError`.
    """
    if config.max_version is not None and config.max_version not in TLS_VERSIONS:
        raise TlsFileError("max_version", f"{config.max_version!r} is not one of {', '.join(TLS_VERSIONS)}")
    _check_suites(config)
    if listen and not config.certfile:
        raise TlsFileError("certfile", "is required by a TLS listener (our certificate chain, PEM)")
    for field in ("certfile", "keyfile", "cafile"):
        path = getattr(config, field)
        if path:
            _readable(field, path)
    if config.cafile:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=config.cafile)
        except ssl.SSLError:
            raise TlsFileError("cafile", f"{config.cafile!r} holds no CA certificate (PEM)") from None
    if config.certfile:
        _check_chain(config.certfile, config.keyfile)


def _check_suites(config: TlsConfig) -> None:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if config.ciphers is not None:
        try:
            probe.set_ciphers(config.ciphers)
        except ssl.SSLError:
            raise TlsFileError("ciphers", f"{config.ciphers!r} selects no cipher suite (OpenSSL)") from None
    if config.ecdh_curve is not None:
        try:
            probe.set_ecdh_curve(config.ecdh_curve)
        except ValueError:
            raise TlsFileError("ecdh_curve", f"{config.ecdh_curve!r} is not a curve OpenSSL knows") from None


def certificate_key_type(certfile: str) -> str | None:
    """The public-key algorithm of the first certificate in ``certfile`` (``"RSA"``, ``"EC"``, ``"Ed25519"``,
    …), or ``None`` when the file holds no readable PEM certificate. It decides which cipher suites can use
    the certificate: ``TLS_RSA_*`` / ``TLS_ECDHE_RSA_*`` need an RSA key (RFC 5246 §7.4.2, RFC 8422 §5.3)."""
    from cryptography import x509  # a runtime dependency already (takeback.rtp.srtp)

    try:
        with open(certfile, "rb") as file:
            return _key_name(x509.load_pem_x509_certificate(file.read()).public_key())
    except (OSError, ValueError):
        return None


def der_key_type(der: bytes) -> str | None:
    """:func:`certificate_key_type` of a DER certificate (``SSLObject.getpeercert(binary_form=True)``)."""
    from cryptography import x509

    try:
        return _key_name(x509.load_der_x509_certificate(der).public_key())
    except ValueError:
        return None


def _key_name(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    kinds = (
        (rsa.RSAPublicKey, "RSA"),
        (ec.EllipticCurvePublicKey, "EC"),
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ed448.Ed448PublicKey, "Ed448"),
        (dsa.DSAPublicKey, "DSA"),
    )
    return next((name for kind, name in kinds if isinstance(key, kind)), type(key).__name__)


def _readable(field: str, path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise TlsFileError(field, f"cannot read {path!r}: {exc.strerror or exc}") from None


def _check_chain(certfile: str, keyfile: str | None) -> None:
    """``load_cert_chain`` says only "PEM lib"; tell which file is wrong. An encrypted key is refused
    (``password`` answers nothing) rather than prompting on the terminal."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile, password=lambda: b"")
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if _PEM_CERTIFICATE not in _readable("certfile", certfile):
            raise TlsFileError("certfile", f"{certfile!r} holds no certificate (PEM)") from None
        if keyfile:
            raise TlsFileError(
                "keyfile", f"{keyfile!r} is not an unencrypted PEM key for the certificate ({reason})"
            ) from None
        raise TlsFileError(
            "certfile", f"{certfile!r} holds no unencrypted private key for its certificate ({reason})"
        ) from None
