"""Receive statistics: RFC 3550 A.1 (sequence validation), A.3 (loss), A.8 (jitter)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from takeback.rtp.packet import RtpPacket
from takeback.rtp.rtcp import SenderReport, ntp_from_unix, ntp_middle32
from takeback.rtp.stats import ReceiveStatistics

FRAME = 160
PERIOD = 0.02


def audio(seq: int, ts: int, ssrc: int = 0x1234) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc, b"\xff" * FRAME)


def feed(stats: ReceiveStatistics, seqs: list[int], *, start_ts: int = 0, delay: float = 0.05) -> None:
    """Packets sampled every 20 ms, all with the same network delay."""
    for i, seq in enumerate(seqs):
        stats.update(audio(seq, start_ts + i * FRAME), i * PERIOD + delay)


def test_probation_ignores_the_first_packet_then_counts() -> None:
    stats = ReceiveStatistics(8000)
    assert stats.update(audio(100, 0), 0.0) is False  # still on probation (MIN_SEQUENTIAL = 2)
    assert stats.update(audio(101, 160), 0.02) is True
    feed(stats, list(range(102, 200)))
    assert stats.received == 99
    assert stats.expected == 99
    assert stats.lost == 0
    assert stats.base_seq == 101


def test_min_sequential_one_accepts_immediately() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    assert stats.update(audio(7, 0), 0.0) is True
    assert stats.received == 1
    assert stats.expected == 1


def test_probation_restarts_on_out_of_order_start() -> None:
    stats = ReceiveStatistics(8000)
    assert not stats.update(audio(10, 0), 0.0)
    assert not stats.update(audio(50, 0), 0.0)  # not max_seq + 1: probation starts again
    assert stats.update(audio(51, 0), 0.0)
    assert stats.base_seq == 51


def test_loss_is_expected_minus_received() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [s for s in range(0, 100) if s not in (10, 11, 12, 50, 99)])
    assert stats.extended_highest_sequence == 98
    assert stats.expected == 99
    assert stats.lost == 4


def test_wrap_counts_cycles_and_extends_the_sequence() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [s & 0xFFFF for s in range(65530, 65530 + 20)])
    assert stats.cycles == 1
    assert stats.max_seq == 13
    assert stats.extended_highest_sequence == 65536 + 13
    assert stats.lost == 0
    assert stats.received == 20


def test_reordered_packet_across_the_wrap_is_not_a_new_cycle() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [65534, 0, 65535, 1])
    assert stats.cycles == 1
    assert stats.extended_highest_sequence == 65537
    assert stats.lost == 0


def test_duplicates_make_loss_negative() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [1, 2, 3, 3, 3, 4])
    assert stats.lost == -2


def test_large_jump_needs_confirmation_then_restarts() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, list(range(100, 110)))
    assert stats.update(audio(40000, 0), 1.0) is False  # implausible jump: dropped, remembered
    assert stats.received == 10
    assert stats.update(audio(40001, 160), 1.02) is True  # confirmed: the stream restarted
    assert stats.base_seq == 40001
    assert stats.received == 1


def test_new_ssrc_starts_over() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, list(range(10)))
    stats.update(audio(500, 0, ssrc=0x9999), 1.0)
    assert stats.ssrc == 0x9999
    assert stats.received == 1
    assert stats.base_seq == 500


def test_constant_delay_gives_zero_jitter_even_across_timestamp_wrap() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, list(range(100)), start_ts=2**32 - 50 * FRAME)
    assert stats.jitter == pytest.approx(0.0, abs=1e-6)


def test_jitter_follows_the_a8_recursion() -> None:
    # Transit alternates between 40 ms and 60 ms: |D| is 20 ms = 160 ticks for every packet after the first,
    # so J(n) = 160 * (1 - (15/16)**n) (RFC 3550 A.8, J += (|D| - J) / 16).
    stats = ReceiveStatistics(8000, min_sequential=1)
    for i in range(41):
        delay = 0.04 if i % 2 == 0 else 0.06
        stats.update(audio(i, i * FRAME), i * PERIOD + delay)
    assert stats.jitter == pytest.approx(160 * (1 - (15 / 16) ** 40), rel=1e-9)
    assert stats.jitter_seconds == pytest.approx(stats.jitter / 8000)


def test_telephone_events_count_but_do_not_fake_jitter() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, list(range(10)))
    for i in range(10, 20):  # an RFC 4733 event: timestamp frozen at the event start
        packet = RtpPacket(101, i, 9 * FRAME, 0x1234, b"\x01\x0a\x00\xa0")
        stats.update(packet, i * PERIOD + 0.05, measure_jitter=False)
    assert stats.jitter == pytest.approx(0.0, abs=1e-6)
    assert stats.received == 20


def test_report_block_interval_and_cumulative_figures() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [s for s in range(100) if s % 10 != 5])  # 10 % loss
    block = stats.report_block(now=2.0)
    assert block.ssrc == 0x1234
    assert block.highest_sequence == 99
    assert block.cumulative_lost == 10
    assert block.fraction_lost == 10 * 256 // 100
    assert block.last_sr == 0
    assert block.delay_since_last_sr == 0
    feed(stats, list(range(100, 150)))
    second = stats.report_block(now=3.0)
    assert second.fraction_lost == 0  # no loss in this interval
    assert second.cumulative_lost == 10


def test_report_block_carries_lsr_and_dlsr() -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    feed(stats, [0, 1])
    ntp = ntp_from_unix(1_700_000_000.25)
    stats.on_sender_report(SenderReport(0x1234, ntp, 0, 0, 0), now=10.0)
    block = stats.report_block(now=11.5)
    assert block.last_sr == ntp_middle32(ntp)
    assert block.delay_since_last_sr == int(1.5 * 65536)


def test_report_block_before_any_packet_is_an_error() -> None:
    with pytest.raises(ValueError):
        ReceiveStatistics(8000).report_block(0.0)


@given(st.integers(0, 0xFFFF), st.lists(st.integers(1, 5), min_size=1, max_size=200))
def test_loss_counts_the_skipped_numbers_wherever_the_stream_starts(start: int, steps: list[int]) -> None:
    stats = ReceiveStatistics(8000, min_sequential=1)
    seq = start
    stats.update(audio(seq, 0), 0.0)
    for step in steps:
        seq += step
        stats.update(audio(seq, 0), 0.0)
    assert stats.received == len(steps) + 1
    assert stats.extended_highest_sequence - stats.base_seq == seq - start
    assert stats.lost == sum(steps) - len(steps)
    assert stats.cycles == seq // 65536 - start // 65536
