"""The application-facing objects of the runtime: :class:`Call`, :class:`IncomingRequest`,
:class:`IncomingRefer`, :class:`ReferOutcome`, and the exceptions of the async API.

A ``Call`` wraps one INVITE dialog (RFC 3261 §12) as the application sees it: the UAS side answers or
rejects it, either side sends in-dialog requests, REFERs (RFC 3515) and BYE. Synchronous methods
(``respond``) act at once and are what a high-rate application uses from a callback; the ``async``
ones wrap them and wait for what follows (the ACK, the final response, the terminal NOTIFY).
Futures are created lazily so that an idle call costs a few slots, not a handful of futures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from takeback.sip import Request, Response

from .address import Peer

if TYPE_CHECKING:
    from takeback.sip.dialog import Dialog
    from takeback.sip.subscription import ReferNotifier
    from takeback.sip.transaction import ServerTransaction

    from .useragent import UserAgent

__all__ = [
    "Call",
    "CallFailed",
    "HeaderList",
    "IncomingRefer",
    "IncomingRequest",
    "ReferOutcome",
    "RequestFailed",
    "SipRuntimeError",
]

HeaderList = Iterable[tuple[str, str]]
#: A handler may be a plain function or a coroutine function (then it runs as a task).
Handler = Callable[[Any], Any]


class SipRuntimeError(Exception):
    """Base of the errors raised by the async API."""


class CallFailed(SipRuntimeError):
    """An INVITE ended without a dialog: a final non-2xx response, a timeout (408) or a transport error.

    ``status`` is the final status (408 for Timer B, 503 for a transport failure, RFC 3261 §8.1.3.1);
    ``response`` the final response when one arrived.
    """

    def __init__(self, status: int, reason: str, response: Response | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.response = response


class RequestFailed(SipRuntimeError):
    """A non-INVITE request got no final response: timeout (408) or transport error (503)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ReferOutcome:
    """How a REFER we sent ended (RFC 3515 §2.4.5, RFC 3420 sipfrag in the terminal NOTIFY).

    ``success``: the terminal NOTIFY carried a 2xx. ``status``: the sipfrag status of the terminal NOTIFY,
    or the REFER's own final status when it was refused (403, 481, 401 …), or ``None`` when no terminal
    NOTIFY came in time. ``accepted``: the REFER got a 2xx (202). ``progress``: the non-terminal sipfrag
    statuses seen (100, 180 …), in order. ``response``: the REFER's own >= 300 response when it was
    refused outright (a 401/407 carries the challenge to answer, RFC 3261 §22.2), else None.
    """

    success: bool
    status: int | None
    reason: str
    accepted: bool = False
    progress: tuple[int, ...] = ()
    response: Response | None = None


