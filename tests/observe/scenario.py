"""A synthetic take-back call as two parties would record it: messages built by hand, addresses on 127.0.0.1.

Cast (DESIGN.md §3 demo ports): a PSTN caller (SIPp) at 127.0.0.1:5060, the Genesys emulator at
127.0.0.1:5070, the device at 127.0.0.1:5080. The emulator and the device both record, so every message
between them is in the trace twice (their "out" and "in"), like the demo's shared trace.
"""

from __future__ import annotations

from takeback.observe.trace import Address, SipTrace

CALLER: Address = ("127.0.0.1", 5060)
GENESYS: Address = ("127.0.0.1", 5070)
DEVICE: Address = ("127.0.0.1", 5080)
NAMES = {CALLER: "caller", GENESYS: "genesys", DEVICE: "device"}
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z

GENESYS_PARTY = '"+13175551234" <sip:+13175551234@127.0.0.1>;tag=gc-4411'
DEVICE_PARTY = "<sip:+19999990001@127.0.0.1>;tag=dev-77"
CALL_ID_A = "pstn-leg-1@127.0.0.1"
CALL_ID_B = "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"
CONVERSATION = "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11"
REFER_TO = "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"

SDP_OFFER = (
    "v=0\r\no=- 3912345678 3912345678 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)
SDP_ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def message(start_line: str, headers: list[tuple[str, str]], body: str = "") -> bytes:
    """A SIP message with a correct Content-Length (RFC 3261 §20.14)."""
    lines = [start_line, *(f"{name}: {value}" for name, value in headers)]
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def dialog_headers(
    call_id: str, cseq: str, via: str, from_: str, to: str, *extra: tuple[str, str]
) -> list[tuple[str, str]]:
    return [("Via", via), ("Max-Forwards", "70"), ("From", from_), ("To", to), ("Call-ID", call_id),
            ("CSeq", cseq), *extra]  # fmt: skip


def genesys_invite(cseq: int, *extra: tuple[str, str]) -> bytes:
    return message(
        "INVITE sip:+19999990001@127.0.0.1:5080 SIP/2.0",
        dialog_headers(
            CALL_ID_B, f"{cseq} INVITE", f"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-gc-{cseq}",
            '"+13175551234" <sip:+13175551234@127.0.0.1>;tag=gc-4411', "<sip:+19999990001@127.0.0.1>",
            ("Contact", "<sip:127.0.0.1:5070;transport=udp;gcdlg=ab12>"),
            ("x-inin-cnv", CONVERSATION), ("CUSTOM-DEVICE-TOKEN", "1234567"),
            ("User-to-User", "00436173652D3132333435;encoding=hex"), *extra,
            ("Content-Type", "application/sdp"),
        ),
        SDP_OFFER,
    )  # fmt: skip


def device_response(status: str, cseq: str, branch: str, *extra: tuple[str, str], body: str = "") -> bytes:
    to_tag = "" if status.startswith("100") else ";tag=dev-77"
    return message(
        f"SIP/2.0 {status}",
        [("Via", f"SIP/2.0/UDP 127.0.0.1:5070;branch={branch}"),
         ("From", '"+13175551234" <sip:+13175551234@127.0.0.1>;tag=gc-4411'),
         ("To", f"<sip:+19999990001@127.0.0.1>{to_tag}"), ("Call-ID", CALL_ID_B), ("CSeq", cseq), *extra],
        body,
    )  # fmt: skip


def in_dialog_from_device(method: str, cseq: int, *extra: tuple[str, str]) -> bytes:
    return message(
        f"{method} sip:127.0.0.1:5070;transport=udp;gcdlg=ab12 SIP/2.0",
        dialog_headers(
            CALL_ID_B, f"{cseq} {method}", f"SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-dev-{cseq}",
            DEVICE_PARTY, GENESYS_PARTY,
            *extra,
        ),
    )  # fmt: skip


def notify(cseq: int, state: str, frag: str) -> bytes:
    return message(
        "NOTIFY sip:127.0.0.1:5080 SIP/2.0",
        dialog_headers(
            CALL_ID_B, f"{cseq} NOTIFY", f"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-gc-n{cseq}",
            GENESYS_PARTY, DEVICE_PARTY,
            ("Event", "refer"), ("Subscription-State", state),
            ("Content-Type", "message/sipfrag;version=2.0"),
        ),
        frag + "\r\n",
    )  # fmt: skip


def response_from_genesys(status: str, cseq: str, branch: str) -> bytes:
    return message(
        f"SIP/2.0 {status}",
        [("Via", f"SIP/2.0/UDP 127.0.0.1:5080;branch={branch}"),
         ("From", "<sip:+19999990001@127.0.0.1>;tag=dev-77"),
         ("To", '"+13175551234" <sip:+13175551234@127.0.0.1>;tag=gc-4411'), ("Call-ID", CALL_ID_B),
         ("CSeq", cseq)],
    )  # fmt: skip


def caller_invite() -> bytes:
    return message(
        "INVITE sip:+18005550100@127.0.0.1:5070 SIP/2.0",
        dialog_headers(
            CALL_ID_A, "1 INVITE", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-pstn-1",
            "<sip:+13175551234@127.0.0.1>;tag=pstn-1", "<sip:+18005550100@127.0.0.1>",
            ("Contact", "<sip:+13175551234@127.0.0.1:5060>"), ("Content-Type", "application/sdp"),
        ),
        SDP_OFFER,
    )  # fmt: skip


CHALLENGE = 'Digest realm="device.example", nonce="8a7c", algorithm=MD5, qop="auth"'
CREDENTIALS = (
    'Digest username="genesys", realm="device.example", nonce="8a7c", uri="sip:+19999990001@127.0.0.1:5080", '
    'response="0123456789abcdef0123456789abcdef", algorithm=MD5, cnonce="c1", nc=00000001, qop=auth'
)

#: (seconds after START, sender, receiver, bytes, both-ends-record)
FLOW: list[tuple[float, Address, Address, bytes, bool]] = [
    (0.000, CALLER, GENESYS, caller_invite(), False),
    (0.010, GENESYS, DEVICE, genesys_invite(1), True),
    (0.011, DEVICE, GENESYS, device_response("401 Unauthorized", "1 INVITE", "z9hG4bK-gc-1",
                                             ("WWW-Authenticate", CHALLENGE)), True),
    (0.020, GENESYS, DEVICE, genesys_invite(2, ("Authorization", CREDENTIALS)), True),
    (0.520, GENESYS, DEVICE, genesys_invite(2, ("Authorization", CREDENTIALS)), True),  # Timer A retransmit
    (0.530, DEVICE, GENESYS, device_response("100 Trying", "2 INVITE", "z9hG4bK-gc-2"), True),
    (0.600, DEVICE, GENESYS, device_response("200 OK", "2 INVITE", "z9hG4bK-gc-2",
                                             ("Contact", "<sip:127.0.0.1:5080>"),
                                             ("Content-Type", "application/sdp"), body=SDP_ANSWER), True),
    (2.000, DEVICE, GENESYS, in_dialog_from_device("REFER", 101, ("Contact", "<sip:127.0.0.1:5080>"),
                                                   ("Refer-To", REFER_TO)), True),
    (2.010, GENESYS, DEVICE, response_from_genesys("202 Accepted", "101 REFER", "z9hG4bK-dev-101"), True),
    (2.020, GENESYS, DEVICE, notify(2, "active;expires=60", "SIP/2.0 100 Trying"), True),
    (2.500, GENESYS, DEVICE, notify(3, "terminated;reason=noresource", "SIP/2.0 200 OK"), True),
    (2.510, DEVICE, GENESYS, in_dialog_from_device("BYE", 102), True),
]  # fmt: skip

#: What a reader of the ladder must see, in order (mirrors removed, the retransmission kept).
EXPECTED_LABELS = [
    "INVITE", "INVITE", "401 Unauthorized", "INVITE", "INVITE", "100 Trying", "200 OK",
    "REFER", "202 Accepted", "NOTIFY", "NOTIFY", "BYE",
]  # fmt: skip


def recorded_trace(max_entries: int = 1000) -> SipTrace:
    """The flow recorded by the emulator ("genesys") and the device into one shared trace."""
    trace = SipTrace(max_entries)
    who = {GENESYS: "genesys", DEVICE: "device"}
    for offset, src, dst, data, both in FLOW:
        when = START + offset
        trace.record("out", "UDP", src, dst, data, party=who.get(src), timestamp=when)
        if both or dst in who:
            trace.record("in", "UDP", src, dst, data, party=who.get(dst), timestamp=when + 0.0002)
    return trace
