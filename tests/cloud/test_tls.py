"""The emulator over TLS (GENESYS.md §7, §11 item 8): TLS 1.2 only, a server certificate on the ``tls:``
listener, no client certificates, SIPS toward a ``protocol: tls`` trunk whose device certificate is
verified against the configured CA.

The device is the real ``takeback.device`` server with its own TLS listener and CA (two CAs: each side
trusts only the other's), so the article's call and take back run over TLS both ways: our INVITE on a
connection we open, the device's REFER/NOTIFY answers/BYE on the connection it opens to our listener.
Certificates come from trustme.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from takeback.cloud import ConfigError, parse_org
from takeback.cloud.config import parse_emulator, read_yaml
from takeback.cloud.server import CloudServer, emulator_tls, tls_trunks_without_listener
from takeback.cloud.tls_policy import GENESYS_CIPHER_SUITES, GENESYS_DEPRECATED_SUITES, RSA_ONLY
from takeback.device.config import parse_device_config
from takeback.device.server import DeviceServer
from takeback.net.tls import TlsFileError, client_context
from takeback.observe import SipTrace
from takeback.sip import Request, parse_message

from .sip.support import ARTICLE_UUI, MAIN_DID, device_trunk, org_data

#: SRTP is not in takeback.media yet: the device cannot answer RTP/SAVP, so the test org turns the
#: §7 policy off. Switch to True once SRTP lands.
REQUIRE_SRTP = True  # the device answers RTP/SAVP (media.srtp: optional), GENESYS.md §7


@dataclass
class Pki:
    """Two CAs: ``genesys`` signs the emulator's certificate, ``device`` the device's."""

    genesys_chain: Path
    genesys_ca: Path
    device_chain: Path
    device_ca: Path


def make_pki(tmp_path: Path, device_key: trustme.KeyType = trustme.KeyType.RSA) -> Pki:
    """RSA certificates (GENESYS.md §7: every Genesys suite is RSA-authenticated); ``device_key`` ECDSA
    gives the device a certificate no Genesys suite can use."""
    files = {}
    for name, key_type in (("genesys", trustme.KeyType.RSA), ("device", device_key)):
        ca = trustme.CA(key_type=trustme.KeyType.RSA)
        chain, ca_file = tmp_path / f"{name}.pem", tmp_path / f"{name}-ca.pem"
        leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=key_type)
        leaf.private_key_and_cert_chain_pem.write_to_path(str(chain))
        ca.cert_pem.write_to_path(str(ca_file))
        files[name] = (chain, ca_file)
    return Pki(*files["genesys"], *files["device"])


def device_yaml(tmp_path: Path, pki: Pki, port: int = 0, http: str = "null") -> str:
    """The article's device on a TLS listener: trusts the Genesys CA when it connects back to us."""
    return f"""
listen: [tls:127.0.0.1:{port}]
tls: {{certfile: {pki.device_chain}, cafile: {pki.genesys_ca}}}
records: {{path: {tmp_path / "records.sqlite"}}}
media: {{tts_cache: {tmp_path / "tts"}, port_range: 41000-41999, rtp_timeout: 0}}
http: {http}
access:
  ip_acl: [127.0.0.0/8]
  token: {{header: CUSTOM-DEVICE-TOKEN, value: "1234567"}}
  dnis: {{e164: [+19999990001], numbers: [9991, 9992]}}
take_back: {{number: +33456456456, bye_grace: 2s, timeout: 5s}}
app:
  flow:
    - answer
    - take_back: {{uui: "{{uui}}|{{conversation_id}}"}}
"""


def tls_org_data(device_port: int, **policies: object) -> dict[str, object]:
    return org_data(
        device_port,
        trunk=device_trunk(device_port, protocol="tls"),
        policies={"require_srtp_on_tls": REQUIRE_SRTP, **policies},
    )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def _device(tmp_path: Path, pki: Pki) -> AsyncIterator[DeviceServer]:
    config = parse_device_config(device_yaml(tmp_path, pki), base_dir=tmp_path)
    server = DeviceServer(config, cwd=tmp_path, http=False)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def _sent_invite(trace: SipTrace) -> tuple[str, Request]:
    for entry in trace:
        if entry.direction == "out" and entry.data.startswith(b"INVITE "):
            message = parse_message(entry.data)
            assert isinstance(message, Request)
            return entry.transport, message
    raise AssertionError("the emulator sent no INVITE")


