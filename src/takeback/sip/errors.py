"""Errors raised by the sans-IO SIP layer.

Every error carries the SIP status a UAS should answer with, in the style of h11's ``RemoteProtocolError``:
the transport adapter never has to guess what to send back, and never sees any other exception type from
the parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Headers

__all__ = ["SipError", "SipParseError", "TransactionError"]


class SipError(Exception):
    """Base class of every error the SIP layer raises on purpose."""


class SipParseError(SipError, ValueError):
    """Malformed input. ``status``/``reason`` are the response to send when one can be routed.

    400 for general grammar errors, 505 for an unsupported SIP version, 413/513 for messages that are too
    large, 416 for a Request-URI scheme a UAS must reject (RFC 3261 §8.2.2.1).

    When the parser got as far as splitting the header section, ``partial_headers`` holds the header
    fields it saw and ``start_line`` the first line, so that a UAS can still answer a malformed *request*
    with a response that echoes Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6, §8.2.2);
    ``takeback.sip.parser.error_response()`` builds it. Both are ``None`` when nothing usable was seen.
    """

    def __init__(
        self,
        message: str,
        status: int = 400,
        reason: str | None = None,
        *,
        partial_headers: Headers | None = None,
        start_line: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or _DEFAULT_REASONS.get(status, "Bad Request")
        self.partial_headers = partial_headers
        self.start_line = start_line

    @property
    def is_request(self) -> bool:
        """Whether the bad message looked like a request (only requests are ever answered)."""
        line = self.start_line
        if not line:
            return False
        return not line.upper().startswith("SIP/")


class TransactionError(SipError):
    """Misuse of the transaction or dialog API by the local transaction user (a bug, not bad input)."""


_DEFAULT_REASONS = {
    400: "Bad Request",
    413: "Request Entity Too Large",
    416: "Unsupported URI Scheme",
    505: "Version Not Supported",
    513: "Message Too Large",
}
