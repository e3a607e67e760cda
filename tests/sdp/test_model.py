"""SessionDescription / MediaDescription: typed views, inheritance rules, construction."""

from __future__ import annotations

import pytest

from takeback.sdp import (
    PCMU,
    Attribute,
    Bandwidth,
    Codec,
    Connection,
    Direction,
    Line,
    MediaDescription,
    MediaLine,
    Origin,
    SdpParseError,
    SessionDescription,
    Timing,
    parse_sdp,
)

from .samples import (
    GENESYS_HOLD,
    GENESYS_OFFER,
    IPV6_OFFER,
    RFC4566_EXAMPLE,
    SDES_OFFER,
    SOFTSWITCH_OFFER,
    crlf,
)


def test_session_level_views_of_the_rfc_example() -> None:
    description = parse_sdp(RFC4566_EXAMPLE)
    assert description.version == 0
    assert description.origin.username == "jdoe"
    assert description.session_name == "SDP Seminar"
    assert description.connection == Connection("IN", "IP4", "224.2.17.12", 127)
    assert description.bandwidths == (Bandwidth("CT", 128),)
    assert description.timings == (Timing(2873397496, 2873404696),)
    assert description.direction is Direction.RECVONLY
    assert description.get("recvonly") == Attribute("recvonly")
    assert description.values("nothing") == ()


def test_session_direction_is_inherited_by_media() -> None:
    description = parse_sdp(RFC4566_EXAMPLE)
    audio, video = description.media
    assert audio.direction is None
    assert description.media_direction(audio) is Direction.RECVONLY
    assert description.media_direction(video) is Direction.RECVONLY


def test_media_direction_overrides_session_and_defaults_to_sendrecv() -> None:
    data = crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "a=sendonly", "m=audio 1 RTP/AVP 0", "a=inactive")
    description = parse_sdp(data)
    assert description.media_direction(description.media[0]) is Direction.INACTIVE
    plain = parse_sdp(IPV6_OFFER)
    assert plain.media_direction(plain.media[0]) is Direction.SENDRECV


def test_media_connection_inheritance() -> None:
    description = parse_sdp(RFC4566_EXAMPLE)
    audio, video = description.media
    assert description.media_connection(audio) == description.connection
    assert description.media_connection(video) == Connection("IN", "IP6", "2001:db8::2")
    assert video.connection == video.connections[0]


def test_effective_direction_with_zero_address_hold() -> None:
    hold = parse_sdp(GENESYS_HOLD)
    assert hold.media_direction(hold.media[0]) is Direction.SENDRECV
    assert hold.effective_direction(hold.media[0]) is Direction.SENDONLY
    live = parse_sdp(GENESYS_OFFER)
    assert live.effective_direction(live.media[0]) is Direction.SENDRECV


def test_media_views_of_the_genesys_offer() -> None:
    audio = parse_sdp(GENESYS_OFFER).media[0]
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio",
        20000,
        "RTP/AVP",
        ("0", "8", "101"),
    )
    assert audio.payload_types == (0, 8, 101)
    assert audio.ptime == 20 and audio.maxptime is None
    assert audio.direction is Direction.SENDRECV
    assert audio.fmtps == {"101": "0-15"}
    assert [codec.rtpmap for codec in audio.codecs] == ["PCMU/8000", "PCMA/8000", "telephone-event/8000"]
    assert audio.codecs[2].fmtp == "0-15"
    assert not audio.is_rejected and not audio.is_srtp and audio.connection is None


def test_codecs_use_rtpmap_static_table_and_skip_unmapped_dynamic_types() -> None:
    data = crlf(
        "v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "m=audio 1 RTP/AVP 18 97 96 3", "a=rtpmap:96 opus/48000/2"
    )
    audio = parse_sdp(data).media[0]
    assert [codec.rtpmap for codec in audio.codecs] == ["G729/8000", "opus/48000/2", "GSM/8000"]


