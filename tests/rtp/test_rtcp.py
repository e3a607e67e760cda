"""Minimal RTCP (RFC 3550 §6.4-6.6) and compound packets (§6.1, Appendix A.2)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.rtp.rtcp import (
    RTCP_APP,
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    RtcpParseError,
    RtcpUnknown,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    build_compound,
    is_rtcp,
    ntp_from_unix,
    ntp_middle32,
    ntp_to_unix,
    parse_compound,
)

u32 = st.integers(0, 0xFFFFFFFF)
blocks = st.builds(
    ReportBlock,
    ssrc=u32,
    fraction_lost=st.integers(0, 255),
    cumulative_lost=st.integers(-(1 << 23), (1 << 23) - 1),
    highest_sequence=u32,
    jitter=u32,
    last_sr=u32,
    delay_since_last_sr=u32,
)
words = st.binary(max_size=32).map(lambda b: b[: len(b) // 4 * 4])
texts = st.text(max_size=60)
rtcp_packets: st.SearchStrategy[RtcpPacket] = st.one_of(
    st.builds(
        SenderReport,
        ssrc=u32,
        ntp_timestamp=st.integers(0, 2**64 - 1),
        rtp_timestamp=u32,
        packet_count=u32,
        octet_count=u32,
        reports=st.lists(blocks, max_size=4).map(tuple),
        extension=words,
    ),
    st.builds(ReceiverReport, ssrc=u32, reports=st.lists(blocks, max_size=4).map(tuple), extension=words),
    st.builds(
        SourceDescription,
        st.lists(
            st.builds(
                SdesChunk,
                u32,
                st.lists(st.builds(SdesItem, st.integers(1, 255), texts), max_size=4).map(tuple),
            ),
            max_size=4,
        ).map(tuple),
    ),
    st.builds(Bye, st.lists(u32, max_size=5).map(tuple), texts),
    st.builds(RtcpUnknown, st.integers(204, 223), st.integers(0, 31), words),
)


# --- octet layouts (RFC 3550 §6.4.1, §6.4.2, §6.5, §6.6) --------------------------------------------------


def test_receiver_report_layout() -> None:
    block = ReportBlock(0x01020304, 0x19, -3, 0x0001FFFF, 0x20, 0xAABBCCDD, 0x00010000)
    data = bytes(ReceiverReport(0xCAFEBABE, (block,)))
    assert data == bytes.fromhex(
        "81 c9 0007"  # V=2 RC=1, PT=201, length 7 words after the first
        "cafebabe"
        "01020304"
        "19 fffffd"  # fraction lost, cumulative lost as 24-bit two's complement
        "0001ffff 00000020 aabbccdd 00010000"
    )
    assert parse_compound(data) == [ReceiverReport(0xCAFEBABE, (block,))]


def test_sender_report_layout() -> None:
    sr = SenderReport(1, 0x0102030405060708, 0x11223344, 10, 1600)
    data = bytes(sr)
    assert data == bytes.fromhex("80 c8 0006 00000001 0102030405060708 11223344 0000000a 00000640")
    assert parse_compound(data) == [sr]


def test_sdes_cname_is_null_terminated_and_padded() -> None:
    data = bytes(SourceDescription.cname(0x11111111, "ab"))
    # header, SSRC, CNAME item (type 1, len 2, "ab"), one null + 3 pad to the 32-bit boundary
    assert data == bytes.fromhex("81 ca 0003 11111111 01 02 6162 00 000000")
    exact = bytes(SourceDescription.cname(0x11111111, "abcdef"))
    # items end on a boundary: a whole null word still terminates the list
    assert exact == bytes.fromhex("81 ca 0004 11111111 01 06 616263646566 00000000")
    (parsed,) = parse_compound(exact)
    assert isinstance(parsed, SourceDescription)
    assert parsed.chunks[0].cname == "abcdef"


def test_bye_with_and_without_reason() -> None:
    assert bytes(Bye((5,))) == bytes.fromhex("81 cb 0001 00000005")
    data = bytes(Bye((5, 6), "bye"))
    assert data == bytes.fromhex("82 cb 0003 00000005 00000006 03 627965")
    assert parse_compound(data) == [Bye((5, 6), "bye")]


def test_typical_compound_round_trip() -> None:
    packets: list[RtcpPacket] = [
        SenderReport(7, ntp_from_unix(1e9), 160, 1, 160, (ReportBlock(8, 0, 0, 100, 3, 0, 0),)),
        SourceDescription.cname(7, "device@127.0.0.1"),
        Bye((7,), "call ended"),
    ]
    data = build_compound(packets)
    assert parse_compound(data) == packets
    assert is_rtcp(data)


def test_unknown_types_are_kept_verbatim() -> None:
    app = RtcpUnknown(RTCP_APP, 3, b"\x00\x00\x00\x07NAMEdata")
    xr = RtcpUnknown(207, 0, b"\x00\x00\x00\x07")
    data = build_compound([ReceiverReport(7), app, xr])
    assert parse_compound(data) == [ReceiverReport(7), app, xr]


def test_padding_in_the_last_packet_is_stripped() -> None:
    rr = bytearray(bytes(ReceiverReport(9)) + b"\x00\x00\x00\x04")
    rr[0] |= 0x20
    rr[3] += 1  # length covers the padding word
    assert parse_compound(bytes(rr)) == [ReceiverReport(9)]


def test_sdes_without_items_and_other_item_types() -> None:
    sdes = SourceDescription(
        (SdesChunk(1), SdesChunk(2, (SdesItem(2, "Alice"), SdesItem(6, "takeback")))),
    )
    (parsed,) = parse_compound(bytes(sdes))
    assert parsed == sdes
    assert isinstance(parsed, SourceDescription)
    assert parsed.chunks[1].cname is None


# --- malformed compounds (Appendix A.2) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (b"\x80\xc9", "shorter"),
        (b"\x40\xc9\x00\x01\x00\x00\x00\x01", "version 1"),
        (b"\x80\xc9\x00\x02\x00\x00\x00\x01", "runs past"),
        (bytes(ReceiverReport(1)) + b"\x80", "trailing"),
        (b"\x81\xc9\x00\x01\x00\x00\x00\x01", "report blocks"),  # RC=1 without the block
        (b"\x80\xc8\x00\x01\x00\x00\x00\x01", "SR shorter"),
        (b"\x80\xc9\x00\x00", "RR without SSRC"),
        (b"\x81\xca\x00\x01\x00\x00\x00\x01", "null item"),
        (b"\x81\xca\x00\x02\x00\x00\x00\x01\x01\x09abc", "runs past"),
        (b"\x81\xca\x00\x00", "truncated"),
        (b"\x82\xcb\x00\x01\x00\x00\x00\x01", "BYE with 2"),
        (b"\x81\xcb\x00\x02\x00\x00\x00\x01\x09abc", "reason runs past"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x00", "padding count 0"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x09", "padding count 9"),
        (
            b"\xa0\xc9\x00\x01\x00\x00\x00\x01" + bytes(ReceiverReport(2)),
            "only allowed in the last",
        ),
    ],
)
def test_malformed_compounds_raise(data: bytes, reason: str) -> None:
    with pytest.raises(RtcpParseError, match=reason):
        parse_compound(data)


@pytest.mark.parametrize(
    "packet",
    [
        ReceiverReport(1, tuple(ReportBlock(i) for i in range(32))),
        Bye(tuple(range(32))),
        Bye((1,), "x" * 256),
        SourceDescription.cname(1, "x" * 256),
        SourceDescription((SdesChunk(1, (SdesItem(0, "end"),)),)),
        ReceiverReport(1, (ReportBlock(1, fraction_lost=256),)),
        ReceiverReport(1, (ReportBlock(1, cumulative_lost=1 << 23),)),
        ReceiverReport(1, extension=b"abc"),
    ],
)
def test_unrepresentable_packets_refuse_to_serialize(packet: RtcpPacket) -> None:
    with pytest.raises(ValueError):
        bytes(packet)


# --- helpers ----------------------------------------------------------------------------------------------


def test_ntp_epoch_and_middle_bits() -> None:
    assert ntp_from_unix(0.0) == 2_208_988_800 << 32
    assert ntp_from_unix(0.5) == (2_208_988_800 << 32) | (1 << 31)
    assert ntp_middle32(0x0102030405060708) == 0x03040506
    assert ntp_to_unix(ntp_from_unix(1_700_000_000.125)) == pytest.approx(1_700_000_000.125, abs=1e-9)


@pytest.mark.parametrize(
    ("second_octet", "expected"),
    [(200, True), (201, True), (223, True), (0, False), (8, False), (101, False), (224, False), (191, False)],
)
def test_is_rtcp_demultiplexes_rfc_5761(second_octet: int, expected: bool) -> None:
    assert is_rtcp(bytes((0x80, second_octet, 0, 1))) is expected
    assert not is_rtcp(b"\x80")


# --- properties -------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.lists(rtcp_packets, min_size=1, max_size=4))
def test_compound_parse_inverts_build(packets: list[RtcpPacket]) -> None:
    assert parse_compound(build_compound(packets)) == packets


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None)
@given(st.lists(rtcp_packets, min_size=1, max_size=6))
def test_compound_parse_inverts_build_long_run(packets: list[RtcpPacket]) -> None:
    assert parse_compound(build_compound(packets)) == packets


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_rtcp_parse_error(data: bytes) -> None:
    with contextlib.suppress(RtcpParseError):
        parse_compound(data)


plausible_headers = st.tuples(st.integers(0x80, 0xBF), st.integers(200, 204), st.integers(0, 8)).map(
    lambda h: bytes((h[0], h[1], 0, h[2]))
)


@settings(max_examples=300)
@given(plausible_headers, st.binary(max_size=80))
def test_plausible_headers_with_garbage_raise_only_rtcp_parse_error(header: bytes, rest: bytes) -> None:
    with contextlib.suppress(RtcpParseError):
        parse_compound(header + rest)


@pytest.mark.slow
@settings(max_examples=5_000, deadline=None)
@given(st.lists(st.tuples(plausible_headers, st.binary(max_size=40)), min_size=1, max_size=4))
def test_garbage_compounds_long_run(parts: list[tuple[bytes, bytes]]) -> None:
    with contextlib.suppress(RtcpParseError):
        parse_compound(b"".join(header + body for header, body in parts))
