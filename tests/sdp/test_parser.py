"""parse_sdp: byte-exact round trips, line-ending handling, and the SdpParseError-only contract."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takeback.sdp import SdpParseError, SessionDescription, parse_sdp

from .samples import ALL_SAMPLES, GENESYS_OFFER, WEBRTC_OFFER, crlf

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)
LONG = settings(
    max_examples=5000,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", sorted(ALL_SAMPLES))
def test_well_formed_samples_round_trip_byte_exact(name: str) -> None:
    data = ALL_SAMPLES[name]
    description = parse_sdp(data)
    assert bytes(description) == data
    assert description.to_bytes() == data
    assert str(description) == data.decode()


def test_genesys_offer_structure() -> None:
    description = parse_sdp(GENESYS_OFFER)
    assert len(description.lines) == 5
    assert [media.media for media in description.media] == ["audio"]
    assert description.media[0].lines[0].value == "audio 20000 RTP/AVP 0 8 101"


def test_str_input_is_accepted() -> None:
    assert bytes(parse_sdp(GENESYS_OFFER.decode())) == GENESYS_OFFER


def test_bare_lf_input_gives_crlf_output() -> None:
    lf = GENESYS_OFFER.replace(b"\r\n", b"\n")
    assert bytes(parse_sdp(lf)) == GENESYS_OFFER


def test_mixed_line_endings_and_missing_final_newline() -> None:
    mixed = b"v=0\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\nt=0 0"
    assert bytes(parse_sdp(mixed)) == crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0")


def test_blank_lines_are_skipped() -> None:
    padded = GENESYS_OFFER + b"\r\n\r\n"
    assert bytes(parse_sdp(padded)) == GENESYS_OFFER


def test_unknown_lines_and_attributes_are_kept_in_order() -> None:
    data = crlf(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "y=0100000001",
        "t=0 0",
        "a=x-vendor:thing",
        "m=audio 5004 RTP/AVP 0",
        "f=v/2/25",
        "a=zzz",
        "a=rtpmap:0 PCMU/8000",
        "a=x-odd: spaced   value ",
    )
    description = parse_sdp(data)
    assert bytes(description) == data
    assert [line.type for line in description.lines] == ["v", "o", "s", "y", "t", "a"]
    assert description.media[0].values("x-odd") == (" spaced   value ",)


def test_odd_spacing_is_kept_verbatim() -> None:
    data = crlf("v=0", "o=-  1   1 IN IP4 192.0.2.1", "s=", "t=0  0", "m=audio  5004 RTP/AVP   0  8")
    description = parse_sdp(data)
    assert bytes(description) == data
    assert description.media[0].formats == ("0", "8")
    assert description.origin.session_version == 1
    assert description.session_name == ""


def test_non_utf8_bytes_survive_a_round_trip() -> None:
    data = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=Caf\xe9\r\nt=0 0\r\n"
    assert bytes(parse_sdp(data)) == data


def test_ice_attributes_are_kept_verbatim() -> None:
    media = parse_sdp(WEBRTC_OFFER).media[0]
    assert media.get("ice-ufrag") is not None
    assert media.values("candidate")[1].endswith("tcptype active")
    assert media.get("rtcp-mux") is not None and media.get("rtcp-mux").value is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", "v=0"),
        (b"v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\n", "v=0"),
        (b"v=0\r\ns=-\r\n", "o= line is missing"),
        (b"v=0\r\no=- 1 1 IN IP4\r\n", "6 fields"),
        (b"v=0\r\no=- 1 x IN IP4 192.0.2.1\r\n", "session version"),
        (b"v=0\r\no=- 1 1 IN IP4 300.1.1.1\r\n", "IPv4"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\no=- 2 2 IN IP4 192.0.2.1\r\n", "more than one"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", "second v="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP6 2001:db8::zz\r\n", "IPv6"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4\r\n", "3 fields"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nb=AS\r\n", "b="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nb=AS:x\r\n", "b= value"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0\r\n", "t="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nr=7d 1h\r\n", "r="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nz=2882844526\r\n", "z="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\na=\r\n", "not a token"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\na=:x\r\n", "not a token"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 5004 RTP/AVP\r\n", "at least one format"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 70000 RTP/AVP 0\r\n", "port"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio x RTP/AVP 0\r\n", "port"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 5004\r\n", "m="),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 5004 RTP/AVP 0\r\nt=0 0\r\n", "not allowed"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 5004 RTP/AVP 0\r\no=x\r\n", "not allowed"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nv = 0\r\n", "<type>=<value>"),
        (b"v=0\r\nnonsense\r\n", "<type>=<value>"),
        (b"v=0\r\n1=x\r\n", "ASCII letter"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\rb\r\n", "CR"),
        (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\x00b\r\n", "NUL"),
    ],
)
def test_malformed_descriptions_raise_sdp_parse_error(data: bytes, fragment: str) -> None:
    with pytest.raises(SdpParseError, match=fragment):
        parse_sdp(data)


def test_parse_error_is_a_value_error_with_line_number() -> None:
    with pytest.raises(ValueError, match="line 2") as info:
        parse_sdp(b"v=0\r\nbroken\r\n")
    assert isinstance(info.value, SdpParseError)
    assert info.value.line_number == 2


def test_unencodable_text_and_wrong_types_raise_sdp_parse_error() -> None:
    with pytest.raises(SdpParseError):
        parse_sdp("v=0\r\ns=\ud800\r\n")
    with pytest.raises(SdpParseError):
        parse_sdp(12)  # type: ignore[arg-type]


# --- property tests ----------------------------------------------------------------------------------------

_FRAGMENTS = [
    "0",
    "- 1 1 IN IP4 192.0.2.1",
    "- 1 1 IN IP6 ::1",
    "IN IP4 0.0.0.0",
    "IN IP4 224.2.1.1/127/3",
    "IN IP6 ff15::101/3",
    "AS:64",
    "0 0",
    "7d 1h 0 25h",
    "2882844526 -1h",
    "audio 5004 RTP/AVP 0 8 101",
    "audio 0 RTP/SAVP 96",
    "video 9 UDP/TLS/RTP/SAVPF 96",
    "image 5006 udptl t38",
    "rtpmap:0 PCMU/8000",
    "rtpmap:96 opus/48000/2",
    "rtpmap:101 telephone-event/8000",
    "fmtp:101 0-15",
    "ptime:20",
    "sendonly",
    "inactive",
    "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
    "",
    " ",
]


@st.composite
def sdp_like(draw: st.DrawFn) -> bytes:
    """Plausible line sequences, so the fuzzing reaches the validators instead of dying at line 1."""
    line = st.tuples(
        st.sampled_from("vosiuepcbtrzkam" * 4 + "aaaammmccxA1 "),
        st.sampled_from("=" * 12 + ": "),
        st.one_of(
            st.sampled_from(_FRAGMENTS),
            st.sampled_from(_FRAGMENTS),
            st.text(alphabet=st.characters(codec="ascii", blacklist_characters="\r\n"), max_size=30),
            st.text(max_size=10),
        ),
    ).map("".join)
    head = draw(st.sampled_from(["", "v=0\n"] + ["v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"] * 4))
    body = draw(st.lists(line, max_size=25))
    ending = draw(st.sampled_from(["\r\n"] * 4 + ["\n", "\r"]))
    return (head + ending.join(body)).encode("utf-8", "surrogatepass")


def _check_parse(data: bytes) -> None:
    try:
        description = parse_sdp(data)
    except SdpParseError:
        return
    assert isinstance(description, SessionDescription)
    first = bytes(description)
    again = parse_sdp(first)
    assert again == description
    assert bytes(again) == first


@FAST
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_sdp_parse_error(data: bytes) -> None:
    _check_parse(data)


@FAST
@given(sdp_like())
def test_sdp_like_input_only_raises_sdp_parse_error_and_round_trips(data: bytes) -> None:
    _check_parse(data)


@FAST
@given(st.sampled_from(sorted(ALL_SAMPLES)), st.data())
def test_mutated_samples_only_raise_sdp_parse_error(name: str, data: st.DataObject) -> None:
    sample = bytearray(ALL_SAMPLES[name])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(sample) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.integers(0, 255))
        if action == "replace":
            sample[position] = byte
        elif action == "delete":
            del sample[position]
        else:
            sample.insert(position, byte)
    _check_parse(bytes(sample))


@pytest.mark.slow
@LONG
@given(st.one_of(st.binary(max_size=2000), sdp_like()))
def test_long_fuzz_only_raises_sdp_parse_error(data: bytes) -> None:
    _check_parse(data)


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`{|}~", min_size=1
)
_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=20,
)
_IPV4 = st.ip_addresses(v=4).map(str)
_IPV6 = st.ip_addresses(v=6).map(str)


@st.composite
def well_formed(draw: st.DrawFn) -> str:
    """Random descriptions that follow RFC 8866 (one space between fields, valid numbers and addresses)."""
    family, address = draw(st.sampled_from([("IP4", _IPV4), ("IP6", _IPV6)]))
    lines = [
        "v=0",
        f"o={draw(_TOKEN)} {draw(st.integers(0, 2**63))} {draw(st.integers(0, 2**63))} IN {family} "
        f"{draw(address)}",
        f"s={draw(_TEXT)}",
    ]
    if draw(st.booleans()):
        lines.append(f"c=IN {family} {draw(address)}")
    lines += [f"b={draw(_TOKEN)}:{draw(st.integers(0, 10**9))}" for _ in range(draw(st.integers(0, 2)))]
    lines.append(f"t={draw(st.integers(0, 2**40))} {draw(st.integers(0, 2**40))}")
    attribute = st.one_of(_TOKEN, st.tuples(_TOKEN, _TEXT).map(lambda pair: f"{pair[0]}:{pair[1]}"))
    lines += [f"a={draw(attribute)}" for _ in range(draw(st.integers(0, 3)))]
    for _ in range(draw(st.integers(0, 3))):
        formats = " ".join(draw(st.lists(st.integers(0, 127).map(str), min_size=1, max_size=6)))
        lines.append(
            f"m={draw(_TOKEN)} {draw(st.integers(0, 65535))} {draw(_TOKEN)}/{draw(_TOKEN)} {formats}"
        )
        if draw(st.booleans()):
            lines.append(f"c=IN {family} {draw(address)}")
        lines += [f"a={draw(attribute)}" for _ in range(draw(st.integers(0, 4)))]
    return "".join(f"{line}\r\n" for line in lines)


@FAST
@given(well_formed())
def test_generated_well_formed_descriptions_round_trip_byte_exact(text: str) -> None:
    data = text.encode()
    assert bytes(parse_sdp(data)) == data
    assert bytes(parse_sdp(data.replace(b"\r\n", b"\n"))) == data
