"""G.711 µ-law / A-law: checked against the ITU-T G.711 tables and against sox's independent codec."""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from takeback.rtp import g711
from takeback.rtp.g711 import (
    ALAW_SILENCE,
    PCMA,
    PCMU,
    ULAW_SILENCE,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)

ALL_SAMPLES = list(range(-32768, 32768))
ALL_PCM = struct.pack(f"<{len(ALL_SAMPLES)}h", *ALL_SAMPLES)
ALL_CODES = bytes(range(256))

Codec = Callable[[bytes], bytes]


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def samples(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


# --- reference values straight from the G.711 tables ------------------------------------------------------


def table_alaw(code: int) -> int:
    """G.711 Table 1a: decoder output, in 16-bit units (13-bit value * 8).

    Transmitted bits are the character with even bits inverted (XOR 0x55); bit 1 (MSB) is the polarity,
    **1 for positive**; bits 2-4 the segment; bits 5-8 the step. Segment 0 spans 0..32 in steps of 2 (13-bit
    units) and segment s >= 1 spans 32 * 2**(s-1) .. 64 * 2**(s-1) in steps of 2**s; the output is the
    middle of the decision interval.
    """
    char = code ^ 0x55
    segment, step = (char >> 4) & 0x07, char & 0x0F
    magnitude = 2 * step + 1 if segment == 0 else (2 * step + 33) << (segment - 1)
    return 8 * magnitude if char & 0x80 else -8 * magnitude


def table_ulaw(code: int) -> int:
    """G.711 Table 2a: decoder output, in 16-bit units (14-bit value * 4).

    All bits are inverted on the line; the polarity bit is **1 for positive** after inversion. Segment s
    outputs (2 * step + 33) * 2**s - 33 (14-bit units): 0, 2, ... 30 in segment 0, up to 8031 at the top.
    """
    char = code ^ 0xFF
    segment, step = (char >> 4) & 0x07, char & 0x0F
    magnitude = ((2 * step + 33) << segment) - 33
    return -4 * magnitude if char & 0x80 else 4 * magnitude


def test_alaw_decoder_matches_the_table_for_every_code() -> None:
    assert samples(alaw_decode(ALL_CODES)) == [table_alaw(c) for c in range(256)]


def test_ulaw_decoder_matches_the_table_for_every_code() -> None:
    assert samples(ulaw_decode(ALL_CODES)) == [table_ulaw(c) for c in range(256)]


def test_known_code_words() -> None:
    assert samples(ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00]))) == [0, 0, 32124, -32124]
    assert samples(alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A]))) == [8, -8, 32256, -32256]
    assert ulaw_encode(pcm(0)) == bytes([ULAW_SILENCE]) == b"\xff"
    assert alaw_encode(pcm(0)) == bytes([ALAW_SILENCE]) == b"\xd5"
    assert alaw_encode(pcm(-8)) == b"\x55"


def test_polarity_of_plus_and_minus_1000() -> None:
    # A-law: 1000 / 8 = 125 (13-bit) lies in segment 2 (64..128, step 4), interval (125 - 64) // 4 = 15:
    # character 1 010 1111 = 0xAF for a positive sample, 0xAF ^ 0x55 = 0xFA on the line; negative 0x7A.
    assert alaw_encode(pcm(1000, -1000)) == b"\xfa\x7a"
    # µ-law: 1000 / 4 + 33 = 283 lies in segment 3 (256..512, step 16), interval (283 >> 4) & 15 = 1:
    # character 0 011 0001 = 0x31 for a positive sample, inverted on the line 0xCE; negative 0x4E.
    assert ulaw_encode(pcm(1000, -1000)) == b"\xce\x4e"
    assert samples(alaw_decode(b"\xfa\x7a")) == [1008, -1008]
    assert samples(ulaw_decode(b"\xce\x4e")) == [988, -988]  # (2 * 1 + 33) * 8 - 33 = 247, * 4


@pytest.mark.parametrize("encode", [alaw_encode, ulaw_encode])
def test_sign_bit_is_set_exactly_for_positive_samples(encode: Codec) -> None:
    codes = encode(ALL_PCM)
    for sample, code in zip(ALL_SAMPLES, codes, strict=True):
        if sample > 0:
            assert code & 0x80, (sample, hex(code))
        elif sample < 0:
            assert not code & 0x80, (sample, hex(code))


def alaw_in_decision_interval(sample: int, output: int) -> bool:
    """Table 1a: the 13-bit magnitude lies in the decision interval whose midpoint the code decodes to.

    A 16-bit sample k stands for [k, k+1), so a negative one has the magnitude ~k (ones' complement).
    Intervals are 2 wide in segments 0 and 1 and 2**s wide in segment s >= 2.
    """
    magnitude = (sample if sample >= 0 else ~sample) >> 3
    middle = abs(output) // 8
    half = 1 if middle < 64 else 1 << (middle.bit_length() - 6)
    return middle - half <= magnitude < middle + half