def test_softswitch_offer_views() -> None:
    description = parse_sdp(SOFTSWITCH_OFFER)
    audio, video, image = description.media
    assert audio.bandwidths == (Bandwidth("AS", 64), Bandwidth("TIAS", 64000))
    assert audio.codecs[0] == Codec("opus", 102, 48000, 2, audio.fmtps["102"])
    assert audio.maxptime == 40
    assert video.rtpmaps[96].encoding_name == "H264"
    assert image.payload_types == () and image.codecs == () and image.formats == ("t38",)
    assert image.get("t38faxversion") == Attribute("T38FaxVersion", "0")


def test_crypto_and_srtp_profile() -> None:
    audio = parse_sdp(SDES_OFFER).media[0]
    assert audio.is_srtp
    assert [crypto.tag for crypto in audio.crypto] == [1, 2]
    broken = crlf(
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "m=audio 1 RTP/SAVP 0",
        "a=crypto:x",
        "a=crypto:1 X inline:QUFB",
    )
    assert [crypto.tag for crypto in parse_sdp(broken).media[0].crypto] == [1]


def test_create_orders_lines_and_round_trips() -> None:
    audio = MediaDescription.create(
        MediaLine("audio", 4000, "RTP/AVP", ("0",)),
        connection=Connection.create("192.0.2.9"),
        bandwidths=[Bandwidth("AS", 80)],
        attributes=[Attribute("rtpmap", "0 PCMU/8000"), Attribute("sendonly")],
    )
    description = SessionDescription.create(
        Origin.create("192.0.2.9", session_id=5, session_version=6),
        session_name="call",
        connection=Connection.create("192.0.2.9"),
        bandwidths=[Bandwidth("CT", 100)],
        attributes=[Attribute("tool", "takeback")],
        media=[audio],
    )
    expected = crlf(
        "v=0",
        "o=- 5 6 IN IP4 192.0.2.9",
        "s=call",
        "c=IN IP4 192.0.2.9",
        "b=CT:100",
        "t=0 0",
        "a=tool:takeback",
        "m=audio 4000 RTP/AVP 0",
        "c=IN IP4 192.0.2.9",
        "b=AS:80",
        "a=rtpmap:0 PCMU/8000",
        "a=sendonly",
    )
    assert bytes(description) == expected
    assert parse_sdp(expected) == description
    assert description.media[0].codecs == (PCMU,)


def test_with_origin_and_with_media() -> None:
    description = parse_sdp(GENESYS_OFFER)
    bumped = description.with_origin(description.origin.with_version(3912345679))
    assert bumped.origin.session_version == 3912345679
    assert bumped.lines[1] == Line("o", "- 3912345678 3912345679 IN IP4 52.129.100.7")
    assert bumped != description and bumped.media == description.media
    assert description.with_media([]).media == ()


def test_descriptions_are_hashable_and_compare_by_lines() -> None:
    assert parse_sdp(GENESYS_OFFER) == parse_sdp(GENESYS_OFFER.replace(b"\r\n", b"\n"))
    assert len({parse_sdp(GENESYS_OFFER), parse_sdp(GENESYS_OFFER)}) == 1


def test_constructors_validate() -> None:
    with pytest.raises(SdpParseError):
        MediaDescription((Line("a", "x"),))
    with pytest.raises(SdpParseError):
        MediaDescription(())
    with pytest.raises(SdpParseError):
        SessionDescription(
            (Line("v", "0"), Line("o", "- 1 1 IN IP4 192.0.2.1"), Line("m", "audio 1 RTP/AVP 0"))
        )
    with pytest.raises(SdpParseError):
        Line("ab", "x")
    with pytest.raises(SdpParseError):
        Line("a", "x\ny")
    assert str(Line("a", "sendrecv")) == "a=sendrecv"


def test_absurd_numbers_do_not_escape_as_other_errors() -> None:
    huge = "9" * 5000
    audio = parse_sdp(crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", f"m=audio 1 RTP/AVP 0 {huge}")).media[0]
    assert audio.payload_types == (0,)
    with pytest.raises(SdpParseError):
        parse_sdp(crlf("v=0", f"o=- 1 {huge} IN IP4 192.0.2.1"))
    long_version = "1" * 40
    assert parse_sdp(crlf("v=0", f"o=- 1 {long_version} IN IP4 192.0.2.1")).origin.session_version == int(
        long_version
    )
