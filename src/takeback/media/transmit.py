"""The send half of a media session: one packet per slot, driven by the :class:`MediaScheduler`.

This is the hot path (one call per session per 20 ms tick), so it is written for the interpreter:

* the 12-octet header is packed with one ``struct.pack_into`` into a buffer allocated once per session;
* the payload is copied into that buffer only when it changes (silence is one shared object);
* payloads are pre-encoded prompt frames: nothing is encoded here (see :mod:`takeback.media.prompts`);
* ``sock.sendto`` is a bound method looked up once, errors are counted, not raised;
* "is there DTMF to send?" is the truthiness of a deque, not a property call.

The RTP timestamp of slot ``n`` is ``base + n * samples_per_packet`` (RFC 3550 §5.1: it follows the
sampling clock, also across ticks that were skipped or spent on hold), and the sequence number advances per
packet actually sent, so a receiver sees time gaps but no false loss.
"""

from __future__ import annotations

import functools
import os
import struct
from array import array
from collections.abc import Callable, Collection
from typing import Any

from takeback.media.codecs import Codec
from takeback.media.dtmf import DtmfTransmitter
from takeback.media.params import MediaParams
from takeback.media.playback import Playback, PlaybackQueue
from takeback.media.recorder import Recorder
from takeback.media.scheduler import MediaScheduler
from takeback.media.socket import RtpSocket
from takeback.rtp.packet import RtpPacket
from takeback.rtp.srtp import SrtpError

__all__ = ["RtpTransmitter"]

_HEADER = struct.Struct("!BBHII")
_VERSION = 0x80  # V=2, no padding, no extension, no CSRC (RFC 3550 §5.1)
_MARKER = 0x80


@functools.lru_cache(maxsize=64)
def _silence_frame(codec: Codec, ptime: int) -> bytes:
    """One packet of silence: per configuration, not per call (encoding it costs more than a session)."""
    return codec.silence_frame(ptime)


