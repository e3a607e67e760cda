"""Errors raised by the sans-IO SDP layer.

Two families, because a UAS answers them differently: a description that cannot be read at all is a
``SdpParseError`` (answer 400, or 488 if the SIP layer prefers), while a readable offer that we cannot
accept is a ``NegotiationError`` carrying the status to answer with (488 Not Acceptable Here,
RFC 3261 §21.4.26).
"""

from __future__ import annotations

__all__ = [
    "InvalidAnswer",
    "NegotiationError",
    "NoCommonCodec",
    "SdpError",
    "SdpParseError",
    "SrtpMismatch",
]


class SdpError(Exception):
    """Base class of every error the SDP layer raises on purpose."""


class SdpParseError(SdpError, ValueError):
    """Malformed SDP. ``line_number`` is 1-based when the fault is tied to one line, else ``None``."""

    def __init__(self, message: str, line_number: int | None = None) -> None:
        super().__init__(message if line_number is None else f"line {line_number}: {message}")
        self.line_number = line_number


class NegotiationError(SdpError):
    """A well-formed offer (or answer) that cannot be accepted; ``status``/``reason`` is the SIP response."""

    status = 488
    reason = "Not Acceptable Here"


class NoCommonCodec(NegotiationError):
    """No audio stream of the offer can be accepted: no codec of the local preference list was offered.

    RFC 3264 §6: the answerer may reject every stream, but a call without audio is useless to us, so the
    caller answers the INVITE with 488 instead.
    """


class SrtpMismatch(NegotiationError):
    """The audio stream matched a codec but not the local SRTP policy (RTP/SAVP without an acceptable
    ``a=crypto`` line, SRTP offered while it is off, or plain RTP offered while SRTP is required)."""


class InvalidAnswer(NegotiationError):
    """An answer that violates RFC 3264 §6 with respect to our offer; the offerer should end the session."""
