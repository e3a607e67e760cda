"""The per-call fast paths agree with the general code they shortcut (hypothesis).

Headers.replace_first vs pop_first + add_first, the top Via that stamp_received caches vs parsing the line
it writes, per-header dropping of cached typed values vs a fresh parse, sipfrag_status's status-line
shortcut vs parse_sipfrag.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sip.errors import SipParseError
from takeback.sip.fields import Headers
from takeback.sip.headers import parse_via
from takeback.sip.message import Request
from takeback.sip.parser import parse_message
from takeback.sip.peer import Peer, stamp_received
from takeback.sip.sipfrag import parse_sipfrag
from takeback.sip.subscription import _status_line, sipfrag_status

VIA_NAMES = st.sampled_from(["Via", "v", "VIA", "via"])
OTHER = st.sampled_from([("From", "<sip:a@x>;tag=1"), ("To", "<sip:b@y>"), ("Call-ID", "c1"), ("X-A", "1")])
VIA_VALUES = st.sampled_from(
    ["SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "SIP/2.0/TCP h;branch=z9hG4bK2;rport", "", " "]
)


def _line(name: str, value: str) -> tuple[str, str, str]:
    return (name, ":", " " + value)


@st.composite
def header_lines(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    lines = draw(st.lists(OTHER.map(lambda nv: _line(*nv)), max_size=4))
    for _ in range(draw(st.integers(0, 3))):
        vias = draw(st.lists(VIA_VALUES, min_size=1, max_size=3))
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, _line(draw(VIA_NAMES), ", ".join(vias)))
    return lines


def _state(headers: Headers) -> tuple[object, ...]:
    return (headers.items_as_written(), headers.keys, headers.index(), headers.has_repeats)


@settings(max_examples=300, deadline=None)
@given(header_lines(), st.booleans(), st.booleans())
def test_replace_first_is_pop_first_then_add_first(lines, indexed, keyed) -> None:
    fast, general = Headers.from_fields(list(lines)), Headers.from_fields(list(lines))
    for headers in (fast, general):
        if indexed:
            headers.index()
        if keyed:
            headers.keys  # noqa: B018 - computed like after an add()
    value = "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKnew;received=203.0.113.1"
    fast.replace_first("Via", value)
    general.pop_first("Via")
    general.add_first("Via", value)
    assert _state(fast) == _state(general)


HOSTS = st.sampled_from(["192.0.2.1", "[2001:db8::1]", "example.com", "127.0.0.1"])
PARAM = [";branch=z9hG4bK-7", ";rport", ";rport=5070", ";RPORT", ";received=192.0.2.9", ';x="a b"']
PARAM += [";Received=10.0.0.1", ";lr", ";maddr=192.0.2.5", ";ttl=3"]
PARAMS = st.lists(st.sampled_from(PARAM), max_size=5)
SOURCES = st.sampled_from(["127.0.0.1", "::1", "192.0.2.1"])


@settings(max_examples=300, deadline=None)
@given(HOSTS, st.sampled_from(["", ":5060", ":7"]), PARAMS, SOURCES, st.booleans())
def test_stamped_top_via_is_what_parsing_the_new_line_gives(host, port, params, source, compact) -> None:
    via = f"SIP/2.0/UDP {host}{port}{''.join(params)}"
    name = "v" if compact else "Via"
    data = (
        f"OPTIONS sip:b@y SIP/2.0\r\n{name}: {via}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\n"
        f"Call-ID: c1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    request = parse_message(data)
    assert isinstance(request, Request)
    cseq, from_ = request.cseq, request.from_
    stamp_received(request, Peer("UDP", source, 5999))
    assert request.top_via == parse_via(request.headers.get("Via") or "")
    assert request.cseq is cseq and request.from_ is from_  # untouched headers stay parsed
    fresh = parse_message(bytes(request))
    assert fresh.top_via == request.top_via and fresh.cseq == cseq


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["CSeq", "Via", "From", "To", "Contact", "Event", "X-Other"]), max_size=4))
def test_edits_keep_exactly_the_typed_values_that_are_still_true(edits) -> None:
    data = (
        b"NOTIFY sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
        b"To: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 7 NOTIFY\r\nContact: <sip:a@h>\r\nEvent: refer;id=3\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    request = parse_message(data)
    replacements = {"CSeq": "8 NOTIFY", "Via": "SIP/2.0/TCP k;branch=z9hG4bK2", "From": "<sip:c@x>;tag=9"}
    replacements |= {"To": "<sip:d@y>;tag=8", "Contact": "<sip:e@h>", "Event": "refer;id=4", "X-Other": "1"}
    for name in edits:
        request.contacts, request.event, request.vias  # noqa: B018 - fill the cache
        request.headers.set(name, replacements[name])
    fresh = parse_message(bytes(request))
    for read in (
        lambda m: m.cseq, lambda m: m.top_via, lambda m: m.vias, lambda m: m.from_, lambda m: m.to,
        lambda m: m.contacts, lambda m: m.event, lambda m: m.call_id,
    ):  # fmt: skip
        assert read(request) == read(fresh)


REASONS = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.integers(100, 699), REASONS, st.sampled_from(["", "\r\n", "\n", "\r\n\r\n", "\r\nX: y\r\n"]),
       st.sampled_from(["SIP/2.0 ", "sip/2.0 ", "SIP/2.0  "]))  # fmt: skip
def test_sipfrag_status_line_shortcut_agrees_with_parse_sipfrag(code, reason, tail, version) -> None:
    body = f"{version}{code} {reason}{tail}".encode()
    try:
        fragment = parse_sipfrag(body)
    except SipParseError:
        expected = _status_line(body)
    else:
        expected = (fragment.status, fragment.reason) if hasattr(fragment, "status") else None
    assert sipfrag_status(body) == expected
