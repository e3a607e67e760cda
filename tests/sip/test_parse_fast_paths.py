"""The parse/serialise shortcuts agree with the general code they stand in for (hypothesis).

``Headers.text_with_length`` vs joining ``lines_with_length``, the bare-LF test of the parser vs
counting LFs, the transposed header index of the parser vs the one ``Headers.index()`` builds, and
the C-level misses of ``lookup_param``/``has_param`` and the inlined ``Via.rport``/``Via.has_rport``
vs a plain case-insensitive scan.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sip.errors import SipParseError
from takeback.sip.fields import Headers
from takeback.sip.headers import Via
from takeback.sip.params import has_param, lookup_param
from takeback.sip.parser import parse_message

NAMES = st.sampled_from(["Content-Length", "l", "content-length", "Via", "To", "X-A", "Call-ID"])
VALUES = st.sampled_from(["0", " 0", "12", "12 ", "7", "", "a, b", "x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, VALUES), max_size=6), st.sampled_from([0, 7, 12]), st.booleans())
def test_text_with_length_is_joined_lines_with_length(pairs, length, indexed) -> None:
    headers = Headers.from_fields([(name, ":", " " + value) for name, value in pairs])
    if indexed:
        headers.index()
    expected = "\r\n".join(headers.lines_with_length(length))
    assert headers.text_with_length(length) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab:\r\n ", max_size=40))
def test_bare_lf_check_is_counting_lfs(text) -> None:
    lines = text.split("\r\n")
    assert ("\n" in "".join(lines)) == (text.count("\n") != len(lines) - 1)


PARAM_NAMES = st.sampled_from(["rport", "RPort", "received", "maddr", "Tag", "tag", "branch", "x"])
PARAM_VALUES = st.one_of(st.none(), st.sampled_from(["", "5060", "abc", "12x", "0"]))


def _reference_lookup(params: dict[str, str | None], name: str) -> str | None:
    if name in params:
        return params[name]
    for key, value in params.items():
        if key.lower() == name.lower():
            return value
    return None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=4), PARAM_NAMES)
def test_param_lookups_are_case_insensitive_scans(params, name) -> None:
    assert lookup_param(params, name) == _reference_lookup(params, name)
    assert has_param(params, name) == any(key.lower() == name.lower() for key in params)
    via = Via("UDP", "192.0.2.1", 5060, params)
    assert via.rport == via.int_param("rport")
    assert via.has_rport == any(key.lower() == "rport" for key in params)


HEADER_LINES = st.sampled_from(
    [
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
        "v: SIP/2.0/UDP h;branch=z9hG4bK2;rport",
        "From: <sip:a@x>;tag=1",
        "To: <sip:b@y>",
        "t: <sip:b@y>;tag=9",
        "Call-ID: c1",
        "CSeq: 1 OPTIONS",
        "X-Custom: 1",
        "Contact: <sip:c@z>",
        "no colon here",
        " folded",
        "Bad Name: 1",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HEADER_LINES, max_size=9), st.sampled_from(["\r\n", "\n"]))
def test_parser_index_is_what_headers_index_builds(lines, eol) -> None:
    data = eol.join(["OPTIONS sip:b@y SIP/2.0", *lines]).encode() + (eol * 2).encode()
    try:
        message = parse_message(data)
    except SipParseError as exc:
        headers = exc.partial_headers
        if headers is None:
            return
    else:
        headers = message.headers
    rebuilt = Headers.from_fields(list(headers._fields))
    assert headers.index() == rebuilt.index()
    assert headers.has_repeats == rebuilt.has_repeats
