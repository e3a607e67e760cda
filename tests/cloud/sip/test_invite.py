"""The INVITE builder (takeback.cloud.invite): pure rules of GENESYS.md §4.2, §4.4, §5.1, §3.3, §11.4."""

from __future__ import annotations

from typing import Any

import pytest

from takeback.cloud import Policies, Trunk
from takeback.cloud.invite import (
    ALLOW,
    Caller,
    InviteParams,
    LocalSignalling,
    authorize,
    build_invite,
    calling_identity,
    trunk_offer,
    uui_headers,
)
from takeback.cloud.routing import Attempt
from takeback.sdp import parse_sdp
from takeback.sip import parse_message, parse_name_addr
from takeback.sip.authparams import Credentials
from takeback.sip.digest import DigestServer
from takeback.uui import genesys_uuidata

LOCAL = LocalSignalling("198.51.100.20", 5060, "udp")
ANI = "+13175551234"


def trunk(**settings: Any) -> Trunk:
    values: dict[str, Any] = {
        "name": "Device",
        "inbound_sip_termination_identifier": "dev",
        "sip_servers": ["203.0.113.10:5060"],
        "uui_passthrough": True,
    }
    values.update(settings)
    return Trunk.model_validate(values)


def params(**changes: Any) -> InviteParams:
    values: dict[str, Any] = {
        "number": "+19999990001",
        "caller": Caller(ANI, ""),
        "conversation_id": "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11",
        "call_id": "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f",
        "from_tag": "gc-4411",
        "contact_token": "ab12",
        "uui": "Case-12345",
        "offer": b"",
    }
    values.update(changes)
    return InviteParams(**values)


def build(t: Trunk | None = None, policies: Policies | None = None, **changes: Any) -> Any:
    t = t or trunk()
    return build_invite(t, Attempt(t, t.proxies[0]), params(**changes), LOCAL, policies or Policies())


def user_of(value: str) -> str | None:
    return parse_name_addr(value).uri.user  # type: ignore[union-attr]


def test_request_uri_and_to_carry_the_number() -> None:
    """§4.2 [DOC BLOG]: the normalized number is the user of both R-URI and To; host = the SIP server."""
    request = build().request
    assert request.uri == "sip:+19999990001@203.0.113.10:5060"
    assert request.headers["To"] == "<sip:+19999990001@203.0.113.10>"


def test_called_omit_plus_strips_ruri_and_to_only() -> None:
    """§4.2: Called 'Address Omit + Prefix' drops the + from R-URI/To, not from From."""
    request = build(trunk(called_address_omit_plus=True)).request
    assert request.uri == "sip:19999990001@203.0.113.10:5060"
    assert user_of(request.headers["To"]) == "19999990001"
    assert user_of(request.headers["From"]) == ANI


def test_calling_omit_plus_strips_from_only() -> None:
    """§4.2: Calling 'Address Omit + Prefix' drops the + from From, not from R-URI/To."""
    request = build(trunk(calling_address_omit_plus=True)).request
    assert user_of(request.headers["From"]) == "13175551234"
    assert request.uri.startswith("sip:+19999990001@")


def test_unassigned_did_preserves_the_caller_ani() -> None:
    """§4.2 [DOC BLOG]: Unassigned DID keeps the caller's ANI in From (fallback: the trunk Caller ID)."""
    t = trunk(address_override_method="Unassigned DID", caller_id="+19999990000")
    request = build(t).request
    assert request.headers["From"] == f"<sip:{ANI}@198.51.100.20>;tag=gc-4411"
    fallback = build(t, caller=Caller("", "")).request
    assert user_of(fallback.headers["From"]) == "+19999990000"


def test_always_override_sends_the_trunk_caller_id() -> None:
    """§4.2 (INFERRED from the name): Always -> the configured Calling Address."""
    t = trunk(address_override_method="Always", caller_id="+19999990000")
    assert user_of(build(t).request.headers["From"]) == "+19999990000"


def test_always_without_caller_id_keeps_the_ani() -> None:
    """§4.2: with nothing configured there is nothing to override with (INFERRED)."""
    assert user_of(build(trunk(address_override_method="Always")).request.headers["From"]) == ANI


