"""WAV decoding of every common format, checked against sox's own conversion of the same file."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from takeback.media import WavFormatError, read_wav
from takeback.media.pcm import to_line_format
from takeback.media.wav import WavWriter, parse_wav

from .media_helpers import chirp, correlation_at_best_lag

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")

FORMATS = {
    "pcm8-mono-11k": ["-r", "11025", "-c", "1", "-b", "8", "-e", "unsigned-integer"],
    "pcm16-stereo-44k": ["-r", "44100", "-c", "2", "-b", "16", "-e", "signed-integer"],
    "pcm24-mono-48k": ["-r", "48000", "-c", "1", "-b", "24", "-e", "signed-integer"],
    "pcm32-stereo-16k": ["-r", "16000", "-c", "2", "-b", "32", "-e", "signed-integer"],
    "float32-mono-22k": ["-r", "22050", "-c", "1", "-b", "32", "-e", "floating-point"],
    "float64-mono-8k": ["-r", "8000", "-c", "1", "-b", "64", "-e", "floating-point"],
    "alaw-mono-8k": ["-r", "8000", "-c", "1", "-e", "a-law"],
    "ulaw-mono-8k": ["-r", "8000", "-c", "1", "-e", "u-law"],
    "pcm16-6ch-8k": ["-r", "8000", "-c", "6", "-b", "16", "-e", "signed-integer"],
}


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


@needs_sox
@pytest.mark.parametrize("options", FORMATS.values(), ids=FORMATS.keys())
def test_any_common_format_becomes_8k_mono(tmp_path: Path, options: list[str]) -> None:
    source = tmp_path / "source.wav"
    reference = tmp_path / "reference.wav"
    sox("-n", *options, str(source), "synth", "0.5", "sine", "300-3000", "gain", "-3")
    sox(str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(reference))
    ours = to_line_format(read_wav(source))
    theirs = read_wav(reference)
    assert theirs.sample_rate == 8000 and theirs.channels == 1
    assert abs(len(ours) - len(theirs.pcm)) <= 4  # resamplers may differ by a sample at the edges
    _, score = correlation_at_best_lag(ours + bytes(800), theirs.pcm[200:-200])
    assert score > 0.97


@needs_sox
def test_extensible_header(tmp_path: Path) -> None:
    path = tmp_path / "ext.wav"
    sox("-n", "-r", "16000", "-c", "3", "-b", "24", str(path), "synth", "0.2", "sine", "440")
    raw = path.read_bytes()
    assert struct.unpack_from("<H", raw, 20)[0] == 0xFFFE  # sox writes WAVE_FORMAT_EXTENSIBLE here
    audio = read_wav(path)
    assert (audio.sample_rate, audio.channels) == (16000, 3)
    assert audio.duration == pytest.approx(0.2)


def test_writer_round_trip(tmp_path: Path) -> None:
    pcm = chirp(0.25)
    writer = WavWriter(tmp_path / "out.wav", sample_rate=8000, channels=1)
    writer.write(pcm[:1000])
    writer.write(pcm[1000:])
    writer.close()
    audio = read_wav(tmp_path / "out.wav")
    assert (audio.pcm, audio.sample_rate, audio.channels) == (pcm, 8000, 1)
    assert writer.frames_written == len(pcm) // 2


def test_truncated_data_chunk_is_tolerated(tmp_path: Path) -> None:
    pcm = chirp(0.1)
    writer = WavWriter(tmp_path / "out.wav")
    writer.write(pcm)
    writer.close()
    cut = (tmp_path / "out.wav").read_bytes()[:-101]  # a recorder killed mid-write; odd size too
    audio = parse_wav(cut)
    assert audio.pcm == pcm[: len(audio.pcm)] and len(audio.pcm) == len(pcm) - 102


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a wav file at all", "not a RIFF"),
        (b"RIFF\x04\x00\x00\x00WAVE", "missing fmt"),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
            + struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16),
            "data",
        ),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
            + struct.pack("<HHIIHH", 0x55, 1, 8000, 1000, 1, 8)
            + b"data\x02\x00\x00\x00\x00\x00",
            "unsupported",
        ),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
            + struct.pack("<HHIIHH", 1, 2, 8000, 16000, 3, 16)
            + b"data\x00\x00\x00\x00",
            "block align",
        ),
    ],
    ids=["garbage", "no-fmt", "no-data", "mp3-in-wav", "bad-align"],
)
def test_bad_files_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(WavFormatError, match=message):
        parse_wav(data)
