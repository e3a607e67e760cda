"""make_response (RFC 3261 §8.2.6): the single-line fast path and the general path write the same bytes."""

from __future__ import annotations

import pytest

from takeback.sip.message import Headers, Request
from takeback.sip.parser import parse_message
from takeback.sip.responses import make_response

INVITE = (
    b"INVITE sip:b@192.0.2.2 SIP/2.0\r\n"
    b"Via:  SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;received=192.0.2.1  \r\n"
    b"Max-Forwards: 70\r\n"
    b"f: Alice <sip:a@192.0.2.1>;tag=a1\r\n"
    b"t: <sip:b@192.0.2.2>\r\n"
    b"i: call-1@192.0.2.1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Record-Route: <sip:p1@192.0.2.9;lr>\r\n"
    b"Timestamp: 54\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def general(request: Request) -> Request:
    """The same request rebuilt through Headers() (line by line, checked): the reference path."""
    return Request(request.method, request.uri, Headers(request.headers.items_as_written()))


@pytest.mark.parametrize("status", [100, 180, 200, 486])
def test_fast_path_matches_a_line_by_line_build(status: int) -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    fast = make_response(request, status, to_tag="xyz")
    assert bytes(fast) == bytes(make_response(general(request), status, to_tag="xyz"))
    text = bytes(fast).decode()
    assert "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;received=192.0.2.1\r\n" in text
    assert "From: Alice <sip:a@192.0.2.1>;tag=a1\r\nTo: <sip:b@192.0.2.2>" in text
    assert ("To: <sip:b@192.0.2.2>;tag=xyz\r\n" in text) == (status != 100)
    assert ("Record-Route: <sip:p1@192.0.2.9;lr>" in text) == (status in (180, 200))
    assert ("Timestamp: 54" in text) == (status == 100)
    assert fast.to.tag == (None if status == 100 else "xyz")
    assert fast.call_id == "call-1@192.0.2.1" and fast.cseq.seq == 7


def test_repeated_vias_are_all_copied_in_order() -> None:
    data = INVITE.replace(b"Max-Forwards", b"Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK-2\r\nMax-Forwards")
    request = parse_message(data)
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="t")
    assert [v.branch for v in response.vias] == ["z9hG4bK-1", "z9hG4bK-2"]
    assert bytes(response) == bytes(make_response(general(request), 200, to_tag="t"))


def test_in_dialog_to_tag_is_kept_and_headers_stay_editable() -> None:
    request = parse_message(INVITE.replace(b"t: <sip:b@192.0.2.2>", b"t: <sip:b@192.0.2.2>;tag=b9"))
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="other")
    assert response.to.tag == "b9"
    assert "Record-Route" not in response.headers  # not dialog-creating: in-dialog
    response.headers.add("Contact", "<sip:b@192.0.2.2>")
    assert response.contact is not None and response.headers.get("Contact") == "<sip:b@192.0.2.2>"


def test_a_to_tag_with_a_line_break_is_refused() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    with pytest.raises(ValueError):
        make_response(request, 200, to_tag="x\r\nInjected: 1")
