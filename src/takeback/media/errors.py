"""Exceptions raised by the media runtime.

Every error a device application can meaningfully react to has its own class, all under :class:`MediaError`,
so ``except MediaError`` catches the media layer and nothing else.
"""

from __future__ import annotations

__all__ = [
    "CodecUnavailable",
    "MediaError",
    "PortRangeExhausted",
    "SessionClosed",
    "TtsError",
    "WavFormatError",
]


class MediaError(Exception):
    """Base class of every error raised by :mod:`takeback.media`."""


class PortRangeExhausted(MediaError):
    """No even RTP port (with its RTCP neighbour, when RTCP is on) could be bound in the configured range.

    The message names the range, the bind address and how many ports this process holds, because the fix
    is always one of: widen the range, end calls, or find who else is sitting on the ports.
    """


class CodecUnavailable(MediaError):
    """The negotiated codec cannot be produced here (unknown name, or Opus without opuslib/libopus0)."""


class WavFormatError(MediaError):
    """A prompt file is not a WAV file we can decode (bad RIFF structure or unsupported sample format)."""


class TtsError(MediaError):
    """espeak-ng is missing, failed, timed out or produced no audio."""


class SessionClosed(MediaError):
    """The media session was closed while an operation (play, collect, record, send_dtmf) was pending."""
