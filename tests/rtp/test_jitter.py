"""Jitter buffer: ordering, duplicates, late packets, loss concealment, wrap-around and re-anchoring."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.rtp.jitter import JitterBuffer, PlayoutFrame
from takeback.rtp.packet import RtpPacket
from takeback.rtp.sequence import seq_add, ts_add

FRAME = 160
PERIOD = 0.02
SSRC = 0x5EED


def pkt(
    index: int, *, seq0: int = 1000, ts0: int = 50_000, marker: bool = False, ssrc: int = SSRC
) -> RtpPacket:
    """The index-th 20 ms packet of a stream starting at (seq0, ts0)."""
    return RtpPacket(
        0, seq_add(seq0, index), ts_add(ts0, index * FRAME), ssrc, bytes([index & 0xFF]) * FRAME, marker
    )


def drain(jb: JitterBuffer, until: float) -> list[PlayoutFrame]:
    """Pop every frame due by ``until``, each at its own playout time (as a paced playout loop would)."""
    frames: list[PlayoutFrame] = []
    for _ in range(10_000):
        due = jb.get_timer()
        if due is None or due > until:
            return frames
        frame = jb.pop(due)
        assert frame is not None
        frames.append(frame)
    raise AssertionError("jitter buffer never ran dry")


def play(jb: JitterBuffer, arrivals: list[tuple[float, RtpPacket]]) -> list[PlayoutFrame]:
    frames: list[PlayoutFrame] = []
    for arrival, packet in sorted(arrivals, key=lambda a: a[0]):
        frames.extend(drain(jb, arrival))
        jb.push(packet, arrival)
    frames.extend(drain(jb, float("inf")))
    return frames


def test_in_order_stream_plays_after_the_delay() -> None:
    jb = JitterBuffer(delay=0.06)
    for i in range(3):
        assert jb.push(pkt(i), i * PERIOD)
    assert len(jb) == 3
    assert jb.get_timer() == pytest.approx(0.06)
    assert jb.pop(0.059) is None
    frame = jb.pop(0.06)
    assert frame is not None
    assert (frame.sequence, frame.timestamp, frame.lost) == (1000, 50_000, False)
    assert frame.packet == pkt(0)
    assert frame.playout_time == pytest.approx(0.06)
    assert jb.pop(0.07) is None
    rest = drain(jb, 1.0)
    assert [f.sequence for f in rest] == [1001, 1002]
    assert [f.playout_time for f in rest] == pytest.approx([0.08, 0.10])
    assert jb.get_timer() is None
    assert jb.pop(5.0) is None
    assert jb.stats.played == 3


def test_reordered_packets_come_out_in_order() -> None:
    order = [0, 2, 1, 4, 3, 5, 7, 6, 9, 8]
    frames = play(JitterBuffer(delay=0.06), [(i * PERIOD, pkt(k)) for i, k in enumerate(order)])
    assert [f.sequence for f in frames] == [1000 + k for k in range(10)]
    assert not any(f.lost for f in frames)


def test_duplicates_are_counted_and_played_once() -> None:
    jb = JitterBuffer(delay=0.06)
    assert jb.push(pkt(0), 0.0)
    assert not jb.push(pkt(0), 0.001)
    assert jb.push(pkt(1), 0.02)
    frames = drain(jb, 1.0)
    assert not jb.push(pkt(1), 1.0)  # after it was played: still a duplicate
    assert [f.sequence for f in frames] == [1000, 1001]
    assert jb.stats.duplicate == 2
    assert jb.stats.late == 0


def test_missing_packet_is_concealed_then_its_late_arrival_counted() -> None:
    jb = JitterBuffer(delay=0.04)
    jb.push(pkt(0), 0.0)
    jb.push(pkt(2), 0.04)
    frames = drain(jb, 1.0)
    assert [(f.sequence, f.lost) for f in frames] == [(1000, False), (1001, True), (1002, False)]
    lost = frames[1]
    assert lost.packet is None
    assert lost.timestamp == 50_000 + FRAME  # interpolated between its neighbours
    assert lost.playout_time == pytest.approx(0.06)
    assert not jb.push(pkt(1), 1.0)
    assert jb.stats.lost == 1
    assert jb.stats.late == 1


def test_gap_is_only_declared_lost_when_the_next_packet_is_due() -> None:
    jb = JitterBuffer(delay=0.06)
    jb.push(pkt(0), 0.0)
    jb.push(pkt(3), 0.06)
    assert jb.pop(0.06) is not None
    assert jb.get_timer() == pytest.approx(0.08)  # packet 1's slot, interpolated
    assert jb.pop(0.079) is None
    jb.push(pkt(1), 0.079)  # just in time
    frame = jb.pop(0.08)
    assert frame is not None and not frame.lost


def test_sequence_and_timestamp_wrap() -> None:
    arrivals = [(i * PERIOD, pkt(i, seq0=65530, ts0=2**32 - 3 * FRAME)) for i in range(12)]
    random.Random(1).shuffle(arrivals[4:8])
    arrivals = [(i * PERIOD, p) for i, (_, p) in enumerate(arrivals)]
    frames = play(JitterBuffer(delay=0.1), arrivals)
    assert [f.sequence for f in frames] == [(65530 + i) % 65536 for i in range(12)]
    assert [f.timestamp for f in frames] == [(2**32 - 3 * FRAME + i * FRAME) % 2**32 for i in range(12)]
    assert not any(f.lost for f in frames)
    times = [f.playout_time for f in frames]
    assert times == sorted(times)


def test_overflow_evicts_the_oldest() -> None:
    jb = JitterBuffer(delay=10.0, capacity=4)
    for i in range(10):
        jb.push(pkt(i), i * 0.001)
    assert len(jb) == 4
    frames = drain(jb, 100.0)
    assert [f.sequence for f in frames] == [1006, 1007, 1008, 1009]
    assert jb.stats.overflow == 6
    assert jb.stats.lost == 0


def test_overflow_after_playout_started_skips_the_gap() -> None:
    jb = JitterBuffer(delay=0.02, capacity=3)
    jb.push(pkt(0), 0.0)
    assert jb.pop(0.02) is not None
    for i in (2, 3, 4, 5):  # 1 missing; buffer holds 3 -> packet 2 evicted, 1 counted lost
        jb.push(pkt(i), 0.021)
    frames = drain(jb, 1.0)
    assert [f.sequence for f in frames] == [1003, 1004, 1005]
    assert jb.stats.overflow == 1
    assert jb.stats.lost == 1


def test_new_ssrc_resets_the_stream() -> None:
    jb = JitterBuffer(delay=0.04)
    jb.push(pkt(0), 0.0)
    drain(jb, 0.04)
    jb.push(pkt(0, seq0=7, ts0=9, ssrc=0xB0B), 1.0)
    (frame,) = drain(jb, 2.0)
    assert frame.sequence == 7
    assert frame.playout_time == pytest.approx(1.04)
    assert jb.stats.resets == 1


def test_implausible_jump_is_dropped_until_confirmed() -> None:
    jb = JitterBuffer(delay=0.04)
    jb.push(pkt(0), 0.0)
    drain(jb, 0.04)
    assert not jb.push(pkt(0, seq0=30_000), 0.05)
    assert jb.stats.discarded == 1
    assert jb.push(pkt(1, seq0=30_000), 0.07)  # the next one follows: the sender restarted
    assert jb.stats.resets == 1
    assert [f.sequence for f in drain(jb, 1.0)] == [30_001]


def test_talkspurt_reanchors_after_silence() -> None:
    jb = JitterBuffer(delay=0.05)
    jb.push(pkt(0, marker=True), 0.0)
    jb.push(pkt(1), 0.02)
    drain(jb, 1.0)
    # Silence suppression: sequence continues, timestamp jumps by 5 s, but the packet arrives after 2 s
    # (the sender's clock need not match ours). It plays `delay` after its arrival.
    talk = RtpPacket(0, 1002, 50_000 + 5 * 8000, SSRC, b"\x00" * FRAME, marker=True)
    jb.push(talk, 2.0)
    (frame,) = drain(jb, 10.0)
    assert frame.playout_time == pytest.approx(2.05)


def test_delay_spike_reanchors_when_the_buffer_is_empty() -> None:
    jb = JitterBuffer(delay=0.04)
    jb.push(pkt(0), 0.0)
    drain(jb, 0.04)
    jb.push(pkt(1), 0.5)  # should have played at 0.06
    (frame,) = drain(jb, 10.0)
    assert frame.playout_time == pytest.approx(0.54)


def test_adaptive_delay_tracks_jitter() -> None:
    rng = random.Random(7)
    steady = JitterBuffer(adaptive=True, delay=0.1, min_delay=0.02, max_delay=0.3)
    jittery = JitterBuffer(adaptive=True, delay=0.1, min_delay=0.02, max_delay=0.3)
    for i in range(300):
        steady.push(pkt(i), i * PERIOD + 0.03)
        jittery.push(pkt(i), i * PERIOD + rng.uniform(0.0, 0.08))
        drain(steady, i * PERIOD)
        drain(jittery, i * PERIOD)
    assert steady.delay == pytest.approx(0.02)
    assert steady.jitter == pytest.approx(0.0, abs=1e-9)
    assert 0.05 < jittery.delay <= 0.3
    assert jittery.jitter > 0.01
    fixed = JitterBuffer(delay=0.06)
    fixed.push(pkt(0), 0.0)
    fixed.push(pkt(1), 0.1)
    assert fixed.delay == 0.06


def test_reset_keeps_counters() -> None:
    jb = JitterBuffer()
    jb.push(pkt(0), 0.0)
    jb.reset()
    assert len(jb) == 0
    assert jb.get_timer() is None
    assert jb.stats.received == 1


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(capacity=0)
    with pytest.raises(ValueError):
        JitterBuffer(min_delay=0.5, max_delay=0.1)


network = {
    "count": st.integers(1, 120),
    "seq0": st.integers(0, 0xFFFF),
    "ts0": st.integers(0, 0xFFFFFFFF),
    "seed": st.integers(0, 2**32 - 1),
    "loss": st.floats(0.0, 0.5),
    "duplicate": st.floats(0.0, 0.3),
    "jitter": st.floats(0.0, 0.15),
    "adaptive": st.booleans(),
}


@settings(max_examples=200, deadline=None)
@given(**network)
def test_output_is_ordered_contiguous_and_accounted(
    count: int, seq0: int, ts0: int, seed: int, loss: float, duplicate: float, jitter: float, adaptive: bool
) -> None:
    check_stream(count, seq0, ts0, seed, loss, duplicate, jitter, adaptive)


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None)
@given(**network)
def test_output_is_ordered_contiguous_and_accounted_long_run(
    count: int, seq0: int, ts0: int, seed: int, loss: float, duplicate: float, jitter: float, adaptive: bool
) -> None:
    check_stream(count, seq0, ts0, seed, loss, duplicate, jitter, adaptive)


def check_stream(
    count: int, seq0: int, ts0: int, seed: int, loss: float, duplicate: float, jitter: float, adaptive: bool
) -> None:
    rng = random.Random(seed)
    arrivals: list[tuple[float, RtpPacket]] = []
    for i in range(count):
        if rng.random() < loss:
            continue
        for _ in range(1 + (rng.random() < duplicate)):
            arrivals.append((i * PERIOD + rng.uniform(0, jitter), pkt(i, seq0=seq0, ts0=ts0)))
    jb = JitterBuffer(delay=0.06, adaptive=adaptive)
    frames = play(jb, arrivals)
    stats = jb.stats
    # Contiguous, wrap-aware sequence numbers; real frames carry their own packet.
    for a, b in itertools.pairwise(frames):
        assert b.sequence == (a.sequence + 1) & 0xFFFF
        assert b.playout_time >= a.playout_time
    for frame in frames:
        if frame.packet is not None:
            assert frame.packet.sequence == frame.sequence
            assert frame.packet.timestamp == frame.timestamp
    played = [f for f in frames if not f.lost]
    assert len({f.sequence for f in played}) == len(played)
    assert stats.played == len(played)
    assert stats.lost == len(frames) - len(played)
    assert stats.received == stats.played + stats.overflow
    assert stats.received + stats.duplicate + stats.late + stats.discarded == len(arrivals)
    if arrivals:
        assert frames[0].lost is False and frames[-1].lost is False


def test_adaptive_delay_keeps_the_initial_value_while_warming_up() -> None:
    jb = JitterBuffer(adaptive=True, delay=0.1, min_delay=0.02)
    for i in range(10):
        jb.push(pkt(i), i * PERIOD)
    assert jb.delay == 0.1
    for i in range(10, 40):
        jb.push(pkt(i), i * PERIOD)
    assert jb.delay == pytest.approx(0.02)