async def test_article_take_back_over_tls(tmp_path: Path, pki: Pki) -> None:
    """§7: SIPS INVITE over TLS to the device, verified against its CA; the device's REFER comes back over
    TLS to our listener; the Back flow sees Call.UUIData = what the device put in the Refer-To."""
    async for device in _device(tmp_path, pki):
        port = device.endpoints[0].port
        trace = SipTrace()
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.device_ca))
        listen = ["udp:127.0.0.1:0", "tls:127.0.0.1:0"]
        org = parse_org(tls_org_data(port))
        async with CloudServer(org, sip=listen, tls=tls, trace=trace, rng=random.Random(5)) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(15)
    assert [flow.flow_name for flow in record.flows_run] == ["Main IVR", "Back"]
    assert record.flows_run[-1].uui_data == f"{ARTICLE_UUI}|{record.conversation_id}"
    transport, invite = _sent_invite(trace)
    assert transport == "TLS"
    assert invite.uri.startswith("sips:9991@127.0.0.1:")
    tls_port = cloud.endpoint("TLS").port
    assert invite.headers["Contact"].startswith(f"<sips:127.0.0.1:{tls_port};transport=tls;")
    assert invite.headers["Record-Route"] == f"<sips:127.0.0.1:{tls_port};transport=tls;lr>"
    assert invite.top_via.transport == "TLS"
    refers = [e for e in trace if e.direction == "in" and e.data.startswith(b"REFER ")]
    assert refers and {e.transport for e in refers} == {"TLS"}
    if REQUIRE_SRTP:  # §7: SDES SRTP offered and answered on the TLS trunk
        assert b"m=audio" in invite.body and b"RTP/SAVP" in invite.body and b"a=crypto:" in invite.body
        answers = [e.data for e in trace if e.direction == "in" and e.data.startswith(b"SIP/2.0 200")
                   and b"INVITE" in e.data.split(b"\r\n\r\n")[0] and b"a=crypto:" in e.data]  # fmt: skip
        assert answers and b"RTP/SAVP" in answers[0]


async def test_untrusted_device_certificate_fails_the_attempt(tmp_path: Path, pki: Pki) -> None:
    """The device's certificate is verified: trusting another CA, the INVITE never leaves (no call)."""
    async for device in _device(tmp_path, pki):
        port = device.endpoints[0].port
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.genesys_ca))  # not the device's CA
        org = parse_org(tls_org_data(port))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(15)
    assert [flow.flow_name for flow in record.flows_run] == ["Main IVR"]
    assert not [leg for leg in record.legs if leg.status == 200]


async def test_untrusted_device_certificate_reason(tmp_path: Path, pki: Pki) -> None:
    async for device in _device(tmp_path, pki):
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.genesys_ca))  # not the device's CA
        org = parse_org(tls_org_data(device.endpoints[0].port))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(15)
    reasons = [leg.end_reason or "" for leg in record.legs]
    assert any(r.startswith("TLS handshake failed: the device certificate did not verify") for r in reasons)


async def test_ecdsa_device_certificate_fails_with_the_reason(tmp_path: Path) -> None:
    """§7: all eight Genesys suites are RSA-authenticated, so a device whose certificate has an ECDSA key
    cannot complete a handshake with Genesys; the failed attempt says why and what to do."""
    pki = make_pki(tmp_path, device_key=trustme.KeyType.ECDSA)
    async for device in _device(tmp_path, pki):
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.device_ca))
        org = parse_org(tls_org_data(device.endpoints[0].port))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(15)
    assert [flow.flow_name for flow in record.flows_run] == ["Main IVR"]
    assert not [leg for leg in record.legs if leg.status == 200]
    reasons = [leg.end_reason for leg in record.legs]
    expected = f"TLS handshake failed: no shared cipher — the device certificate has an EC key; {RSA_ONLY}"
    assert expected in reasons, reasons


