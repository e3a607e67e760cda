"""espeak-ng through an asyncio subprocess, cached on disk by (text, voice)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from takeback.media import EspeakTts, MediaScheduler, PortAllocator, PromptLibrary, TtsError, read_wav
from takeback.rtp import g711

from .media_helpers import correlation_at_best_lag, session_pair, within

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


async def test_render_is_cached_on_disk(tmp_path: Path) -> None:
    tts = EspeakTts(tmp_path / "tts")
    path = await within(tts.render("Welcome to the take back test."))
    audio = read_wav(path)
    assert audio.channels == 1 and audio.duration > 0.5
    mtime = path.stat().st_mtime_ns
    assert tts.renders == 1
    again = EspeakTts(tmp_path / "tts")  # a new process would find the same file
    assert await within(again.render("Welcome to the take back test.")) == path
    assert again.renders == 0 and path.stat().st_mtime_ns == mtime
    other_voice = await within(tts.render("Welcome to the take back test.", voice="en-us"))
    assert other_voice != path and tts.renders == 2
    assert list((tmp_path / "tts").glob("*.tmp")) == []


async def test_concurrent_requests_share_one_render(tmp_path: Path) -> None:
    tts = EspeakTts(tmp_path)
    paths = await within(asyncio.gather(*(tts.render("one two three") for _ in range(5))))
    assert len(set(paths)) == 1 and tts.renders == 1


async def test_text_is_never_an_option(tmp_path: Path) -> None:
    tts = EspeakTts(tmp_path)
    path = await within(tts.render("-w /tmp/evil.wav --help; rm -rf /"))
    assert read_wav(path).duration > 0.5


async def test_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="empty"):
        await EspeakTts(tmp_path).render("   ")
    with pytest.raises(TtsError, match="voice"):
        await EspeakTts(tmp_path).render("hello", voice="--help")
    with pytest.raises(TtsError, match="not found"):
        await EspeakTts(tmp_path, executable="espeak-ng-missing").render("hello")
    with pytest.raises(TtsError, match="failed"):
        await within(EspeakTts(tmp_path, executable="false").render("hello"))  # exits 1, writes nothing
    assert list(tmp_path.iterdir()) == []


async def test_spoken_prompt_reaches_the_peer(
    scheduler: MediaScheduler, ports: PortAllocator, tmp_path: Path
) -> None:
    library = PromptLibrary(EspeakTts(tmp_path))
    a, b = await session_pair(scheduler, ports, prompts=library)
    received: list[bytes] = []
    b.add_audio_tap(received.append)
    result = await within(a.play("Press one for sales."))
    await within(scheduler.wait_ticks(3))
    assert result.completed
    prompt = await library.speak("Press one for sales.")
    assert await library.speak("Press one for sales.") is prompt  # the decoded prompt is cached too
    reference = g711.ulaw_decode(g711.ulaw_encode(prompt.pcm))
    _, score = correlation_at_best_lag(b"".join(received), reference)
    assert score > 0.99
    a.close()
    b.close()
