"""Receive-side statistics of one RTP source: RFC 3550 Appendix A.1, A.3 and A.8, with time passed in.

One :class:`ReceiveStatistics` per remote SSRC. It validates sequence numbers with the probation /
dropout / misorder rules of A.1 (so a restarted or spoofed stream does not wreck the counters), counts
expected and lost packets as in A.3, estimates interarrival jitter as in A.8, and turns all that into the
:class:`~takeback.rtp.rtcp.ReportBlock` an RR or SR carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takeback.rtp.rtcp import ReportBlock, SenderReport, ntp_middle32
from takeback.rtp.sequence import SEQ_MOD, ts_diff

if TYPE_CHECKING:
    from takeback.rtp.packet import RtpPacket

__all__ = ["MAX_DROPOUT", "MAX_MISORDER", "MIN_SEQUENTIAL", "ReceiveStatistics"]

MAX_DROPOUT = 3000
"""A.1: a forward jump of up to this many sequence numbers is loss, not a restart."""
MAX_MISORDER = 100
"""A.1: a backward jump of up to this many is a late or duplicate packet, not a restart."""
MIN_SEQUENTIAL = 2
"""A.1: in-order packets needed before a new source is believed."""


class ReceiveStatistics:
    """Sequence validation, loss and jitter for one source (RFC 3550 A.1/A.3/A.8).

    ``min_sequential=1`` accepts a source on its first packet, the right choice when the SSRC was
    learnt through signalling rather than by sniffing the port.
    """

    def __init__(self, clock_rate: int = 8000, *, min_sequential: int = MIN_SEQUENTIAL) -> None:
        if clock_rate <= 0:
            raise ValueError("clock_rate must be positive")
        if min_sequential < 1:
            raise ValueError("min_sequential must be at least 1")
        self.clock_rate = clock_rate
        self.min_sequential = min_sequential
        self.ssrc: int | None = None
        self.max_seq = 0
        self.base_seq = 0
        self.received = 0
        self._cycles = 0  # shifted count of wraps, as in A.1
        self._bad_seq = SEQ_MOD + 1  # "so seq == bad_seq is false"
        self._probation = 0
        self._started = False
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._last_timestamp = 0
        self._jitter = 0.0
        self._last_sr: int = 0
        self._last_sr_at: float | None = None

    # --- A.1 ---------------------------------------------------------------------------------------------

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self._bad_seq = SEQ_MOD + 1
        self._cycles = 0
        self.received = 0
        self._received_prior = 0
        self._expected_prior = 0
        self._transit = None

    def _update_seq(self, seq: int) -> bool:
        """The A.1 state machine; returns whether the packet is valid (counts for statistics)."""
        udelta = (seq - self.max_seq) & 0xFFFF
        if self._probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self._probation -= 1
                self.max_seq = seq
                if self._probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self._probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self._cycles += SEQ_MOD  # the sequence number wrapped: count another 64K cycle
            self.max_seq = seq
        elif udelta <= SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                # A very large jump: believe it only if the next packet continues from here (restart).
                self._bad_seq = (seq + 1) & 0xFFFF
                return False
            self._init_seq(seq)
        # else: duplicate or reordered packet, counted as received (A.3 explains the consequence).
        self.received += 1
        return True

    def update(self, packet: RtpPacket, now: float, *, measure_jitter: bool = True) -> bool:
        """Account for one received packet arriving at ``now`` (seconds); return whether it is valid.

        Pass ``measure_jitter=False`` for packets whose timestamp does not follow the sampling clock,
        e.g. RFC 4733 events, whose timestamp stays at the event start: they share the sequence space
        (so must be counted) but would fake jitter.
        """
        if not self._started or packet.ssrc != self.ssrc:
            self._started = True
            self.ssrc = packet.ssrc
            self._init_seq(packet.sequence)
            self.max_seq = (packet.sequence - 1) & 0xFFFF
            self._probation = self.min_sequential
            self._jitter = 0.0
        valid = self._update_seq(packet.sequence)
        if valid and measure_jitter:
            self._update_jitter(packet.timestamp, now)
        return valid

    # --- A.8 ---------------------------------------------------------------------------------------------

    def _update_jitter(self, timestamp: int, now: float) -> None:
        """J(i) = J(i-1) + (|D(i-1,i)| - J(i-1)) / 16, D from the relative transit times (RFC 3550 §6.4.1)."""
        arrival = now * self.clock_rate
        if self._transit is None:
            self._transit = arrival
            self._last_timestamp = timestamp
            return
        # transit(i) - transit(i-1) = (arrival_i - arrival_{i-1}) - (ts_i - ts_{i-1}), wrap-safe.
        d = (arrival - self._transit) - ts_diff(timestamp, self._last_timestamp)
        self._transit = arrival
        self._last_timestamp = timestamp
        self._jitter += (abs(d) - self._jitter) / 16.0

    # --- derived figures (A.3) ---------------------------------------------------------------------------

    @property
    def cycles(self) -> int:
        """How many times the sequence number wrapped past 65535."""
        return self._cycles >> 16

    @property
    def extended_highest_sequence(self) -> int:
        """``cycles * 65536 + max_seq`` (RFC 3550 A.3)."""
        return self._cycles + self.max_seq

    @property
    def expected(self) -> int:
        if self.received == 0:
            return 0
        return self.extended_highest_sequence - self.base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost; negative when duplicates outnumber losses (RFC 3550 §6.4.1)."""
        return self.expected - self.received

    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate in timestamp units."""
        return self._jitter

    @property
    def jitter_seconds(self) -> float:
        return self._jitter / self.clock_rate

    def on_sender_report(self, report: SenderReport, now: float) -> None:
        """Remember the peer's last SR so our next report block carries LSR/DLSR (RFC 3550 §6.4.1)."""
        self._last_sr = ntp_middle32(report.ntp_timestamp)
        self._last_sr_at = now

    def report_block(self, now: float) -> ReportBlock:
        """The reception report for this source; starts a new interval for ``fraction_lost`` (A.3)."""
        if self.ssrc is None:
            raise ValueError("no packet received yet: nothing to report")
        expected = self.expected
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min((lost_interval << 8) // expected_interval, 0xFF)
        cumulative = max(-(1 << 23), min(self.lost, (1 << 23) - 1))  # clamp to 24-bit signed
        dlsr = 0
        if self._last_sr_at is not None:
            dlsr = max(0, min(int((now - self._last_sr_at) * 65536), 0xFFFFFFFF))
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=cumulative,
            highest_sequence=self.extended_highest_sequence & 0xFFFFFFFF,
            jitter=min(int(self._jitter), 0xFFFFFFFF),
            last_sr=self._last_sr,
            delay_since_last_sr=dlsr,
        )
