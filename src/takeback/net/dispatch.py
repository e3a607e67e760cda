"""Core events → application: futures, callbacks and :class:`~takeback.net.calls.Call` state.

One method per event type of docs/core-api.md §6, looked up by exact type (no isinstance chains on the
hot path). Waiters ride on the core's objects (``tx.user_data``, ``dialog.user_data``) so a finished call
leaves nothing behind in runtime dictionaries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from takeback.sip import Response
from takeback.sip import events as ev
from takeback.sip.transaction import ClientTransaction

from .calls import Call, CallFailed, IncomingRefer, IncomingRequest, ReferOutcome

if TYPE_CHECKING:
    from .useragent import UserAgent

__all__ = ["EventDispatcher", "ReferWaiter"]

logger = logging.getLogger("takeback.net.ua")

#: In-dialog methods answered 200 when the application installed no handler.
_DEFAULT_OK = frozenset({"INFO", "UPDATE", "MESSAGE", "NOTIFY", "OPTIONS", "PRACK"})


class ReferWaiter:
    """Collects the events of one REFER subscription until its outcome (RFC 3515 §2.4.5)."""

    __slots__ = ("accepted", "future", "progress", "subscription")

    def __init__(self, subscription: object, future: asyncio.Future[ReferOutcome]) -> None:
        self.subscription = subscription
        self.future = future
        self.accepted = False
        self.progress: list[int] = []

    def finish(
        self, success: bool, status: int | None, reason: str, response: Response | None = None
    ) -> None:
        if not self.future.done():
            outcome = ReferOutcome(success, status, reason, self.accepted, tuple(self.progress), response)
            self.future.set_result(outcome)

    def timed_out(self) -> ReferOutcome:
        return ReferOutcome(False, None, "timeout", self.accepted, tuple(self.progress))

    def expire(self, now: float) -> None:
        """The caller's ``timeout`` passed without a terminal NOTIFY (a core timer callback)."""
        if not self.future.done():
            self.future.set_result(self.timed_out())