class Call:
    """One INVITE dialog, UAS (``role == "UAS"``) or UAC, as seen by the application."""

    __slots__ = (
        "_ack",
        "_end_callbacks",
        "_terminated",
        "ack_body",
        "acked",
        "cancelled",
        "dialog",
        "invite",
        "local_body",
        "on_refer",
        "on_request",
        "peer",
        "response",
        "role",
        "server_tx",
        "termination_reason",
        "ua",
        "user_data",
    )

    def __init__(self, ua: UserAgent, role: str, invite: Request, peer: Peer | None = None) -> None:
        self.ua = ua
        self.role = role
        self.invite = invite
        self.peer = peer
        self.dialog: Dialog | None = None
        self.server_tx: ServerTransaction | None = None
        self.response: Response | None = None  #: UAC: the 2xx that established the call
        self.local_body = b""  #: the last SDP we sent (answered on a session-refresh re-INVITE)
        self.cancelled = False
        self.termination_reason: str | None = None
        self.on_request: Handler | None = None  #: in-dialog requests of this call (else ua.on_request)
        self.on_refer: Handler | None = None  #: REFERs received on this call (else ua.on_refer)
        self.user_data: Any = None
        self.acked = False  #: UAS: the ACK for our 2xx arrived (RFC 3261 §13.3.1.4)
        self.ack_body = b""  #: UAS: the ACK's body (the SDP answer of a late offer, §13.2.1)
        self._ack: asyncio.Future[None] | None = None
        self._terminated: asyncio.Future[str] | None = None
        self._end_callbacks: list[Callable[[str], object]] | None = None

    def __repr__(self) -> str:
        state = self.dialog.state if self.dialog is not None else "pending"
        return f"<Call {self.role} {self.invite.call_id} {state}>"

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def terminated(self) -> bool:
        return self.termination_reason is not None

    # -- UAS: answering --

    def respond(
        self,
        status: int,
        reason: str = "",
        *,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """Send a response to the INVITE now (1xx, 2xx to answer, >= 300 to reject)."""
        return self.ua._respond_invite(self, status, reason, headers, body, content_type)

    async def ring(self, status: int = 180, *, headers: HeaderList = ()) -> None:
        self.respond(status, headers=headers)

    async def answer(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: HeaderList = (),
        *,
        content_type: str | None = "application/sdp",
        wait_ack: bool = False,
    ) -> None:
        """Answer with a 2xx (``body`` is the SDP answer); with ``wait_ack`` return only once the ACK
        arrived (raises ``CallFailed`` when the dialog ends first, e.g. no ACK within 64*T1, §13.3.1.4)."""
        self.respond(status, headers=headers, body=body, content_type=content_type if body else None)
        if wait_ack:
            await self.wait_ack()

    async def reject(self, status: int = 486, reason: str = "", *, headers: HeaderList = ()) -> None:
        self.respond(status, reason, headers=headers)

    async def wait_ack(self) -> None:
        """Wait for the ACK of our 2xx (``ack_body`` then holds its body, if any)."""
        if self.acked:
            return
        if self._ack is None:
            self._ack = self.ua.loop.create_future()
            if self.terminated:
                self._fail_ack()
        await self._ack

    # -- both sides --

    async def request(
        self,
        method: str,
        *,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """An in-dialog request (INFO, re-INVITE, UPDATE, OPTIONS, MESSAGE …); returns the final response."""
        return await self.ua.request(self, method, headers=headers, body=body, content_type=content_type)

    async def refer(
        self, refer_to: str, *, timeout: float | None = None, headers: HeaderList = ()
    ) -> ReferOutcome:
        return await self.ua.refer(self, refer_to, timeout=timeout, headers=headers)

    async def bye(self, *, headers: HeaderList = ()) -> Response | None:
        """BYE; after a 401/407 to it, again with credentials in ``headers`` (RFC 3261 §22.2, §22.3)."""
        return await self.ua.bye(self, headers=headers)

    async def wait_terminated(self) -> str:
        """Wait until the dialog ends; returns the reason (``remote-bye``, ``local-bye``, ``no-ack`` …)."""
        if self.termination_reason is not None:
            return self.termination_reason
        if self._terminated is None:
            self._terminated = self.ua.loop.create_future()
        return await asyncio.shield(self._terminated)

    def add_end_callback(self, callback: Callable[[str], object]) -> None:
        """Have ``callback(reason)`` called once the dialog has ended (``reason`` as returned by
        :meth:`wait_terminated`), from the event loop (``loop.call_soon``), never from inside this call.

        A call that has ended already schedules it at once. For applications that follow many calls: a
        task per call awaiting :meth:`wait_terminated` costs a task, a coroutine, a shield and two
        futures; a callback costs one list entry and one loop handle when the call ends.
        """
        if self.termination_reason is not None:
            self.ua.loop.call_soon(callback, self.termination_reason)
        elif self._end_callbacks is None:
            self._end_callbacks = [callback]
        else:
            self._end_callbacks.append(callback)

    def remove_end_callback(self, callback: Callable[[str], object]) -> bool:
        """Forget a callback added by :meth:`add_end_callback` (True if it was still waiting)."""
        callbacks = self._end_callbacks
        if callbacks is None or callback not in callbacks:
            return False
        callbacks.remove(callback)
        return True

    # -- runtime side (called by the UserAgent) --

    def _acked(self, ack: Request) -> None:
        """Keep a flag and the body, not the ACK itself: an idle call should hold as little as possible."""
        self.acked = True
        self.ack_body = ack.body
        if self._ack is not None and not self._ack.done():
            self._ack.set_result(None)

    def _ended(self, reason: str) -> None:
        if self.termination_reason is not None:
            return
        self.termination_reason = reason
        # No request reaches an ended call (the dispatcher found it through its dialog, which has let go of
        # it), so its handlers are dead. They are usually bound methods of the application's own call
        # object, which holds this one: dropping them frees both by reference counting when the call is
        # done with, instead of leaving a cycle (and all the media and SDP it holds) to the collector.
        self.on_request = None
        self.on_refer = None
        if self._terminated is not None and not self._terminated.done():
            self._terminated.set_result(reason)
        callbacks = self._end_callbacks
        if callbacks is not None:
            self._end_callbacks = None
            call_soon = self.ua.loop.call_soon
            for callback in callbacks:
                call_soon(callback, reason)
        self._fail_ack()

    def _fail_ack(self) -> None:
        if self._ack is not None and not self._ack.done():
            self._ack.set_exception(CallFailed(408, f"call ended before ACK ({self.termination_reason})"))
            self._ack.exception()  # nobody may be waiting


class IncomingRequest:
    """A request the application answers (out-of-dialog OPTIONS/MESSAGE, in-dialog INFO, re-INVITE …)."""

    __slots__ = ("call", "peer", "request", "responded", "tx", "ua")

    def __init__(
        self, ua: UserAgent, request: Request, tx: ServerTransaction, peer: Peer, call: Call | None
    ) -> None:
        self.ua = ua
        self.request = request
        self.tx = tx
        self.peer = peer
        self.call = call
        self.responded = False

    @property
    def method(self) -> str:
        return self.request.method

    def respond(
        self,
        status: int,
        reason: str = "",
        *,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        if status >= 200:
            self.responded = True
        return self.ua._respond(self.tx, status, reason, headers, body, content_type)


class IncomingRefer:
    """A REFER received in a dialog: we are the transferee / notifier (RFC 3515 §2.4.4, RFC 6665).

    ``accept()`` sends 202 and (by default) a ``100 Trying`` NOTIFY; ``notify(status)`` reports the
    outcome of the referenced request (terminal when ``status >= 200``); ``reject(status)`` refuses.
    ``accept``/``reject`` act at once; ``notify`` is awaited for the NOTIFY's response.
    """

    __slots__ = ("call", "done", "notifier", "request", "ua")

    def __init__(self, ua: UserAgent, call: Call | None, request: Request, notifier: ReferNotifier) -> None:
        self.ua = ua
        self.call = call
        self.request = request
        self.notifier = notifier
        self.done = False

    @property
    def refer_to(self) -> str:
        """The Refer-To header value, verbatim (decode with ``takeback.uui.parse_refer_to``)."""
        return str(self.notifier.refer_to)

    def accept(self, *, expires: int = 60, notify_trying: bool = True) -> None:
        self.ua._accept_refer(self, expires, notify_trying)

    def reject(self, status: int = 603, reason: str = "") -> None:
        self.done = True
        self.ua._reject_refer(self, status, reason)

    async def notify(self, status: int, reason: str = "", *, terminal: bool | None = None) -> Response:
        """Send a sipfrag NOTIFY (``SIP/2.0 <status> <reason>``), terminal by default when ``status >= 200``;
        returns the NOTIFY's final response (raises ``RequestFailed`` if none came). Waiting for it before
        a BYE keeps strict peers (SIPp scenarios) in step."""
        if terminal or (terminal is None and status >= 200):
            self.done = True
        return await self.ua._notify_refer(self, status, reason, terminal)
