"""a= attributes: name/value split, direction algebra, lenient typed readers."""

from __future__ import annotations

import pytest

from takeback.sdp import Attribute, Direction, RtpMap, SdpParseError
from takeback.sdp.attributes import parse_direction, parse_fmtps, parse_milliseconds, parse_rtpmaps


def attrs(*texts: str) -> list[Attribute]:
    return [Attribute.parse(text) for text in texts]


def test_attribute_split_and_print() -> None:
    assert Attribute.parse("sendrecv") == Attribute("sendrecv")
    assert Attribute.parse("rtpmap:0 PCMU/8000") == Attribute("rtpmap", "0 PCMU/8000")
    assert Attribute.parse("empty:") == Attribute("empty", "")
    assert Attribute.parse("fingerprint:sha-256 AB:CD").value == "sha-256 AB:CD"
    assert str(Attribute("ptime", "20")) == "ptime:20" and str(Attribute("rtcp-mux")) == "rtcp-mux"
    for bad in ("", ":x", "a b:c", "x(y)"):
        with pytest.raises(SdpParseError):
            Attribute.parse(bad)
    with pytest.raises(SdpParseError):
        Attribute("x", "a\nb")


@pytest.mark.parametrize(
    ("offered", "mirrored"),
    [
        (Direction.SENDRECV, Direction.SENDRECV),
        (Direction.SENDONLY, Direction.RECVONLY),
        (Direction.RECVONLY, Direction.SENDONLY),
        (Direction.INACTIVE, Direction.INACTIVE),
    ],
)
def test_direction_reversal_rfc3264_6_1(offered: Direction, mirrored: Direction) -> None:
    assert offered.reversed() is mirrored
    assert mirrored.reversed() is offered


def test_direction_flags_and_intersection() -> None:
    assert Direction.SENDRECV.sends and Direction.SENDRECV.receives
    assert Direction.SENDONLY.sends and not Direction.SENDONLY.receives
    assert not Direction.INACTIVE.sends and not Direction.INACTIVE.receives
    assert Direction.SENDRECV.intersect(Direction.SENDONLY) is Direction.SENDONLY
    assert Direction.RECVONLY.intersect(Direction.SENDONLY) is Direction.INACTIVE
    assert Direction.SENDRECV.without_receive() is Direction.SENDONLY
    assert Direction.RECVONLY.without_receive() is Direction.INACTIVE
    assert Direction.from_flags(send=False, receive=True) is Direction.RECVONLY
    assert Direction("sendonly") is Direction.SENDONLY and str(Direction.INACTIVE) == "inactive"


def test_rtpmap_parse() -> None:
    assert RtpMap.parse("111 opus/48000/2") == RtpMap(111, "opus", 48000, 2)
    assert RtpMap.parse("0 PCMU/8000") == RtpMap(0, "PCMU", 8000)
    assert str(RtpMap(111, "opus", 48000, 2)) == "111 opus/48000/2"
    for bad in (
        "x PCMU/8000",
        "128 X/8000",
        "0 PCMU",
        "0 PCMU/0",
        "0 PCMU/8000/0",
        "0 /8000",
        "0 PCMU/8000/2/1",
    ):
        assert RtpMap.parse(bad) is None


def test_rtpmaps_skip_malformed_and_keep_first() -> None:
    maps = parse_rtpmaps(
        attrs("rtpmap:96 opus/48000/2", "rtpmap:bad", "rtpmap:96 other/8000", "RTPMAP:0 PCMU/8000")
    )
    assert maps == {96: RtpMap(96, "opus", 48000, 2), 0: RtpMap(0, "PCMU", 8000)}


def test_fmtps() -> None:
    fmtps = parse_fmtps(
        attrs("fmtp:101 0-15", "fmtp:96 minptime=10;useinbandfec=1 ", "fmtp:t38", "fmtp:101 0-16")
    )
    assert fmtps == {"101": "0-15", "96": "minptime=10;useinbandfec=1", "t38": ""}


def test_milliseconds() -> None:
    assert parse_milliseconds(attrs("ptime:20"), "ptime") == 20
    assert parse_milliseconds(attrs("ptime: 30 "), "ptime") == 30
    assert parse_milliseconds(attrs("ptime:22.5"), "ptime") == 23
    assert parse_milliseconds(attrs("ptime:20.0"), "ptime") == 20
    assert parse_milliseconds(attrs("ptime:x", "ptime:0", "ptime:40"), "ptime") == 40
    assert parse_milliseconds(attrs("maxptime:60"), "ptime") is None
    assert parse_milliseconds(attrs("ptime"), "ptime") is None


def test_direction_attribute() -> None:
    assert parse_direction(attrs("rtcp-mux", "sendonly", "recvonly")) is Direction.SENDONLY
    assert parse_direction(attrs("SendRecv")) is Direction.SENDRECV
    assert parse_direction(attrs("inactive:x", "ptime:20")) is None
