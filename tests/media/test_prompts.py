"""Prompts are decoded once, encoded once per codec/ptime, and shared."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import pytest

from takeback.media import OPUS_AVAILABLE, Prompt, PromptLibrary, codec_for
from takeback.media.pcm import downmix, resample

from .media_helpers import chirp, correlation_at_best_lag


def write_wav(path: Path, pcm: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


async def test_wav_prompt_resampled_and_cached(tmp_path: Path) -> None:
    path = tmp_path / "prompt.wav"
    source = chirp(0.5, rate=16000)
    write_wav(path, source, 16000)
    library = PromptLibrary()
    prompt = await library.load(path)
    assert prompt.duration == pytest.approx(0.5, abs=0.001)
    _, score = correlation_at_best_lag(prompt.pcm, chirp(0.5, rate=8000)[800:7200])
    assert score > 0.95
    assert await library.load(path) is prompt
    assert await library.resolve(str(path)) is prompt
    write_wav(path, source[: len(source) // 2], 16000)  # replaced on disk: reloaded
    os.utime(path, ns=(1, 1))
    assert (await library.load(path)).duration == pytest.approx(0.25, abs=0.001)


async def test_frames_are_encoded_once_per_codec_and_ptime() -> None:
    prompt = Prompt(chirp(0.31), name="chirp")  # 2480 samples: the last frame is padded
    pcmu = codec_for("PCMU")
    await prompt.prepare(pcmu, 20)
    frames = prompt.frames(pcmu, 20)
    assert len(frames) == 16 and {len(f) for f in frames} == {160}
    assert prompt.frames(pcmu, 20) is frames
    assert len(prompt.frames(pcmu, 40)) == 8
    assert len(prompt.pcm_frames(20)) == 16 and prompt.pcm_frames(20)[-1][-80:] == bytes(80)
    assert prompt.frames(codec_for("pcma"), 20)[0] != frames[0]


@pytest.mark.skipif(not OPUS_AVAILABLE, reason="opuslib/libopus0 not installed")
async def test_opus_frames_decode_back() -> None:
    opus = codec_for("opus")
    assert opus.clock_rate == 48000
    prompt = Prompt(chirp(0.6), name="chirp")
    await prompt.prepare(opus, 20)
    decoder = opus.new_decoder()
    decoded = b"".join(decoder(frame) for frame in prompt.frames(opus, 20))
    _, score = correlation_at_best_lag(decoded, prompt.pcm[1600:4800])
    assert score > 0.9  # lossy narrowband coding, but clearly the same signal


@pytest.mark.skipif(not OPUS_AVAILABLE, reason="opuslib/libopus0 not installed")
def test_opus_prompts_survive_splicing() -> None:
    """One decoder hears silence, prompt A, then prompt B, each encoded separately: B must still decode."""
    opus = codec_for("opus")
    first, second = Prompt(chirp(0.8, f0=3000, f1=300)), Prompt(chirp(0.8))
    stream = [opus.silence_frame(20)] * 3 + list(first.frames(opus, 20)) + list(second.frames(opus, 20))
    decoder = opus.new_decoder()
    decoded = [decoder(frame) for frame in stream]
    tail = b"".join(decoded[3 + len(first.frames(opus, 20)) :])
    _, score = correlation_at_best_lag(tail, second.pcm[1600:4800])
    assert score > 0.9


async def test_resolve_text_without_tts_is_an_error() -> None:
    with pytest.raises(ValueError, match="text-to-speech"):
        await PromptLibrary().resolve("Hello there")


def test_helpers() -> None:
    stereo = b"".join(bytes([1, 0, 3, 0]) for _ in range(10))
    assert downmix(stereo, 2) == bytes([2, 0]) * 10
    assert len(resample(bytes(3200), 16000)) == 1600
    tone = Prompt.tone(1000, 0.1)
    assert len(tone.pcm) == 1600 and "1000" in repr(tone)
    assert Prompt.silence(0.1).pcm == bytes(1600)
    with pytest.raises(ValueError):
        Prompt(b"\x00")