def test_calling_name_follows_its_override_method() -> None:
    """§4.2: 'the same logic applies to Calling Name / display-name'."""
    caller = Caller(ANI, "Jane Doe")
    assert calling_identity(trunk(name_override_method="Unassigned DID", calling_name="ACME"), caller) == (
        ANI,
        "Jane Doe",
    )
    assert calling_identity(trunk(name_override_method="Always", calling_name="ACME"), caller)[1] == "ACME"
    from_value = build(trunk(name_override_method="Unassigned DID"), caller=caller).request.headers["From"]
    assert from_value.startswith('"Jane Doe" <sip:')


def test_prioritized_caller_selection_replaces_the_legacy_method() -> None:
    """§4.2 [DOC PREM, RC-PCS]: trunk_calling_id_priority; the first source with a number wins."""
    t = trunk(prioritized_caller_selection=["Trunk", "Source"], caller_id="+19999990000")
    assert calling_identity(t, Caller(ANI, ""))[0] == "+19999990000"
    t = trunk(prioritized_caller_selection=["Site", "Source"], caller_id="+19999990000")
    assert calling_identity(t, Caller(ANI, ""))[0] == ANI


def test_no_number_at_all_gives_an_anonymous_from() -> None:
    """RFC 3323 §4.1.1.3 when neither ANI nor Caller ID exists."""
    from_value = build(caller=Caller("", "")).request.headers["From"]
    assert from_value.startswith('"Anonymous" <sip:anonymous@anonymous.invalid>;tag=')


def test_display_name_is_quoted_and_escaped() -> None:
    """RFC 3261 §25.1 quoted-string."""
    request = build(trunk(name_override_method="Unassigned DID"), caller=Caller(ANI, 'A "B" \\C'))
    assert request.request.headers["From"].startswith('"A \\"B\\" \\\\C" <sip:')
    assert parse_name_addr(request.request.headers["From"]).display == 'A "B" \\C'


@pytest.mark.parametrize("enabled", [True, False])
def test_x_inin_cnv_iff_conversation_headers(enabled: bool) -> None:
    """§4.2 [DOC BLOG]: x-inin-cnv: <conversationId> only with Conversation Headers on (§12 item 15)."""
    request = build(trunk(conversation_headers=enabled)).request
    if enabled:
        assert request.headers["x-inin-cnv"] == "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11"
        assert b"\r\nx-inin-cnv: 2c3b5a1e" in bytes(request)  # lower-case name on the wire
    else:
        assert "x-inin-cnv" not in request.headers


def test_custom_headers_keep_their_exact_case() -> None:
    """§4.2 [DOC RC-HDR] custom static headers on every INVITE; §12 item 14: exact case on output."""
    request = build(trunk(custom_sip_headers={"CUSTOM-DEVICE-TOKEN": "1234567", "X-Tenant": "acme"})).request
    wire = bytes(request)
    assert b"\r\nCUSTOM-DEVICE-TOKEN: 1234567\r\n" in wire
    assert b"\r\nX-Tenant: acme\r\n" in wire


@pytest.mark.parametrize(
    ("uui_type", "encoding", "pd", "name", "value"),
    [
        ("User-to-User", "Hex", "00", "User-to-User", "00436173652d3132333435;encoding=hex"),
        ("User-to-User", "Hex", "04", "User-to-User", "04436173652d3132333435;encoding=hex"),
        ("User-to-User with pd parameter", "Hex", "00", "User-to-User",
         "436173652d3132333435;pd=00;encoding=hex"),
        ("x-User-To-User", "Hex", "00", "x-User-to-User", "436173652d3132333435;encoding=hex"),
        ("x-User-To-User", "Ascii", "00", "x-User-to-User", "Case-12345;encoding=ascii"),
        ("User-to-User", "Ascii", "41", "User-to-User", "ACase-12345;encoding=ascii"),
        ("User-to-User with pd parameter", "Ascii", "00", "User-to-User", "Case-12345;pd=00;encoding=ascii"),
    ],
)  # fmt: skip
def test_uui_type_encoding_and_pd(uui_type: str, encoding: str, pd: str, name: str, value: str) -> None:
    """§5.1: the trunk's UUI Type / Encoding / PD decide the header; §5.2 reads the text back."""
    t = trunk(uui_type=uui_type, uui_encoding=encoding, uui_pd=pd)
    built = build(t)
    assert built.uui == ((name, value),)
    wire = bytes(built.request)
    assert f"\r\n{name}: {value}\r\n".encode() in wire
    assert genesys_uuidata([(name, value)]) == "Case-12345"