def ulaw_in_decision_interval(sample: int, output: int) -> bool:
    """Table 2a, in the biased domain (14-bit magnitude + 33), where segment s spans [2**(s+5), 2**(s+6))
    in 16 intervals of 2**(s+1) and the code decodes to the interval middle."""
    biased = abs(sample >> 2) + 33
    if biased >= 1 << 13:
        return abs(output) == 32124  # beyond the last decision value: clipped to the outermost level
    middle = abs(output) // 4 + 33
    half = 1 << (middle.bit_length() - 6)
    return middle - half <= biased < middle + half


@pytest.mark.parametrize(
    ("encode", "decode", "in_interval"),
    [
        (alaw_encode, alaw_decode, alaw_in_decision_interval),
        (ulaw_encode, ulaw_decode, ulaw_in_decision_interval),
    ],
)
def test_encoder_follows_the_table_decision_intervals(
    encode: Codec, decode: Codec, in_interval: Callable[[int, int], bool]
) -> None:
    decoded = samples(decode(encode(ALL_PCM)))
    assert all(a <= b for a, b in itertools.pairwise(decoded)), "not monotonic"
    for sample, output in zip(ALL_SAMPLES, decoded, strict=True):
        assert in_interval(sample, output), (sample, output)


@pytest.mark.parametrize(("encode", "decode"), [(alaw_encode, alaw_decode), (ulaw_encode, ulaw_decode)])
def test_every_code_word_survives_decode_then_encode(encode: Codec, decode: Codec) -> None:
    again = encode(decode(ALL_CODES))
    for code in range(256):
        if encode is ulaw_encode and code == 0x7F:
            assert again[code] == 0xFF  # "-0" decodes to 0, which encodes as "+0"
        else:
            assert again[code] == code, hex(code)


def test_odd_length_pcm_is_rejected() -> None:
    with pytest.raises(ValueError):
        ulaw_encode(b"\x00")
    with pytest.raises(ValueError):
        alaw_encode(b"\x00\x00\x00")


def test_dispatch_by_payload_type_and_silence() -> None:
    frame = pcm(*range(-800, 800, 10))
    assert g711.encode(PCMU, frame) == ulaw_encode(frame)
    assert g711.encode(PCMA, frame) == alaw_encode(frame)
    assert g711.decode(PCMA, b"\xd5") == pcm(8)
    assert g711.decode(PCMU, b"\xff") == pcm(0)
    assert g711.silence(PCMU) == b"\xff" * 160
    assert g711.silence(PCMA, 80) == b"\xd5" * 80
    for bad in (g711.encode, g711.decode):
        with pytest.raises(ValueError):
            bad(9, b"")
    with pytest.raises(ValueError):
        g711.silence(18)
    assert (PCMU, PCMA) == (0, 8)


def test_importing_emits_no_deprecation_warning() -> None:
    # A fresh interpreter, so that audioop is really imported (and would warn on 3.11/3.12) here.
    code = "import takeback.rtp.g711, takeback.rtp"
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True, timeout=60)


# --- cross-check against sox (its own G.711 code, not audioop) --------------------------------------------

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")


def sox_convert(tmp_path: Path, data: bytes, src: list[str], dst: list[str]) -> bytes:
    source, target = tmp_path / "in.raw", tmp_path / "out.raw"
    source.write_bytes(data)
    command = ["sox", "-V1", "-D", "-t", "raw", "-r", "8000", "-c", "1", *src, str(source)]
    subprocess.run([*command, "-t", "raw", *dst, str(target)], check=True, timeout=30)
    return target.read_bytes()


@needs_sox
@pytest.mark.parametrize(("law", "decode"), [("a-law", alaw_decode), ("u-law", ulaw_decode)])
def test_decoder_agrees_with_sox(tmp_path: Path, law: str, decode: Codec) -> None:
    theirs = sox_convert(tmp_path, ALL_CODES, ["-e", law, "-b", "8"], ["-e", "signed", "-b", "16"])
    assert theirs == decode(ALL_CODES)


@needs_sox
@pytest.mark.parametrize(
    ("law", "encode", "decode"), [("a-law", alaw_encode, alaw_decode), ("u-law", ulaw_encode, ulaw_decode)]
)
def test_encoder_agrees_with_sox_up_to_rounding(
    tmp_path: Path, law: str, encode: Codec, decode: Codec
) -> None:
    theirs = sox_convert(tmp_path, ALL_PCM, ["-e", "signed", "-b", "16"], ["-e", law, "-b", "8"])
    ours = encode(ALL_PCM)
    assert len(theirs) == len(ours)
    # sox rounds 16 -> 13/14 bits where audioop truncates, so codes may differ right at a decision
    # boundary - but never in polarity (away from zero) and never by more than one level.
    levels = sorted(set(samples(decode(ALL_CODES))))
    rank = {level: i for i, level in enumerate(levels)}
    ours_out, theirs_out = samples(decode(ours)), samples(decode(theirs))
    differing = 0
    for sample, a, b in zip(ALL_SAMPLES, ours_out, theirs_out, strict=True):
        if a != b:
            differing += 1
            assert abs(rank[a] - rank[b]) == 1, sample
            if abs(sample) >= 16:
                assert (a > 0) == (b > 0), sample
    assert differing < len(ALL_SAMPLES) // 50
