"""negotiate(): RFC 3264 answers, one test per rule, plus hold/unhold and the 488 cases."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sdp import (
    Codec,
    CryptoAttribute,
    Direction,
    LocalMedia,
    NegotiationError,
    NoCommonCodec,
    SdpError,
    SdpParseError,
    SrtpMismatch,
    SrtpPolicy,
    VersionKeeper,
    negotiate,
    parse_sdp,
    process_answer,
)

from .samples import (
    ALL_SAMPLES,
    GENESYS_HOLD,
    GENESYS_OFFER,
    IPV6_OFFER,
    SOFTSWITCH_OFFER,
    WEBRTC_OFFER,
    crlf,
)
from .samples import (
    SDES_OFFER as RFC4568_SDES_OFFER,
)

DEVICE = LocalMedia("203.0.113.10", 30000, codecs=("PCMU", "PCMA"))


def key_source(length: int) -> bytes:
    return bytes(range(1, length + 1))


def offer(*media_lines: str, session: tuple[str, ...] = ("c=IN IP4 198.51.100.20",)) -> bytes:
    return crlf("v=0", "o=peer 1 1 IN IP4 198.51.100.20", "s=-", *session, "t=0 0", *media_lines)


def test_answer_to_the_genesys_offer_byte_exact() -> None:
    answer = negotiate(parse_sdp(GENESYS_OFFER), DEVICE, keeper=VersionKeeper(3900000000))
    assert bytes(answer) == crlf(
        "v=0",
        "o=- 3900000000 3900000000 IN IP4 203.0.113.10",
        "s=-",
        "c=IN IP4 203.0.113.10",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
    )
    assert (answer.codec.name, answer.codec.payload_type, answer.codec.clock_rate, answer.codec.channels) == (
        "PCMU",
        0,
        8000,
        1,
    )
    assert answer.media.telephone_event_payload_type == 101
    assert (answer.remote_address, answer.remote_port, answer.ptime) == ("52.129.100.7", 20000, 20)
    assert answer.direction is Direction.SENDRECV and not answer.media.held


def test_local_preference_order_wins_over_offer_order() -> None:
    local = dataclasses.replace(DEVICE, codecs=("PCMA", "PCMU"))
    answer = negotiate(parse_sdp(GENESYS_OFFER), local)
    assert answer.codec.payload_type == 8
    assert answer.sdp.media[0].formats == ("8", "101")


def test_opus_dynamic_payload_type_and_fmtp_are_mirrored() -> None:
    local = dataclasses.replace(DEVICE, codecs=("audio/opus", "audio/pcmu"))
    answer = negotiate(parse_sdp(SOFTSWITCH_OFFER), local)
    audio = answer.sdp.media[0]
    assert audio.formats == ("102", "101")
    assert audio.values("rtpmap") == ("102 opus/48000/2", "101 telephone-event/8000")
    offered_fmtp = parse_sdp(SOFTSWITCH_OFFER).media[0].fmtps["102"]
    assert audio.fmtps == {"102": offered_fmtp, "101": "0-16"}
    assert answer.codec == Codec("opus", 102, 48000, 2, offered_fmtp)


def test_local_fmtp_replaces_the_offered_one_in_the_answer_only() -> None:
    local = dataclasses.replace(DEVICE, codecs=(Codec("opus", 96, 48000, 2, "useinbandfec=1"),))
    answer = negotiate(parse_sdp(SOFTSWITCH_OFFER), local)
    assert answer.sdp.media[0].fmtps["102"] == "useinbandfec=1"
    assert answer.codec.fmtp is not None and answer.codec.fmtp.startswith("useinbandfec=1; maxplaybackrate")


def test_single_codec_off_lists_every_common_codec_in_local_order() -> None:
    local = dataclasses.replace(DEVICE, codecs=("PCMA", "G722", "PCMU", "G729"), single_codec=False)
    answer = negotiate(parse_sdp(SOFTSWITCH_OFFER), local)
    assert answer.sdp.media[0].formats == ("8", "9", "0", "101")
    assert [codec.payload_type for codec in answer.media.codecs] == [8, 9, 0]


def test_telephone_event_follows_the_codec_clock_rate() -> None:
    data = offer(
        "m=audio 4000 RTP/AVP 111 0 110 126",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=fmtp:126 0-16",
    )
    opus = negotiate(parse_sdp(data), dataclasses.replace(DEVICE, codecs=("opus",)))
    assert opus.media.telephone_event == Codec("telephone-event", 110, 48000)
    assert opus.sdp.media[0].formats == ("111", "110")
    pcmu = negotiate(parse_sdp(data), DEVICE)
    assert pcmu.media.telephone_event == Codec("telephone-event", 126, 8000, fmtp="0-16")
    assert pcmu.sdp.media[0].values("fmtp") == ("126 0-16",)


def test_telephone_event_absent_or_disabled() -> None:
    plain = negotiate(parse_sdp(offer("m=audio 4000 RTP/AVP 0")), DEVICE)
    assert plain.telephone_event is None and plain.sdp.media[0].formats == ("0",)
    off = negotiate(parse_sdp(GENESYS_OFFER), dataclasses.replace(DEVICE, telephone_event=None))
    assert off.telephone_event is None and off.sdp.media[0].formats == ("0",)


def test_ptime_answer_carries_ours_media_uses_the_peers() -> None:
    answer = negotiate(parse_sdp(IPV6_OFFER), DEVICE)
    assert answer.sdp.media[0].ptime == 20
    assert answer.ptime == 30
    without = negotiate(parse_sdp(offer("m=audio 4000 RTP/AVP 0")), dataclasses.replace(DEVICE, ptime=None))
    assert without.sdp.media[0].ptime is None and without.ptime == 20
    capped = negotiate(parse_sdp(GENESYS_OFFER), dataclasses.replace(DEVICE, ptime=30, maxptime=60))
    assert capped.sdp.media[0].ptime == 30 and capped.sdp.media[0].maxptime == 60 and capped.ptime == 20


@pytest.mark.parametrize(
    ("offered", "address", "answered", "held"),
    [
        ("sendrecv", "198.51.100.20", Direction.SENDRECV, False),
        ("sendonly", "198.51.100.20", Direction.RECVONLY, True),
        ("recvonly", "198.51.100.20", Direction.SENDONLY, False),
        ("inactive", "198.51.100.20", Direction.INACTIVE, True),
        ("sendrecv", "0.0.0.0", Direction.RECVONLY, True),
        ("sendonly", "0.0.0.0", Direction.RECVONLY, True),
        ("recvonly", "0.0.0.0", Direction.INACTIVE, True),
        ("inactive", "0.0.0.0", Direction.INACTIVE, True),
    ],
)
def test_direction_mirroring_and_zero_address_hold(
    offered: str, address: str, answered: Direction, held: bool
) -> None:
    data = offer("m=audio 4000 RTP/AVP 0", f"a={offered}", session=(f"c=IN IP4 {address}",))
    answer = negotiate(parse_sdp(data), DEVICE)
    assert answer.direction is answered
    assert answer.sdp.media[0].direction is answered
    assert answer.media.held is held
    assert answer.remote_address == address
    assert answer.sdp.connection is not None and answer.sdp.connection.address == "203.0.113.10"


def test_session_level_direction_is_inherited() -> None:
    data = offer("m=audio 4000 RTP/AVP 0", session=("c=IN IP4 198.51.100.20", "a=sendonly"))
    assert negotiate(parse_sdp(data), DEVICE).direction is Direction.RECVONLY


def test_our_own_hold_narrows_the_answer() -> None:
    holding = dataclasses.replace(DEVICE, direction=Direction.SENDONLY)
    assert negotiate(parse_sdp(GENESYS_OFFER), holding).direction is Direction.SENDONLY
    both = offer("m=audio 4000 RTP/AVP 0", "a=sendonly")
    assert negotiate(parse_sdp(both), holding).direction is Direction.INACTIVE
    legacy = dataclasses.replace(holding, legacy_hold=True)
    answer = negotiate(parse_sdp(GENESYS_OFFER), legacy)
    assert answer.sdp.connection is not None and answer.sdp.connection.is_hold
    assert answer.sdp.origin.address == "203.0.113.10"


def test_unsupported_streams_are_rejected_in_place_with_port_zero() -> None:
    answer = negotiate(parse_sdp(SOFTSWITCH_OFFER), DEVICE)
    lines = [media.lines[0].value for media in answer.sdp.media]
    assert lines == ["audio 30000 RTP/AVP 0 101", "video 0 RTP/AVP 96", "image 0 udptl t38"]
    assert answer.media.media_index == 0


def test_audio_after_video_keeps_positions() -> None:
    data = offer(
        "m=video 5000 RTP/AVP 96", "a=rtpmap:96 VP8/90000", "a=mid:v", "m=audio 4000 RTP/AVP 8", "a=mid:a"
    )
    answer = negotiate(parse_sdp(data), DEVICE)
    assert [media.port for media in answer.sdp.media] == [0, 30000]
    assert [media.get("mid").value for media in answer.sdp.media] == ["v", "a"]  # type: ignore[union-attr]
    assert answer.media.media_index == 1 and answer.codec.name == "PCMA"


def test_second_audio_stream_and_disabled_streams_are_rejected() -> None:
    data = offer("m=audio 0 RTP/AVP 0", "m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 0")
    answer = negotiate(parse_sdp(data), DEVICE)
    assert [media.port for media in answer.sdp.media] == [0, 30000, 0]
    assert answer.remote_port == 4000


def test_unmatched_first_audio_stream_falls_through_to_the_next() -> None:
    data = offer("m=audio 4000 RTP/AVP 18", "m=audio 4002 RTP/AVP 8")
    answer = negotiate(parse_sdp(data), DEVICE)
    assert [media.port for media in answer.sdp.media] == [0, 30000]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (offer("m=audio 4000 RTP/AVP 18 101", "a=rtpmap:101 telephone-event/8000"), "offered G729/8000"),
        (offer("m=audio 4000 RTP/AVP 96", "a=rtpmap:96 AMR/8000"), "we accept PCMU/8000, PCMA/8000"),
        (offer("m=audio 4000 RTP/AVP 97"), "nothing usable"),
        (offer("m=video 5000 RTP/AVP 31"), "no audio stream"),
        (offer("m=audio 0 RTP/AVP 0"), "disabled"),
        (WEBRTC_OFFER, "UDP/TLS/RTP/SAVPF is not supported"),
    ],
)
def test_no_common_codec_is_a_488(data: bytes, fragment: str) -> None:
    with pytest.raises(NoCommonCodec, match=fragment) as info:
        negotiate(parse_sdp(data), DEVICE)
    assert isinstance(info.value, NegotiationError)
    assert (info.value.status, info.value.reason) == (488, "Not Acceptable Here")


def test_missing_connection_is_a_parse_error() -> None:
    with pytest.raises(SdpParseError, match="no c= line"):
        negotiate(parse_sdp(offer("m=audio 4000 RTP/AVP 0", session=())), DEVICE)


def test_media_level_connection_and_ipv6() -> None:
    data = offer("m=audio 4000 RTP/AVP 0", "c=IN IP6 2001:db8::7", session=())
    answer = negotiate(parse_sdp(data), dataclasses.replace(DEVICE, address="2001:db8::10"))
    assert answer.remote_address == "2001:db8::7"
    assert answer.sdp.connection is not None and str(answer.sdp.connection) == "IN IP6 2001:db8::10"
    assert answer.sdp.origin.addrtype == "IP6"
    assert negotiate(parse_sdp(IPV6_OFFER), DEVICE).remote_address == "2001:db8::1"


def test_timing_is_copied_from_the_offer() -> None:
    data = offer("m=audio 4000 RTP/AVP 0").replace(b"t=0 0", b"t=3912345678 0\r\nr=7d 1h 0")
    answer = negotiate(parse_sdp(data), DEVICE)
    assert [str(line) for line in answer.sdp.lines if line.type in "tr"] == ["t=3912345678 0", "r=7d 1h 0"]
    untimed = crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0")
    assert [str(line) for line in negotiate(parse_sdp(untimed), DEVICE).sdp.lines][4] == "t=0 0"


# --- SRTP (SDES) --------------------------------------------------------------------------------------------

#: The RFC 4568 example offer carries an MKI (``|1:32``), which our SRTP engines do not handle; without it
#: the same offer is what a Genesys TLS trunk sends (GENESYS.md §7: ``inline:<key>`` only).
SDES_OFFER = RFC4568_SDES_OFFER.replace(b"|1:32", b"")


def test_crypto_lines_with_an_mki_are_refused_with_488() -> None:
    local = dataclasses.replace(DEVICE, srtp=SrtpPolicy.OPTIONAL, key_source=key_source)
    with pytest.raises(SrtpMismatch) as info:
        negotiate(parse_sdp(RFC4568_SDES_OFFER), local)
    assert info.value.status == 488


def test_sdes_offer_is_answered_with_one_crypto_line_and_our_key() -> None:
    local = dataclasses.replace(DEVICE, srtp=SrtpPolicy.OPTIONAL, key_source=key_source)
    answer = negotiate(parse_sdp(SDES_OFFER), local)
    audio = answer.sdp.media[0]
    assert audio.proto == "RTP/SAVP" and audio.is_srtp
    assert audio.crypto == (CryptoAttribute.inline(1, "AES_CM_128_HMAC_SHA1_80", key_source(30)),)
    assert answer.media.remote_crypto is not None and answer.media.remote_crypto.tag == 1
    assert answer.media.is_srtp and answer.media.proto == "RTP/SAVP"


def test_sdes_suite_preference_and_key_reuse_on_reinvite() -> None:
    local = dataclasses.replace(
        DEVICE, srtp=SrtpPolicy.REQUIRED, key_source=key_source, crypto_suites=["AES_CM_128_HMAC_SHA1_32"]
    )
    first = negotiate(parse_sdp(SDES_OFFER), local)
    assert first.media.local_crypto is not None and first.media.local_crypto.tag == 2

    def other_source(length: int) -> bytes:
        return b"\xff" * length

    again = negotiate(
        parse_sdp(SDES_OFFER), dataclasses.replace(local, key_source=other_source), current=first.media
    )
    assert again.sdp == first.sdp


@pytest.mark.parametrize(
    ("data", "policy"),
    [
        (SDES_OFFER, SrtpPolicy.OFF),
        (GENESYS_OFFER, SrtpPolicy.REQUIRED),
        (SDES_OFFER.replace(b"AES_CM_128_HMAC_SHA1", b"AES_CM_999_HMAC_SHA1"), SrtpPolicy.OPTIONAL),
    ],
)
def test_srtp_policy_mismatch_is_a_488(data: bytes, policy: SrtpPolicy) -> None:
    local = dataclasses.replace(DEVICE, srtp=policy, key_source=key_source)
    with pytest.raises(SrtpMismatch) as info:
        negotiate(parse_sdp(data), local)
    assert info.value.status == 488


def test_codec_mismatch_wins_over_srtp_mismatch() -> None:
    data = SDES_OFFER.replace(b"RTP/SAVP 0 8 101", b"RTP/SAVP 18 101")
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(data), DEVICE)


# --- re-INVITE: hold and unhold ----------------------------------------------------------------------------


def test_hold_and_unhold_reinvites_with_version_keeping() -> None:
    keeper = VersionKeeper(1000)
    first = negotiate(parse_sdp(GENESYS_OFFER), DEVICE, keeper=keeper)
    assert first.sdp.origin.session_version == 1000

    hold = negotiate(parse_sdp(GENESYS_HOLD), DEVICE, current=first.media, keeper=keeper)
    assert hold.direction is Direction.RECVONLY and hold.media.held
    assert not hold.direction.sends and hold.direction.receives
    assert hold.sdp.origin.session_version == 1001 and hold.sdp.origin.session_id == "1000"

    refresh = negotiate(parse_sdp(GENESYS_HOLD), DEVICE, current=hold.media, keeper=keeper)
    assert bytes(refresh) == bytes(hold)

    unhold_offer = GENESYS_OFFER.replace(b"3912345678 3912345678", b"3912345678 3912345680")
    unhold = negotiate(parse_sdp(unhold_offer), DEVICE, current=refresh.media, keeper=keeper)
    assert unhold.direction is Direction.SENDRECV and not unhold.media.held
    assert unhold.sdp.origin.session_version == 1002
    assert unhold.remote_address == "52.129.100.7"


def test_inactive_hold_reinvite() -> None:
    inactive = GENESYS_OFFER.replace(b"a=sendrecv", b"a=inactive")
    answer = negotiate(parse_sdp(inactive), DEVICE)
    assert answer.direction is Direction.INACTIVE and answer.media.held


def test_current_codec_is_kept_when_still_offered() -> None:
    first = negotiate(
        parse_sdp(offer("m=audio 4000 RTP/AVP 0")), dataclasses.replace(DEVICE, codecs=("PCMA", "PCMU"))
    )
    assert first.codec.name == "PCMU"
    reoffer = parse_sdp(offer("m=audio 4000 RTP/AVP 8 0"))
    local = dataclasses.replace(DEVICE, codecs=("PCMA", "PCMU"))
    assert negotiate(reoffer, local, current=first.media).codec.name == "PCMU"
    assert negotiate(reoffer, local).codec.name == "PCMA"
    gone = parse_sdp(offer("m=audio 4000 RTP/AVP 8"))
    assert negotiate(gone, local, current=first.media).codec.name == "PCMA"


# --- properties --------------------------------------------------------------------------------------------


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.sampled_from(sorted(ALL_SAMPLES)), st.data())
def test_negotiate_on_mutated_offers_only_raises_sdp_errors(name: str, data: st.DataObject) -> None:
    sample = bytearray(ALL_SAMPLES[name])
    for _ in range(data.draw(st.integers(0, 3))):
        position = data.draw(st.integers(0, len(sample) - 1))
        sample[position] = data.draw(st.sampled_from(b"0123456789 ./:=\r\naAmcz-"))
    local = data.draw(
        st.sampled_from(
            [DEVICE, dataclasses.replace(DEVICE, srtp=SrtpPolicy.OPTIONAL, key_source=key_source)]
        )
    )
    try:
        description = parse_sdp(bytes(sample))
        answer = negotiate(description, local)
    except SdpError:
        return
    assert [media.media for media in answer.sdp.media] == [media.media for media in description.media]
    assert parse_sdp(bytes(answer)) == answer.sdp
    seen_by_offerer = process_answer(description, answer.sdp)
    assert seen_by_offerer.codec.payload_type == answer.codec.payload_type
    assert seen_by_offerer.direction is answer.direction.reversed()
    assert (seen_by_offerer.remote_address, seen_by_offerer.remote_port) == ("203.0.113.10", 30000)
