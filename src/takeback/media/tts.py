"""Text-to-speech through the espeak-ng command, rendered once per (text, voice, speed) and cached on disk.

espeak-ng runs as an asyncio subprocess so a slow render never stalls the paced sender. The text goes in
through a file (``-f``), never on the command line, so a prompt that starts with ``-`` or contains shell
metacharacters is just text (and no pipe can break when espeak-ng exits early). Output is written to a
temporary name and renamed into place, so a crash or a concurrent render never leaves a truncated file
under the cache key; concurrent requests for the same key in one process share one render.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
from pathlib import Path

from takeback.media.errors import TtsError

__all__ = ["EspeakTts"]

_VOICE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_+./-]*"
)  # a voice is an argument: it must not look like an option
_CACHE_FORMAT = "espeak-ng/1"  # bump when the rendering options change, to invalidate old files


class EspeakTts:
    """Render text with espeak-ng into ``cache_dir`` and return the WAV path.

    ``renders`` counts the subprocesses actually started (tests use it to prove the cache works).
    """

    def __init__(
        self,
        cache_dir: str | Path,
        *,
        voice: str = "en",
        speed_wpm: int | None = None,
        executable: str = "espeak-ng",
        timeout: float = 30.0,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.speed_wpm = speed_wpm
        self.executable = executable
        self.timeout = timeout
        self.renders = 0
        self._pending: dict[Path, asyncio.Future[Path]] = {}

    def cache_path(self, text: str, voice: str | None = None) -> Path:
        """Where the rendering of ``text`` in ``voice`` lives (a SHA-256 of everything that shapes it)."""
        key = "\0".join((_CACHE_FORMAT, voice or self.voice, str(self.speed_wpm or ""), text))
        return self.cache_dir / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.wav"

    async def render(self, text: str, voice: str | None = None) -> Path:
        """Return a WAV file speaking ``text``; renders it only if it is not cached yet."""
        if not text.strip():
            raise TtsError("nothing to say: empty text")
        if voice is not None and not _VOICE.fullmatch(voice):
            raise TtsError(f"invalid espeak-ng voice name {voice!r}")
        path = self.cache_path(text, voice)
        if path.exists():
            return path
        pending = self._pending.get(path)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[path] = future
        try:
            await self._run(text, voice or self.voice, path)
            future.set_result(path)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters (if any) re-raise it themselves
            raise
        finally:
            del self._pending[path]
        return path

    async def _run(self, text: str, voice: str, path: Path) -> None:
        executable = shutil.which(self.executable)
        if executable is None:
            raise TtsError(f"{self.executable} not found; install the Debian package espeak-ng")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        text_file = path.with_suffix(f".{os.getpid()}.txt")
        text_file.write_text(text, encoding="utf-8")
        args = [executable, "-v", voice, "-b", "1", "-w", str(temporary), "-f", str(text_file)]
        if self.speed_wpm is not None:
            args[1:1] = ["-s", str(self.speed_wpm)]
        self.renders += 1
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
            except BaseException as exc:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                temporary.unlink(missing_ok=True)
                if isinstance(exc, TimeoutError):
                    raise TtsError(f"espeak-ng took longer than {self.timeout} s") from exc
                raise
        finally:
            text_file.unlink(missing_ok=True)
        if process.returncode != 0 or not temporary.exists() or temporary.stat().st_size <= 44:
            temporary.unlink(missing_ok=True)
            detail = stderr.decode("utf-8", "replace").strip() or f"exit status {process.returncode}"
            raise TtsError(f"espeak-ng failed for voice {voice!r}: {detail}")
        os.replace(temporary, path)
