"""SIP over TCP and TLS: one :class:`StreamConnection` per connection, framed by ``StreamParser``.

RFC 3261 §18.3: on a stream, Content-Length frames the messages. A message that frames but does not
parse is reported (the core may answer 400 on the same connection) and the stream goes on; a framing error
leaves no way to find the next message, so the connection is closed. Bytes written before an outgoing
connection is up are queued (bounded) and flushed once it is.
"""

from __future__ import annotations

import asyncio
import fcntl
import sys
import termios
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from takeback.sip import SipParseError, StreamParser

from .address import Peer, peer_from_sockaddr

if TYPE_CHECKING:
    from .transport import TransportLayer

__all__ = ["MAX_PENDING_BYTES", "MAX_WRITE_BUFFER", "StreamConnection"]

#: Queued bytes allowed while an outgoing connection is being opened.
MAX_PENDING_BYTES = 1024 * 1024
#: A peer that stops reading makes our write buffer grow; past this the connection is dropped.
MAX_WRITE_BUFFER = 4 * 1024 * 1024
#: Parse errors tolerated in one ``data_received`` before the connection is considered hostile.
_MAX_ERRORS_PER_READ = 64
_PING, _PONG = b"\r\n\r\n", b"\r\n"


class StreamConnection(asyncio.Protocol):
    """A TCP or TLS connection in either direction (``outgoing`` tells which side opened it)."""

    def __init__(
        self,
        layer: TransportLayer,
        transport_name: str,
        connection_id: int,
        *,
        outgoing_peer: Peer | None = None,
    ) -> None:
        self.layer = layer
        self.transport_name = transport_name
        self.connection_id = connection_id
        self.outgoing = outgoing_peer is not None
        #: The remote address as a Peer carrying our connection id (known up front when we connect).
        self.peer: Peer | None = outgoing_peer
        self.transport: asyncio.Transport | None = None
        self.parser = StreamParser()
        self.last_activity = layer.loop.time()
        self.closed = False
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    # -- asyncio.Protocol --

    def receive_backlog(self) -> int:
        """Bytes received but not yet read from this connection's socket (``FIONREAD``), 0 when unknown.
        Over TLS this counts ciphertext, close enough to size the work waiting."""
        transport = getattr(self, "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None:
            return 0
        buffer = bytearray(4)
        try:
            fcntl.ioctl(sock.fileno(), termios.FIONREAD, buffer)
        except (OSError, ValueError):
            return 0
        return int.from_bytes(buffer, sys.byteorder)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        if self.peer is None:
            self.peer = peer_from_sockaddr(
                self.transport_name, self.transport.get_extra_info("peername"), self.connection_id
            )
        self.layer._connection_made(self)
        if self._pending:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
            self.transport.writelines(pending)

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.layer.loop.time()
        if data == _PING and not self.parser.buffered and self.transport is not None:
            self.transport.write(_PONG)  # RFC 5626 §4.4.1: a double-CRLF ping gets a CRLF pong
        try:
            self._frame(data)
        except Exception as exc:  # the sink or the parser misbehaved; keep the process alive
            self.layer.boundary.internal_error(f"{self.transport_name} dispatch", exc)

    def eof_received(self) -> bool | None:
        return None  # close our side too (a half-open SIP connection serves nobody)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        self.layer._connection_lost(self)

    # -- framing --

    def _frame(self, data: bytes) -> None:
        """Deliver every complete message; on a per-message parse error, report it and go on."""
        parser, layer, peer = self.parser, self.layer, self.peer
        assert peer is not None
        counters = layer.counters
        keepalives = parser.keepalives
        chunk = data
        for _ in range(_MAX_ERRORS_PER_READ):
            try:
                for message in parser.feed(chunk):
                    counters.messages_in += 1
                    counters.stream_messages_in += 1
                    try:
                        layer.sink.message_received(message, peer)
                    except Exception as exc:  # one bad dispatch must not stall the stream
                        layer.boundary.internal_error(f"{self.transport_name} dispatch", exc)
                    if self.closed:
                        return
                break
            except SipParseError as error:
                if parser.broken:
                    self._framing_failed(error)
                    return
                counters.bad_stream_messages += 1
                layer.boundary.notice("bad-stream-message", "bad message from %s: %s", peer, error)
                layer.sink.parse_error(error, peer, None)
                chunk = b""  # the rest is still buffered in the parser
        else:
            self._framing_failed(SipParseError("too many bad messages in one read"))
            return
        counters.keepalives_in += parser.keepalives - keepalives

    def _framing_failed(self, error: SipParseError) -> None:
        """§18.3: no way to find the next message. Report (the sink may still answer 513/400 when the
        head was readable; the write is flushed before the close), then close."""
        layer = self.layer
        layer.counters.stream_errors += 1
        layer.boundary.notice("stream-error", "closing %s: %s", self.peer, error)
        assert self.peer is not None
        try:
            layer.sink.parse_error(error, self.peer, None)
        except Exception as exc:
            layer.boundary.internal_error(f"{self.transport_name} parse-error dispatch", exc)
        self.close()

    # -- sending --

    def write(self, data: bytes) -> bool:
        """Send (or queue, while connecting). False when the bytes had to be dropped."""
        transport = self.transport
        if transport is None:
            if self.closed or self._pending_bytes + len(data) > MAX_PENDING_BYTES:
                return False
            self._pending.append(data)
            self._pending_bytes += len(data)
            return True
        if transport.is_closing():
            return False
        transport.write(data)
        self.last_activity = self.layer.loop.time()
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.layer.boundary.notice("stuck-peer", "dropping %s: peer does not read", self.peer)
            transport.abort()
        return True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        elif self.transport is None and not self.closed:
            self.closed = True  # an outgoing connection still being opened: its opener sees this

    def connect_failed(self) -> None:
        """The outgoing connect or TLS handshake failed: drop queued bytes."""
        self.closed = True
        self._pending.clear()
        self._pending_bytes = 0

    def factory(self) -> Callable[[], StreamConnection]:
        return lambda: self