class EventDispatcher:
    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        self.core = ua.core
        table: dict[type, Callable[[Any], None]] = {
            ev.RequestReceived: self.request_received,
            ev.ResponseReceived: self.response_received,
            ev.TransactionTimedOut: self.transaction_timed_out,
            ev.TransportFailed: self.transport_failed,
            ev.AckReceived: self.ack_received,
            ev.CancelReceived: self.cancel_received,
            ev.DialogTerminated: self.dialog_terminated,
            ev.ReferReceived: self.refer_received,
            ev.ReferAccepted: self.refer_accepted,
            ev.ReferProgress: self.refer_progress,
            ev.ReferCompleted: self.refer_completed,
            ev.ReferFailed: self.refer_failed,
            ev.SessionRefreshDue: self.session_refresh_due,
            ev.SessionExpired: self.session_expired,
            ev.MessageDiscarded: self.message_discarded,
            ev.ProtocolWarning: self.protocol_warning,
        }
        self._table = table

    def dispatch(self, event: object) -> None:
        handler = self._table.get(type(event))
        if handler is not None:
            handler(event)

    # -- requests --

    def request_received(self, event: ev.RequestReceived) -> None:
        ua = self.ua
        request, dialog = event.request, event.dialog
        if request.method == "INVITE" and dialog is None:
            call = Call(ua, "UAS", request, event.peer)
            call.server_tx = event.tx
            event.tx.user_data = call  # CancelReceived finds the call through its transaction
            ua._deliver_call(call)
            return
        owner = dialog.user_data if dialog is not None else None
        in_call = owner if isinstance(owner, Call) else None
        incoming = IncomingRequest(ua, request, event.tx, event.peer, in_call)
        handler = (in_call.on_request if in_call is not None else None) or ua.on_request
        if handler is None:
            self.default_response(incoming)
            return
        result = handler(incoming)
        if asyncio.iscoroutine(result):
            ua._spawn(self._finish_async(result, incoming))
        elif not incoming.responded:
            self.default_response(incoming)

    async def _finish_async(self, coroutine: Any, incoming: IncomingRequest) -> None:
        try:
            await coroutine
        finally:
            if not incoming.responded:
                incoming.respond(500, "Handler Did Not Answer")

    def default_response(self, incoming: IncomingRequest) -> None:
        """What a UA with no handler answers (RFC 3261 §8.2.1: 405 lists what we allow)."""
        method, call = incoming.method, incoming.call
        if method == "INVITE" and call is not None:  # session refresh / hold: keep our last answer
            body = call.local_body
            incoming.respond(200, body=body, content_type="application/sdp" if body else None)
        elif method in _DEFAULT_OK and (call is not None or method == "OPTIONS"):
            incoming.respond(200)
        else:
            incoming.respond(405, headers=[("Allow", self.core.config.allow)])

    def ack_received(self, event: ev.AckReceived) -> None:
        dialog = event.dialog
        call = dialog.user_data if dialog is not None else None
        if isinstance(call, Call):
            call._acked(event.request)

    def cancel_received(self, event: ev.CancelReceived) -> None:
        call = event.invite_tx.user_data
        if isinstance(call, Call):
            call.cancelled = True
            call.server_tx = None
            call._ended("cancelled")

    # -- responses and failures of our requests --

    def response_received(self, event: ev.ResponseReceived) -> None:
        tx, response = event.tx, event.response
        waiter = tx.user_data
        if isinstance(waiter, tuple):
            self._invite_response(event, waiter)
        elif isinstance(waiter, asyncio.Future) and response.status >= 200:
            tx.user_data = None
            if not waiter.done():
                waiter.set_result(response)

    def _invite_response(self, event: ev.ResponseReceived, waiter: tuple[Call, Any]) -> None:
        call, future = waiter
        response, dialog = event.response, event.dialog
        status = response.status
        if status < 200:
            if dialog is not None and dialog.user_data is None:
                dialog.user_data = call
            return
        if status >= 300:
            event.tx.user_data = None
            if not future.done():
                future.set_exception(CallFailed(status, response.reason, response))
            return
        if dialog is None:
            return
        if call.dialog is None and not future.done():
            call.dialog = dialog
            call.response = response
            dialog.user_data = call
            future.set_result(call)
        elif dialog is not call.dialog and dialog.user_data is None:
            self.core.bye(dialog, self.ua.loop.time())  # a second fork answered: we keep the first
        elif call.dialog is None:
            self.core.bye(dialog, self.ua.loop.time())  # answered after the caller gave up

    def transaction_timed_out(self, event: ev.TransactionTimedOut) -> None:
        if isinstance(event.tx, ClientTransaction):
            self.ua._fail_tx(event.tx, 408, "Request Timeout")

    def transport_failed(self, event: ev.TransportFailed) -> None:
        if isinstance(event.tx, ClientTransaction):
            self.ua._fail_tx(event.tx, 503, "Transport Failure")

    # -- dialogs --

    def dialog_terminated(self, event: ev.DialogTerminated) -> None:
        dialog = event.dialog
        call = dialog.user_data
        if isinstance(call, Call):
            dialog.user_data = None  # break the Call <-> Dialog cycle; call.dialog stays readable
            if call.server_tx is not None:
                # The core ended an early dialog of an INVITE we had not answered: a CANCEL (§9.2) whose
                # CancelReceived follows in this same drain and names the real reason.
                self.ua.loop.call_soon(call._ended, event.reason)
            else:
                call._ended(event.reason)

    def session_refresh_due(self, event: ev.SessionRefreshDue) -> None:
        """RFC 4028 §9: we are the refresher; re-offer our last SDP in a re-INVITE."""
        dialog = event.dialog
        call = dialog.user_data
        body = call.local_body if isinstance(call, Call) else b""
        content_type = "application/sdp" if body else None
        self.core.request(dialog, "INVITE", self.ua.loop.time(), body=body, content_type=content_type)

    def session_expired(self, event: ev.SessionExpired) -> None:
        """RFC 4028 §10: no refresh in time: end the session with BYE."""
        self.core.bye(event.dialog, self.ua.loop.time())

    # -- REFER --

    def refer_received(self, event: ev.ReferReceived) -> None:
        ua = self.ua
        call = event.dialog.user_data if event.dialog is not None else None
        refer = IncomingRefer(ua, call if isinstance(call, Call) else None, event.request, event.notifier)
        handler = (refer.call.on_refer if refer.call is not None else None) or ua.on_refer
        if handler is None:
            refer.reject(603, "Decline")
            return
        ua._spawn(handler(refer))

    def _refer_waiter(self, subscription: object) -> ReferWaiter | None:
        return self.ua._refer_waiters.get(id(subscription))

    def refer_accepted(self, event: ev.ReferAccepted) -> None:
        waiter = self._refer_waiter(event.subscription)
        if waiter is not None:
            waiter.accepted = True

    def refer_progress(self, event: ev.ReferProgress) -> None:
        waiter = self._refer_waiter(event.subscription)
        if waiter is not None:
            waiter.progress.append(event.status)

    def refer_completed(self, event: ev.ReferCompleted) -> None:
        waiter = self._refer_waiter(event.subscription)
        if waiter is not None:
            waiter.finish(200 <= event.status < 300, event.status, event.reason)

    def refer_failed(self, event: ev.ReferFailed) -> None:
        waiter = self._refer_waiter(event.subscription)
        if waiter is not None:
            tx = getattr(event.subscription, "tx", None)
            final = tx.final_response if isinstance(tx, ClientTransaction) else None
            refused = final if final is not None and final.status >= 300 else None  # the REFER's own refusal
            waiter.finish(False, event.status, event.reason, refused)

    # -- diagnostics --

    def message_discarded(self, event: ev.MessageDiscarded) -> None:
        self.ua.counters.messages_discarded += 1
        self.ua.boundary.notice("discarded", "discarded message from %s: %s", event.peer, event.reason)

    def protocol_warning(self, event: ev.ProtocolWarning) -> None:
        logger.debug("protocol warning: %s", event.text)
