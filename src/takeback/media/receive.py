"""The receive half of a media session: validation, symmetric-RTP latching, statistics, DTMF, decoding.

Symmetric RTP (RFC 4961 behaviour; GENESYS.md §2.3: "media comes from any address of Genesys' pools"):
the SDP address is only where we *start* sending. The first valid packet (RTP version 2, one of the
negotiated payload types, from a source the optional filter admits) latches the stream: from then on we
send to wherever it came from, and packets from anywhere else are ignored. A later move (a new media
server) is accepted once ``relatch_after`` consecutive in-sequence packets of one SSRC, spanning at least
``relatch_quiet`` seconds, arrive from the new address *while the latched source stays silent*: a stray or
injected burst cannot steal an active call (the "RTP bleed" class of attacks) and two live sources cannot
make us flap between them.

Per-packet work on the latched path is one ``struct`` call and a few integer operations: the loss
counters follow RFC 3550 A.1 (dropout/misorder thresholds) without building an ``RtpPacket``. Full parsing
(:meth:`RtpPacket.parse`) is kept for telephone-event packets and unusual headers.

SRTP (RFC 3711 §3.3): the session points the socket at :meth:`RtpReceiver.handle_srtp`, which unprotects
first; a packet that fails authentication or the replay check is counted and dropped before it can latch,
count as received or reach the DTMF detector. Plain RTP goes straight to :meth:`RtpReceiver.handle`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from takeback.media.codecs import Codec, Decoder
from takeback.media.params import MediaParams
from takeback.media.recorder import Recorder
from takeback.rtp.dtmf import DigitDetected, DtmfReceiver
from takeback.rtp.packet import RtpPacket, RtpParseError
from takeback.rtp.srtp import SrtpError, SrtpReplayError
from takeback.rtp.stats import MAX_DROPOUT, MAX_MISORDER

__all__ = ["AudioTap", "RtpReceiver"]

AudioTap = Callable[[bytes], None]
"""Receives every decoded 8 kHz mono 16-bit frame of the peer's audio, in arrival order."""

_FIELDS = struct.Struct("!HII")  # sequence, timestamp, SSRC at offset 2 (RFC 3550 §5.1)
_SEQ_RESTART = 0x10000 - MAX_MISORDER


@dataclass(slots=True)
class _Candidate:
    address: Any
    ssrc: int
    sequence: int
    count: int
    mark: int
    since: float


