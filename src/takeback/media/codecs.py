"""Audio codecs the media runtime can send: G.711 always, Opus when ``opuslib`` and libopus are present.

Codecs are used in two places only: to *pre-encode* prompts once (cached per codec and ptime, see
:mod:`takeback.media.prompts`) and to decode received audio when somebody listens (recorder, audio taps).
The paced send loop never encodes: an Opus frame costs ~79 µs, which at 1,500 calls would be 6 s of CPU per
second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from takeback.media.errors import CodecUnavailable
from takeback.media.pcm import LINE_RATE, SAMPLE_WIDTH
from takeback.rtp import g711

try:  # optional: DESIGN.md §4, "opuslib + Debian libopus0 only to pre-encode prompts"
    import opuslib  # type: ignore[import-untyped]

    OPUS_AVAILABLE = True
except Exception:  # opuslib raises a bare Exception when libopus is missing
    opuslib = None
    OPUS_AVAILABLE = False

__all__ = ["OPUS_AVAILABLE", "Codec", "Decoder", "codec_for"]

Decoder = Callable[[bytes], bytes]
"""Payload -> 8 kHz mono 16-bit PCM. Stateful for Opus, so one per received stream."""

_OPUS_FRAME_MS = (10, 20, 40, 60)  # RFC 6716 §2.1.4 frame sizes usable as RTP ptime
_OPUS_MAX_SAMPLES = 120 * LINE_RATE // 1000  # longest Opus packet (120 ms, RFC 6716 §3.2.5)
_OPUS_WARM_UP_FRAMES = 3


@dataclass(frozen=True, slots=True)
class Codec:
    """One codec as the media runtime sees it. ``clock_rate`` is the RTP clock, not the PCM rate."""

    name: str
    clock_rate: int
    _encode: Callable[[bytes, int], tuple[bytes, ...]]
    _new_decoder: Callable[[], Decoder]

    def samples_per_frame(self, ptime: int) -> int:
        """8 kHz PCM samples in one packet of ``ptime`` ms."""
        return LINE_RATE * ptime // 1000

    def encode_frames(self, pcm: bytes, ptime: int) -> tuple[bytes, ...]:
        """Encode 8 kHz PCM into payloads of ``ptime`` ms; the last frame is padded with silence."""
        frame_octets = self.samples_per_frame(ptime) * SAMPLE_WIDTH
        remainder = len(pcm) % frame_octets
        if remainder:
            pcm += bytes(frame_octets - remainder)
        return self._encode(pcm, ptime)

    def silence_frame(self, ptime: int) -> bytes:
        """The payload of one packet of silence."""
        return self._encode(bytes(self.samples_per_frame(ptime) * SAMPLE_WIDTH), ptime)[0]

    def new_decoder(self) -> Decoder:
        return self._new_decoder()


def _g711(name: str, encode: Callable[[bytes], bytes], decode: Decoder) -> Codec:
    def encode_frames(pcm: bytes, ptime: int) -> tuple[bytes, ...]:
        coded = encode(pcm)  # one octet per sample: encode once, slice into packets
        step = LINE_RATE * ptime // 1000
        return tuple(coded[i : i + step] for i in range(0, len(coded), step))

    return Codec(name, g711.CLOCK_RATE, encode_frames, lambda: decode)


PCMU = _g711("PCMU", g711.ulaw_encode, g711.ulaw_decode)
PCMA = _g711("PCMA", g711.alaw_encode, g711.alaw_decode)


def _opus() -> Codec:
    if opuslib is None:
        raise CodecUnavailable("Opus needs the opuslib package and the libopus0 system library")
    lib: Any = opuslib

    def encode_frames(pcm: bytes, ptime: int) -> tuple[bytes, ...]:
        if ptime not in _OPUS_FRAME_MS:
            raise CodecUnavailable(f"Opus cannot packetise {ptime} ms frames (use one of {_OPUS_FRAME_MS})")
        # Pre-encoded segments (silence, prompt A, prompt B, a barge-in cut) reach one decoder in whatever
        # order a call plays them, so each segment must not lean on decoder state it never saw. SILK
        # ("voip") predicts heavily across frames: measured on a chirp, a prompt spliced after another
        # decodes with waveform correlation 0.6 or even inverted. CELT-only ("restricted_lowdelay", RFC 6716
        # §2) stays at 0.9-0.95 whatever came before, so prompts are encoded CELT-only, after a short
        # warm-up on silence (the state a decoder has after our silence frames). Input is the canonical
        # 8 kHz PCM; RFC 7587 §4.1 keeps the RTP clock at 48 kHz anyway.
        encoder = lib.Encoder(LINE_RATE, 1, "restricted_lowdelay")
        samples = LINE_RATE * ptime // 1000
        step = samples * SAMPLE_WIDTH
        for _ in range(_OPUS_WARM_UP_FRAMES):
            encoder.encode(bytes(step), samples)
        return tuple(bytes(encoder.encode(pcm[i : i + step], samples)) for i in range(0, len(pcm), step))

    def new_decoder() -> Decoder:
        decoder = lib.Decoder(LINE_RATE, 1)

        def decode(payload: bytes) -> bytes:
            return bytes(decoder.decode(payload, _OPUS_MAX_SAMPLES))

        return decode

    return Codec("opus", 48000, encode_frames, new_decoder)


def codec_for(name: str) -> Codec:
    """Look a codec up by its SDP encoding name (case-insensitive, RFC 4566 §6 rtpmap)."""
    key = name.strip().lower()
    if key == "pcmu":
        return PCMU
    if key == "pcma":
        return PCMA
    if key == "opus":
        return _OPUS if _OPUS is not None else _opus()
    raise CodecUnavailable(f"codec {name!r} is not supported (PCMU, PCMA, opus)")


_OPUS: Codec | None = _opus() if OPUS_AVAILABLE else None
