"""A small jitter buffer for one audio stream, sans-IO: packets in with their arrival time, frames out at
their playout time.

Playout times come from the RTP timestamps (RFC 3550 §5.1: the sampling instant) mapped onto the local
clock by an *anchor*: the packet that anchored the mapping plays ``delay`` seconds after it arrived, and
every other packet plays at the anchor time plus its timestamp distance to it. The mapping is re-anchored
only when the buffer is empty and a talkspurt starts (marker bit, RFC 3551 §4.1) or a packet arrives
already past its playout time (a delay spike); both happen between frames, so playout never jumps
backwards or drops a buffered frame.

In adaptive mode the delay follows the interarrival jitter (the RFC 3550 A.8 estimator, kept in seconds):
``delay = clamp(4 * jitter, min_delay, max_delay)`` once the estimator has warmed up (the initial ``delay``
until then), applied at the next re-anchoring.

Sequence numbers are extended internally (wrap-safe, RFC 3550 A.1 rules for restarts); packets that arrive
after their frame was played or concealed are counted as *late* or *duplicate* and dropped. Gaps come out
as frames with ``packet=None`` at interpolated times, so the caller can conceal them.

Feed it audio only: telephone-events (RFC 4733) share the sequence space, so their sequence numbers show up
here as gaps (concealed frames), which is the right thing to play while a digit is sent.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from takeback.rtp.packet import RtpPacket
from takeback.rtp.sequence import seq_diff, ts_diff
from takeback.rtp.stats import MAX_DROPOUT, MAX_MISORDER

__all__ = ["JitterBuffer", "JitterStats", "PlayoutFrame"]

_JITTER_FACTOR = 4.0  # delay = mean + 4 * deviation is the classic playout-delay rule
_WARM_UP = 16  # the A.8 estimator's gain is 1/16: trust it only after about that many samples


@dataclass(frozen=True, slots=True)
class PlayoutFrame:
    """One frame to play. ``packet`` is None for a lost frame (conceal it); its ``timestamp`` is then
    interpolated between its neighbours."""

    sequence: int
    timestamp: int
    playout_time: float
    packet: RtpPacket | None

    @property
    def lost(self) -> bool:
        return self.packet is None


@dataclass(frozen=True, slots=True)
class JitterStats:
    received: int = 0
    """Packets accepted into the buffer."""
    played: int = 0
    lost: int = 0
    """Frames handed out as lost (never arrived in time)."""
    late: int = 0
    """Packets that arrived after their frame had been concealed."""
    duplicate: int = 0
    overflow: int = 0
    """Packets evicted because the buffer was full."""
    discarded: int = 0
    """Packets dropped as an implausible sequence jump (RFC 3550 A.1) awaiting confirmation."""
    resets: int = 0
    """Restarts on a new SSRC or a confirmed sequence jump."""


class JitterBuffer:
    """Reorders, de-duplicates and times the packets of one stream.

    ``delay`` is the fixed playout delay, or the initial one when ``adaptive``; ``capacity`` bounds the
    packets held (the oldest is evicted first).
    """

    def __init__(
        self,
        clock_rate: int = 8000,
        *,
        delay: float = 0.06,
        adaptive: bool = False,
        min_delay: float = 0.02,
        max_delay: float = 0.3,
        capacity: int = 64,
    ) -> None:
        if clock_rate <= 0 or capacity < 1:
            raise ValueError("clock_rate and capacity must be positive")
        if not 0 <= min_delay <= max_delay:
            raise ValueError("need 0 <= min_delay <= max_delay")
        self.clock_rate = clock_rate
        self.adaptive = adaptive
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.capacity = capacity
        self._initial_delay = delay
        self._counts = dict.fromkeys(JitterStats.__dataclass_fields__, 0)
        self._clear()

    def _clear(self) -> None:
        self._ssrc: int | None = None
        self._packets: dict[int, tuple[RtpPacket, int]] = {}  # extended seq -> (packet, extended ts)
        self._heap: list[int] = []
        self._high_seq = 0  # highest sequence number seen, raw and extended
        self._high_ext = 0
        self._high_ts = 0  # its timestamp, raw and extended
        self._high_ts_ext = 0
        self._bad_seq: int | None = None
        self._next: int | None = None  # extended sequence number of the next frame to hand out
        self._last: tuple[int, int] | None = None  # (extended seq, extended ts) of the last frame out
        self._lost_recent: deque[int] = deque(maxlen=2 * self.capacity)
        self._last_time = float("-inf")  # playout time of the last frame out
        self._anchored = False
        self._anchor_ts = 0
        self._anchor_time = 0.0
        self._transit: float | None = None
        self._jitter = 0.0
        self._jitter_samples = 0
        self._delay = self._initial_delay

    def reset(self) -> None:
        """Forget the stream (e.g. after a re-INVITE changed the source); counters are kept."""
        self._clear()

    # --- observation -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def delay(self) -> float:
        """The playout delay applied at the next re-anchoring, in seconds."""
        return self._delay

    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate in seconds (RFC 3550 A.8)."""
        return self._jitter

    @property
    def stats(self) -> JitterStats:
        return JitterStats(**self._counts)

    # --- input -------------------------------------------------------------------------------------------

    def push(self, packet: RtpPacket, now: float) -> bool:
        """Offer a packet that arrived at ``now``; returns whether it was buffered."""
        if self._ssrc != packet.ssrc:
            self._restart(packet, count=self._ssrc is not None)
        delta = seq_diff(packet.sequence, self._high_seq)
        if delta >= MAX_DROPOUT or delta < -MAX_MISORDER:
            if packet.sequence != self._bad_seq:
                self._bad_seq = (packet.sequence + 1) & 0xFFFF  # believe the jump if the next one follows
                self._counts["discarded"] += 1
                return False
            self._restart(packet, count=True)
            delta = 0
        ext = self._high_ext + delta
        ext_ts = self._high_ts_ext + ts_diff(packet.timestamp, self._high_ts)
        if delta > 0:
            self._high_seq, self._high_ext = packet.sequence, ext
            self._high_ts, self._high_ts_ext = packet.timestamp, ext_ts
            self._update_jitter(ext_ts, now)
        if self._next is not None and ext < self._next:
            self._counts["late" if ext in self._lost_recent else "duplicate"] += 1
            return False
        if ext in self._packets:
            self._counts["duplicate"] += 1
            return False
        if not self._packets and (not self._anchored or packet.marker or self._time_of(ext_ts) < now):
            self._anchor(ext_ts, now)
        if len(self._packets) >= self.capacity:
            self._evict_oldest()
        self._packets[ext] = (packet, ext_ts)
        heapq.heappush(self._heap, ext)
        self._counts["received"] += 1
        return True

    def _restart(self, packet: RtpPacket, *, count: bool) -> None:
        self._clear()
        self._ssrc = packet.ssrc
        self._high_seq = self._high_ext = packet.sequence
        self._high_ts = self._high_ts_ext = packet.timestamp
        self._transit = None
        if count:
            self._counts["resets"] += 1

    def _anchor(self, ext_ts: int, now: float) -> None:
        self._anchored = True
        self._anchor_ts = ext_ts
        self._anchor_time = now + self._delay

    def _update_jitter(self, ext_ts: int, now: float) -> None:
        transit = now - ext_ts / self.clock_rate
        if self._transit is not None:
            self._jitter += (abs(transit - self._transit) - self._jitter) / 16.0
            self._jitter_samples += 1
        self._transit = transit
        if self.adaptive and self._jitter_samples >= _WARM_UP:
            self._delay = min(self.max_delay, max(self.min_delay, _JITTER_FACTOR * self._jitter))

    def _evict_oldest(self) -> None:
        ext = heapq.heappop(self._heap)
        _, ext_ts = self._packets.pop(ext)
        self._counts["overflow"] += 1
        if self._next is not None and ext >= self._next:
            self._counts["lost"] += ext - self._next  # the gap before it can no longer be filled
            self._lost_recent.extend(range(self._next, ext))
            self._next = ext + 1
            self._last = (ext, ext_ts)

    # --- output ------------------------------------------------------------------------------------------

    def _time_of(self, ext_ts: int) -> float:
        return self._anchor_time + (ext_ts - self._anchor_ts) / self.clock_rate

    def _peek(self) -> tuple[float, int, int, RtpPacket | None] | None:
        """(playout time, extended seq, extended ts, packet or None) of the next frame, if known."""
        if not self._heap:
            return None
        first = self._heap[0]
        first_packet, first_ts = self._packets[first]
        expected = first if self._next is None else self._next
        if expected == first or self._last is None:
            return self._time_of(first_ts), first, first_ts, first_packet
        # The expected packet is missing: place it between the last frame out and the next one buffered.
        last_ext, last_ts = self._last
        ext_ts = last_ts + (first_ts - last_ts) * (expected - last_ext) // (first - last_ext)
        # Never before the frame already out, even when a re-anchoring moved the clock mapping.
        return max(self._time_of(ext_ts), self._last_time), expected, ext_ts, None

    def get_timer(self) -> float | None:
        """Playout time of the next frame, or None while the buffer is empty."""
        peeked = self._peek()
        return None if peeked is None else peeked[0]

    def pop(self, now: float) -> PlayoutFrame | None:
        """The next frame if its playout time has come, else None. Call again until None to catch up."""
        peeked = self._peek()
        if peeked is None or peeked[0] > now:
            return None
        playout_time, ext, ext_ts, packet = peeked
        self._next = ext + 1
        self._last = (ext, ext_ts)
        self._last_time = playout_time
        if packet is None:
            self._counts["lost"] += 1
            self._lost_recent.append(ext)
            return PlayoutFrame(ext & 0xFFFF, ext_ts & 0xFFFFFFFF, playout_time, None)
        heapq.heappop(self._heap)
        del self._packets[ext]
        self._counts["played"] += 1
        return PlayoutFrame(packet.sequence, packet.timestamp, playout_time, packet)