def test_uui_needs_passthrough_and_a_byoc_trunk() -> None:
    """§5.1 [DOC RC-UUIEN]: dynamic UUI only with UUI Passthrough; never on Genesys Cloud Voice [RC-UUIOV]."""
    assert uui_headers(trunk(uui_passthrough=False), "data", Policies()) == []
    gcv = Trunk.model_validate({"name": "GCV", "kind": "genesys_cloud_voice", "uui_passthrough": True})
    assert uui_headers(gcv, "data", Policies()) == []
    assert "User-to-User" not in build(uui=None).request.headers


def test_static_user_data_priority_rules() -> None:
    """§3.3 [DOC RC-UUIEN]: same header name: Low sends dynamic, High static; different names: both."""
    low = trunk(static_user_data="static", static_user_data_priority="Low")
    high = trunk(static_user_data="static", static_user_data_priority="High")
    both = trunk(static_user_data="static", static_user_data_type="x-User-To-User")
    assert [genesys_uuidata([h]) for h in uui_headers(low, "dyn", Policies())] == ["dyn"]
    assert [genesys_uuidata([h]) for h in uui_headers(high, "dyn", Policies())] == ["static"]
    assert [name for name, _ in uui_headers(both, "dyn", Policies())] == ["User-to-User", "x-User-to-User"]
    assert [genesys_uuidata([h]) for h in uui_headers(low, None, Policies())] == ["static"]


def test_uui_that_cannot_be_written_is_left_out_with_a_warning() -> None:
    """§5.1: PD octet 00 cannot be written as the first character of ascii User-to-User data."""
    built = build(trunk(uui_encoding="Ascii"))
    assert built.uui == ()
    assert built.warnings and "UUI not sent" in built.warnings[0]


def test_purpose_content_parameters_are_a_policy() -> None:
    """§5.1 UNKNOWN ';purpose=isdn-uui;content=isdn-uui' on outbound UUI (uui_purpose_content_params)."""
    built = build(policies=Policies(uui_purpose_content_params=True))
    assert built.uui[0][1].endswith(";encoding=hex;purpose=isdn-uui;content=isdn-uui")
    assert not build().uui[0][1].endswith("isdn-uui")


@pytest.mark.parametrize("enabled", [False, True])
def test_p_asserted_identity_is_a_policy(enabled: bool) -> None:
    """§4.2 UNKNOWN whether BYOC Cloud sends PAI: Policies.invite_pai mirrors From (default off)."""
    request = build(policies=Policies(invite_pai=enabled)).request
    assert request.headers.get("P-Asserted-Identity") == (f"<sip:{ANI}@198.51.100.20>" if enabled else None)


def test_record_route_contact_and_allow() -> None:
    """§4.2 [DOC RC-CARR] Record-Route; Contact with the opaque gcdlg parameter (RC-DCV); §10 (1) Allow."""
    request = build().request
    assert request.headers["Record-Route"] == "<sip:198.51.100.20:5060;lr>"
    assert request.headers["Contact"] == "<sip:198.51.100.20:5060;transport=udp;gcdlg=ab12>"
    assert request.headers.get_raw("Allow") == [ALLOW]
    assert request.headers["Max-Forwards"] == "70"
    assert request.call_id == "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"
    assert str(request.cseq) == "1 INVITE"


def test_tcp_and_tls_transports() -> None:
    """§3.3 Protocol: tcp adds ;transport=tcp to the R-URI; tls uses sips: (RFC 3261 §26.2)."""
    tcp = build(trunk(protocol="tcp")).request
    assert tcp.uri == "sip:+19999990001@203.0.113.10:5060;transport=tcp"
    t = trunk(protocol="tls", sip_servers=["device.example.com"])
    tls = build_invite(
        t, Attempt(t, t.proxies[0]), params(), LocalSignalling("198.51.100.20", 5061, "tls"), Policies()
    ).request
    assert tls.uri == "sips:+19999990001@device.example.com:5061"
    assert tls.headers["Contact"].startswith("<sips:198.51.100.20:5061;transport=tls;")


def test_the_whole_invite_parses_back() -> None:
    """§10 (1): the composed example's header set survives the wire."""
    offer = trunk_offer(trunk(), "52.129.100.7", 20000, session_id=3912345678).to_bytes()
    request = build(trunk(conversation_headers=True), offer=offer).request
    request.headers.add_first("Via", "SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1")
    again = parse_message(bytes(request))
    assert again.headers["Content-Type"] == "application/sdp"
    assert parse_sdp(again.body).media[0].port == 20000
    assert bytes(build(offer=offer).request) == bytes(build(offer=offer).request)  # pure: same in, same out


