"""G.711 µ-law (PCMU) and A-law (PCMA) companding, on top of the stdlib ``audioop`` C code.

Linear audio is 16-bit signed little-endian PCM (what WAV files and sox ``-t raw -e signed -b 16`` carry).
``audioop`` works in native byte order, so on a big-endian host the samples are swapped first.

Polarity matters and is easy to get wrong: in G.711 (Tables 1a/2a) a *positive* sample has the sign bit
**set** in the transmitted code word, for A-law as well as µ-law. For A-law that means +8 (the smallest
positive step, in 16-bit units) is 0xD5 and -8 is 0x55 after the even-bit inversion (XOR 0x55). An
implementation that swaps these plays every PCMA call inverted; tests/rtp/test_g711.py pins the polarity
against the table and against sox.
"""

from __future__ import annotations

import sys
import warnings

with warnings.catch_warnings():
    # Python 3.11/3.12 warn that audioop goes away in 3.13, where the audioop-lts package provides it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = [
    "ALAW_SILENCE",
    "CLOCK_RATE",
    "PCMA",
    "PCMU",
    "SAMPLES_PER_20MS",
    "ULAW_SILENCE",
    "alaw_decode",
    "alaw_encode",
    "decode",
    "encode",
    "silence",
    "ulaw_decode",
    "ulaw_encode",
]

PCMU = 0
"""Static payload type of G.711 µ-law (RFC 3551 §6, Table 4)."""
PCMA = 8
"""Static payload type of G.711 A-law (RFC 3551 §6, Table 4)."""
CLOCK_RATE = 8000
SAMPLES_PER_20MS = 160
ULAW_SILENCE = 0xFF
"""µ-law code word for 0 (the "+0" code)."""
ALAW_SILENCE = 0xD5
"""A-law code word nearest to 0 (+8 in 16-bit units; A-law has no zero level)."""

_SWAP = sys.byteorder == "big"


def _native(pcm16le: bytes) -> bytes:
    if len(pcm16le) % 2:
        raise ValueError("16-bit PCM must have an even number of octets")
    return audioop.byteswap(pcm16le, 2) if _SWAP else pcm16le


def _little_endian(pcm: bytes) -> bytes:
    return audioop.byteswap(pcm, 2) if _SWAP else pcm


def ulaw_encode(pcm16le: bytes) -> bytes:
    """16-bit little-endian PCM to µ-law, one octet per sample."""
    return audioop.lin2ulaw(_native(pcm16le), 2)


def ulaw_decode(data: bytes) -> bytes:
    """µ-law to 16-bit little-endian PCM."""
    return _little_endian(audioop.ulaw2lin(data, 2))


def alaw_encode(pcm16le: bytes) -> bytes:
    """16-bit little-endian PCM to A-law, one octet per sample."""
    return audioop.lin2alaw(_native(pcm16le), 2)


def alaw_decode(data: bytes) -> bytes:
    """A-law to 16-bit little-endian PCM."""
    return _little_endian(audioop.alaw2lin(data, 2))


def encode(payload_type: int, pcm16le: bytes) -> bytes:
    """Encode for static payload type 0 (PCMU) or 8 (PCMA)."""
    if payload_type == PCMU:
        return ulaw_encode(pcm16le)
    if payload_type == PCMA:
        return alaw_encode(pcm16le)
    raise ValueError(f"not a G.711 payload type: {payload_type}")


def decode(payload_type: int, data: bytes) -> bytes:
    """Decode a PCMU (0) or PCMA (8) payload to 16-bit little-endian PCM."""
    if payload_type == PCMU:
        return ulaw_decode(data)
    if payload_type == PCMA:
        return alaw_decode(data)
    raise ValueError(f"not a G.711 payload type: {payload_type}")


def silence(payload_type: int, samples: int = SAMPLES_PER_20MS) -> bytes:
    """A payload of silence (comfort filler for lost frames or hold)."""
    if payload_type == PCMU:
        return bytes((ULAW_SILENCE,)) * samples
    if payload_type == PCMA:
        return bytes((ALAW_SILENCE,)) * samples
    raise ValueError(f"not a G.711 payload type: {payload_type}")
