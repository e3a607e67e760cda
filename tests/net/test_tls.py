"""SIP over TLS between two transport layers, certificates from trustme (RFC 3261 §26.2, RFC 5922)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from takeback.net.address import Peer
from takeback.net.listen import ListenSpec
from takeback.net.tls import (
    TlsConfig,
    TlsFileError,
    certificate_key_type,
    check_files,
    client_context,
    der_key_type,
    server_context,
)
from takeback.net.transport import TransportLayer

from .net_helpers import RecordingSink, options


class Pki:
    def __init__(self, tmp: Path) -> None:
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost", "device.example")
        self.chain = tmp / "server.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.chain))
        self.cafile = tmp / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.cafile))
        self.other_cafile = tmp / "other-ca.pem"
        self.other_ca.cert_pem.write_to_path(str(self.other_cafile))

    def server(self) -> TlsConfig:
        return TlsConfig(certfile=str(self.chain))

    def client(self, **kwargs: object) -> TlsConfig:
        return TlsConfig(cafile=str(self.cafile), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[Pki]:
    yield Pki(tmp_path)


async def _round_trip(
    pki: Pki, client_tls: TlsConfig, *, host: str = "127.0.0.1", server_tls: TlsConfig | None = None
) -> TransportLayer:
    server_sink = RecordingSink(answer=True)
    server = TransportLayer(server_sink, tls=server_tls or pki.server())
    server_sink.layer = server
    endpoint = await server.listen(ListenSpec("TLS", "127.0.0.1", 0))
    client_sink = RecordingSink()
    client = TransportLayer(client_sink, tls=client_tls)
    client_sink.layer = client
    try:
        client.send(options(transport="TLS"), Peer("TLS", host, endpoint.port))
        waits = {
            asyncio.ensure_future(client_sink.wait_for(1)),
            asyncio.ensure_future(client_sink.transport_error_event.wait()),  # connect/handshake failed
            asyncio.ensure_future(client_sink.lost_event.wait()),  # TLS 1.3: refused after the handshake
        }
        await asyncio.wait(waits, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        return client
    finally:
        await client.close()
        await server.close()


async def test_tls_round_trip_verified(pki: Pki) -> None:
    client = await _round_trip(pki, pki.client())
    assert client.counters.connections_opened == 1
    assert client.counters.messages_in == 1
    assert client.counters.connect_failures == 0


async def test_tls_hostname_from_uri_is_checked_via_sni(pki: Pki) -> None:
    client = await _round_trip(pki, pki.client(), host="localhost")
    assert client.counters.messages_in == 1


async def test_tls_configured_server_name(pki: Pki) -> None:
    client = await _round_trip(pki, pki.client(server_name="device.example"))
    assert client.counters.messages_in == 1


async def test_tls_wrong_name_rejected_unless_check_disabled(pki: Pki) -> None:
    rejected = await _round_trip(pki, pki.client(server_name="wrong.example"))
    assert rejected.counters.connect_failures == 1 and rejected.counters.messages_in == 0
    accepted = await _round_trip(pki, pki.client(server_name="wrong.example", check_hostname=False))
    assert accepted.counters.messages_in == 1


async def test_tls_untrusted_ca_rejected(pki: Pki) -> None:
    client = await _round_trip(pki, TlsConfig(cafile=str(pki.other_cafile)))
    assert client.counters.connect_failures == 1 and client.counters.messages_in == 0


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1:DeprecationWarning")
async def test_tls_below_1_2_refused(pki: Pki) -> None:
    server_sink = RecordingSink()
    server = TransportLayer(server_sink, tls=pki.server())
    endpoint = await server.listen(ListenSpec("TLS", "127.0.0.1", 0))
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=str(pki.cafile))
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            await asyncio.wait_for(
                asyncio.open_connection(endpoint.host, endpoint.port, ssl=old, server_hostname="127.0.0.1"),
                10,
            )
    finally:
        await server.close()


def test_contexts_enforce_tls_1_2(pki: Pki) -> None:
    assert server_context(pki.server()).minimum_version == ssl.TLSVersion.TLSv1_2
    context = client_context(pki.client())
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    relaxed = client_context(TlsConfig(verify_peer=False))
    assert relaxed.verify_mode == ssl.CERT_NONE


def test_server_context_needs_certificate() -> None:
    with pytest.raises(ValueError, match="certfile"):
        server_context(TlsConfig())


async def test_mutual_tls(pki: Pki, tmp_path: Path) -> None:
    client_chain = tmp_path / "client.pem"
    pki.ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(str(client_chain))
    server_tls = TlsConfig(certfile=str(pki.chain), cafile=str(pki.cafile), require_client_cert=True)
    anonymous = await _round_trip(pki, pki.client(), server_tls=server_tls)
    assert anonymous.counters.messages_in == 0  # no client certificate: refused
    with_cert = TlsConfig(certfile=str(client_chain), cafile=str(pki.cafile))
    authenticated = await _round_trip(pki, with_cert, server_tls=server_tls)
    assert authenticated.counters.messages_in == 1


def test_ciphers_and_curve_narrow_both_contexts(pki: Pki) -> None:
    """``ciphers`` / ``ecdh_curve`` apply to the server and the client context alike (one suite here)."""
    narrow = {"ciphers": "ECDHE-RSA-AES256-GCM-SHA384", "ecdh_curve": "secp384r1"}
    server = server_context(TlsConfig(certfile=str(pki.chain), **narrow))  # type: ignore[arg-type]
    client = client_context(pki.client(**narrow))
    for context in (server, client):
        tls12 = [c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
        assert tls12 == ["ECDHE-RSA-AES256-GCM-SHA384"]


def test_check_files_names_bad_ciphers_and_curves() -> None:
    with pytest.raises(TlsFileError) as info:
        check_files(TlsConfig(ciphers="NOT-A-SUITE"), listen=False)
    assert info.value.field == "ciphers"
    with pytest.raises(TlsFileError) as info:
        check_files(TlsConfig(ecdh_curve="secp999r1"), listen=False)
    assert info.value.field == "ecdh_curve"


def test_certificate_key_type(tmp_path: Path) -> None:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    for key_type, expected in ((trustme.KeyType.RSA, "RSA"), (trustme.KeyType.ECDSA, "EC")):
        leaf = ca.issue_cert("device.example", key_type=key_type)
        chain = tmp_path / f"{expected}.pem"
        leaf.private_key_and_cert_chain_pem.write_to_path(str(chain))  # key first, then the chain
        assert certificate_key_type(str(chain)) == expected
        assert der_key_type(ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())) == expected
    (tmp_path / "junk.pem").write_text("junk\n")
    assert certificate_key_type(str(tmp_path / "junk.pem")) is None
    assert certificate_key_type(str(tmp_path / "missing.pem")) is None
    assert der_key_type(b"junk") is None
