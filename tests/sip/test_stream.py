"""Stream framing (TCP/TLS, RFC 3261 §18.3): Content-Length frames, CRLF keep-alives, error recovery."""

from __future__ import annotations

import pytest

from takeback.sip import Request, Response, SipParseError, StreamParser

from .sip_samples import NOTIFY, OK_200, REFER, invite

STREAM = invite() + REFER + OK_200 + NOTIFY


def kinds(messages: list[Request | Response]) -> list[str]:
    return [m.method if isinstance(m, Request) else str(m.status) for m in messages]


def test_several_messages_in_one_read() -> None:
    parser = StreamParser()
    messages = list(parser.feed(STREAM))
    assert kinds(messages) == ["INVITE", "REFER", "200", "NOTIFY"]
    assert [bytes(m) for m in messages] == [invite(), REFER, OK_200, NOTIFY]
    assert parser.buffered == 0 and not parser.broken


def test_byte_by_byte() -> None:
    parser = StreamParser()
    messages: list[Request | Response] = []
    for i in range(len(STREAM)):
        messages.extend(parser.feed(STREAM[i : i + 1]))
    assert kinds(messages) == ["INVITE", "REFER", "200", "NOTIFY"]
    assert messages[0].body == invite()[invite().index(b"\r\n\r\n") + 4 :]


def test_body_containing_a_blank_line_is_framed_by_content_length() -> None:
    body = b"line1\r\n\r\nline2"
    data = invite(body)
    parser = StreamParser()
    (message,) = parser.feed(data + data[:10])
    assert message.body == body and parser.buffered == 10


def test_crlf_keepalives_between_messages_are_counted() -> None:
    parser = StreamParser()
    messages = list(parser.feed(b"\r\n\r\n" + REFER + b"\r\n" + REFER + b"\r\n\r\n"))
    assert kinds(messages) == ["REFER", "REFER"]
    assert parser.keepalives == 5 and parser.buffered == 0


@pytest.mark.parametrize(
    ("head_change", "status"),
    [
        ((b"Content-Length: 0\r\n", b""), 400),  # missing
        ((b"Content-Length: 0", b"Content-Length: zero"), 400),
        ((b"Content-Length: 0", b"Content-Length: -1"), 400),
        ((b"Content-Length: 0", b"Content-Length: 0\r\nl: 5"), 400),  # conflicting
    ],
)
def test_framing_errors_break_the_stream(head_change: tuple[bytes, bytes], status: int) -> None:
    parser = StreamParser()
    with pytest.raises(SipParseError) as info:
        list(parser.feed(REFER.replace(*head_change) + REFER))
    assert info.value.status == status
    assert parser.broken
    with pytest.raises(SipParseError):
        list(parser.feed(REFER))


def test_framing_error_even_when_the_grammar_is_also_broken() -> None:
    parser = StreamParser()
    with pytest.raises(SipParseError):
        list(parser.feed(b"garbage line\r\nNo-Length: 1\r\n\r\n"))
    assert parser.broken


def test_grammar_error_in_a_framed_message_leaves_the_stream_usable() -> None:
    bad = REFER.replace(b"CSeq: 101 REFER", b"CSeq: 101 INVITE")
    parser = StreamParser()
    iterator = parser.feed(bad + REFER + OK_200)
    with pytest.raises(SipParseError) as info:
        next(iterator)
    assert info.value.status == 400
    assert info.value.partial_headers is not None and info.value.partial_headers.get("CSeq") == "101 INVITE"
    assert not parser.broken
    assert kinds(list(parser.feed(b""))) == ["REFER", "200"]


def test_grammar_error_waits_for_the_body() -> None:
    bad = invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE")
    parser = StreamParser()
    assert list(parser.feed(bad[:-5])) == []
    with pytest.raises(SipParseError):
        list(parser.feed(bad[-5:] + REFER))
    assert kinds(list(parser.feed(b""))) == ["REFER"]


def test_oversized_header_section_is_513() -> None:
    parser = StreamParser(max_message_size=1000)
    with pytest.raises(SipParseError) as info:
        list(parser.feed(b"INVITE sip:a@b SIP/2.0\r\nX: " + b"a" * 2000))
    assert info.value.status == 513 and parser.broken


def test_oversized_body_is_413() -> None:
    parser = StreamParser(max_message_size=1000)
    with pytest.raises(SipParseError) as info:
        list(parser.feed(REFER.replace(b"Content-Length: 0", b"Content-Length: 5000")))
    assert info.value.status == 413 and parser.broken


def test_bare_lf_peer_on_a_stream() -> None:
    parser = StreamParser()
    messages = list(parser.feed(REFER.replace(b"\r\n", b"\n") + OK_200))
    assert kinds(messages) == ["REFER", "200"]


def test_folded_content_length_still_frames() -> None:
    data = REFER.replace(b"Content-Length: 0", b"Content-Length:\r\n 4") + b"body"
    (message,) = StreamParser().feed(data)
    assert message.body == b"body"


def test_stream_messages_keep_their_wire_bytes() -> None:
    """Each framed message carries exactly its own bytes (for traces), body included."""
    first = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    first += b"Call-ID: 1\r\nCSeq: 1 OPTIONS\r\n"
    first += b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nContent-Length: 2\r\n\r\nhi"
    second = first.replace(b"Call-ID: 1", b"Call-ID: 2")
    parser = StreamParser()
    messages = list(parser.feed(b"\r\n" + first + second))
    assert [m.wire for m in messages] == [first, second]
