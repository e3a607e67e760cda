"""RFC 4733 telephone-events: payload codec, sender pacing, and exactly-once reception under loss."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.rtp.dtmf import (
    DTMF_DIGITS,
    TELEPHONE_EVENT,
    DigitDetected,
    DtmfEvent,
    DtmfReceiver,
    DtmfSender,
    digit_to_event,
    event_to_digit,
)
from takeback.rtp.packet import RtpPacket, RtpParseError, RtpSender
from takeback.rtp.sequence import ts_diff

START_TS = 2**32 - 400  # the event timestamps straddle the 32-bit wrap in several tests


def make_sender(timestamp: int = START_TS, sequence: int = 65533) -> tuple[RtpSender, DtmfSender]:
    rtp = RtpSender(0, ssrc=0xD7, sequence=sequence, timestamp=timestamp)
    return rtp, DtmfSender(rtp)


def send_digit(
    dtmf: DtmfSender, digit: str, now: float, duration: float = 0.1
) -> list[tuple[float, RtpPacket]]:
    """All packets of one digit with the time each is due."""
    dtmf.start(digit, now, duration=duration)
    timed: list[tuple[float, RtpPacket]] = []
    for _ in range(1000):
        due = dtmf.get_timer()
        if due is None:
            return timed
        timed.extend((due, packet) for packet in dtmf.poll(due))
    raise AssertionError("sender never finished")


def events(packets: list[tuple[float, RtpPacket]]) -> list[DtmfEvent]:
    return [DtmfEvent.parse(p.payload) for _, p in packets]


# --- payload (RFC 4733 §2.3) ------------------------------------------------------------------------------


def test_payload_layout() -> None:
    assert bytes(DtmfEvent(5, end=True, volume=10, duration=800)) == bytes.fromhex("05 8a 0320")
    assert bytes(DtmfEvent(11, duration=160)) == bytes.fromhex("0b 0a 00a0")
    assert DtmfEvent.parse(bytes.fromhex("0b 0a 00a0")) == DtmfEvent(11, False, 10, 160)


def test_reserved_bit_is_ignored_and_extra_octets_too() -> None:
    assert DtmfEvent.parse(bytes.fromhex("01 ca 0140 ffffffff")) == DtmfEvent(1, True, 10, 320)


def test_short_payload_is_a_parse_error() -> None:
    with pytest.raises(RtpParseError):
        DtmfEvent.parse(b"\x01\x0a\x00")


@pytest.mark.parametrize(
    ("event", "volume", "duration"), [(256, 10, 0), (-1, 10, 0), (1, 64, 0), (1, 10, 65536), (1, 10, -1)]
)
def test_out_of_range_event_fields(event: int, volume: int, duration: int) -> None:
    with pytest.raises(ValueError):
        DtmfEvent(event, volume=volume, duration=duration)


@given(st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 0xFFFF))
def test_payload_round_trip(event: int, end: bool, volume: int, duration: int) -> None:
    payload = DtmfEvent(event, end, volume, duration)
    assert DtmfEvent.parse(bytes(payload)) == payload


def test_digit_codes() -> None:
    assert [digit_to_event(d) for d in DTMF_DIGITS] == list(range(16))
    assert digit_to_event("*") == 10
    assert digit_to_event("#") == 11
    assert digit_to_event("d") == 15
    assert event_to_digit(11) == "#"
    assert DtmfEvent(12).digit == "A"
    assert DtmfEvent(16).digit is None  # flash, not a digit
    for bad in ("E", "", "12", " "):
        with pytest.raises(ValueError):
            digit_to_event(bad)
    with pytest.raises(ValueError):
        event_to_digit(16)


# --- sender (RFC 4733 §2.5.1) -----------------------------------------------------------------------------


def test_sender_packet_sequence_for_a_100ms_digit() -> None:
    rtp, dtmf = make_sender()
    timed = send_digit(dtmf, "5", now=10.0)
    times = [t for t, _ in timed]
    packets = [p for _, p in timed]
    payloads = events(timed)
    assert times == pytest.approx([10.0 + 0.02 * i for i in range(7)])
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert {p.timestamp for p in packets} == {START_TS}  # same timestamp throughout the event
    assert {p.payload_type for p in packets} == {TELEPHONE_EVENT}
    assert [p.sequence for p in packets] == [65533, 65534, 65535, 0, 1, 2, 3]
    assert [e.duration for e in payloads] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in payloads] == [False] * 4 + [True] * 3
    assert {e.event for e in payloads} == {5}
    assert not dtmf.active
    assert dtmf.get_timer() is None
    # Audio resumes on the shared clock, 7 intervals later, with the next sequence number.
    audio = rtp.next_packet(b"\xff" * 160, 160)
    assert audio.sequence == 4
    assert audio.timestamp == (START_TS + 7 * 160) % 2**32


def test_poll_returns_only_what_is_due() -> None:
    _, dtmf = make_sender()
    dtmf.start("1", 0.0)
    assert dtmf.active
    assert len(dtmf.poll(0.0)) == 1
    assert dtmf.poll(0.019) == []
    assert dtmf.get_timer() == pytest.approx(0.02)
    assert len(dtmf.handle_timer(0.065)) == 3  # late caller: catches up in order
    assert len(dtmf.poll(100.0)) == 3
    assert not dtmf.active


def test_sender_refuses_overlap_and_impossible_durations() -> None:
    _, dtmf = make_sender()
    dtmf.start("1", 0.0)
    with pytest.raises(RuntimeError):
        dtmf.start("2", 0.0)
    _, idle = make_sender()
    with pytest.raises(ValueError):
        idle.start("1", 0.0, duration=9.0)  # over 65535 ticks
    with pytest.raises(ValueError):
        idle.start("X", 0.0)
    with pytest.raises(ValueError):
        DtmfSender(RtpSender(0, ssrc=1, sequence=1, timestamp=1), interval=0)


def test_digit_shorter_than_one_interval_is_all_end_packets() -> None:
    _, dtmf = make_sender()
    payloads = events(send_digit(dtmf, "9", 0.0, duration=0.01))
    assert [(e.end, e.duration) for e in payloads] == [(True, 80)] * 3


def test_without_clock_advance_the_audio_clock_is_left_alone() -> None:
    rtp = RtpSender(0, ssrc=1, sequence=1, timestamp=1000)
    dtmf = DtmfSender(rtp, advance_clock=False, interval=0.05, end_repeats=2)
    payloads = events(send_digit(dtmf, "#", 0.0, duration=0.12))
    assert [(e.end, e.duration) for e in payloads] == [(False, 400), (False, 800), (True, 960), (True, 960)]
    assert rtp.timestamp == 1000


# --- receiver (RFC 4733 §2.5.2) ---------------------------------------------------------------------------


def receive_all(receiver: DtmfReceiver, timed: list[tuple[float, RtpPacket]]) -> list[DigitDetected]:
    """Deliver packets in the given order, firing the receiver's timer whenever it is due first."""
    detected: list[DigitDetected] = []
    for arrival, packet in timed:
        due = receiver.get_timer()
        if due is not None and due <= arrival:
            detected.extend(receiver.handle_timer(due))
        detected.extend(receiver.receive(packet, arrival))
    due = receiver.get_timer()
    if due is not None:
        detected.extend(receiver.handle_timer(due))
    assert receiver.get_timer() is None
    return detected


