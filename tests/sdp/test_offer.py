"""build_offer() and process_answer(): the offerer's half, as the Genesys emulator uses it."""

from __future__ import annotations

import dataclasses

import pytest

from takeback.sdp import (
    Codec,
    CryptoAttribute,
    Direction,
    InvalidAnswer,
    LocalMedia,
    NoCommonCodec,
    SdpParseError,
    SrtpMismatch,
    SrtpPolicy,
    VersionKeeper,
    build_offer,
    negotiate,
    parse_sdp,
    process_answer,
)

from .samples import GENESYS_OFFER, crlf

GENESYS = LocalMedia(
    "52.129.100.7",
    20000,
    codecs=("audio/pcmu", "audio/pcma"),
    telephone_event=Codec("telephone-event", 101, 8000, fmtp="0-15"),
)
DEVICE = LocalMedia("203.0.113.10", 30000, codecs=("PCMU", "PCMA"))


def key_source(length: int) -> bytes:
    return bytes(range(length))


def answer_to(*media: str, session: tuple[str, ...] = ("c=IN IP4 203.0.113.10",)) -> bytes:
    """A device answer with the given media sections."""
    return crlf("v=0", "o=dev 5 5 IN IP4 203.0.113.10", "s=-", *session, "t=0 0", *media)


def test_genesys_offer_is_reproduced_byte_exact() -> None:
    offer = build_offer(GENESYS, keeper=VersionKeeper(3912345678))
    assert bytes(offer) == GENESYS_OFFER


def test_trunk_codec_order_with_opus_and_g729() -> None:
    local = dataclasses.replace(GENESYS, codecs=("audio/opus", "audio/pcmu", "audio/pcma", "audio/g729"))
    audio = build_offer(local).media[0]
    assert audio.lines[0].value == "audio 20000 RTP/AVP 96 0 8 18 101"
    assert audio.values("rtpmap") == (
        "96 opus/48000/2",
        "0 PCMU/8000",
        "8 PCMA/8000",
        "18 G729/8000",
        "101 telephone-event/8000",
    )
    assert audio.ptime == 20 and audio.direction is Direction.SENDRECV


def test_dtmf_payload_type_setting_moves_dynamic_codecs() -> None:
    local = dataclasses.replace(
        GENESYS, codecs=("audio/opus", "audio/pcmu"), telephone_event=Codec("telephone-event", 96, 8000)
    )
    audio = build_offer(local).media[0]
    assert audio.formats == ("97", "0", "96")
    assert audio.fmtps == {}


def test_default_offer() -> None:
    offer = build_offer(DEVICE)
    assert bytes(offer) == crlf(
        "v=0",
        "o=- 0 0 IN IP4 203.0.113.10",
        "s=-",
        "c=IN IP4 203.0.113.10",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
    )


def test_hold_offer_with_zero_address_bumps_the_version() -> None:
    keeper = VersionKeeper(3912345678)
    build_offer(GENESYS, keeper=keeper)
    hold = build_offer(
        dataclasses.replace(GENESYS, direction=Direction.SENDONLY, legacy_hold=True), keeper=keeper
    )
    assert hold.origin.session_version == 3912345679
    assert hold.connection is not None and hold.connection.address == "0.0.0.0"
    assert hold.media[0].direction is Direction.SENDONLY
    assert hold.origin.address == "52.129.100.7"
    again = build_offer(
        dataclasses.replace(GENESYS, direction=Direction.SENDONLY, legacy_hold=True), keeper=keeper
    )
    assert again == hold
    unhold = build_offer(GENESYS, keeper=keeper)
    assert unhold.origin.session_version == 3912345680


def test_srtp_offer_has_one_crypto_line_per_suite() -> None:
    local = dataclasses.replace(GENESYS, srtp=SrtpPolicy.REQUIRED, key_source=key_source)
    audio = build_offer(local).media[0]
    assert audio.proto == "RTP/SAVP"
    assert audio.crypto == (
        CryptoAttribute.inline(1, "AES_CM_128_HMAC_SHA1_80", key_source(30)),
        CryptoAttribute.inline(2, "AES_CM_128_HMAC_SHA1_32", key_source(30)),
    )
    reused = (CryptoAttribute.inline(9, "AES_CM_128_HMAC_SHA1_80", b"r" * 30),)
    assert build_offer(local, crypto=reused).media[0].crypto == reused
    assert build_offer(GENESYS, crypto=reused).media[0].proto == "RTP/SAVP"


def test_offer_answer_round_trip_between_emulator_and_device() -> None:
    offer = build_offer(dataclasses.replace(GENESYS, codecs=("audio/opus", "audio/pcmu")))
    answer = negotiate(offer, dataclasses.replace(DEVICE, codecs=("opus", "PCMU")))
    media = process_answer(offer, answer.sdp)
    assert media.codec == Codec("opus", 96, 48000, 2)
    assert media.telephone_event == Codec("telephone-event", 101, 8000, fmtp="0-15")
    assert (media.remote_address, media.remote_port, media.ptime) == ("203.0.113.10", 30000, 20)
    assert media.direction is Direction.SENDRECV and not media.held


