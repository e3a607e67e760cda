"""Things a media session reports to the application (frozen values, delivered to listeners)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DtmfReceived", "MediaEvent", "MediaResumed", "RemoteLatched", "RtcpByeReceived", "RtpTimeout"]


@dataclass(frozen=True, slots=True)
class RemoteLatched:
    """Symmetric RTP: we now send to ``address``, where the peer's stream ``ssrc`` comes from.

    ``previous`` is the address we sent to before (the SDP address on the first latch).
    """

    address: tuple[Any, ...]
    ssrc: int
    previous: tuple[Any, ...] | None


@dataclass(frozen=True, slots=True)
class RtpTimeout:
    """No RTP for ``silent_for`` seconds while the peer was supposed to send (not on hold)."""

    silent_for: float


@dataclass(frozen=True, slots=True)
class MediaResumed:
    """RTP arrived again after an :class:`RtpTimeout`."""


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """An RFC 4733 digit from the peer; ``ended`` is False when its end packets were lost."""

    digit: str
    duration_ms: int
    ended: bool = True


@dataclass(frozen=True, slots=True)
class RtcpByeReceived:
    """The peer's RTCP BYE (RFC 3550 §6.6)."""

    reason: str


MediaEvent = RemoteLatched | RtpTimeout | MediaResumed | DtmfReceived | RtcpByeReceived
