"""TLS contexts for SIP over TLS (RFC 3261 §26.2, RFC 5922 for certificate identity).

TLS 1.2 is the floor (RFC 8996 deprecates 1.0/1.1; RFC 7525 §3.1.1). The server presents the configured
certificate chain; as a client we verify the peer against a CA file or the system store and, unless turned
off, check that the certificate names the host we meant to reach (SNI carries that name too).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

__all__ = ["TlsConfig", "client_context", "server_context"]


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
    """

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    check_hostname: bool = True
    verify_peer: bool = True
    server_name: str | None = None
    require_client_cert: bool = False


def _harden(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION  # CRIME; SIP headers carry credentials
    return context


def server_context(config: TlsConfig) -> ssl.SSLContext:
    """The context of a TLS listening point; raises ``ValueError`` if no certificate is configured."""
    if not config.certfile:
        raise ValueError("a TLS listener needs tls.certfile (and keyfile unless the chain file holds it)")
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(config.certfile, config.keyfile)
    if config.require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        _load_trust(context, config)
    return context


def client_context(config: TlsConfig) -> ssl.SSLContext:
    """The context for outgoing TLS connections."""
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    if not config.verify_peer:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = config.check_hostname
        _load_trust(context, config)
    if config.certfile:
        context.load_cert_chain(config.certfile, config.keyfile)
    return context


def _load_trust(context: ssl.SSLContext, config: TlsConfig) -> None:
    if config.cafile:
        context.load_verify_locations(cafile=config.cafile)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
