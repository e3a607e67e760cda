"""The digit typeahead buffer, the outgoing DTMF queue and the collector's stopping rules."""

from __future__ import annotations

import asyncio

import pytest

from takeback.media import CollectReason, SessionClosed
from takeback.media.collector import collect_digits
from takeback.media.dtmf import DigitBuffer, DtmfTransmitter
from takeback.rtp import DtmfEvent

from .media_helpers import within


async def test_buffer_get_push_timeout_close() -> None:
    buffer = DigitBuffer(maxlen=3)
    for digit in "12345":
        buffer.push(digit)
    assert len(buffer) == 3 and buffer.pop_nowait() == "3"  # the oldest were dropped
    assert await buffer.get(0.01) == "4"
    assert buffer.clear() == "5"
    assert await buffer.get(0.01) is None
    waiting = asyncio.ensure_future(buffer.get(None))
    await asyncio.sleep(0)
    buffer.push("9")
    assert await within(waiting) == "9"
    waiting = asyncio.ensure_future(buffer.get(None))
    await asyncio.sleep(0)
    buffer.close()
    with pytest.raises(SessionClosed):
        await within(waiting)


@pytest.mark.parametrize(
    ("typed", "max_digits", "terminator", "expected"),
    [
        ("1234", 4, "#", ("1234", CollectReason.MAX_DIGITS, None)),
        ("12#", 4, "#", ("12", CollectReason.TERMINATOR, "#")),
        ("#", 4, "#", ("", CollectReason.TERMINATOR, "#")),
        ("12*", 4, "*#", ("12", CollectReason.TERMINATOR, "*")),
        ("1#2", 4, "", ("1#2", CollectReason.INTER_DIGIT_TIMEOUT, None)),
        ("", 4, "#", ("", CollectReason.FIRST_DIGIT_TIMEOUT, None)),
    ],
)
async def test_collect_rules(
    typed: str, max_digits: int, terminator: str, expected: tuple[str, CollectReason, str | None]
) -> None:
    buffer = DigitBuffer()
    for digit in typed:
        buffer.push(digit)
    result = await within(
        collect_digits(
            buffer,
            max_digits=max_digits,
            first_digit_timeout=0.05,
            inter_digit_timeout=0.05,
            terminator=terminator,
        )
    )
    assert (result.digits, result.reason, result.terminator) == expected
    assert result.timed_out == (
        expected[1] in (CollectReason.FIRST_DIGIT_TIMEOUT, CollectReason.INTER_DIGIT_TIMEOUT)
    )


async def test_collect_validates() -> None:
    with pytest.raises(ValueError):
        await collect_digits(DigitBuffer(), max_digits=0, first_digit_timeout=1, inter_digit_timeout=1)


async def test_transmitter_slots() -> None:
    """Slot by slot: a 60 ms digit is 3 updates + 2 repeated ends, then a pause of audio, then the next."""
    transmitter = DtmfTransmitter(101, 8000, 20)
    done = transmitter.enqueue("1#", duration_ms=60, pause_ms=40)
    sequence, plan = 1000, []
    for slot in range(20):
        packets = transmitter.slot(slot, 160 * slot, sequence, 0x1234)
        if packets is None:
            plan.append("audio")
            sequence += 1
            continue
        assert len(packets) == 1
        packet = packets[0]
        assert packet.sequence == sequence and packet.ssrc == 0x1234
        sequence += 1
        event = DtmfEvent.parse(packet.payload)
        plan.append(f"{event.digit}{'E' if event.end else ''}@{packet.timestamp // 160}")
    assert " ".join(plan[:14]) == "1@0 1@0 1E@0 1E@0 1E@0 audio audio #@7 #@7 #E@7 #E@7 #E@7 audio audio"
    assert done.done() and not transmitter.active


async def test_transmitter_validates_and_cancels() -> None:
    transmitter = DtmfTransmitter(101, 8000, 20)
    with pytest.raises(ValueError):
        transmitter.enqueue("12X", duration_ms=100, pause_ms=50)
    with pytest.raises(ValueError):
        transmitter.enqueue("1", duration_ms=20, pause_ms=50)
    pending = transmitter.enqueue("1", duration_ms=100, pause_ms=50)
    transmitter.cancel()
    with pytest.raises(SessionClosed):
        await pending
    skipped = transmitter.enqueue("2", duration_ms=100, pause_ms=50)
    skipped.cancel()
    assert transmitter.slot(0, 0, 0, 1) is None and not transmitter.active
