"""takeback.device.call helpers: the INVITE's UUI lines, collected once for both the records' raw text and
the decoded ``uui``, read what reading every header line reads (the server's fast path)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from takeback.device.call import uui_header_lines, uui_header_text
from takeback.sip import Request, parse_message
from takeback.uui import decode_uui

_HEAD = (
    "INVITE sip:+19999990001@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    "From: <sip:+13175551234@127.0.0.1>;tag=a1\r\n"
    "To: <sip:+19999990001@127.0.0.1>\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
)
names = st.sampled_from(
    [
        "User-to-User",
        "user-to-user",
        "USER-TO-USER",
        "x-User-to-User",
        "X-User-To-User",
        "x-inin-cnv",
        "Subject",
    ]
)
values = st.sampled_from(
    ["00FA080019001A0A0B0C0D0E0F;encoding=hex", "0054686973;encoding=hex", "XThis;encoding=ascii",
     "0041,0042", "zz", "0041;pd=04;encoding=hex", '"0041";encoding=hex'],
)  # fmt: skip


def _invite(lines: list[tuple[str, str, str]]) -> Request:
    head = _HEAD + "".join(f"{name}{blank}: {value}\r\n" for name, blank, value in lines)
    message = parse_message((head + "Content-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def _text_from_every_line(invite: Request) -> str | None:
    """uui_header_text as first written: a pass over every header line."""
    wanted = {"user-to-user", "x-user-to-user"}
    lines = [f"{n}: {v}" for n, v in invite.headers.items_as_written() if n.lower() in wanted]
    return "\n".join(lines) or None


@given(lines=st.lists(st.tuples(names, st.sampled_from(["", " ", "\t"]), values), max_size=4))
def test_uui_lines_read_what_every_header_line_reads(lines: list[tuple[str, str, str]]) -> None:
    invite = _invite(lines)
    chosen = uui_header_lines(invite)
    assert decode_uui(chosen) == decode_uui(invite.headers)
    assert uui_header_text(invite, chosen) == uui_header_text(invite) == _text_from_every_line(invite)


def test_no_uui_header_means_no_lines() -> None:
    invite = _invite([("x-inin-cnv", "", "abc")])
    assert uui_header_lines(invite) == [] and uui_header_text(invite) is None
