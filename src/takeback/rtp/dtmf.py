"""RFC 4733 telephone-events for DTMF: payload codec, a paced sender and a loss-tolerant receiver, sans-IO.

Wire rules this module implements (RFC 4733 §2.5):

* An event is identified by its RTP **timestamp**, which stays at the event start for every packet of the
  event (§2.5.1.2); the ``duration`` field grows with each update, in timestamp units.
* The first packet of an event has the RTP marker bit set (§2.5.1.2).
* The final packet has the E bit and the final duration, and is sent **three times** at the update
  interval (§2.5.1.4) - each copy a new RTP packet with its own sequence number.
* Events share the SSRC, sequence space and clock of the audio stream (§2.5.1.2, "the same sequence number
  and timestamp base as the regular audio channel"), hence the sender works through the
  :class:`~takeback.rtp.packet.RtpSender` that stamps the audio.

Time is always passed in (``now``, seconds on any monotonic clock).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from takeback.rtp.packet import RtpPacket, RtpParseError, RtpSender
from takeback.rtp.sequence import ts_diff

__all__ = [
    "DTMF_DIGITS",
    "TELEPHONE_EVENT",
    "DigitDetected",
    "DtmfEvent",
    "DtmfReceiver",
    "DtmfSender",
    "digit_to_event",
    "event_to_digit",
]

TELEPHONE_EVENT = 101
"""The dynamic payload type conventionally bound to ``telephone-event/8000`` (and the Genesys default)."""
DTMF_DIGITS = "0123456789*#ABCD"
"""Event codes 0-15 in order (RFC 4733 §3.2)."""

_PAYLOAD = struct.Struct("!BBH")
_MAX_DURATION = 0xFFFF


def digit_to_event(digit: str) -> int:
    """``"0"``-``"9"``, ``"*"``, ``"#"``, ``"A"``-``"D"`` (either case) to event codes 0-15."""
    index = DTMF_DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return index


def event_to_digit(event: int) -> str:
    """Event code 0-15 to its digit; other codes are not DTMF."""
    if not 0 <= event < len(DTMF_DIGITS):
        raise ValueError(f"event {event} is not a DTMF digit")
    return DTMF_DIGITS[event]


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """The 4-octet telephone-event payload (RFC 4733 §2.3).

    ``volume`` is the power level in -dBm0 (0..63, 10 is typical); ``duration`` is in timestamp units.
    The reserved R bit is sent as zero and ignored on receipt (§2.3.3).
    """

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise ValueError(f"event code out of range: {self.event}")
        if not 0 <= self.volume <= 0x3F:
            raise ValueError(f"volume out of range 0..63: {self.volume}")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise ValueError(f"duration out of 16-bit range: {self.duration}")

    @property
    def digit(self) -> str | None:
        return DTMF_DIGITS[self.event] if self.event < len(DTMF_DIGITS) else None

    def to_bytes(self) -> bytes:
        return _PAYLOAD.pack(self.event, (self.end << 7) | self.volume, self.duration)

    __bytes__ = to_bytes

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        """Parse the first event of a payload; raises :class:`RtpParseError` when it is too short."""
        if len(payload) < _PAYLOAD.size:
            raise RtpParseError(f"telephone-event payload of {len(payload)} octets, need 4")
        event, flags, duration = _PAYLOAD.unpack_from(payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class DigitDetected:
    """A received DTMF digit. Compares on ``digit`` and ``duration_ms`` only.

    ``ended`` is False when the digit was closed by the timeout or by the next event because every end
    packet was lost; ``timestamp`` is the RTP timestamp that identified the event.
    """

    digit: str
    duration_ms: int
    timestamp: int = field(default=0, compare=False)
    ended: bool = field(default=True, compare=False)


class DtmfSender:
    """Emits the packets of one RFC 4733 event at a time, paced by the caller's clock.

    ``start(digit, now)`` arms the event; the first packet is due at ``now`` and the others every
    ``interval`` seconds after it: updates with the marker on the first one and a growing duration, then
    the final packet ``end_repeats`` times. Call :meth:`poll` (alias :meth:`handle_timer`) when
    :meth:`get_timer` is due; it returns every packet due by ``now``.

    Each packet stands for one packetization interval of the shared media clock, so by default the
    sender advances ``rtp``'s timestamp by one interval per packet: audio that resumes after the event
    continues on the right timestamp. The caller should not send audio while :attr:`active` is true.
    """

    def __init__(
        self,
        rtp: RtpSender,
        *,
        payload_type: int = TELEPHONE_EVENT,
        interval: float = 0.02,
        volume: int = 10,
        end_repeats: int = 3,
        advance_clock: bool = True,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if end_repeats < 1:
            raise ValueError("at least one end packet is needed")
        self.rtp = rtp
        self.payload_type = payload_type
        self.interval = interval
        self.volume = volume
        self.end_repeats = end_repeats
        self.advance_clock = advance_clock
        self._step = max(1, round(interval * rtp.clock_rate))
        self._event: int | None = None
        self._timestamp = 0
        self._total = 0
        self._started_at = 0.0
        self._sent = 0
        self._ends_sent = 0

    @property
    def active(self) -> bool:
        """True from :meth:`start` until the last end packet has been emitted."""
        return self._event is not None

    def start(self, digit: str, now: float, *, duration: float = 0.1) -> None:
        """Begin sending ``digit`` for ``duration`` seconds (at most 65535 clock ticks, ~8.19 s at 8 kHz)."""
        if self._event is not None:
            raise RuntimeError("a DTMF event is still being sent")
        total = round(duration * self.rtp.clock_rate)
        if not 1 <= total <= _MAX_DURATION:
            raise ValueError(f"duration {duration}s does not fit one 16-bit event (RFC 4733 §2.5.1.3)")
        self._event = digit_to_event(digit)
        self._timestamp = self.rtp.timestamp  # the event starts where the audio clock stands
        self._total = total
        self._started_at = now
        self._sent = 0
        self._ends_sent = 0

    def get_timer(self) -> float | None:
        """When the next packet is due, or None when idle."""
        if self._event is None:
            return None
        return self._started_at + self._sent * self.interval

    def poll(self, now: float) -> list[RtpPacket]:
        """Every packet due at or before ``now``, in order."""
        packets: list[RtpPacket] = []
        due = self.get_timer()
        while due is not None and due <= now:
            packets.append(self._emit())
            due = self.get_timer()
        return packets

    handle_timer = poll

    def _emit(self) -> RtpPacket:
        assert self._event is not None
        # Each update reports the duration through the end of its interval (§2.5.1.2), capped at the
        # final duration, which then repeats unchanged in the retransmitted end packets (§2.5.1.4).
        duration = min((self._sent + 1) * self._step, self._total)
        end = duration >= self._total
        payload = DtmfEvent(self._event, end, self.volume, duration).to_bytes()
        packet = self.rtp.packet_at(
            payload, self._timestamp, marker=self._sent == 0, payload_type=self.payload_type
        )
        self._sent += 1
        if self.advance_clock:
            self.rtp.advance(self._step)
        if end:
            self._ends_sent += 1
            if self._ends_sent >= self.end_repeats:
                self._event = None
        return packet


@dataclass(slots=True)
class _Tone:
    ssrc: int
    timestamp: int
    event: int
    duration: int
    last_seen: float


class DtmfReceiver:
    """Turns telephone-event packets into :class:`DigitDetected`, exactly once per event.

    Events are told apart by (SSRC, RTP timestamp) (RFC 4733 §2.5.2), never by the marker bit, so a lost
    first packet does not matter. A digit is reported on its first end packet; retransmitted end packets
    and late updates of a reported event are dropped. If every end packet is lost, the digit is reported
    when the next event starts or ``timeout`` seconds after its last packet (:meth:`get_timer` /
    :meth:`handle_timer`, alias :meth:`poll`). Packets older than the newest event seen are dropped.

    Only the first event of a payload is read; event codes above 15 (non-DTMF) are ignored; a single event
    longer than 65535 ticks (RFC 4733 §2.5.1.3 segments) is reported once per segment.
    """

    def __init__(
        self,
        payload_type: int = TELEPHONE_EVENT,
        *,
        clock_rate: int = 8000,
        timeout: float = 0.3,
        history: int = 16,
    ) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.timeout = timeout
        self._current: _Tone | None = None
        self._newest: tuple[int, int] | None = None
        self._finished: deque[tuple[int, int]] = deque(maxlen=history)

    def receive(self, packet: RtpPacket, now: float) -> list[DigitDetected]:
        """Feed one RTP packet (any payload type: others are ignored) that arrived at ``now``."""
        if packet.payload_type != self.payload_type:
            return []
        try:
            event = DtmfEvent.parse(packet.payload)
        except RtpParseError:
            return []
        if event.event >= len(DTMF_DIGITS):
            return []
        key = (packet.ssrc, packet.timestamp)
        current = self._current
        if current is not None and (current.ssrc, current.timestamp) == key:
            current.duration = max(current.duration, event.duration)
            current.last_seen = now
            return [self._finish(ended=True)] if event.end else []
        if key in self._finished or self._is_stale(key):
            return []
        detected = [self._finish(ended=False)] if current is not None else []
        self._current = _Tone(packet.ssrc, packet.timestamp, event.event, event.duration, now)
        self._newest = key
        if event.end:
            detected.append(self._finish(ended=True))
        return detected

    def _is_stale(self, key: tuple[int, int]) -> bool:
        newest = self._newest
        return newest is not None and newest[0] == key[0] and ts_diff(key[1], newest[1]) < 0

    def _finish(self, *, ended: bool) -> DigitDetected:
        tone = self._current
        assert tone is not None
        self._current = None
        self._finished.append((tone.ssrc, tone.timestamp))
        return DigitDetected(
            digit=DTMF_DIGITS[tone.event],
            duration_ms=round(tone.duration * 1000 / self.clock_rate),
            timestamp=tone.timestamp,
            ended=ended,
        )

    def get_timer(self) -> float | None:
        """When an event whose end packets never came will be given up on, or None."""
        if self._current is None:
            return None
        return self._current.last_seen + self.timeout

    def handle_timer(self, now: float) -> list[DigitDetected]:
        """Report the event in progress if it has been silent for ``timeout`` seconds."""
        due = self.get_timer()
        if due is None or now < due:
            return []
        return [self._finish(ended=False)]

    poll = handle_timer