async def test_ecdsa_device_certificate_works_with_default_ciphers(tmp_path: Path) -> None:
    """``ciphers="default"`` (emulator.tls.ciphers) lifts the Genesys list: the same device then works."""
    pki = make_pki(tmp_path, device_key=trustme.KeyType.ECDSA)
    async for device in _device(tmp_path, pki):
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.device_ca), ciphers="default")
        org = parse_org(tls_org_data(device.endpoints[0].port))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(15)
    assert [flow.flow_name for flow in record.flows_run] == ["Main IVR", "Back"]


def _accept_recording(server: socket.socket, context: ssl.SSLContext) -> tuple[str, set[str]]:
    """One TLS connection accepted: (the negotiated suite, the TLS 1.2 suites the client offered)."""
    conn, _ = server.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        cipher = tls.cipher()
        shared = tls.shared_ciphers() or []
        tls.recv(1)
    assert cipher is not None
    return cipher[0], {name for name, protocol, _ in shared if protocol != "TLSv1.3"}


async def test_emulator_as_client_offers_the_genesys_suites(pki: Pki) -> None:
    """As TLS client (the OPTIONS pinger here, the INVITE in a call) the emulator offers exactly the RC
    suites, to a device that would accept any suite (RSA key exchange included)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.device_chain))
    context.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)
        port = server.getsockname()[1]
        org = parse_org(tls_org_data(port, options_ping={"enabled": True, "interval_s": 1}))
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.device_ca))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls):
            cipher, offered = await asyncio.to_thread(_accept_recording, server, context)
    assert offered == set(GENESYS_CIPHER_SUITES.values())
    assert cipher in GENESYS_CIPHER_SUITES.values()
    assert set(GENESYS_CIPHER_SUITES) >= GENESYS_DEPRECATED_SUITES  # still offered (2025-03-24 notice)


def _serve_once(server: socket.socket, context: ssl.SSLContext) -> None:
    conn, _ = server.accept()
    with contextlib.suppress(ssl.SSLError, OSError), context.wrap_socket(conn, server_side=True) as tls:
        tls.recv(1)


def _connect(port: int, context: ssl.SSLContext) -> str | None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cipher = tls.cipher()
        return cipher[0] if cipher else None


async def test_emulator_as_client_offers_secp384r1_only(pki: Pki) -> None:
    """RC-TLS "ECDHE, curve secp384r1 only": toward a device that does ECDHE on P-256 only, no handshake."""
    client = client_context(emulator_tls(cafile=str(pki.device_ca)))
    for curve, works in (("prime256v1", False), ("secp384r1", True)):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.device_chain))
        context.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
        context.set_ecdh_curve(curve)
        with socket.create_server(("127.0.0.1", 0)) as server:
            server.settimeout(10)
            serving = asyncio.create_task(asyncio.to_thread(_serve_once, server, context))
            try:
                if works:
                    cipher = await asyncio.to_thread(_connect, server.getsockname()[1], client)
                    assert cipher == "ECDHE-RSA-AES256-GCM-SHA384"
                else:
                    with pytest.raises(ssl.SSLError):
                        await asyncio.to_thread(_connect, server.getsockname()[1], client)
            finally:
                await serving


# ----- the listener: TLS 1.2 only, no client certificate -----


@pytest.fixture
async def listener(pki: Pki) -> AsyncIterator[int]:
    org = parse_org(tls_org_data(9))
    async with CloudServer(org, sip=["tls:127.0.0.1:0"], tls=emulator_tls(str(pki.genesys_chain))) as cloud:
        yield cloud.endpoint("TLS").port


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


def _client_hello(version: int) -> bytes:
    """A minimal ClientHello (RFC 5246 §7.4.1.2) offering only ``version`` (0x0302 = TLS 1.1), written by
    hand so that the local OpenSSL's own client policy cannot stop the offer from being made."""
    suites = struct.pack("!5H", 0xC02B, 0xC02F, 0xC009, 0xC013, 0x002F)  # ECDHE-ECDSA/RSA, RSA
    groups = struct.pack("!3H", 4, 0x0017, 0x0018)  # RFC 8422 §5.1.1: secp256r1, secp384r1
    sigalgs = struct.pack("!5H", 8, 0x0403, 0x0503, 0x0804, 0x0401)  # RFC 5246 §7.4.1.4.1
    extensions = _extension(10, groups) + _extension(11, b"\x01\x00") + _extension(13, sigalgs)
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00"
    body += struct.pack("!H", len(suites)) + suites + b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16" + struct.pack("!HH", 0x0301, len(handshake)) + handshake