class RtpTransmitter:
    """Sends one stream; it is the :class:`~takeback.media.scheduler.TickClient` of its session."""

    __slots__ = (
        "_buffer",
        "_dtmf_pending",
        "_housekeeping",
        "_last_payload",
        "_last_ts",
        "_observed",
        "_pacing_log",
        "_pt",
        "_recorder",
        "_second_octet",
        "_sendto",
        "_seq",
        "_silence",
        "_tick0",
        "_ticks_per_packet",
        "_ts_base",
        "_ts_step",
        "attached",
        "destination",
        "dtmf",
        "may_send",
        "octets_sent",
        "packets_sent",
        "playback",
        "protect",
        "scheduler",
        "send_failures",
        "send_silence",
        "socket",
        "ssrc",
    )

    def __init__(
        self,
        sock: RtpSocket,
        scheduler: MediaScheduler,
        housekeeping: Callable[[float], None],
        *,
        send_silence: bool = True,
    ) -> None:
        self.scheduler = scheduler
        self.socket = sock
        self._sendto = sock.sock.sendto
        self._housekeeping = housekeeping
        self.send_silence = send_silence
        # RFC 3550 §8.1/§5.1: random SSRC, initial sequence number and timestamp. One 80-bit draw from the OS
        # CSPRNG split in three (what secrets.randbits does, once per call instead of three times).
        bits = int.from_bytes(os.urandom(10))
        self.ssrc = bits >> 48
        self._seq = (bits >> 32) & 0xFFFF
        self._ts_base = bits & 0xFFFFFFFF
        self._tick0 = 0
        self._ts_step = 160
        self._ticks_per_packet = 1
        self._last_ts = self._ts_base
        self._pt = 0
        self._second_octet = _MARKER  # first packet of the stream carries the marker (RFC 3551 §4.1)
        self._silence = b""
        self._last_payload: bytes | None = None
        self._buffer = bytearray(12)
        self.destination: tuple[Any, ...] | None = None
        self.may_send = False
        self.playback = PlaybackQueue()
        self.dtmf: DtmfTransmitter | None = None
        self._dtmf_pending: Collection[object] = ()
        self._recorder: Recorder | None = None
        self._pacing_log: array[float] | None = None
        self._observed = False  # recorder or pacing log attached: one test per packet instead of two
        self.packets_sent = 0
        self.octets_sent = 0
        self.send_failures = 0
        self.attached = False
        self.protect: Callable[[bytes], bytes] | None = None
        """SRTP protection of outgoing RTP (our SDES key), ``None`` for plain RTP."""

    # --- configuration ------------------------------------------------------------------------------------

    def configure(self, codec: Codec, params: MediaParams) -> None:
        """Apply a (re)negotiated codec/ptime/payload type; the media clock continues without a jump."""
        tick_ms = self.scheduler.tick_ms
        if params.ptime % tick_ms:
            raise ValueError(
                f"ptime {params.ptime} ms is not a multiple of the scheduler tick ({tick_ms} ms)"
            )
        self.anchor()
        self._ts_step = params.samples_per_packet
        self._ticks_per_packet = params.ptime // tick_ms
        self._pt = params.payload_type
        self._second_octet = self._pt | _MARKER
        self._silence = _silence_frame(codec, params.ptime)
        self._last_payload = None
        if self.dtmf is not None:
            self.dtmf.cancel("the stream was renegotiated while sending DTMF")
        self.dtmf = None
        self._dtmf_pending = ()
        if params.dtmf_payload_type is not None:
            self.dtmf = DtmfTransmitter(params.dtmf_payload_type, params.clock_rate, params.ptime)
            self._dtmf_pending = self.dtmf.pending
        self.playback.recode(codec, params.ptime)

    def anchor(self) -> None:
        """Put slot 0 at the next tick; the RTP clock continues one packet after the last slot.

        :meth:`configure` does this; a session starting after its configure() needs only this part (nothing
        was sent in between, so the rest of a configure() would rebuild the same state).
        """
        self._ts_base = (self._last_ts + self._ts_step) & 0xFFFFFFFF
        self._tick0 = self.scheduler.current_tick + 1

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        self._recorder = recorder
        self._observed = recorder is not None or self._pacing_log is not None

    @property
    def pacing_log(self) -> array[float] | None:
        """When set (benchmarks), every send appends ``clock() - ideal tick time`` in seconds."""
        return self._pacing_log

    @pacing_log.setter
    def pacing_log(self, log: array[float] | None) -> None:
        self._pacing_log = log
        self._observed = log is not None or self._recorder is not None

    @property
    def sequence(self) -> int:
        """Sequence number of the next packet."""
        return self._seq

    @property
    def last_timestamp(self) -> int:
        return self._last_ts

    def mark_talkspurt(self) -> None:
        """Set the marker on the next packet (after a pause in sending, RFC 3551 §4.1)."""
        self._second_octet = self._pt | _MARKER

    # --- TickClient -------------------------------------------------------------------------------------

    def on_housekeeping(self, now: float) -> None:
        self._housekeeping(now)

    def release_owner(self) -> None:
        """The owning session closed. Its housekeeping callback is one of its bound methods, and the
        session holds this transmitter: dropping the callback lets both be freed by reference counting
        instead of leaving a cycle for the collector."""
        self._housekeeping = _no_housekeeping

    def on_tick(self, tick: int) -> None:
        slot = tick - self._tick0
        if self._ticks_per_packet != 1:
            if slot % self._ticks_per_packet:
                return
            slot //= self._ticks_per_packet
        timestamp = self._last_ts = (self._ts_base + slot * self._ts_step) & 0xFFFFFFFF
        if self._dtmf_pending and self._dtmf_slot(slot, timestamp):
            return
        current = self.playback.current
        if current is None:
            if not self.send_silence:
                self._second_octet = self._pt | _MARKER
                return
            payload = self._silence
            index = 0
        else:
            index = current.index
            payload = current.frames[index]
        if self.may_send:
            if self.protect is None:
                buffer = self._buffer
                _HEADER.pack_into(buffer, 0, _VERSION, self._second_octet, self._seq, timestamp, self.ssrc)
                if payload is not self._last_payload:
                    buffer[12:] = payload
                    self._last_payload = payload
                try:
                    self._sendto(buffer, self.destination)  # type: ignore[arg-type]  # may_send: set
                except OSError:  # EAGAIN (full buffer) or ICMP error: late RTP is worthless, count, go on
                    self.send_failures += 1
            else:
                self._send_protected(timestamp, payload)
            self._second_octet = self._pt
            self._seq = (self._seq + 1) & 0xFFFF
            self.packets_sent += 1
            self.octets_sent += len(payload)
            if self._observed:
                self._observe(tick, current, index)
        if current is not None:
            index += 1
            if index < current.count:
                current.index = index
            elif current.loop:
                current.index = 0
                current.laps += 1
            else:
                current.index = index
                current.finish("completed")
                self.playback.advance()

    def _send_protected(self, timestamp: int, payload: bytes) -> None:
        """SRTP: a fresh ``bytes`` packet (the engines take immutable input), protected, then sent."""
        assert self.protect is not None
        header = _HEADER.pack(_VERSION, self._second_octet, self._seq, timestamp, self.ssrc)
        try:
            self._sendto(self.protect(header + payload), self.destination)  # type: ignore[arg-type]
        except (OSError, SrtpError):
            self.send_failures += 1

    def _observe(self, tick: int, current: Playback | None, index: int) -> None:
        if self._pacing_log is not None:
            self._pacing_log.append(self.scheduler.clock() - self.scheduler.current_ideal)
        if self._recorder is not None and current is not None:
            self._recorder.on_sent(tick, current.pcm[index])

    def _dtmf_slot(self, slot: int, timestamp: int) -> bool:
        """Send this slot's telephone-event packets instead of audio; False when DTMF is pausing."""
        assert self.dtmf is not None
        packets = self.dtmf.slot(slot, timestamp, self._seq, self.ssrc)
        if packets is None:
            return False
        self._send_events(packets)
        return True

    def _send_events(self, packets: list[RtpPacket]) -> None:
        for packet in packets:
            if self.may_send:
                try:
                    data = packet.to_bytes()
                    if self.protect is not None:
                        data = self.protect(data)
                    self._sendto(data, self.destination)  # type: ignore[arg-type]
                except (OSError, SrtpError):
                    self.send_failures += 1
                self.packets_sent += 1
                self.octets_sent += len(packet.payload)
            self._seq = (packet.sequence + 1) & 0xFFFF
        self._second_octet = self._pt  # RFC 4733 events carried the marker; audio resumes without one


def _no_housekeeping(now: float) -> None:
    """What a closed session's transmitter runs instead of its housekeeping (it is off the scheduler)."""
