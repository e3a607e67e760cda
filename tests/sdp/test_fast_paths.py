"""The per-call fast paths (validate once, trusted construction) agree with the general, checking paths."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sdp import (
    Connection,
    LocalMedia,
    MediaDescription,
    MediaLine,
    Origin,
    SdpParseError,
    SessionDescription,
    SrtpPolicy,
    VersionKeeper,
    negotiate,
    parse_sdp,
)
from takeback.sdp.fields import trusted_builder
from takeback.sdp.model import Line, description_from_sections
from takeback.sdp.parser import _sections_fast, _split_lines

from .samples import ALL_SAMPLES, GENESYS_HOLD, GENESYS_OFFER, SOFTSWITCH_OFFER, WEBRTC_OFFER

# Words close to the grammar's edges: valid tokens, separators, blanks, non-ASCII digits, long numbers.
_WORDS = st.sampled_from(
    ["-", "IN", "IP4", "IP6", "X", "0", "00", "65535", "65536", "127.0.0.1", "0.0.0.0", "256.1.1.1",
     "01.2.3.4", "1.2.3", "::1", "host.example", "a:b", "RTP/AVP", "RTP//AVP", "udptl", "t38", "101",
     "١", "1/2", "224.2.1.1/127", "9" * 65, "x\0y", "é", ""]
)  # fmt: skip
_SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\t", ""])


@st.composite
def _values(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, min_size=0, max_size=8))
    text = "".join(word + draw(_SEPARATORS) for word in words)
    return draw(st.sampled_from(["", " "])) + text


def _outcome(parse: Callable[[str], object], value: str) -> object:
    try:
        return parse(value)
    except SdpParseError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("cls", [Origin, Connection, MediaLine])
@settings(max_examples=300, deadline=None)
@given(value=_values())
def test_field_fast_parse_equals_general(cls: type[Origin | Connection | MediaLine], value: str) -> None:
    assert _outcome(cls.parse, value) == _outcome(cls.parse_general, value)


def test_field_fast_parse_on_the_usual_shapes() -> None:
    for cls, value in [
        (Origin, "genesys 53655765 2353687637 IN IP4 127.0.0.1"),
        (Connection, "IN IP4 52.129.100.7"),
        (MediaLine, "audio 6000 RTP/AVP 0 8 101"),
    ]:
        assert cls.parse(value) == cls.parse_general(value)  # type: ignore[attr-defined]


_LINES = st.builds(
    Line,
    st.sampled_from("vosctmabrzikeupx"),
    st.sampled_from(
        ["0", "- 1 1 IN IP4 192.0.2.1", "IN IP4 192.0.2.1", "IN IP4 300.1.1.1", "0 0", "1 2 3", "AS:64",
         "AS", "audio 4000 RTP/AVP 0", "audio 4000 RTP/AVP", "rtpmap:0 PCMU/8000", "sendrecv", "bad name:1",
         ":x", "ptime:20", "x", "0 -3600 1 0"]
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(_LINES, max_size=8))
def test_session_fast_views_equal_checked(lines: list[Line]) -> None:
    session = (Line("v", "0"), *lines)
    fast = SessionDescription._views_fast(session)
    checked = _outcome(lambda _: SessionDescription._views_checked(session), "")
    if fast is not None:  # the fast path may decline (to find an error, or for rare lines), never differ
        assert fast == checked


@settings(max_examples=400, deadline=None)
@given(first=st.sampled_from(["audio 4000 RTP/AVP 0", "audio 4000  RTP/AVP 0", "audio x RTP/AVP 0"]),
       lines=st.lists(_LINES, max_size=8))  # fmt: skip
def test_media_fast_views_equal_checked(first: str, lines: list[Line]) -> None:
    media = (Line("m", first), *lines)
    fast = MediaDescription._views_fast(media)
    checked = _outcome(lambda _: MediaDescription._views_checked(media), "")
    if fast is not None:
        assert fast == checked


@settings(max_examples=300, deadline=None)
@given(
    body=st.sampled_from([GENESYS_OFFER, SOFTSWITCH_OFFER, WEBRTC_OFFER]),
    junk=st.text(alphabet="\r\n\0 =amx", max_size=4),
    at=st.integers(min_value=0, max_value=400),
    lf_only=st.booleans(),
)
def test_fast_line_split_equals_general(body: bytes, junk: str, at: int, lf_only: bool) -> None:
    text = body.decode()
    text = text.replace("\r\n", "\n") if lf_only else text
    text = text[:at] + junk + text[at:]
    sections = _sections_fast(text)
    if sections is None:
        return
    general = _outcome(_split_lines, text)
    assert [line for section in sections for line in section] == general


@pytest.mark.parametrize("body", [GENESYS_OFFER, GENESYS_HOLD, SOFTSWITCH_OFFER])
def test_answers_built_from_trusted_parts_read_back_the_same(body: bytes) -> None:
    local = LocalMedia("192.0.2.10", 30000).with_port(30002)
    answer = negotiate(parse_sdp(body), local, keeper=VersionKeeper(3912345678)).sdp
    again = parse_sdp(bytes(answer))
    assert again == answer
    for name in ("origin", "session_name", "connection", "bandwidths", "timings", "attributes"):
        assert getattr(again, name) == getattr(answer, name), name
    for ours, read in zip(answer.media, again.media, strict=True):
        for name in ("media_line", "attributes", "connections", "bandwidths", "codecs"):
            assert getattr(read, name) == getattr(ours, name), name


def test_with_port_equals_a_fresh_local_media() -> None:
    for options in ({}, {"legacy_hold": True}):
        fresh = LocalMedia("2001:db8::5", 40000, **options)  # type: ignore[arg-type]
        derived = LocalMedia("2001:db8::5", 30000, **options).with_port(40000)  # type: ignore[arg-type]
        assert derived == fresh
        assert derived.preferred == fresh.preferred
        assert (derived.connection, derived.origin) == (fresh.connection, fresh.origin)


def test_trusted_builder_wants_every_field() -> None:
    build = trusted_builder(Origin)
    assert build("-", "1", 2, "IN", "IP4", "192.0.2.1") == Origin("-", "1", 2, "IN", "IP4", "192.0.2.1")
    with pytest.raises(TypeError):
        build("-", "1")


def _sections_outcome(build: Callable[[], object]) -> object:
    try:
        description = build()
    except SdpParseError as exc:
        return ("error", str(exc))
    assert isinstance(description, SessionDescription)
    views = ("origin", "session_name", "connection", "bandwidths", "timings", "attributes")
    media_views = ("media_line", "attributes", "connections", "bandwidths")
    return (
        description,
        [getattr(description, name) for name in views],
        [[getattr(media, name) for name in media_views] for media in description.media],
    )


@settings(max_examples=300, deadline=None)
@given(
    body=st.sampled_from(sorted(ALL_SAMPLES.values())),
    junk=st.text(alphabet="\r\n\0 =amxcvtob:", max_size=4),
    at=st.integers(min_value=0, max_value=600),
)
def test_parser_assembly_equals_the_constructors(body: bytes, junk: str, at: int) -> None:
    """``parse_sdp`` assembles descriptions with the trusted builders when the fast checks pass: the
    result (views included) and any error equal what the dataclass constructors give for the same lines."""
    text = body.decode()
    text = text[:at] + junk + text[at:]
    lines = _outcome(_split_lines, text)
    if not isinstance(lines, list):
        return
    sections: list[list[Line]] = [[]]
    for line in lines:
        if line.type == "m":
            sections.append([])
        sections[-1].append(line)
    session, *media = sections
    if not session and not media:
        return
    general = _sections_outcome(
        lambda: SessionDescription(tuple(session), tuple(MediaDescription(tuple(item)) for item in media))
    )
    fast = _sections_outcome(lambda: description_from_sections(tuple(session), [tuple(m) for m in media]))
    assert fast == general


def _answer_bytes(body: bytes, local: LocalMedia) -> bytes:
    return bytes(negotiate(parse_sdp(body), local, keeper=VersionKeeper(3912345678)))


@pytest.mark.parametrize("name", ["genesys", "genesys-hold", "softswitch", "ipv6", "sdes"])
def test_answer_templates_from_the_memo_equal_fresh_ones(name: str) -> None:
    """The answered section's a= lines are kept per configuration (``LocalMedia.memo``): answers built from
    the memo (other ports, other offers of the same shape, holds in between) equal answers built afresh."""
    body = ALL_SAMPLES[name].replace(b"|1:32", b"")  # without an MKI, which we do not take
    address = "2001:db8::5" if name == "ipv6" else "192.0.2.10"
    options = {"srtp": SrtpPolicy.OPTIONAL, "key_source": lambda n: bytes(range(n))}
    template = LocalMedia(address, 30000, **options)  # type: ignore[arg-type]
    for port in (30002, 30004):
        for offer in (body, GENESYS_HOLD, body):
            fresh = LocalMedia(address, port, **options)  # type: ignore[arg-type]
            assert _answer_bytes(offer, template.with_port(port)) == _answer_bytes(offer, fresh)
    # a=crypto carries a fresh key per call: sections with one are never kept
    templates = [value for key, value in template.memo.items() if key[0] == "answer"]
    assert templates
    assert not any(item.get("crypto") for item in templates)


def test_answer_memo_is_bounded() -> None:
    local = LocalMedia("192.0.2.10", 30000)
    text = GENESYS_OFFER.decode()
    for mid in range(100):  # a peer inventing a new a=mid per call
        negotiate(parse_sdp(text.replace("a=sendrecv", f"a=sendrecv\r\na=mid:m{mid}")), local)
    assert len(local.memo) <= 64


def test_answer_copies_offered_repeat_lines_verbatim() -> None:
    """Offers with r= lines take ``SessionDescription.create``; plain t= lines are copied with their views."""
    text = GENESYS_OFFER.decode().replace("t=0 0\r\n", "t=3034423619 3042462419\r\nr=604800 3600 0 90000\r\n")
    answer = negotiate(parse_sdp(text), LocalMedia("192.0.2.10", 30000)).sdp
    assert "t=3034423619 3042462419\r\nr=604800 3600 0 90000\r\n" in answer.to_text()
    assert parse_sdp(answer.to_bytes()).timings == answer.timings
