"""WAV files in, WAV files out.

Prompts arrive in whatever a studio or a TTS engine produced: 8/16/24/32-bit integer PCM, 32/64-bit float,
G.711 A-law/µ-law, ``WAVE_FORMAT_EXTENSIBLE`` wrappers of those, any rate, any channel count. The stdlib
``wave`` module (3.11) reads only integer PCM, so reading parses the RIFF chunks itself; writing (recordings
are always 16-bit PCM) uses ``wave``, which patches the sizes on close.
"""

from __future__ import annotations

import struct
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from takeback.media._audioop import audioop
from takeback.media.errors import WavFormatError

__all__ = ["WavAudio", "WavWriter", "read_wav", "to_pcm16"]

_PCM = 0x0001
_FLOAT = 0x0003
_ALAW = 0x0006
_ULAW = 0x0007
_EXTENSIBLE = 0xFFFE
_CHUNK = struct.Struct("<4sI")
_FMT = struct.Struct("<HHIIHH")


@dataclass(frozen=True, slots=True)
class WavAudio:
    """Decoded audio: 16-bit signed little-endian samples, interleaved when ``channels > 1``."""

    pcm: bytes
    sample_rate: int
    channels: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / (2 * self.channels * self.sample_rate)


@dataclass(frozen=True, slots=True)
class _Format:
    code: int
    channels: int
    sample_rate: int
    bits: int
    block_align: int


def read_wav(path: str | Path) -> WavAudio:
    """Read any common WAV file and return its samples as 16-bit linear PCM."""
    data = Path(path).read_bytes()
    return parse_wav(data, name=str(path))


def parse_wav(data: bytes, *, name: str = "<bytes>") -> WavAudio:
    """Parse WAV bytes (see :func:`read_wav`)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavFormatError(f"{name}: not a RIFF/WAVE file")
    fmt: _Format | None = None
    samples: bytes | None = None
    offset = 12
    while offset + _CHUNK.size <= len(data):
        chunk_id, size = _CHUNK.unpack_from(data, offset)
        body = data[offset + 8 : offset + 8 + size]  # a streamed file may declare more than it holds
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body, name)
        elif chunk_id == b"data":
            samples = body
            break
        offset += 8 + size + (size & 1)  # RIFF chunks are word aligned
    if fmt is None or samples is None:
        raise WavFormatError(f"{name}: missing {'fmt' if fmt is None else 'data'} chunk")
    usable = len(samples) - len(samples) % fmt.block_align
    pcm = to_pcm16(samples[:usable], fmt.code, fmt.bits, name=name)
    return WavAudio(pcm, fmt.sample_rate, fmt.channels)


def _parse_fmt(body: bytes, name: str) -> _Format:
    if len(body) < _FMT.size:
        raise WavFormatError(f"{name}: fmt chunk too short")
    code, channels, rate, _byte_rate, block_align, bits = _FMT.unpack_from(body)
    if code == _EXTENSIBLE:
        if len(body) < 40:
            raise WavFormatError(f"{name}: WAVE_FORMAT_EXTENSIBLE without sub-format")
        code = int.from_bytes(body[24:26], "little")  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1 or block_align < 1:
        raise WavFormatError(f"{name}: {channels} channels at {rate} Hz is not audio")
    if block_align != channels * ((bits + 7) // 8):
        raise WavFormatError(f"{name}: block align {block_align} does not match {channels} x {bits} bits")
    return _Format(code, channels, rate, bits, block_align)


def to_pcm16(samples: bytes, code: int, bits: int, *, name: str = "<bytes>") -> bytes:
    """Convert WAV sample data of format ``code``/``bits`` to 16-bit signed native-endian samples."""
    if sys.byteorder == "big" and code in (_PCM, _FLOAT) and bits > 8:
        samples = audioop.byteswap(samples, bits // 8)
    if code == _PCM and bits == 8:
        return audioop.lin2lin(audioop.bias(samples, 1, -128), 1, 2)  # 8-bit WAV is unsigned
    if code == _PCM and bits in (16, 24, 32):
        return samples if bits == 16 else audioop.lin2lin(samples, bits // 8, 2)
    if code == _FLOAT and bits in (32, 64):
        values = array("f" if bits == 32 else "d", samples)
        return array("h", [_float_to_int16(v) for v in values]).tobytes()
    if code == _ALAW and bits == 8:
        return audioop.alaw2lin(samples, 2)
    if code == _ULAW and bits == 8:
        return audioop.ulaw2lin(samples, 2)
    raise WavFormatError(f"{name}: unsupported WAV sample format 0x{code:04x} with {bits} bits")


def _float_to_int16(value: float) -> int:
    scaled = int(value * 32767.0)
    return 32767 if scaled > 32767 else -32768 if scaled < -32768 else scaled


class WavWriter:
    """Write 16-bit PCM incrementally; the RIFF sizes are patched on :meth:`close`."""

    def __init__(self, path: str | Path, *, sample_rate: int = 8000, channels: int = 1) -> None:
        self.path = Path(path)
        self.channels = channels
        self.frames_written = 0
        self._wave = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed by close()
        self._wave.setnchannels(channels)
        self._wave.setsampwidth(2)
        self._wave.setframerate(sample_rate)

    def write(self, pcm: bytes) -> None:
        """Append interleaved 16-bit native-endian frames."""
        if sys.byteorder == "big":
            pcm = audioop.byteswap(pcm, 2)
        self._wave.writeframesraw(pcm)
        self.frames_written += len(pcm) // (2 * self.channels)

    def close(self) -> None:
        self._wave.close()