@pytest.mark.parametrize(
    ("codecs", "formats"),
    [
        (["audio/pcmu", "audio/pcma"], ("0", "8", "101")),
        (["audio/pcma", "audio/pcmu"], ("8", "0", "101")),
        (["audio/opus", "audio/pcmu", "audio/pcma"], ("96", "0", "8", "101")),
        (["audio/g729", "audio/pcmu"], ("18", "0", "101")),
    ],
)
def test_sdp_offer_follows_the_trunk_codec_order(codecs: list[str], formats: tuple[str, ...]) -> None:
    """§4.4 (INFERRED): codecs offered in trunk_media_codec order, then telephone-event/101 (§10 (1))."""
    sdp = trunk_offer(trunk(preferred_codec_list=codecs), "52.129.100.7", 20000, session_id=3912345678)
    media = sdp.media[0]
    assert media.formats == formats
    text = sdp.to_bytes().decode()
    assert "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" in text
    assert "o=- 3912345678 3912345678 IN IP4 52.129.100.7" in text
    assert "a=ptime:20" in text


def test_dtmf_payload_type_follows_the_trunk() -> None:
    """§3.3 trunk_media_dtmf_payload: the telephone-event payload type."""
    sdp = trunk_offer(trunk(dtmf_payload=100), "52.129.100.7", 20000, session_id=1)
    assert sdp.media[0].formats[-1] == "100"


def test_tls_trunk_offers_srtp() -> None:
    """§7 INFERRED: a TLS trunk requires SRTP (SDES a=crypto), Policies.require_srtp_on_tls."""
    t = trunk(protocol="tls", sip_servers=["device.example.com"])
    sdp = trunk_offer(t, "52.129.100.7", 20000, session_id=1, key_source=lambda n: b"\x01" * n)
    assert sdp.media[0].proto == "RTP/SAVP"
    assert "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in sdp.to_bytes().decode()
    plain = trunk_offer(t, "52.129.100.7", 20000, session_id=1, policies=Policies(require_srtp_on_tls=False))
    assert plain.media[0].proto == "RTP/AVP"


DIGEST_TRUNK = {"digest_authentication": True, "digest_user_name": "genesys", "digest_password": "s3cret"}


def _challenged() -> tuple[Any, DigestServer, str]:
    server = DigestServer("device.example", b"k" * 32, 60.0)
    nonce = server.issue_nonce(1000.0)
    challenge = f'Digest realm="device.example", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return build(trunk(**DIGEST_TRUNK)), server, challenge


def test_digest_answer_keeps_call_id_and_tag_and_bumps_cseq() -> None:
    """§4.3 [DOC BLOG] Digest with the trunk's credentials; RFC 3261 §22.2: same Call-ID/From tag, CSeq+1."""
    built, server, challenge = _challenged()
    t = trunk(**DIGEST_TRUNK)
    built.request.headers.add_first("Via", "SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-1")
    retry = authorize(built.request, [challenge], t, proxy=False, cnonce="c0ffee")
    assert retry is not None
    assert retry.call_id == built.request.call_id
    assert retry.from_.tag == "gc-4411"
    assert str(retry.cseq) == "2 INVITE"
    assert "Via" not in retry.headers  # a new transaction: the core adds a fresh Via
    credentials = Credentials.parse(retry.headers["Authorization"])
    assert credentials.username == "genesys" and credentials.qop == "auth"
    assert server.verify("INVITE", credentials, "s3cret", 1000.0).ok
    proxied = authorize(built.request, [challenge], t, proxy=True, cnonce="c0ffee")
    assert proxied is not None and "Proxy-Authorization" in proxied.headers


def test_digest_refused_without_credentials_or_with_another_realm() -> None:
    """§4.3: Digest off -> no answer; a realm other than the configured one -> call failure (INFERRED)."""
    built, _, challenge = _challenged()
    assert authorize(built.request, [challenge], trunk(), proxy=False, cnonce="c") is None
    other = trunk(
        digest_authentication=True, digest_user_name="g", digest_password="p", digest_realm="another.example"
    )
    assert authorize(built.request, [challenge], other, proxy=False, cnonce="c") is None
    assert authorize(built.request, ["Basic realm=x"], other, proxy=False, cnonce="c") is None
