"""message/sipfrag bodies (RFC 3420) as carried by REFER NOTIFYs (RFC 3515 §2.4.5)."""

from __future__ import annotations

import pytest

from takeback.sip import Request, Response, SipParseError, parse_message
from takeback.sip.sipfrag import SIPFRAG, build_sipfrag, parse_sipfrag, serialize_sipfrag, sipfrag_for_status

from .sip_samples import NOTIFY


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"SIP/2.0 100 Trying\r\n", 100, "Trying"),
        (b"SIP/2.0 200 OK", 200, "OK"),
        (b"SIP/2.0 603 Declined\n", 603, "Declined"),
        (b"\r\nSIP/2.0 503 Service Unavailable\r\n\r\n", 503, "Service Unavailable"),
        (b"sip/2.0 180 Ringing\r\n", 180, "Ringing"),
    ],
)
def test_status_line_alone_is_a_fragment(body: bytes, status: int, reason: str) -> None:
    fragment = parse_sipfrag(body)
    assert isinstance(fragment, Response)
    assert (fragment.status, fragment.reason) == (status, reason)
    assert len(fragment.headers) == 0 and fragment.body == b""


def test_notify_body_from_genesys() -> None:
    notify = parse_message(NOTIFY)
    content_type = notify.content_type
    assert content_type is not None and content_type.mime == "message/sipfrag"
    fragment = parse_sipfrag(notify.body)
    assert isinstance(fragment, Response) and fragment.status == 100


def test_fragment_with_headers_and_body_no_mandatory_checks() -> None:
    body = b"SIP/2.0 200 OK\r\nContact: <sip:bob@198.51.100.3>\r\nx-inin-cnv: abc\r\n folded\r\n\r\nv=0\r\n"
    fragment = parse_sipfrag(body)
    assert fragment.headers.get("x-inin-cnv") == "abc folded"
    contact = fragment.contact
    assert contact is not None and str(contact.uri) == "sip:bob@198.51.100.3"
    assert fragment.body == b"v=0\r\n"


def test_request_fragment() -> None:
    fragment = parse_sipfrag(b"INVITE urn:service:sos SIP/2.0\r\nSubject: help\r\n")
    assert isinstance(fragment, Request)
    assert (fragment.method, fragment.uri, fragment.headers.get("Subject")) == (
        "INVITE",
        "urn:service:sos",
        "help",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"SIP/2.0 2000 OK",
        b"SIP/3.0 200 OK",
        b"HTTP/1.1 200 OK",
        b"SIP/2.0 200 OK\r\nno colon\r\n",
        b"SIP/2.0 200 OK\r\nBad Name: x\r\n",
        b" folded first\r\n",
        b"INVITE sip:a@b\r\n",
        b"INVITE <bad> SIP/2.0\r\n",
        b"x" * 70000,
    ],
)
def test_bad_fragments(body: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_sipfrag(body)


def test_building_fragments() -> None:
    assert build_sipfrag(100, "Trying") == b"SIP/2.0 100 Trying\r\n"
    assert len(build_sipfrag(100, "Trying")) == 20  # GENESYS.md §10 (5): Content-Length: 20
    assert build_sipfrag(200, "OK", [("Contact", "<sip:a@h>")]) == b"SIP/2.0 200 OK\r\nContact: <sip:a@h>\r\n"
    assert sipfrag_for_status(Response(486, "Busy Here")) == b"SIP/2.0 486 Busy Here\r\n"
    assert SIPFRAG == "message/sipfrag;version=2.0"
    with pytest.raises(ValueError, match="status"):
        build_sipfrag(99, "x")
    with pytest.raises(ValueError, match="line break"):
        build_sipfrag(200, "O\r\nK")


def test_round_trip() -> None:
    body = b"SIP/2.0 200 OK\r\nSubject: s\r\n\r\npayload"
    assert serialize_sipfrag(parse_sipfrag(body)) == body
    for status in (100, 180, 200, 202, 404, 603):
        fragment = build_sipfrag(status, "Reason Phrase")
        assert serialize_sipfrag(parse_sipfrag(fragment)) == fragment
