"""Prompts: audio decoded once to 8 kHz mono PCM, encoded once per (codec, ptime), then shared by all calls.

A prompt played to 1,000 callers is the same tuple of payloads 1,000 times; the send loop only copies a
payload behind a header. Encoding happens off the event loop on first use (``await prompt.prepare(...)``),
because an Opus encode of a ten-second prompt takes ~40 ms, which would shake every call's pacing.
"""

from __future__ import annotations

import asyncio
import math
import os
import struct
from collections import OrderedDict
from pathlib import Path

from takeback.media.codecs import Codec
from takeback.media.pcm import LINE_RATE, SAMPLE_WIDTH, to_line_format
from takeback.media.tts import EspeakTts
from takeback.media.wav import read_wav

__all__ = ["Prompt", "PromptLibrary"]


class Prompt:
    """Playable audio. ``pcm`` is 8 kHz mono 16-bit little-endian; frame tables are built lazily."""

    __slots__ = ("_frames", "_pcm_frames", "name", "pcm")

    def __init__(self, pcm: bytes, name: str = "") -> None:
        if len(pcm) % SAMPLE_WIDTH:
            raise ValueError("16-bit PCM must have an even number of octets")
        self.pcm = pcm
        self.name = name
        self._frames: dict[tuple[str, int], tuple[bytes, ...]] = {}
        self._pcm_frames: dict[int, tuple[bytes, ...]] = {}

    def __repr__(self) -> str:
        return f"Prompt({self.name!r}, {self.duration:.2f} s)"

    @property
    def duration(self) -> float:
        return len(self.pcm) / (SAMPLE_WIDTH * LINE_RATE)

    @classmethod
    def from_wav(cls, path: str | Path) -> Prompt:
        """Decode any common WAV file (see :func:`~takeback.media.wav.read_wav`), convert to 8 kHz mono."""
        return cls(to_line_format(read_wav(path)), name=str(path))

    @classmethod
    def tone(cls, frequency: float, seconds: float, *, amplitude: int = 8000) -> Prompt:
        """A sine tone, e.g. the beep before a recording."""
        count = int(seconds * LINE_RATE)
        step = 2 * math.pi * frequency / LINE_RATE
        pcm = struct.pack(f"<{count}h", *(int(amplitude * math.sin(step * i)) for i in range(count)))
        return cls(pcm, name=f"tone {frequency:g} Hz")

    @classmethod
    def silence(cls, seconds: float) -> Prompt:
        return cls(bytes(int(seconds * LINE_RATE) * SAMPLE_WIDTH), name=f"silence {seconds:g} s")

    def is_prepared(self, codec: Codec, ptime: int) -> bool:
        return (codec.name, ptime) in self._frames

    def frames(self, codec: Codec, ptime: int) -> tuple[bytes, ...]:
        """The payloads to send, encoding now if needed (blocking; prefer :meth:`prepare` on the loop)."""
        key = (codec.name, ptime)
        frames = self._frames.get(key)
        if frames is None:
            frames = self._frames[key] = codec.encode_frames(self.pcm, ptime)
        return frames

    def pcm_frames(self, ptime: int) -> tuple[bytes, ...]:
        """The same audio cut into ``ptime`` PCM frames (what the recorder writes for the sent direction)."""
        frames = self._pcm_frames.get(ptime)
        if frames is None:
            step = LINE_RATE * ptime // 1000 * SAMPLE_WIDTH
            padded = self.pcm + bytes(-len(self.pcm) % step)
            frames = self._pcm_frames[ptime] = tuple(
                padded[i : i + step] for i in range(0, len(padded), step)
            )
        return frames

    async def prepare(self, codec: Codec, ptime: int) -> None:
        """Encode for ``codec``/``ptime`` in a worker thread unless already done."""
        if not self.is_prepared(codec, ptime):
            frames = await asyncio.to_thread(codec.encode_frames, self.pcm, ptime)
            self._frames.setdefault((codec.name, ptime), frames)
        self.pcm_frames(ptime)


class PromptLibrary:
    """Loads and caches prompts from WAV files and from text (through :class:`EspeakTts`).

    File prompts are keyed by (path, size, mtime), so replacing a file on disk takes effect on the next
    play. The cache is an LRU of ``max_entries`` prompts.
    """

    def __init__(self, tts: EspeakTts | None = None, *, max_entries: int = 512) -> None:
        self.tts = tts
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[object, ...], Prompt] = OrderedDict()

    async def load(self, path: str | Path) -> Prompt:
        """The prompt for a WAV file (decoded in a worker thread the first time)."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        key = ("file", str(resolved), stat.st_size, stat.st_mtime_ns)
        prompt = self._get(key)
        if prompt is None:
            prompt = await asyncio.to_thread(Prompt.from_wav, resolved)
            self._put(key, prompt)
        return prompt

    async def speak(self, text: str, voice: str | None = None) -> Prompt:
        """The prompt speaking ``text`` (rendered by espeak-ng once, then from the disk cache)."""
        if self.tts is None:
            raise ValueError("this PromptLibrary has no text-to-speech engine")
        return await self.load(await self.tts.render(text, voice))

    async def resolve(self, source: Prompt | str | Path, voice: str | None = None) -> Prompt:
        """A prompt from a Prompt, a WAV path, or text.

        A :class:`~pathlib.Path` is always a file. A ``str`` is a file when it ends in ``.wav`` and exists,
        otherwise it is text to speak; that is the rule ``Call.play(path_or_text)`` documents.
        """
        if isinstance(source, Prompt):
            return source
        if isinstance(source, Path) or (source.lower().endswith(".wav") and os.path.isfile(source)):
            return await self.load(source)
        return await self.speak(source, voice)

    def _get(self, key: tuple[object, ...]) -> Prompt | None:
        prompt = self._cache.get(key)
        if prompt is not None:
            self._cache.move_to_end(key)
        return prompt

    def _put(self, key: tuple[object, ...], prompt: Prompt) -> None:
        self._cache[key] = prompt
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
