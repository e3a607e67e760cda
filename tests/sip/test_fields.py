"""Headers keeps its index in step with incremental edits (the response-building fast path relies on it)."""

from __future__ import annotations

import pytest

from takeback.sip.fields import Headers
from takeback.sip.parser import parse_message


def fresh_index(headers: Headers) -> tuple[dict[str, str], bool]:
    """The index a from-scratch rebuild gives, to compare with the incrementally maintained one."""
    rebuilt = Headers.from_fields(list(headers._fields))
    return rebuilt.index(), rebuilt.has_repeats


def assert_index_consistent(headers: Headers) -> None:
    assert (headers.index(), headers.has_repeats) == fresh_index(headers)


def test_add_keeps_the_index_valid() -> None:
    h = Headers([("Via", "v1"), ("To", "<sip:a@h>")])
    h.index()
    h.add("Contact", "<sip:c@h>")
    h.add("v", "v2")
    assert_index_consistent(h)
    assert h.get_raw("Via") == ["v1", "v2"] and "Contact" in h and h.has_repeats


def test_add_first_and_pop_first_keep_the_index_valid() -> None:
    h = Headers([("Via", "v1, v2"), ("To", "<sip:a@h>")])
    h.index()
    h.add_first("Via", "v0")
    assert_index_consistent(h)
    assert h.get("Via") == "v0"
    assert h.pop_first("Via") == "v0"
    assert_index_consistent(h)
    assert h.pop_first("Via") == "v1"
    assert_index_consistent(h)
    assert h.get("Via") == "v2"
    assert h.pop_first("Via") == "v2"
    assert_index_consistent(h)
    assert "Via" not in h
    h.add_first("Via", "new")  # a name not present yet is appended (documented behaviour)
    assert h.items_as_written()[-1] == ("Via", "new")
    assert_index_consistent(h)


def test_restamped_top_via_of_a_parsed_message_is_indexed() -> None:
    msg = parse_message(
        b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport\r\n"
        b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    headers = msg.headers
    headers.pop_first("Via")
    headers.add_first("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport=5062;received=192.0.2.9")
    assert_index_consistent(headers)
    assert msg.top_via.received == "192.0.2.9"


def test_edits_drop_cached_typed_values() -> None:
    msg = parse_message(
        b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    assert msg.top_via.branch == "z9hG4bK1"
    msg.headers.add_first("Via", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2")
    assert msg.top_via.branch == "z9hG4bK2"


def test_constructor_still_validates() -> None:
    with pytest.raises(ValueError):
        Headers([("Bad Name", "x")])
    with pytest.raises(ValueError):
        Headers([("X-A", "1\r\nInjected: yes")])
    with pytest.raises(ValueError):
        Headers().add("X-A", "1\nx")
    assert Headers([("x-custom", "1"), ("Via", "v")]).keys == ["x-custom", "via"]
