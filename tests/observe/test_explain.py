"""``takeback.observe.explain``: one pasted message explained against GENESYS.md §5, §6, §12.

The samples are GENESYS.md §10 as printed there (bare LF, ``Content-Length: ...``, the NOTIFY without Via),
because that is what people paste.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.observe.explain import Explanation, explain
from takeback.sip import SipParseError

INVITE_10_1 = """INVITE sip:+19999990001@203.0.113.10:5060 SIP/2.0
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1
Max-Forwards: 70
Record-Route: <sip:198.51.100.20:5060;lr>
From: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411
To: <sip:+19999990001@203.0.113.10>
Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f
CSeq: 1 INVITE
Contact: <sip:198.51.100.20:5060;transport=udp;gcdlg=ab12>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO
x-inin-cnv: 2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11
CUSTOM-DEVICE-TOKEN: 1234567
User-to-User: 00436173652D3132333435;encoding=hex
Content-Type: application/sdp
Content-Length: ...

v=0
o=- 3912345678 3912345678 IN IP4 52.129.100.7
s=-
c=IN IP4 52.129.100.7
t=0 0
m=audio 20000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
"""

REFER_TO_RFC = "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"
REFER_TO_ESCAPED_EQUALS = (
    "<sip:+33456456456@localhost?User-to-User%3D0054686973206973206d792064617461%3Bencoding%3Dhex>"
)
REFER_TO_UNESCAPED = "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461;encoding=hex>"

REFER_10_4 = """REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12 SIP/2.0
Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-91
Max-Forwards: 70
Route: <sip:198.51.100.20:5060;lr>
From: <sip:+19999990001@203.0.113.10>;tag=dev-77
To: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411
Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f
CSeq: 101 REFER
Contact: <sip:203.0.113.10:5060>
Refer-To: {refer_to}
Referred-By: <sip:+19999990001@203.0.113.10>
Content-Length: 0
"""

NOTIFY_10_5 = """NOTIFY sip:203.0.113.10:5060 SIP/2.0
From: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411
To: <sip:+19999990001@203.0.113.10>;tag=dev-77
Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f
CSeq: 2 NOTIFY
Event: refer
Subscription-State: active;expires=60
Content-Type: message/sipfrag;version=2.0
Content-Length: 20