def one_digit(digit: str = "5", duration: float = 0.1) -> list[tuple[float, RtpPacket]]:
    _, dtmf = make_sender()
    return send_digit(dtmf, digit, 0.0, duration)


def test_digit_reported_once_on_the_first_end_packet() -> None:
    timed = one_digit()
    receiver = DtmfReceiver()
    outputs = [receiver.receive(packet, t) for t, packet in timed]
    assert [len(o) for o in outputs] == [0, 0, 0, 0, 1, 0, 0]
    (digit,) = outputs[4]
    assert digit == DigitDetected("5", 100)
    assert digit.ended
    assert digit.timestamp == START_TS
    assert receiver.get_timer() is None


def test_lost_start_still_reports_once() -> None:
    assert receive_all(DtmfReceiver(), one_digit()[2:]) == [DigitDetected("5", 100)]


def test_only_end_packets_report_once() -> None:
    assert receive_all(DtmfReceiver(), one_digit()[4:]) == [DigitDetected("5", 100)]


def test_all_end_packets_lost_reports_after_timeout() -> None:
    timed = one_digit()[:4]  # durations up to 640 (80 ms) and no E bit
    receiver = DtmfReceiver(timeout=0.3)
    for t, packet in timed:
        assert receiver.receive(packet, t) == []
    last = timed[-1][0]
    assert receiver.get_timer() == pytest.approx(last + 0.3)
    assert receiver.poll(last + 0.29) == []
    (digit,) = receiver.poll(last + 0.3)
    assert digit == DigitDetected("5", 80)
    assert not digit.ended
    assert receiver.get_timer() is None
    # A straggling end packet after the timeout does not report the digit a second time.
    end_packet = one_digit()[4][1]
    assert receiver.receive(end_packet, last + 0.5) == []


def test_all_end_packets_lost_then_next_digit_closes_the_first() -> None:
    rtp, dtmf = make_sender()
    first = send_digit(dtmf, "1", 0.0)[:4]
    rtp.advance(800)  # 100 ms of audio between the digits
    second = send_digit(dtmf, "2", 0.3)
    receiver = DtmfReceiver(timeout=5.0)
    detected = [d for t, p in first + second for d in receiver.receive(p, t)]
    assert detected == [DigitDetected("1", 80), DigitDetected("2", 100)]
    assert [d.ended for d in detected] == [False, True]


def test_duplicated_packets_report_once() -> None:
    timed = [x for x in one_digit() for _ in range(3)]
    assert receive_all(DtmfReceiver(), timed) == [DigitDetected("5", 100)]


