"""RTP packet codec (RFC 3550 §5.1, §5.3.1) and the sender-side sequencer."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.rtp.packet import (
    RTP_HEADER_SIZE,
    ReceiveStatistics,
    RtpExtension,
    RtpPacket,
    RtpParseError,
    RtpSender,
    seq_diff,
    ts_diff,
)
from takeback.rtp.rtcp import ntp_to_unix

u32 = st.integers(0, 0xFFFFFFFF)
extensions = st.none() | st.builds(
    RtpExtension,
    st.integers(0, 0xFFFF),
    st.binary(max_size=64).map(lambda b: b[: len(b) // 4 * 4]),
)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=300),
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15).map(tuple),
    extension=extensions,
    padding=st.integers(0, 255),
)


# --- wire format, checked octet by octet against the RFC 3550 §5.1 diagram ------------------------------


def test_plain_pcmu_packet_layout() -> None:
    packet = RtpPacket(0, 0x1234, 0x89ABCDEF, 0xDEADBEEF, b"\xff" * 160, marker=True)
    data = bytes(packet)
    assert len(data) == 172
    assert data[:12] == bytes.fromhex("80 80 1234 89abcdef deadbeef")
    assert data[12:] == b"\xff" * 160
    assert packet.to_bytes() == data
    assert RtpPacket.parse(data) == packet


def test_marker_clear_and_payload_type_8() -> None:
    data = bytes(RtpPacket(8, 1, 2, 3, b"\xd5"))
    assert data[:2] == b"\x80\x08"


def test_csrc_extension_and_padding_layout() -> None:
    packet = RtpPacket(
        96,
        7,
        160,
        0x11223344,
        b"abc",
        csrc=(0xAAAAAAAA, 0xBBBBBBBB),
        extension=RtpExtension(0xBEDE, b"\x10\xff\x00\x00"),
        padding=5,
    )
    data = bytes(packet)
    # V=2 P=1 X=1 CC=2 -> 0b1011_0010
    assert data[0] == 0xB2
    assert data[1] == 96
    assert data[12:20] == bytes.fromhex("aaaaaaaa bbbbbbbb")
    assert data[20:24] == bytes.fromhex("bede 0001")  # profile, length in 32-bit words
    assert data[24:28] == b"\x10\xff\x00\x00"
    assert data[28:31] == b"abc"
    assert data[31:] == b"\x00\x00\x00\x00\x05"  # padding: zeros, then the count (includes itself)
    assert packet.header_size == 28
    assert RtpPacket.parse(data) == packet


def test_padding_octets_other_than_the_count_are_ignored() -> None:
    data = bytes(RtpPacket(0, 1, 2, 3, b"xy", padding=3))
    tampered = data[:-3] + b"\x99\x98\x03"
    assert RtpPacket.parse(tampered) == RtpPacket(0, 1, 2, 3, b"xy", padding=3)


def test_parse_accepts_bytearray_and_memoryview() -> None:
    data = bytes(RtpPacket(0, 1, 2, 3, b"payload", csrc=(9,)))
    assert RtpPacket.parse(bytearray(data)) == RtpPacket.parse(data)
    assert RtpPacket.parse(memoryview(data)) == RtpPacket.parse(data)


def test_empty_payload() -> None:
    packet = RtpPacket(0, 1, 2, 3, b"")
    assert len(bytes(packet)) == RTP_HEADER_SIZE
    assert RtpPacket.parse(bytes(packet)) == packet


# --- malformed input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (b"\x80\x00" + b"\x00" * 9, "shorter"),
        (b"\x00\x00" + b"\x00" * 10, "version 0"),
        (b"\x40\x00" + b"\x00" * 10, "version 1"),
        (b"\xc0\x00" + b"\x00" * 10, "version 3"),
        (b"\x81\x00" + b"\x00" * 10, "CSRC"),  # CC=1 but no CSRC word
        (b"\x8f\x00" + b"\x00" * 10 + b"\x00" * 56, "CSRC"),  # CC=15, 14 words
        (b"\x90\x00" + b"\x00" * 10 + b"\xbe\xde", "extension header"),
        (b"\x90\x00" + b"\x00" * 10 + b"\xbe\xde\x00\x02" + b"\x00" * 7, "extension of 2 words"),
        (b"\xa0\x00" + b"\x00" * 10, "padding count 0"),  # P bit, only the header: count would be in it
        (b"\xa0\x00" + b"\x00" * 10 + b"ab\x00", "padding count 0"),
        (b"\xa0\x00" + b"\x00" * 10 + b"ab\x04", "padding count 4"),
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data: bytes, reason: str) -> None:
    with pytest.raises(RtpParseError, match=reason):
        RtpPacket.parse(data)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(RtpParseError, ValueError)


def test_padding_may_consume_the_whole_payload() -> None:
    data = b"\xa0\x00" + b"\x00" * 10 + b"\x00\x00\x03"
    assert RtpPacket.parse(data) == RtpPacket(0, 0, 0, 0, b"", padding=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"payload_type": 128},
        {"payload_type": -1},
        {"sequence": 65536},
        {"timestamp": 2**32},
        {"ssrc": -1},
        {"padding": 256},
        {"csrc": tuple(range(16))},
        {"csrc": (2**32,)},
    ],
)
def test_out_of_range_fields_are_rejected_at_construction(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0, "payload": b""}
    fields.update(kwargs)
    with pytest.raises(ValueError):
        RtpPacket(**fields)  # type: ignore[arg-type]


def test_extension_must_be_whole_words() -> None:
    with pytest.raises(ValueError):
        RtpExtension(0xBEDE, b"\x01\x02\x03")
    with pytest.raises(ValueError):
        RtpExtension(0x10000)


def test_packets_are_frozen() -> None:
    packet = RtpPacket(0, 1, 2, 3, b"")
    with pytest.raises(AttributeError):
        packet.sequence = 5  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(packets)
def test_parse_inverts_serialize(packet: RtpPacket) -> None:
    data = bytes(packet)
    assert RtpPacket.parse(data) == packet
    assert len(data) == packet.header_size + len(packet.payload) + packet.padding


def check_parse_raises_only_rtp_parse_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpParseError:
        return
    # Whatever parses re-serializes to the same length and to the same packet.
    assert len(bytes(packet)) == len(data)
    assert RtpPacket.parse(bytes(packet)) == packet


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_rtp_parse_error(data: bytes) -> None:
    check_parse_raises_only_rtp_parse_error(data)


@settings(max_examples=300)
@given(st.integers(0x80, 0xBF), st.binary(max_size=120))
def test_version_2_garbage_raises_only_rtp_parse_error(first: int, rest: bytes) -> None:
    check_parse_raises_only_rtp_parse_error(bytes((first,)) + rest)


@pytest.mark.slow
@settings(max_examples=20_000, deadline=None)
@given(st.integers(0x80, 0xBF), st.binary(max_size=300))
def test_version_2_garbage_long_run(first: int, rest: bytes) -> None:
    check_parse_raises_only_rtp_parse_error(bytes((first,)) + rest)


@pytest.mark.slow
@settings(max_examples=5_000, deadline=None)
@given(packets)
def test_parse_inverts_serialize_long_run(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


# --- RtpSender --------------------------------------------------------------------------------------------


def test_sender_needs_randomness_or_explicit_values() -> None:
    with pytest.raises(ValueError):
        RtpSender(0)
    with pytest.raises(ValueError):
        RtpSender(0, ssrc=1, sequence=2)
    RtpSender(0, ssrc=1, sequence=2, timestamp=3)


def test_sender_draws_initial_values_from_the_given_rng() -> None:
    a = RtpSender(0, rng=random.Random(42))
    b = RtpSender(0, rng=random.Random(42))
    c = RtpSender(0, rng=random.Random(43))
    assert (a.ssrc, a.sequence, a.timestamp) == (b.ssrc, b.sequence, b.timestamp)
    assert (a.ssrc, a.sequence, a.timestamp) != (c.ssrc, c.sequence, c.timestamp)
    assert 0 <= a.sequence <= 0xFFFF
    explicit = RtpSender(0, rng=random.Random(42), sequence=7)
    assert explicit.sequence == 7
    assert explicit.ssrc == a.ssrc


def test_sender_stamps_consecutive_packets_and_wraps() -> None:
    sender = RtpSender(0, ssrc=0xCAFE, sequence=65534, timestamp=2**32 - 160)
    first = sender.next_packet(b"\xff" * 160, 160, marker=True)
    second = sender.next_packet(b"\xff" * 160, 160)
    third = sender.next_packet(b"\xff" * 160, 160)
    assert [p.sequence for p in (first, second, third)] == [65534, 65535, 0]
    assert [p.timestamp for p in (first, second, third)] == [2**32 - 160, 0, 160]
    assert [p.marker for p in (first, second, third)] == [True, False, False]
    assert {p.ssrc for p in (first, second, third)} == {0xCAFE}
    assert seq_diff(third.sequence, first.sequence) == 2
    assert ts_diff(third.timestamp, first.timestamp) == 320
    assert sender.packet_count == 3
    assert sender.octet_count == 480


def test_packet_at_keeps_the_clock_and_advance_moves_it() -> None:
    sender = RtpSender(0, ssrc=1, sequence=10, timestamp=1000)
    event = sender.packet_at(b"\x01\x0a\x00\xa0", 1000, payload_type=101, marker=True)
    assert (event.payload_type, event.sequence, event.timestamp) == (101, 10, 1000)
    assert sender.timestamp == 1000
    sender.advance(160)
    audio = sender.next_packet(b"\xff" * 160, 160)
    assert (audio.payload_type, audio.sequence, audio.timestamp) == (0, 11, 1160)
    with pytest.raises(ValueError):
        sender.packet_at(b"", 2**32)
    with pytest.raises(ValueError):
        sender.packet_at(b"", 0, payload_type=200)


def test_sender_report_carries_counts_and_clock() -> None:
    sender = RtpSender(0, ssrc=5, sequence=0, timestamp=8000)
    for _ in range(50):
        sender.next_packet(b"\xff" * 160, 160)
    report = sender.sender_report(1_700_000_000.5)
    assert report.ssrc == 5
    assert report.packet_count == 50
    assert report.octet_count == 8000
    assert report.rtp_timestamp == 8000 + 50 * 160
    assert ntp_to_unix(report.ntp_timestamp) == pytest.approx(1_700_000_000.5, abs=1e-6)


def test_receive_statistics_is_reexported() -> None:
    assert ReceiveStatistics(8000).received == 0


def test_fast_path_is_one_pack_plus_payload() -> None:
    # The common case must not take the general path: same bytes as a hand-made struct.pack.
    packet = RtpPacket(0, 1, 2, 3, b"\x7f" * 160)
    assert bytes(packet) == struct.pack("!BBHII", 0x80, 0, 1, 2, 3) + b"\x7f" * 160
