"""Codec catalog, Genesys codec names, payload type allocation."""

from __future__ import annotations

import pytest

from takeback.sdp import (
    G729,
    OPUS,
    PCMA,
    PCMU,
    STATIC_PAYLOAD_TYPES,
    TELEPHONE_EVENT,
    Attribute,
    Codec,
    codec_from_name,
    resolve_codecs,
)
from takeback.sdp.codecs import codec_attributes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("audio/opus", OPUS),
        ("audio/pcmu", PCMU),
        ("audio/pcma", PCMA),
        ("audio/g729", G729),
        ("PCMU", PCMU),
        ("Audio/PCMA", PCMA),
        ("opus/48000/2", OPUS),
        ("telephone-event", TELEPHONE_EVENT),
    ],
)
def test_genesys_and_plain_names(name: str, expected: Codec) -> None:
    assert codec_from_name(name) == expected


def test_names_with_explicit_rates() -> None:
    assert codec_from_name("telephone-event/48000") == Codec("telephone-event", 101, 48000, fmtp="0-16")
    assert codec_from_name("L16/16000") == Codec("L16", 96, 16000)
    assert codec_from_name("speex/16000/1").clock_rate == 16000


@pytest.mark.parametrize("name", ["", "audio/", "amr", "PCMU/16000", "PCMU/8000/2", "opus/x", "a/1/2/3"])
def test_bad_names(name: str) -> None:
    with pytest.raises(ValueError):
        codec_from_name(name)


def test_codec_validation_and_views() -> None:
    assert OPUS.rtpmap == "opus/48000/2" and PCMU.rtpmap == "PCMU/8000"
    assert TELEPHONE_EVENT.is_telephone_event and not PCMU.is_telephone_event
    assert Codec("OPUS", 111, 48000, 2).same_format(OPUS)
    assert not Codec("opus", 96, 48000, 1).same_format(OPUS)
    assert OPUS.with_payload_type(111).payload_type == 111
    assert PCMU.with_fmtp("x").fmtp == "x"
    for args in [("", 0, 8000), ("a/b", 0, 8000), ("x", 128, 8000), ("x", -1, 8000), ("x", 0, 0)]:
        with pytest.raises(ValueError):
            Codec(*args)
    with pytest.raises(ValueError):
        Codec("x", 0, 8000, fmtp="a\r\nb")


def test_static_table_rfc3551() -> None:
    assert STATIC_PAYLOAD_TYPES[0] is PCMU and STATIC_PAYLOAD_TYPES[8] is PCMA
    assert STATIC_PAYLOAD_TYPES[18] is G729 and STATIC_PAYLOAD_TYPES[13].name == "CN"
    assert 96 not in STATIC_PAYLOAD_TYPES


def test_resolve_codecs_allocates_dynamic_types_around_reserved_ones() -> None:
    resolved = resolve_codecs(["audio/opus", "audio/pcmu", "L16/16000", "pcmu"], reserved=[96, 101])
    assert [(codec.name, codec.payload_type) for codec in resolved] == [
        ("opus", 97),
        ("PCMU", 0),
        ("L16", 98),
    ]
    assert resolve_codecs([Codec("opus", 111, 48000, 2)])[0].payload_type == 111


def test_resolve_codecs_rejects_static_collisions_and_exhaustion() -> None:
    with pytest.raises(ValueError, match="already used"):
        resolve_codecs([PCMU, Codec("other", 0, 8000)])
    with pytest.raises(ValueError, match="dynamic"):
        resolve_codecs(["L16/8000"], reserved=range(96, 128))


def test_codec_attributes_rtpmap_then_fmtp() -> None:
    assert codec_attributes([PCMU, Codec("telephone-event", 101, 8000, fmtp="0-15")]) == [
        Attribute("rtpmap", "0 PCMU/8000"),
        Attribute("rtpmap", "101 telephone-event/8000"),
        Attribute("fmtp", "101 0-15"),
    ]
