"""DTMF on a media session: the typeahead buffer of received digits and the queue of digits to send.

Sending follows RFC 4733 §2.5.1: events share the audio stream's SSRC, sequence space and clock, so for each
digit a :class:`~takeback.rtp.dtmf.DtmfSender` is started on an :class:`~takeback.rtp.packet.RtpSender`
seeded with the session's *current* sequence number and timestamp; while the event lasts, its packets take
the place of the audio packets (one per packet slot), and the session continues its own counters from
where the event left them. The sans-IO sender is clocked by the slot grid (``slot * ptime``), not by wall
time, which makes the event exactly ``duration`` long in media time whatever the scheduler's jitter.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from takeback.media.errors import SessionClosed
from takeback.rtp.dtmf import DtmfSender, digit_to_event
from takeback.rtp.packet import RtpPacket, RtpSender

__all__ = ["DigitBuffer", "DtmfTransmitter"]


class DigitBuffer:
    """Digits received and not yet consumed (typeahead), with an awaitable :meth:`get`.

    Bounded: a caller hammering keys while nobody collects loses the oldest digits, not memory.
    """

    def __init__(self, maxlen: int = 64) -> None:
        self._digits: deque[str] = deque(maxlen=maxlen)
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._digits)

    def push(self, digit: str) -> None:
        self._digits.append(digit)
        self._wake()

    def pop_nowait(self) -> str | None:
        return self._digits.popleft() if self._digits else None

    def clear(self) -> str:
        """Drop the typeahead; returns what was dropped."""
        dropped = "".join(self._digits)
        self._digits.clear()
        return dropped

    async def get(self, timeout: float | None) -> str | None:
        """The next digit, or None after ``timeout`` seconds; raises :class:`SessionClosed` on close."""
        while not self._digits:
            if self._closed:
                raise SessionClosed("media session closed while waiting for DTMF")
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                return None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self._digits.popleft()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()


@dataclass(slots=True)
class _Request:
    digits: str
    duration: float
    pause_slots: int
    future: asyncio.Future[None]
    index: int = 0


class DtmfTransmitter:
    """Queue of digit strings to send as RFC 4733 events, consumed one packet slot at a time."""

    def __init__(self, payload_type: int, clock_rate: int, ptime_ms: int, *, volume: int = 10) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.interval = ptime_ms / 1000.0
        self.volume = volume
        self.pending: deque[_Request] = deque()
        """Requests not finished yet; truthiness is the send loop's cheap "any DTMF to send?" test."""
        self._sender: DtmfSender | None = None
        self._pause_left = 0

    @property
    def active(self) -> bool:
        return bool(self.pending)

    def enqueue(self, digits: str, *, duration_ms: int, pause_ms: int) -> asyncio.Future[None]:
        """Queue ``digits``; the future completes once the last end packet of the last digit is sent."""
        for digit in digits:
            digit_to_event(digit)  # raise ValueError now, not in the middle of the send loop
        if duration_ms < 40:
            raise ValueError("DTMF digits shorter than 40 ms are not reliably detected (ITU-T Q.24)")
        future = asyncio.get_running_loop().create_future()
        pause_slots = max(1, round(pause_ms / 1000.0 / self.interval))
        self.pending.append(_Request(digits, duration_ms / 1000.0, pause_slots, future))
        return future

    def slot(self, slot: int, timestamp: int, sequence: int, ssrc: int) -> list[RtpPacket] | None:
        """Packets to send in place of audio at ``slot``, or None to send audio (idle or pausing).

        ``timestamp``/``sequence`` are the audio stream's values for this slot.
        """
        if self._sender is None and not self._start_next(slot, timestamp, sequence, ssrc):
            return None
        sender = self._sender
        assert sender is not None
        packets = sender.poll(slot * self.interval + self.interval / 2)
        if not sender.active:
            self._finish_digit()
        return packets

    def _start_next(self, slot: int, timestamp: int, sequence: int, ssrc: int) -> bool:
        while self.pending and self.pending[0].future.cancelled():
            self.pending.popleft()  # the caller gave up (task cancelled): skip its remaining digits
        if not self.pending:
            return False
        if self._pause_left > 0:
            self._pause_left -= 1
            return False
        request = self.pending[0]
        rtp = RtpSender(
            self.payload_type, ssrc=ssrc, sequence=sequence, timestamp=timestamp, clock_rate=self.clock_rate
        )
        sender = DtmfSender(rtp, payload_type=self.payload_type, interval=self.interval, volume=self.volume)
        sender.start(request.digits[request.index], slot * self.interval, duration=request.duration)
        self._sender = sender
        return True

    def _finish_digit(self) -> None:
        self._sender = None
        request = self.pending[0]
        request.index += 1
        if request.index < len(request.digits):
            self._pause_left = request.pause_slots
            return
        self.pending.popleft()
        self._pause_left = request.pause_slots if self.pending else 0
        if not request.future.done():
            request.future.set_result(None)

    def cancel(self, reason: str = "media session closed") -> None:
        """Fail every pending request (the session is closing)."""
        self._sender = None
        while self.pending:
            future = self.pending.popleft().future
            if not future.done():
                future.set_exception(SessionClosed(reason))
                future.exception()  # retrieved: the awaiting caller re-raises it itself