def _read_record(port: int, hello: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(hello)
        data = b""
        while len(data) < 7:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


async def test_tls_1_1_client_is_refused(listener: int) -> None:
    """RC-TLS "TLS 1.2 only" (RFC 8996): a TLS 1.1 ClientHello gets no ServerHello, only the end of the
    connection (asyncio drops it without flushing OpenSSL's protocol_version alert) or that alert. The same
    hand-made hello offering TLS 1.2 does get a ServerHello, so the refusal is about the version."""
    accepted = await asyncio.to_thread(_read_record, listener, _client_hello(0x0303))
    assert accepted[:1] == b"\x16" and accepted[5:6] == b"\x02"  # handshake record, ServerHello
    refused = await asyncio.to_thread(_read_record, listener, _client_hello(0x0302))
    assert refused == b"" or (refused[0] == 21 and refused[5:7] == b"\x02\x46"), refused[:16]


def _handshake(port: int, cafile: Path, version: ssl.TLSVersion) -> tuple[str | None, bool]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    context.minimum_version = context.maximum_version = version
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return tls.version(), bool(tls.getpeercert())


async def test_tls_1_2_client_gets_the_server_certificate(listener: int, pki: Pki) -> None:
    version, verified = await asyncio.to_thread(_handshake, listener, pki.genesys_ca, ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and verified  # one-way: no client certificate was needed


async def test_tls_1_3_only_client_is_refused(listener: int, pki: Pki) -> None:
    """Genesys speaks TLS 1.2 only (§7): the emulator caps at 1.2 by default (``max_version``)."""
    with pytest.raises(ssl.SSLError):
        await asyncio.to_thread(_handshake, listener, pki.genesys_ca, ssl.TLSVersion.TLSv1_3)


def _client(cafile: Path, ciphers: str | None = None, curve: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if curve is not None:
        context.set_ecdh_curve(curve)
    return context


async def test_listener_negotiates_a_genesys_suite(listener: int, pki: Pki) -> None:
    """A device with Python's default client list gets one of the RC suites; an RSA key-exchange suite
    (not in Python's defaults) is accepted too, as it is in the RC list."""
    cipher = await asyncio.to_thread(_connect, listener, _client(pki.genesys_ca))
    assert cipher in GENESYS_CIPHER_SUITES.values()
    rsa = await asyncio.to_thread(_connect, listener, _client(pki.genesys_ca, "AES256-SHA"))
    assert rsa == GENESYS_CIPHER_SUITES["TLS_RSA_WITH_AES_256_CBC_SHA"]


async def test_listener_refuses_suites_and_curves_off_the_list(listener: int, pki: Pki) -> None:
    """A client offering only ECDHE-RSA-CHACHA20-POLY1305 (not in the RC list), or only P-256 for ECDHE,
    gets no handshake."""
    with pytest.raises(ssl.SSLError):
        await asyncio.to_thread(_connect, listener, _client(pki.genesys_ca, "ECDHE-RSA-CHACHA20-POLY1305"))
    p256 = _client(pki.genesys_ca, "ECDHE-RSA-AES256-GCM-SHA384", "prime256v1")
    with pytest.raises(ssl.SSLError):
        await asyncio.to_thread(_connect, listener, p256)


async def test_default_ciphers_lift_the_list(pki: Pki) -> None:
    org = parse_org(tls_org_data(9))
    tls = emulator_tls(str(pki.genesys_chain), ciphers="default")
    async with CloudServer(org, sip=["tls:127.0.0.1:0"], tls=tls) as cloud:
        client = _client(pki.genesys_ca, "ECDHE-RSA-CHACHA20-POLY1305")
        cipher = await asyncio.to_thread(_connect, cloud.endpoint("TLS").port, client)
    assert cipher == "ECDHE-RSA-CHACHA20-POLY1305"


def _accept_once(server: socket.socket, context: ssl.SSLContext, seen: list[object]) -> None:
    conn, _ = server.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        seen.append(tls.getpeercert())
        tls.recv(1)


async def test_emulator_offers_no_client_certificate(tmp_path: Path, pki: Pki) -> None:
    """One-way TLS (§7 "mutual TLS not supported"): asked for a certificate, the emulator sends none,
    even though it holds one for its listener. (The OPTIONS pinger opens the connection.)"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.device_chain))
    context.load_verify_locations(cafile=str(pki.genesys_ca))
    context.verify_mode = ssl.CERT_OPTIONAL  # request a client certificate, do not demand one
    seen: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)
        port = server.getsockname()[1]
        org = parse_org(tls_org_data(port, options_ping={"enabled": True, "interval_s": 1}))
        tls = emulator_tls(str(pki.genesys_chain), cafile=str(pki.device_ca))
        async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls):
            await asyncio.to_thread(_accept_once, server, context, seen)
    assert seen == [None]


# ----- configuration -----


async def test_bad_certificate_fails_start_naming_the_field(tmp_path: Path, pki: Pki) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    org = parse_org(tls_org_data(9))
    with pytest.raises(TlsFileError) as info:
        await CloudServer(org, sip=["tls:127.0.0.1:0"], tls=emulator_tls(str(garbage))).start()
    assert info.value.field == "certfile"
    with pytest.raises(TlsFileError) as info:
        await CloudServer(org, sip=["tls:127.0.0.1:0"]).start()
    assert info.value.field == "certfile"
    with pytest.raises(TlsFileError) as info:
        await CloudServer(org, sip=["udp:127.0.0.1:0"], tls=emulator_tls(cafile=str(garbage))).start()
    assert info.value.field == "cafile"


def test_tls_trunk_needs_a_tls_listener() -> None:
    org = parse_org(tls_org_data(5061))
    assert tls_trunks_without_listener(org, ["udp:127.0.0.1:5070"]) == [1]
    assert tls_trunks_without_listener(org, ["udp:127.0.0.1:5070", "tls:127.0.0.1:5061"]) == []


def test_emulator_section_of_org_yaml(tmp_path: Path, pki: Pki) -> None:
    """org.yaml ``emulator:``: listeners normalized, a bare YAML ``off``, files relative to the org file."""
    tls = f"{{certfile: {pki.genesys_chain.name}}}"
    text = f"emulator:\n  sip: tls:127.0.0.1\n  api: off\n  tls: {tls}\nname: x\n"
    settings, rest = parse_emulator(read_yaml(text), base_dir=tmp_path)
    assert settings.sip == ["tls:127.0.0.1:5061"] and settings.api == "off"
    assert settings.tls.certfile == str(pki.genesys_chain) and settings.tls.max_version == "1.2"
    assert settings.tls.ciphers == "genesys"
    assert rest == {"name": "x"}
    with pytest.raises(ConfigError) as info:
        parse_emulator(read_yaml("emulator: {tls: {max_version: 1.1}}\n"), source="org.yaml")
    assert str(info.value).startswith("org.yaml: emulator.tls.max_version: '1.1' is not valid")
    settings, _ = parse_emulator(read_yaml("emulator: {tls: {ciphers: default}}\n"))
    assert settings.tls.ciphers == "default"
    with pytest.raises(ConfigError) as info:
        parse_emulator(read_yaml("emulator: {tls: {ciphers: modern}}\n"), source="org.yaml")
    assert str(info.value).startswith("org.yaml: emulator.tls.ciphers:")


async def test_max_version_1_3_relaxes_the_cap(pki: Pki) -> None:
    org = parse_org(tls_org_data(9))
    tls = emulator_tls(str(pki.genesys_chain), max_version="1.3")
    async with CloudServer(org, sip=["udp:127.0.0.1:0", "tls:127.0.0.1:0"], tls=tls) as cloud:
        port = cloud.endpoint("TLS").port
        version, _ = await asyncio.to_thread(_handshake, port, pki.genesys_ca, ssl.TLSVersion.TLSv1_3)
    assert version == "TLSv1.3"
