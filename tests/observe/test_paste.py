"""``takeback.observe.paste``: what people paste, back into what was on the wire."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from takeback.observe import write_pcap
from takeback.observe.paste import normalize_paste
from takeback.observe.trace import TraceEntry
from takeback.sip import Request, Response, SipParseError, parse_message

from .test_explain import INVITE_10_1, NOTIFY_10_5, REFER_TO_RFC, refer
from .tshark import requires_tshark

EXACT = (
    b"OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-1\r\n"
    b"From: <sip:198.51.100.20>;tag=a\r\n"
    b"To: <sip:203.0.113.10>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def notes(data: bytes) -> set[str]:
    return {note.code for note in normalize_paste(data).notes}


def parsed(data: bytes) -> Request | Response:
    return parse_message(normalize_paste(data).data)


def test_a_wire_exact_message_is_kept_and_noted_nothing() -> None:
    result = normalize_paste(EXACT)
    assert result.data == EXACT
    assert result.notes == ()


def test_bare_lf_and_blank_lines_around() -> None:
    text = b"\n\n  \n" + EXACT.replace(b"\r\n", b"\n") + b"\n\n\n"
    assert parsed(text).call_id == "c1"
    assert notes(text) == {"paste-line-ends"}


def test_common_indentation_is_removed_but_folding_is_kept() -> None:
    lines = EXACT.decode().split("\r\n")
    folded = [*lines[:6], "Subject: first", "  second", *lines[6:]]
    text = "\n".join("    " + line if line else "" for line in folded).encode()
    message = parsed(text)
    assert message.headers.get("Subject") == "first second"  # RFC 3261 §7.3.1 folding survives
    assert "paste-indent" in notes(text)


def test_sngrep_padding_and_wireshark_line_ends() -> None:
    text = EXACT.replace(b"\r\n", b"   \\r\\n\n")  # padded panel, then Wireshark's written-out CRLF
    assert parsed(text).cseq.method == "OPTIONS"


def test_preamble_before_the_start_line_is_skipped() -> None:
    text = b"U 2026/01/05 10:00:00.000 198.51.100.20:5060 -> 203.0.113.10:5060\n" + EXACT
    assert parsed(text).call_id == "c1"
    assert "paste-preamble" in notes(text)


def test_content_length_is_set_to_the_pasted_body() -> None:
    message = parsed(INVITE_10_1.encode())  # "Content-Length: ..." in GENESYS.md §10
    assert message.body.startswith(b"v=0\r\n") and message.body.endswith(b"a=sendrecv\r\n")
    assert message.headers.get("Content-Length") == str(len(message.body))
    assert "paste-content-length" in notes(INVITE_10_1.encode())


def test_a_content_length_right_for_lf_line_ends_is_not_noted() -> None:
    assert "paste-content-length" not in notes(NOTIFY_10_5.encode())  # 20 = 18 + CRLF
    body = b"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
    head = EXACT.replace(b"Content-Length: 0", b"Content-Length: %d" % len(body)).replace(b"\r\n", b"\n")
    assert "paste-content-length" not in notes(head + body)


def test_no_content_length_takes_the_rest() -> None:
    text = refer().replace("Content-Length: 0\n", "").encode()
    assert parsed(text).headers.get("Refer-To") == REFER_TO_RFC


def test_text_without_a_start_line_goes_to_the_parser_unchanged() -> None:
    assert normalize_paste(b"hello\n").data == b"hello\n"
    with pytest.raises(SipParseError):
        parsed(b"hello\n")


def test_a_decoded_packet_tree_is_refused_with_a_hint() -> None:
    tree = b"Session Initiation Protocol (INVITE)\n    Request-Line: INVITE sip:+1@h SIP/2.0\n"
    with pytest.raises(SipParseError, match="follow"):
        normalize_paste(tree)


def test_a_sipfrag_body_is_not_another_message() -> None:
    text = NOTIFY_10_5.replace("Trying\n", "Trying\n\nSIP/2.0 200 OK\n")
    text = text.replace("From:", "Via: SIP/2.0/UDP 198.51.100.20;branch=z9hG4bK-n\nFrom:", 1)
    message = parsed(text.encode())
    assert b"200 OK" in message.body


def test_too_large() -> None:
    with pytest.raises(SipParseError) as info:
        normalize_paste(b"x" * (1024 * 1024 + 1))
    assert info.value.status == 513


@requires_tshark
def test_tshark_follow_output(tmp_path: Path) -> None:
    """A real ``tshark -z follow,udp,ascii`` of two messages: header lines, byte counts, footer."""
    sent = [
        TraceEntry(1.0, "out", "UDP", ("198.51.100.20", 5060), ("203.0.113.10", 5060), EXACT),
        TraceEntry(
            2.0,
            "out",
            "UDP",
            ("203.0.113.10", 5060),
            ("198.51.100.20", 5060),
            refer().replace("\n", "\r\n").encode(),
        ),
    ]
    pcap = tmp_path / "two.pcap"
    write_pcap(pcap, sent)
    follow = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-q", "-z", "follow,udp,ascii,0"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert b"Follow: udp,ascii" in follow
    assert parsed(follow).cseq.method == "OPTIONS"
    assert {"paste-preamble", "paste-several"} <= notes(follow)
