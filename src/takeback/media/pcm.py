"""Sample-format plumbing between files and the 8 kHz mono 16-bit line format used everywhere in media.

G.711 is 8 kHz mono (RFC 3551 §4.5.14); Opus prompts are encoded from the same 8 kHz PCM, so one canonical
form serves every codec, the recorder and the audio taps.
"""

from __future__ import annotations

from array import array

from takeback.media._audioop import audioop
from takeback.media.wav import WavAudio

__all__ = ["LINE_RATE", "SAMPLE_WIDTH", "downmix", "resample", "silence", "to_line_format"]

LINE_RATE = 8000
SAMPLE_WIDTH = 2


def downmix(pcm: bytes, channels: int) -> bytes:
    """Average interleaved 16-bit channels into one."""
    if channels == 1:
        return pcm
    if channels == 2:
        return audioop.tomono(pcm, SAMPLE_WIDTH, 0.5, 0.5)
    samples = array("h", pcm)
    mixed = b""
    for channel in range(channels):
        part = audioop.mul(samples[channel::channels].tobytes(), SAMPLE_WIDTH, 1.0 / channels)
        mixed = part if not mixed else audioop.add(mixed, part, SAMPLE_WIDTH)
    return mixed


def resample(pcm: bytes, rate: int, target: int = LINE_RATE) -> bytes:
    """Convert mono 16-bit PCM from ``rate`` to ``target`` Hz (audioop's interpolating converter)."""
    if rate == target:
        return pcm
    converted, _state = audioop.ratecv(pcm, SAMPLE_WIDTH, 1, rate, target, None)
    return converted


def to_line_format(audio: WavAudio) -> bytes:
    """Any decoded WAV -> 8 kHz mono 16-bit."""
    return resample(downmix(audio.pcm, audio.channels), audio.sample_rate)


def silence(samples: int) -> bytes:
    """``samples`` of digital silence."""
    return bytes(samples * SAMPLE_WIDTH)
