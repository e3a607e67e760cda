"""Call recording to WAV: caller and device on one timeline, 8 kHz 16-bit, stereo or mixed mono.

Both directions are placed by *media time*, not by arrival order:

* the device channel (what we send) sits at ``(tick - start_tick) * samples_per_tick``: the scheduler's
  grid is the recording's clock;
* the caller channel is anchored to the arrival instant of a packet on that same clock, and every packet
  goes where its RTP timestamp says relative to the anchor (RFC 3550 §5.1: the timestamp is the sampling
  instant). Lost or missing packets, hold periods and late packets therefore leave silence in exactly the
  right place and the channels stay aligned. The anchor tracks the *least delayed* packet: a packet that
  arrives more than 5 ms before its timestamp predicts shows that the anchor packet itself was held up
  (a busy loop, a scheduling hiccup), so it becomes the new anchor. A new SSRC or a jump of more than a
  second (a new media server after a transfer) re-anchors too.

Audio is flushed to disk every housekeeping pass once it is older than ``reorder_window`` seconds, so a
long recording does not live in memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from takeback.media._audioop import audioop
from takeback.media.pcm import LINE_RATE, SAMPLE_WIDTH
from takeback.media.wav import WavWriter
from takeback.rtp.sequence import ts_diff

__all__ = ["Recorder", "RecordingResult"]

StopReason = Literal["max_seconds", "stopped", "digit", "closed"]
_REANCHOR_SAMPLES = LINE_RATE  # one second
_EARLY_SAMPLES = LINE_RATE // 200  # 5 ms


@dataclass(frozen=True, slots=True)
class RecordingResult:
    path: Path
    duration: float
    stereo: bool
    reason: StopReason


class _Track:
    """Samples from ``base`` onwards; positions are absolute sample indices on the recording clock."""

    __slots__ = ("base", "data")

    def __init__(self) -> None:
        self.base = 0
        self.data = bytearray()

    def put(self, position: int, pcm: bytes) -> None:
        offset = (position - self.base) * SAMPLE_WIDTH
        if offset < 0:  # older than what is already on disk: keep only the tail
            pcm = pcm[-offset:]
            offset = 0
        if not pcm:
            return
        end = offset + len(pcm)
        if end > len(self.data):
            self.data.extend(bytes(end - len(self.data)))
        self.data[offset:end] = pcm

    def take(self, samples: int) -> bytes:
        """Remove and return the first ``samples`` (zero-padded where nothing was written)."""
        octets = samples * SAMPLE_WIDTH
        chunk = bytes(self.data[:octets])
        del self.data[:octets]
        self.base += samples
        return chunk + bytes(octets - len(chunk))


class Recorder:
    """Records one session; the session feeds it, the housekeeping pass flushes it."""

    def __init__(
        self,
        path: str | Path,
        *,
        start_tick: int,
        start_time: float,
        samples_per_tick: int,
        stereo: bool = True,
        max_seconds: float | None = None,
        stop_digits: str = "",
        reorder_window: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.stereo = stereo
        self.stop_digits = stop_digits
        self.start_tick = start_tick
        self.start_time = start_time
        self.samples_per_tick = samples_per_tick
        self.max_samples = None if max_seconds is None else int(max_seconds * LINE_RATE)
        self._window = int(reorder_window * LINE_RATE)
        self._caller = _Track()
        self._device = _Track()
        self._writer = WavWriter(self.path, sample_rate=LINE_RATE, channels=2 if stereo else 1)
        self._anchor: tuple[int, int, int] | None = None  # (ssrc, rtp timestamp, position)
        self._end = 0
        self.future: asyncio.Future[RecordingResult] = asyncio.get_running_loop().create_future()

    # --- feeding ------------------------------------------------------------------------------------------

    def on_sent(self, tick: int, pcm: bytes) -> None:
        """The device channel: ``pcm`` went out at grid point ``tick``."""
        position = (tick - self.start_tick) * self.samples_per_tick
        if position >= 0:
            self._device.put(position, pcm)
            self._end = max(self._end, position + len(pcm) // SAMPLE_WIDTH)

    def on_received(self, pcm: bytes, timestamp: int, clock_rate: int, ssrc: int, now: float) -> None:
        """The caller channel: ``pcm`` was sampled at RTP ``timestamp`` and arrived at ``now``."""
        arrival = int((now - self.start_time) * LINE_RATE)
        anchor = self._anchor
        position = arrival
        if anchor is not None and anchor[0] == ssrc:
            position = anchor[2] + int(ts_diff(timestamp, anchor[1]) * LINE_RATE / clock_rate)
        if (
            anchor is None
            or anchor[0] != ssrc
            or arrival < position - _EARLY_SAMPLES
            or position - arrival > _REANCHOR_SAMPLES
            or arrival - position > _REANCHOR_SAMPLES
        ):
            self._anchor = (ssrc, timestamp, arrival)
            position = arrival
        if position >= 0:
            self._caller.put(position, pcm)
            self._end = max(self._end, position + len(pcm) // SAMPLE_WIDTH)

    # --- flushing -----------------------------------------------------------------------------------------

    def position_of(self, tick: int) -> int:
        return (tick - self.start_tick) * self.samples_per_tick

    def expired(self, tick: int) -> bool:
        return self.max_samples is not None and self.position_of(tick) >= self.max_samples

    def flush(self, tick: int) -> None:
        """Write out everything older than the reorder window."""
        self._write_until(self.position_of(tick) - self._window)

    def _write_until(self, position: int) -> None:
        if self.max_samples is not None:
            position = min(position, self.max_samples)
        samples = position - self._device.base
        if samples <= 0:
            return
        caller = self._caller.take(samples)
        device = self._device.take(samples)
        if self.stereo:
            frames = audioop.add(
                audioop.tostereo(caller, SAMPLE_WIDTH, 1, 0),
                audioop.tostereo(device, SAMPLE_WIDTH, 0, 1),
                SAMPLE_WIDTH,
            )
        else:
            frames = audioop.add(caller, device, SAMPLE_WIDTH)  # saturating sum: a plain two-party mix
        self._writer.write(frames)

    def close(self, tick: int, reason: StopReason) -> RecordingResult:
        """Write the rest (both channels padded to the same length) and finish the file."""
        if not self.future.done():
            self._write_until(max(self._end, self.position_of(tick)))
            self._writer.close()
            result = RecordingResult(self.path, self._writer.frames_written / LINE_RATE, self.stereo, reason)
            self.future.set_result(result)
        return self.future.result()
