"""The protocol boundary's safety net: nothing a peer sends may crash the process.

Transports catch everything that escapes the SIP layer, count it, and log the first occurrence of each
kind (later ones at DEBUG): a flood of garbage must not become a flood of log lines.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

from takeback.sip import Request, Response, SipParseError

from .address import Peer
from .counters import Counters

__all__ = ["Boundary", "MessageSink"]

_MAX_KINDS = 256


class MessageSink(Protocol):
    """Where the transports deliver input: the :class:`~takeback.net.useragent.UserAgent`, or a test sink."""

    def message_received(self, message: Request | Response, peer: Peer) -> None:
        """A well-formed message from ``peer`` (stream peers carry their ``connection_id``)."""

    def parse_error(self, error: SipParseError, peer: Peer, data: bytes | None) -> None:
        """Input that did not parse. ``data`` is the raw datagram (UDP) or ``None`` (stream)."""

    def connection_lost(self, connection_id: int) -> None:
        """A stream connection closed (RFC 3261 §8.1.3.1 transport errors)."""

    def transport_error(self, peer: Peer) -> None:
        """Sending to ``peer`` failed: connect refused, TLS handshake failed, no route, DNS failure."""


class Boundary:
    """Counts and logs (once per kind) the exceptions caught where input enters the runtime."""

    def __init__(self, counters: Counters, logger: logging.Logger) -> None:
        self.counters = counters
        self.logger = logger
        self._seen: set[tuple[str, str]] = set()

    def internal_error(self, where: str, exc: BaseException) -> None:
        """A bug surfaced while handling input: count it, log the traceback the first time."""
        self.counters.internal_errors += 1
        if self._first(where, type(exc).__name__):
            self.logger.error("internal error in %s (further ones logged at DEBUG)", where, exc_info=exc)
        else:
            self.logger.debug("internal error in %s: %r", where, exc)

    def notice(self, kind: str, message: str, *args: object) -> None:
        """Bad input or a network fault: WARNING the first time per ``kind``, DEBUG afterwards."""
        level = logging.WARNING if self._first(kind, "") else logging.DEBUG
        self.logger.log(level, message, *args)

    def _first(self, kind: str, detail: str) -> bool:
        key = (kind, detail)
        if key in self._seen or len(self._seen) >= _MAX_KINDS:
            return False
        self._seen.add(key)
        return True


class Recorder(Protocol):
    """Where the transport copies each message it sends and receives (``SipTrace.for_party(...)``).

    ``src``/``dst`` are ``(host, port)``; ``direction`` is ``"in"`` or ``"out"``. A recorder may also have
    a ``note`` method with the same arguments that returns nothing; the transport then calls that instead.
    """

    def record(
        self, direction: Literal["in", "out"], transport: str, src: Any, dst: Any, data: bytes
    ) -> object: ...