def test_srtp_offer_answer_round_trip() -> None:
    offer = build_offer(dataclasses.replace(GENESYS, srtp=SrtpPolicy.REQUIRED, key_source=key_source))
    answer = negotiate(
        offer, dataclasses.replace(DEVICE, srtp=SrtpPolicy.OPTIONAL, key_source=lambda n: b"d" * n)
    )
    media = process_answer(offer, answer.sdp)
    assert media.local_crypto is not None and media.local_crypto.key == key_source(30)
    assert media.remote_crypto is not None and media.remote_crypto.key == b"d" * 30
    assert media.is_srtp


def test_answer_direction_and_hold_seen_by_the_offerer() -> None:
    offer = build_offer(GENESYS)
    recvonly = answer_to("m=audio 30000 RTP/AVP 0", "a=recvonly")
    media = process_answer(offer, parse_sdp(recvonly))
    assert media.direction is Direction.SENDONLY and not media.held
    zero = answer_to("m=audio 30000 RTP/AVP 0", session=("c=IN IP4 0.0.0.0",))
    held = process_answer(offer, parse_sdp(zero))
    assert held.direction is Direction.RECVONLY and held.held
    ours_on_hold = build_offer(dataclasses.replace(GENESYS, direction=Direction.SENDONLY))
    answered = answer_to("m=audio 30000 RTP/AVP 0", "a=recvonly")
    assert process_answer(ours_on_hold, parse_sdp(answered)).direction is Direction.SENDONLY


def test_answer_formats_resolve_through_our_offer_and_ptime_falls_back() -> None:
    offer = build_offer(dataclasses.replace(GENESYS, codecs=("audio/opus",)))
    data = answer_to("m=audio 30000 RTP/AVP 96 101", "a=fmtp:96 stereo=1", "a=ptime:40")
    media = process_answer(offer, parse_sdp(data))
    assert media.codec == Codec("opus", 96, 48000, 2, "stereo=1")
    assert media.telephone_event_payload_type == 101
    assert media.ptime == 40
    plain = process_answer(
        build_offer(dataclasses.replace(GENESYS, ptime=None)), parse_sdp(answer_to("m=audio 1 RTP/AVP 0"))
    )
    assert plain.ptime == 20


@pytest.mark.parametrize(
    ("media", "error", "fragment"),
    [
        (("m=audio 0 RTP/AVP 0",), NoCommonCodec, "rejected"),
        (("m=audio 30000 RTP/AVP 0", "m=video 0 RTP/AVP 31"), InvalidAnswer, "m= lines"),
        (("m=video 30000 RTP/AVP 31",), InvalidAnswer, "answered as video"),
        (("m=audio 30000 RTP/AVP 18",), InvalidAnswer, "none of the audio formats"),
        (("m=audio 30000 RTP/AVP 101",), InvalidAnswer, "none of the audio formats"),
        (("m=audio 30000 RTP/SAVP 0",), SrtpMismatch, "offered RTP/AVP"),
    ],
)
def test_bad_answers(media: tuple[str, ...], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        process_answer(build_offer(GENESYS), parse_sdp(answer_to(*media)))


def test_bad_srtp_answers() -> None:
    offer = build_offer(dataclasses.replace(GENESYS, srtp=SrtpPolicy.REQUIRED, key_source=key_source))
    good_key = CryptoAttribute.inline(3, "AES_CM_128_HMAC_SHA1_80", b"x" * 30)
    for media in (
        ("m=audio 30000 RTP/AVP 0",),
        ("m=audio 30000 RTP/SAVP 0",),
        ("m=audio 30000 RTP/SAVP 0", f"a=crypto:{good_key}"),
        ("m=audio 30000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_32 " + str(good_key).split()[2]),
    ):
        with pytest.raises(SrtpMismatch):
            process_answer(offer, parse_sdp(answer_to(*media)))


def test_answer_without_connection_is_a_parse_error() -> None:
    with pytest.raises(SdpParseError, match="no c= line"):
        process_answer(build_offer(GENESYS), parse_sdp(answer_to("m=audio 30000 RTP/AVP 0", session=())))


def test_rejected_first_stream_is_skipped_by_the_offerer() -> None:
    offer = parse_sdp(
        crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0")
        + crlf("m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 8")
    )
    answer = parse_sdp(answer_to("m=audio 0 RTP/AVP 0", "m=audio 30002 RTP/AVP 8"))
    media = process_answer(offer, answer)
    assert media.media_index == 1 and media.codec.name == "PCMA" and media.remote_port == 30002
