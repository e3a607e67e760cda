"""Sample SIP messages shared by the message-layer tests (GENESYS.md §10, with a real SDP)."""

from __future__ import annotations

SDP = (
    b"v=0\r\n"
    b"o=- 3912345678 3912345678 IN IP4 52.129.100.7\r\n"
    b"s=-\r\n"
    b"c=IN IP4 52.129.100.7\r\n"
    b"t=0 0\r\n"
    b"m=audio 20000 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
)


def crlf(text: str) -> bytes:
    """Lines joined with CRLF (the tests write messages one line per string)."""
    return text.replace("\n", "\r\n").encode()


def invite(body: bytes = SDP) -> bytes:
    """GENESYS.md §10 (1): Genesys → device INVITE."""
    head = crlf(
        "INVITE sip:+19999990001@203.0.113.10:5060 SIP/2.0\n"
        "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1\n"
        "Max-Forwards: 70\n"
        "Record-Route: <sip:198.51.100.20:5060;lr>\n"
        'From: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411\n'
        "To: <sip:+19999990001@203.0.113.10>\n"
        "Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\n"
        "CSeq: 1 INVITE\n"
        "Contact: <sip:198.51.100.20:5060;transport=udp;gcdlg=ab12>\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO\n"
        "x-inin-cnv: 2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11\n"
        "CUSTOM-DEVICE-TOKEN: 1234567\n"
        "User-to-User: 00436173652D3132333435;encoding=hex\n"
        "Content-Type: application/sdp\n"
        f"Content-Length: {len(body)}\n"
        "\n"
    )
    return head + body


REFER_TO = "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"

REFER = crlf(
    "REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12 SIP/2.0\n"
    "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-91\n"
    "Max-Forwards: 70\n"
    "Route: <sip:198.51.100.20:5060;lr>\n"
    "From: <sip:+19999990001@203.0.113.10>;tag=dev-77\n"
    'To: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411\n'
    "Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\n"
    "CSeq: 101 REFER\n"
    "Contact: <sip:203.0.113.10:5060>\n"
    f"Refer-To: {REFER_TO}\n"
    "Referred-By: <sip:+19999990001@203.0.113.10>\n"
    "Content-Length: 0\n"
    "\n"
)

OK_200 = (
    crlf(
        "SIP/2.0 200 OK\n"
        "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1;received=198.51.100.20\n"
        "Record-Route: <sip:198.51.100.20:5060;lr>\n"
        'From: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411\n'
        "To: <sip:+19999990001@203.0.113.10>;tag=dev-77\n"
        "Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\n"
        "CSeq: 1 INVITE\n"
        "Contact: <sip:203.0.113.10:5060>\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY\n"
        "Content-Type: application/sdp\n"
        f"Content-Length: {len(SDP)}\n"
        "\n"
    )
    + SDP
)

NOTIFY = crlf(
    "NOTIFY sip:203.0.113.10:5060 SIP/2.0\n"
    "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-n2\n"
    "Max-Forwards: 70\n"
    'From: "+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411\n'
    "To: <sip:+19999990001@203.0.113.10>;tag=dev-77\n"
    "Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\n"
    "CSeq: 2 NOTIFY\n"
    "Event: refer\n"
    "Subscription-State: active;expires=60\n"
    "Content-Type: message/sipfrag;version=2.0\n"
    "Content-Length: 20\n"
    "\n"
    "SIP/2.0 100 Trying\n"
)

ALL = {"invite": invite(), "refer": REFER, "ok": OK_200, "notify": NOTIFY}