def test_reordered_packets_report_once_with_the_final_duration() -> None:
    timed = one_digit()
    reordered = [timed[5], timed[0], timed[2], timed[1], timed[6], timed[4], timed[3]]
    assert receive_all(DtmfReceiver(), reordered) == [DigitDetected("5", 100)]


def test_same_digit_twice_is_two_events() -> None:
    rtp, dtmf = make_sender()
    first = send_digit(dtmf, "7", 0.0)
    rtp.advance(400)
    second = send_digit(dtmf, "7", 0.2)
    assert receive_all(DtmfReceiver(), first + second) == [DigitDetected("7", 100)] * 2


def test_late_packet_of_an_older_event_is_ignored() -> None:
    rtp, dtmf = make_sender()
    first = send_digit(dtmf, "1", 0.0)
    rtp.advance(400)
    second = send_digit(dtmf, "2", 0.2)
    # Digit 1 arrives only after digit 2 has started: too late to be told apart from a stale retransmit.
    order = second[:1] + first + second[1:]
    assert receive_all(DtmfReceiver(), order) == [DigitDetected("2", 100)]


def test_other_payloads_are_ignored() -> None:
    receiver = DtmfReceiver()
    assert receiver.receive(RtpPacket(0, 1, 0, 1, b"\xff" * 160), 0.0) == []
    assert receiver.receive(RtpPacket(101, 2, 0, 1, b"\x05\x8a"), 0.0) == []  # truncated
    assert receiver.receive(RtpPacket(101, 3, 0, 1, bytes(DtmfEvent(16, True, 10, 800))), 0.0) == []  # flash
    assert receiver.get_timer() is None
    other_pt = DtmfReceiver(payload_type=96)
    assert other_pt.receive(RtpPacket(96, 4, 0, 1, bytes(DtmfEvent(3, True, 10, 800))), 0.0) == [
        DigitDetected("3", 100)
    ]


def test_new_ssrc_is_a_new_event_even_with_an_older_timestamp() -> None:
    receiver = DtmfReceiver()
    assert receiver.receive(RtpPacket(101, 1, 5000, 1, bytes(DtmfEvent(1, True, 10, 800))), 0.0)
    assert receiver.receive(RtpPacket(101, 1, 10, 2, bytes(DtmfEvent(2, True, 10, 800))), 0.1) == [
        DigitDetected("2", 100)
    ]


def test_digit_detected_equality_ignores_diagnostics() -> None:
    assert DigitDetected("1", 100, timestamp=5, ended=False) == DigitDetected("1", 100)


# --- property: a lossy, duplicating, jittery network ------------------------------------------------------


network = {
    "digits": st.text(alphabet=DTMF_DIGITS, min_size=1, max_size=6),
    "seed": st.integers(0, 2**32 - 1),
    "loss": st.floats(0.0, 0.6),
    "duplicate": st.floats(0.0, 0.5),
    "jitter": st.floats(0.0, 0.08),
}


@settings(max_examples=150, deadline=None)
@given(**network)
def test_each_surviving_digit_is_reported_exactly_once_in_order(
    digits: str, seed: int, loss: float, duplicate: float, jitter: float
) -> None:
    check_lossy_network(digits, seed, loss, duplicate, jitter)


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None)
@given(**network)
def test_each_surviving_digit_is_reported_exactly_once_long_run(
    digits: str, seed: int, loss: float, duplicate: float, jitter: float
) -> None:
    check_lossy_network(digits, seed, loss, duplicate, jitter)


def check_lossy_network(digits: str, seed: int, loss: float, duplicate: float, jitter: float) -> None:
    rng = random.Random(seed)
    rtp, dtmf = make_sender(timestamp=rng.getrandbits(32), sequence=rng.getrandbits(16))
    now = 0.0
    sent: list[list[tuple[float, RtpPacket]]] = []
    for digit in digits:
        duration = rng.choice([0.04, 0.1, 0.25])
        sent.append(send_digit(dtmf, digit, now, duration))
        gap = 0.2  # audio between digits: longer than the jitter, so events never overtake each other
        rtp.advance(round(gap * 8000))
        now = sent[-1][-1][0] + 0.02 + gap
    arrivals: list[tuple[float, RtpPacket]] = []
    survivors: list[int] = []
    for packets in sent:
        kept = 0
        for t, packet in packets:
            copies = 0 if rng.random() < loss else 1 + (rng.random() < duplicate)
            for _ in range(copies):
                arrivals.append((t + rng.uniform(0, jitter), packet))
            kept += copies > 0
        survivors.append(kept)
    arrivals.sort(key=lambda item: item[0])
    detected = receive_all(DtmfReceiver(), arrivals)
    expected = [d for d, kept in zip(digits, survivors, strict=True) if kept]
    assert [d.digit for d in detected] == expected
    for d in detected:
        assert 0 <= d.duration_ms <= 250
    # Timestamps identify the events: strictly increasing (mod 2**32) in report order.
    for a, b in itertools.pairwise(detected):
        assert ts_diff(b.timestamp, a.timestamp) > 0