class RtpReceiver:
    """Datagram handler for one session's RTP socket."""

    def __init__(
        self,
        clock: Callable[[], float],
        on_latch: Callable[[Any, int, Any], None],
        on_digit: Callable[[DigitDetected], None],
        *,
        relatch_after: int = 3,
        relatch_quiet: float = 0.06,
        source_filter: Callable[[str], bool] | None = None,
    ) -> None:
        if relatch_after < 1 or relatch_quiet < 0:
            raise ValueError("relatch_after must be at least 1 and relatch_quiet not negative")
        self._clock = clock
        self._on_latch = on_latch
        self._on_digit = on_digit
        self.relatch_after = relatch_after
        self.relatch_quiet = relatch_quiet
        self.source_filter = source_filter
        self.latched: Any = None
        self.expected_ssrc: int | None = None
        self.payload_type = -1
        self.dtmf_payload_type = -1
        self.clock_rate = 8000
        self._codec: Codec | None = None
        self._decoder: Decoder | None = None
        self._dtmf: DtmfReceiver | None = None
        self._candidate: _Candidate | None = None
        self.taps: list[AudioTap] = []
        self._recorder: Recorder | None = None
        self._measure_jitter = False
        self._consumers = False
        """Anything beyond counting to do for audio packets (jitter, taps, recorder)? One test per packet."""
        self.ssrc: int | None = None
        self.received = 0
        """Valid packets from the latched source (audio and events)."""
        self.rejected = 0
        """Datagrams dropped: malformed, wrong payload type, or from a source we are not latched to."""
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._bad_seq = -1
        self._received_before_source = 0
        self.jitter = 0.0
        self._last_arrival = 0.0
        self._last_timestamp: int | None = None
        self.unprotect: Callable[[bytes], bytes] | None = None
        """SRTP: verifies and decrypts with the peer's SDES key (used by :meth:`handle_srtp`)."""
        self.srtp_auth_failures = 0
        """SRTP packets dropped: bad tag (wrong key, corruption, forgery) or not SRTP at all."""
        self.srtp_replays = 0
        """SRTP packets dropped as replays or as older than the replay window (RFC 3711 §3.3.2)."""

    # --- configuration ------------------------------------------------------------------------------------

    def configure(self, codec: Codec, params: MediaParams) -> None:
        self.payload_type = params.payload_type
        self.dtmf_payload_type = -1 if params.dtmf_payload_type is None else params.dtmf_payload_type
        self.clock_rate = params.clock_rate
        self.expected_ssrc = params.remote_ssrc
        # The decoder and the RFC 4733 receiver are made by the first packet that needs them: many calls
        # receive no audio for anyone to hear and no DTMF at all (a take-back answers and transfers at once).
        if codec is not self._codec:
            self._codec = codec
            self._decoder = None
        self._dtmf = None

    def unlatch(self) -> None:
        """Forget the learnt source (the peer signalled a new address): the next valid packet latches."""
        self.latched = None
        self._candidate = None

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        self._recorder = recorder
        self._update_consumers()

    @property
    def measure_jitter(self) -> bool:
        """Estimate interarrival jitter (RFC 3550 A.8) for RTCP reports; costs a clock read per packet."""
        return self._measure_jitter

    @measure_jitter.setter
    def measure_jitter(self, value: bool) -> None:
        self._measure_jitter = value
        self._update_consumers()

    def add_tap(self, tap: AudioTap) -> None:
        self.taps.append(tap)
        self._update_consumers()

    def remove_tap(self, tap: AudioTap) -> None:
        if tap in self.taps:
            self.taps.remove(tap)
        self._update_consumers()

    def _update_consumers(self) -> None:
        self._consumers = bool(self.taps) or self._recorder is not None or self._measure_jitter

    # --- statistics ---------------------------------------------------------------------------------------

    @property
    def expected(self) -> int:
        """Packets the peer sent since we latched onto its current SSRC (RFC 3550 A.3)."""
        if self.received == self._received_before_source:
            return 0
        return self._cycles + self._max_seq - self._base_seq + 1

    @property
    def base_sequence(self) -> int:
        return self._base_seq

    @property
    def lost(self) -> int:
        return self.expected - (self.received - self._received_before_source)

    # --- the datagram handler -------------------------------------------------------------------------------

    def handle(self, data: bytes, address: Any) -> None:
        if address != self.latched:
            self._handle_foreign(data, address)
            return
        if len(data) < 12 or data[0] & 0xC0 != 0x80:
            self.rejected += 1
            return
        payload_type = data[1] & 0x7F
        sequence, timestamp, ssrc = _FIELDS.unpack_from(data, 2)
        if ssrc != self.ssrc:
            if payload_type not in (self.payload_type, self.dtmf_payload_type):
                self.rejected += 1  # e.g. RTCP multiplexed onto the RTP port (RFC 5761)
                return
            self._new_source(ssrc, sequence)
        delta = (sequence - self._max_seq) & 0xFFFF
        if delta < MAX_DROPOUT:  # in order, possibly after a gap (RFC 3550 A.1)
            if sequence < self._max_seq:
                self._cycles += 0x10000
            self._max_seq = sequence
        elif delta <= _SEQ_RESTART:  # a big jump: a restart only if the next packet confirms it
            if sequence != self._bad_seq:
                self._bad_seq = (sequence + 1) & 0xFFFF
                self.rejected += 1
                return
            self._new_source(ssrc, sequence)
        self.received += 1
        if payload_type == self.payload_type:
            if self._consumers:
                self._consume(data, timestamp, ssrc)
        elif payload_type == self.dtmf_payload_type:
            self._handle_event(data)

    def handle_srtp(self, data: bytes, address: Any) -> None:
        """Datagram handler for SRTP: unprotect, then what :meth:`handle` does with plain RTP."""
        assert self.unprotect is not None
        try:
            data = self.unprotect(data)
        except SrtpReplayError:
            self.srtp_replays += 1
            return
        except SrtpError:
            self.srtp_auth_failures += 1
            return
        self.handle(data, address)

    def _consume(self, data: bytes, timestamp: int, ssrc: int) -> None:
        if self.measure_jitter:
            self._update_jitter(timestamp)
        if self.taps or self.recorder is not None:
            self._deliver(data, timestamp, ssrc)

    def _update_jitter(self, timestamp: int) -> None:
        """J += (|D(i-1,i)| - J) / 16 with D the change in relative transit time (RFC 3550 §6.4.1, A.8)."""
        arrival = self._clock() * self.clock_rate
        last = self._last_timestamp
        if last is not None:
            elapsed = ((timestamp - last + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            difference = abs(arrival - self._last_arrival - elapsed)
            self.jitter += (difference - self.jitter) / 16.0
        self._last_arrival = arrival
        self._last_timestamp = timestamp

    def _new_source(self, ssrc: int, sequence: int) -> None:
        self.ssrc = ssrc
        self._base_seq = self._max_seq = sequence
        self._cycles = 0
        self._bad_seq = -1
        self._received_before_source = self.received
        self._last_timestamp = None
        self.jitter = 0.0
        self._decoder = None  # a fresh one for this stream (Opus decoders carry state per stream)

    def _handle_foreign(self, data: bytes, address: Any) -> None:
        """A packet from somewhere we do not send to: maybe the first packet, maybe a media server move."""
        if len(data) < 12 or data[0] & 0xC0 != 0x80:
            self.rejected += 1
            return
        payload_type = data[1] & 0x7F
        if payload_type not in (self.payload_type, self.dtmf_payload_type):
            self.rejected += 1
            return
        if self.source_filter is not None and not self.source_filter(address[0]):
            self.rejected += 1
            return
        sequence, _, ssrc = _FIELDS.unpack_from(data, 2)
        if self.latched is None or ssrc == self.expected_ssrc:
            self._latch(address, ssrc)
            self.handle(data, address)
            return
        candidate = self._candidate
        now = self._clock()
        if (
            candidate is not None
            and candidate.address == address
            and candidate.ssrc == ssrc
            and sequence == (candidate.sequence + 1) & 0xFFFF
            and candidate.mark == self.received
        ):
            candidate.count += 1
            candidate.sequence = sequence
        else:
            candidate = self._candidate = _Candidate(address, ssrc, sequence, 1, self.received, now)
        if candidate.count >= self.relatch_after and now - candidate.since >= self.relatch_quiet:
            self._latch(address, ssrc)
            self.handle(data, address)
            return
        self.rejected += 1

    def _latch(self, address: Any, ssrc: int) -> None:
        previous = self.latched
        self.latched = address
        self._candidate = None
        self.ssrc = None  # statistics restart with this source's first packet
        self._on_latch(address, ssrc, previous)

    # --- payload consumers --------------------------------------------------------------------------------

    def _deliver(self, data: bytes, timestamp: int, ssrc: int) -> None:
        if data[0] == 0x80:
            payload = data[12:]
        else:  # CSRCs, extension or padding: let the full parser find the payload
            try:
                payload = RtpPacket.parse(data).payload
            except RtpParseError:
                return
        decoder = self._decoder
        if decoder is None:
            assert self._codec is not None  # configured: audio packets are accepted only after configure()
            decoder = self._decoder = self._codec.new_decoder()
        pcm = decoder(payload)
        for tap in self.taps:
            tap(pcm)
        if self.recorder is not None:
            self.recorder.on_received(pcm, timestamp, self.clock_rate, ssrc, self._clock())

    def _handle_event(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return
        dtmf = self._dtmf
        if dtmf is None:  # the first event packet of this configuration
            dtmf = self._dtmf = DtmfReceiver(self.dtmf_payload_type, clock_rate=self.clock_rate)
        for detected in dtmf.receive(packet, self._clock()):
            self._on_digit(detected)

    def release_owner(self) -> None:
        """The owning session closed (its socket no longer delivers). Its callbacks are bound methods of
        the session, which holds this receiver: dropping them lets both be freed by reference counting
        instead of leaving a cycle for the collector."""
        self._on_latch = _ignore_latch
        self._on_digit = _ignore_digit

    def poll_dtmf(self, now: float) -> None:
        """Report a digit whose end packets were all lost (RFC 4733 §2.5.2 timeout)."""
        if self._dtmf is not None:
            for detected in self._dtmf.handle_timer(now):
                self._on_digit(detected)


def _ignore_latch(address: Any, ssrc: int, previous: Any) -> None:
    """A closed session's receiver: latching is no longer reported."""


def _ignore_digit(detected: DigitDetected) -> None:
    """A closed session's receiver: digits are no longer reported."""
