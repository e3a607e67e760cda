"""Prompt playback state: which frame of which prompt goes out at the next packet slot.

A :class:`Playback` is a cursor over a prompt's pre-encoded frames. The transmitter advances it one frame
per slot and resolves its future after the last frame has been *sent* (so ``await play()`` returning means
the caller's side has the audio, modulo network delay). Barge-in: a received digit listed in ``barge_in``
stops the playback at the next slot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Literal

from takeback.media.codecs import Codec
from takeback.media.prompts import Prompt

__all__ = ["PlayResult", "Playback", "PlaybackQueue"]

StopReason = Literal["completed", "digit", "stopped", "closed"]


@dataclass(frozen=True, slots=True)
class PlayResult:
    """How a playback ended. ``digit`` is the barge-in digit (it stays in the typeahead for collect)."""

    reason: StopReason
    frames_sent: int
    digit: str | None = None

    @property
    def completed(self) -> bool:
        return self.reason == "completed"


class Playback:
    """A cursor over one prompt's frames for one codec/ptime."""

    __slots__ = ("barge_in", "count", "frames", "future", "index", "laps", "loop", "pcm", "prompt")

    def __init__(self, prompt: Prompt, codec: Codec, ptime: int, *, barge_in: str, loop: bool) -> None:
        self.prompt = prompt
        self.frames = prompt.frames(codec, ptime)
        self.count = len(self.frames)
        self.pcm = prompt.pcm_frames(ptime)
        self.barge_in = barge_in
        self.loop = loop
        self.index = 0
        self.laps = 0
        self.future: asyncio.Future[PlayResult] = asyncio.get_running_loop().create_future()

    def recode(self, codec: Codec, ptime: int) -> None:
        """The stream changed codec or ptime mid-prompt (re-INVITE): continue at the same media time."""
        position = self.index * len(self.pcm[0]) if self.pcm else 0
        self.frames = self.prompt.frames(codec, ptime)
        self.count = len(self.frames)
        self.pcm = self.prompt.pcm_frames(ptime)
        self.index = min(position // max(1, len(self.pcm[0])), len(self.frames)) if self.pcm else 0

    @property
    def sent(self) -> int:
        """Frames played so far (counting every lap of a looping prompt)."""
        return self.laps * self.count + self.index

    def finish(self, reason: StopReason, digit: str | None = None) -> None:
        if not self.future.done():
            self.future.set_result(PlayResult(reason, self.sent, digit))


class PlaybackQueue:
    """Prompts waiting to be played, in order; ``current`` is the one on air."""

    def __init__(self) -> None:
        self.current: Playback | None = None
        self._pending: deque[Playback] = deque()

    def __bool__(self) -> bool:
        return self.current is not None

    def add(self, playback: Playback) -> None:
        if self.current is None:
            self.current = playback
        else:
            self._pending.append(playback)

    def advance(self) -> None:
        """Move to the next queued playback that nobody has given up on."""
        self.current = None
        while self._pending:
            candidate = self._pending.popleft()
            if not candidate.future.done():
                self.current = candidate
                return

    def stop_all(self, reason: StopReason, digit: str | None = None) -> int:
        """End the current and every queued playback; returns how many were stopped."""
        if self.current is None and not self._pending:
            return 0  # the usual case (every call's close): nothing playing
        stopped = 0
        for playback in (self.current, *self._pending):
            if playback is not None and not playback.future.done():
                playback.finish(reason, digit)
                stopped += 1
        self.current = None
        self._pending.clear()
        return stopped

    def barge_in(self, digit: str) -> bool:
        """Stop the current playback (and the queue behind it) if ``digit`` may interrupt it."""
        current = self.current
        if current is None or digit not in current.barge_in:
            return False
        self.stop_all("digit", digit)
        return True

    def recode(self, codec: Codec, ptime: int) -> None:
        if self.current is None and not self._pending:
            return  # the usual case (every call's first configure): nothing queued
        for playback in (self.current, *self._pending):
            if playback is not None:
                playback.recode(codec, ptime)