SIP/2.0 100 Trying
"""

REFER_SPELLINGS = {
    "rfc": (REFER_TO_RFC, True),
    "escaped-equals": (REFER_TO_ESCAPED_EQUALS, False),
    "unescaped-semicolon": (REFER_TO_UNESCAPED, False),
}


def refer(refer_to: str = REFER_TO_RFC) -> str:
    return REFER_10_4.format(refer_to=refer_to)


def run(text: str) -> Explanation:
    return explain(text.encode())


def codes(explanation: Explanation, level: str | None = None) -> set[str]:
    return {f.code for f in explanation.findings if level is None or f.level == level}


def with_header(text: str, line: str, after: str = "CSeq:") -> str:
    """``text`` with ``line`` inserted after the header line starting with ``after``."""
    out = []
    for existing in text.split("\n"):
        out.append(existing)
        if existing.startswith(after):
            out.append(line)
    return "\n".join(out)


# ----------------------------------------------------------------------------------------- INVITE


def test_invite_of_section_10_decodes_uui_cnv_and_sdp() -> None:
    result = run(INVITE_10_1)
    assert (result.kind, result.method, result.cseq) == ("request", "INVITE", 1)
    assert result.call_id == "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"
    assert (result.from_.user, result.from_.tag, result.to.tag) == ("+13175551234", "gc-4411", None)
    assert result.conversation_id == "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11"
    assert result.call_uui_data == "Case-12345"
    assert result.call_uui_source == "User-to-User"
    (header,) = result.uui_headers
    assert (header.header_type, header.encoding, header.pd, header.data) == (
        "User-to-User",
        "hex",
        "00",
        "Case-12345",
    )
    assert result.sdp is not None and not result.sdp.hold
    (audio,) = result.sdp.media
    assert audio.codecs == ("PCMU/8000 (0)", "PCMA/8000 (8)")
    assert (audio.telephone_event, audio.direction, audio.address) == (101, "sendrecv", "52.129.100.7")
    assert codes(result, "warn") == set()
    assert "paste-content-length" in {n.code for n in result.input_notes}


def test_user_to_user_spelt_in_another_case_is_flagged() -> None:
    text = INVITE_10_1.replace("User-to-User:", "User-To-User:")
    result = run(text)
    assert result.call_uui_data == "Case-12345"  # RFC 3261 §7.3.5 case-insensitive by default
    assert "uui-header-case" in codes(result, "warn")


def test_missing_pd_truncates_and_is_flagged() -> None:
    text = INVITE_10_1.replace("00436173652D3132333435;encoding=hex", "436173652D3132333435;encoding=hex")
    result = run(text)
    assert result.call_uui_data == "ase-12345"  # §5.2: the first octet is always removed
    assert "uui-pd-looks-like-data" in codes(result, "warn")


def test_missing_encoding_means_hex_and_is_an_info() -> None:
    result = run(INVITE_10_1.replace(";encoding=hex", ""))
    assert result.call_uui_data == "Case-12345"
    assert "uui-missing-encoding" in codes(result, "info")
    assert result.uui_headers[0].encoding_defaulted


def test_two_uui_headers_discard_everything() -> None:
    text = with_header(INVITE_10_1, "User-to-User: 0041;encoding=hex", after="User-to-User:")
    result = run(text)
    assert result.call_uui_data is None
    assert len(result.uui_headers) == 2
    assert {"uui-multiple-different", "uui-no-data"} <= codes(result, "warn")


def test_invite_without_cnv_suggests_analytics() -> None:
    result = run(INVITE_10_1.replace("x-inin-cnv: 2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11\n", ""))
    assert result.conversation_id is None
    assert "no-cnv" in codes(result, "info")


def test_cnv_that_is_not_a_uuid() -> None:
    result = run(INVITE_10_1.replace("2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11", "12345"))
    assert "cnv-not-uuid" in codes(result, "warn")


def test_request_uri_and_to_must_carry_the_same_number() -> None:
    result = run(INVITE_10_1.replace("To: <sip:+19999990001@", "To: <sip:+19999990002@"))
    assert "ruri-to-mismatch" in codes(result, "warn")


def test_tls_invite_with_a_sip_contact() -> None:
    result = run(INVITE_10_1.replace("SIP/2.0/UDP 198.51.100.20:5060", "SIP/2.0/TLS 198.51.100.20:5061"))
    assert "contact-not-sips" in codes(result, "warn")


def test_session_expires_below_90() -> None:
    result = run(with_header(INVITE_10_1, "Session-Expires: 60"))
    assert "session-expires-too-small" in codes(result, "warn")


def test_hold_offer() -> None:
    result = run(INVITE_10_1.replace("c=IN IP4 52.129.100.7", "c=IN IP4 0.0.0.0"))
    assert result.sdp is not None and result.sdp.hold
    assert "sdp-hold" in codes(result, "info")


def test_unreadable_sdp_is_a_warning_not_a_failure() -> None:
    result = run(INVITE_10_1.replace("v=0", "v=9"))
    assert result.sdp is None
    assert "sdp-malformed" in codes(result, "warn")


def test_invite_with_credentials_shows_no_secret() -> None:
    credentials = (
        'Authorization: Digest username="genesys", realm="device.example", nonce="8a7c", '
        'uri="sip:+19999990001@203.0.113.10:5060", response="0123456789abcdef0123456789abcdef", '
        'algorithm=MD5, cnonce="c1", nc=00000001, qop=auth'
    )
    result = run(with_header(INVITE_10_1, credentials))
    (digest,) = result.digest
    assert (digest.header, digest.scheme, digest.username, digest.realm, digest.algorithm, digest.qop) == (
        "Authorization",
        "Digest",
        "genesys",
        "device.example",
        "MD5",
        "auth",
    )
    dumped = json.dumps(result.to_dict())
    assert "0123456789abcdef" not in dumped and "8a7c" not in dumped


# ------------------------------------------------------------------------------------------ REFER


@pytest.mark.parametrize("spelling", list(REFER_SPELLINGS))
def test_refer_in_each_documented_spelling(spelling: str) -> None:
    value, rfc_correct = REFER_SPELLINGS[spelling]
    result = run(refer(value))
    assert result.refer_to is not None
    assert result.refer_to.number == "+33456456456"
    assert result.refer_to.spelling == spelling
    assert result.refer_to.rfc_correct is rfc_correct
    assert result.refer_to.call_uui_data == "This is my data"
    assert (result.call_uui_data, result.call_uui_source) == ("This is my data", "Refer-To")
    assert (result.refer_to.uui_header_type, result.refer_to.uui_pd) == ("User-to-User", "00")
    spelling_warnings = {c for c in codes(result, "warn") if c.startswith("refer-to-spelling")}
    assert spelling_warnings == (set() if rfc_correct else {f"refer-to-spelling-{spelling}"})
    assert "dialog-target-unchecked" in codes(result, "info")


def test_separate_uui_header_on_refer_is_ignored() -> None:
    text = with_header(refer("<sip:+33456456456@localhost>"), "User-to-User: 0054686973;encoding=hex")
    result = run(text)
    assert result.call_uui_data is None
    assert len(result.uui_headers) == 1  # shown, decoded on its own ...
    assert result.uui_headers[0].data == "This"
    assert "refer-uui-header-ignored" in codes(result, "warn")  # ... but Genesys does not use it
    assert "refer-to-no-uui" in codes(result, "info")


def test_tel_refer_to() -> None:
    result = run(refer("<tel:+33456456456>"))
    assert result.refer_to is not None and result.refer_to.scheme == "tel"
    assert "refer-to-tel-uri" in codes(result, "warn")


def test_refer_to_with_headers_outside_brackets() -> None:
    result = run(refer(REFER_TO_RFC[1:-1]))
    assert result.refer_to is not None and not result.refer_to.bracketed
    assert "refer-to-not-bracketed" in codes(result, "warn")


def test_refer_to_without_brackets_or_headers() -> None:
    result = run(refer("sip:+33456456456@localhost"))
    assert "refer-to-unbracketed" in codes(result, "warn")


def test_refer_without_refer_to_or_to_tag() -> None:
    text = refer().replace(f"Refer-To: {REFER_TO_RFC}\n", "").replace(";tag=gc-4411", "")
    result = run(text)
    assert {"refer-to-missing", "refer-out-of-dialog"} <= codes(result, "warn")


def test_refer_to_without_user_part_is_unusable() -> None:
    result = run(refer("<sip:localhost>"))
    assert result.refer_to is not None and result.refer_to.error is not None
    assert "refer-to-malformed" in codes(result, "warn")


def test_refer_request_uri_without_parameters_is_pointed_out() -> None:
    result = run(
        refer().replace("REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12", "REFER sip:198.51.100.20")
    )
    (note,) = [f for f in result.findings if f.code == "dialog-target-unchecked"]
    assert "no parameters" in note.message and "sip:198.51.100.20" in note.message


def test_refer_to_uui_without_pd() -> None:
    value = "<sip:+33456456456@localhost?User-to-User=54686973206973%3Bencoding%3Dhex>"
    result = run(refer(value))
    assert result.call_uui_data == "his is"
    assert "uui-pd-looks-like-data" in codes(result, "warn")


# ----------------------------------------------------------------------------------------- NOTIFY


def test_notify_of_section_10_has_no_via_but_is_explained() -> None:
    result = run(NOTIFY_10_5)
    assert result.method == "NOTIFY"
    assert result.notify is not None
    assert (result.notify.event, result.notify.sipfrag) == ("refer", "SIP/2.0 100 Trying")
    assert result.notify.subscription_state == "active;expires=60"
    assert "missing-via" in codes(result, "warn")
    assert "refer-progress" in codes(result, "info")


def test_notify_without_event_and_subscription_state() -> None:
    text = NOTIFY_10_5.replace("Event: refer\n", "").replace("Subscription-State: active;expires=60\n", "")
    result = run(text)
    assert {"notify-no-event", "notify-no-subscription-state"} <= codes(result, "warn")


@pytest.mark.parametrize(
    ("frag", "code", "level"),
    [("200 OK", "refer-succeeded", "info"), ("404 Not Found", "refer-failed", "warn")],
)
def test_terminal_notify(frag: str, code: str, level: str) -> None:
    text = NOTIFY_10_5.replace("100 Trying", frag).replace(
        "active;expires=60", "terminated;reason=noresource"
    )
    assert code in codes(run(text), level)


def test_notify_without_sipfrag_body() -> None:
    text = NOTIFY_10_5.replace("message/sipfrag;version=2.0", "text/plain")
    assert "notify-not-sipfrag" in codes(run(text), "warn")


# -------------------------------------------------------------------------------------- responses


RESPONSE = """SIP/2.0 {status}
Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-91
From: <sip:+19999990001@203.0.113.10>;tag=dev-77
To: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411
Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f
CSeq: 101 {method}
Content-Length: 0
"""


@pytest.mark.parametrize(
    ("status", "method", "code", "level"),
    [
        ("202 Accepted", "REFER", "refer-accepted", "info"),
        ("403 Forbidden", "REFER", "refer-rejected", "warn"),
        ("501 Not Implemented", "OPTIONS", "options-501", "warn"),
        ("503 Service Unavailable", "OPTIONS", "options-503", "info"),
    ],
)
def test_responses(status: str, method: str, code: str, level: str) -> None:
    result = run(RESPONSE.format(status=status, method=method))
    assert result.kind == "response" and result.method == method
    assert code in codes(result, level)


def test_challenge_is_summarised() -> None:
    text = with_header(
        RESPONSE.format(status="401 Unauthorized", method="INVITE"),
        'WWW-Authenticate: Digest realm="device.example", nonce="8a7c", algorithm=MD5, qop="auth"',
    )
    result = run(text)
    (digest,) = result.digest
    assert (digest.header, digest.realm, digest.algorithm) == ("WWW-Authenticate", "device.example", "MD5")
    assert "digest-challenge" in codes(result, "info")


# ----------------------------------------------------------------------------------- failures, JSON


@pytest.mark.parametrize(
    "text",
    ["", "hello world\n", "INVITE sip:x@y SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n"],
)
def test_unparseable_raises_with_the_parsers_reason(text: str) -> None:
    with pytest.raises(SipParseError) as info:
        run(text)
    assert str(info.value) and "\n" not in str(info.value)


def test_only_a_missing_via_is_forgiven() -> None:
    with pytest.raises(SipParseError, match="call-id"):
        run(NOTIFY_10_5.replace("Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\n", ""))


def test_json_shape() -> None:
    data = run(refer()).to_dict()
    json.dumps(data)  # serializable as is
    assert list(data)[:3] == ["ok", "start_line", "kind"]
    assert data["start_line"] == "REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12 SIP/2.0"
    assert data["from"]["tag"] == "dev-77" and "from_" not in data
    assert data["refer_to"]["spelling"] == "rfc"
    assert {"findings", "input_notes", "warnings", "uui_headers", "digest", "sdp", "notify"} <= set(data)
    assert all(set(f) == {"level", "code", "message"} for f in data["findings"])


_EDIT_CHARS = ';:<>?%=,"\\ \n\t@+0aZ\x00\x1b[]'


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from([INVITE_10_1, NOTIFY_10_5, refer(), refer(REFER_TO_UNESCAPED)]),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(_EDIT_CHARS), st.booleans()), max_size=6
    ),
)
def test_damaged_messages_only_ever_raise_sip_parse_error(
    sample: str, edits: list[tuple[float, str, bool]]
) -> None:
    text = list(sample)
    for where, char, insert in edits:
        position = int(where * len(text))
        if insert:
            text.insert(position, char)
        elif text:
            text[min(position, len(text) - 1)] = char
    try:
        result = explain("".join(text).encode())
    except SipParseError:
        return
    json.dumps(result.to_dict())
