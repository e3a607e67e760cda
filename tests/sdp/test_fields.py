"""Typed views of o=, c=, b=, t=, r=, z= and m= lines."""

from __future__ import annotations

import ipaddress

import pytest

from takeback.sdp import Bandwidth, Connection, MediaLine, Origin, SdpParseError, Timing
from takeback.sdp.fields import addrtype_of, is_token, parse_int, validate_repeat, validate_zone


def test_origin_parse_and_print() -> None:
    origin = Origin.parse("- 3912345678 3912345678 IN IP4 52.129.100.7")
    assert origin == Origin("-", "3912345678", 3912345678, "IN", "IP4", "52.129.100.7")
    assert str(origin) == "- 3912345678 3912345678 IN IP4 52.129.100.7"
    assert str(origin.with_version(3912345679)).split()[2] == "3912345679"


def test_origin_create_follows_the_address_family() -> None:
    assert str(Origin.create("2001:db8::1", session_id=7, session_version=2)) == "- 7 2 IN IP6 2001:db8::1"
    assert Origin.create("sbc.example.com").addrtype == "IP4"


def test_origin_keeps_large_and_opaque_session_ids() -> None:
    origin = Origin.parse("- 4611731400430051336 18446744073709551615 IN IP4 127.0.0.1")
    assert origin.session_id == "4611731400430051336"
    assert origin.session_version == 2**64 - 1


@pytest.mark.parametrize(
    "value",
    [
        "- 1 1 IN IP4",
        "- 1 -1 IN IP4 192.0.2.1",
        "- 1 1.5 IN IP4 192.0.2.1",
        "- 1 1 IN IP4 192.0.2.256",
        "- 1 1 IN IP4 ::1",
        "- 1 1 IN IP6 2001:db8:::1",
        "- 1 ١ IN IP4 192.0.2.1",
    ],
)
def test_bad_origins(value: str) -> None:
    with pytest.raises(SdpParseError):
        Origin.parse(value)


def test_connection_unicast_ipv4_and_ipv6() -> None:
    four = Connection.parse("IN IP4 52.129.100.7")
    assert four == Connection.create("52.129.100.7")
    assert four.ip == ipaddress.IPv4Address("52.129.100.7")
    assert not four.is_hold
    six = Connection.parse("IN IP6 2001:db8::1")
    assert six.addrtype == "IP6" and six.ip == ipaddress.IPv6Address("2001:db8::1")
    assert str(six) == "IN IP6 2001:db8::1"


@pytest.mark.parametrize(
    ("value", "hold"), [("IN IP4 0.0.0.0", True), ("IN IP6 ::", True), ("IN IP4 10.0.0.1", False)]
)
def test_hold_address_detection(value: str, hold: bool) -> None:
    assert Connection.parse(value).is_hold is hold


def test_connection_multicast_ttl_and_count() -> None:
    ttl = Connection.parse("IN IP4 224.2.1.1/127/3")
    assert (ttl.address, ttl.ttl, ttl.count) == ("224.2.1.1", 127, 3)
    assert str(ttl) == "IN IP4 224.2.1.1/127/3"
    six = Connection.parse("IN IP6 ff15::101/3")
    assert (six.address, six.ttl, six.count) == ("ff15::101", None, 3)
    assert str(six) == "IN IP6 ff15::101/3"


def test_connection_with_host_name_and_foreign_address_type() -> None:
    named = Connection.parse("IN IP4 media.example.com")
    assert named.ip is None and not named.is_hold
    other = Connection.parse("ATM NSAP 47.0005.80.ffe100.0000.f21a.01fc.0000.5004.ec4f.a6f0.00")
    assert other.nettype == "ATM"


@pytest.mark.parametrize(
    "value",
    [
        "IN IP4",
        "IN IP4 1.2.3.4 x",
        "IN IP4 1.2.3.4/x",
        "IN IP6 ::1/1/2",
        "IN IP4 1.2.3.4/1/2/3",
        "IN IP4 -bad-",
    ],
)
def test_bad_connections(value: str) -> None:
    with pytest.raises(SdpParseError):
        Connection.parse(value)


def test_bandwidth_and_timing() -> None:
    assert Bandwidth.parse("AS:64") == Bandwidth("AS", 64)
    assert str(Bandwidth.parse("TIAS:64000")) == "TIAS:64000"
    assert Timing.parse("0 0") == Timing()
    assert str(Timing(2873397496, 2873404696)) == "2873397496 2873404696"
    for bad in ("AS", "AS:-1", ":5", "A S:5"):
        with pytest.raises(SdpParseError):
            Bandwidth.parse(bad)


def test_repeat_and_zone_grammar() -> None:
    validate_repeat("7d 1h 0 25h")
    validate_repeat("604800 3600 0 90000")
    validate_zone("2882844526 -1h 2898848070 0")
    for bad in ("7d 1h", "7x 1h 0"):
        with pytest.raises(SdpParseError):
            validate_repeat(bad)
    for bad in ("", "2882844526", "x 1h", "1 1y"):
        with pytest.raises(SdpParseError):
            validate_zone(bad)


def test_media_line() -> None:
    line = MediaLine.parse("audio 20000 RTP/AVP 0 8 101")
    assert line == MediaLine("audio", 20000, "RTP/AVP", ("0", "8", "101"))
    assert line.is_rtp
    assert str(line) == "audio 20000 RTP/AVP 0 8 101"
    counted = MediaLine.parse("video 49170/2 RTP/AVP 31")
    assert counted.port_count == 2 and str(counted) == "video 49170/2 RTP/AVP 31"
    assert not MediaLine.parse("image 5006 udptl t38").is_rtp
    assert MediaLine.parse("audio 9 UDP/TLS/RTP/SAVPF 111").is_rtp


def test_rejected_media_line_may_lack_formats() -> None:
    assert MediaLine.parse("video 0 RTP/AVP").formats == ()
    with pytest.raises(SdpParseError, match="at least one format"):
        MediaLine.parse("video 5000 RTP/AVP")


@pytest.mark.parametrize(
    "value", ["audio 65536 RTP/AVP 0", "audio 5004/0 RTP/AVP 0", "audio 5004 RTP/ 0", "aud:io 5004 RTP/AVP 0"]
)
def test_bad_media_lines(value: str) -> None:
    with pytest.raises(SdpParseError):
        MediaLine.parse(value)


def test_helpers() -> None:
    assert is_token("telephone-event") and not is_token("a b") and not is_token("")
    assert parse_int("0042", "x") == 42
    for bad in ("", "+1", "1_0", "²", "1" * 21):
        with pytest.raises(SdpParseError):
            parse_int(bad, "x")
    with pytest.raises(SdpParseError, match="larger"):
        parse_int("70000", "port", maximum=65535)
    assert (
        addrtype_of("::1") == "IP6"
        and addrtype_of("192.0.2.1") == "IP4"
        and addrtype_of("a.example") == "IP4"
    )
