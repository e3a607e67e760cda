"""The UserAgent: one sans-IO :class:`~takeback.sip.core.SipCore` driven by asyncio (docs/core-api.md §3).

The whole adapter in one sentence: after every input (datagram, stream message, timer, API call) drain
``data_to_send()`` into the transports, drain ``next_event()`` into the application, and re-arm ONE
``loop.call_at`` timer at ``get_timer()`` (aioquic's pattern). The clock given to the core is
``loop.time()``. Nothing here implements SIP rules: retransmissions, matching, dialogs and REFER
subscriptions are the core's; this module maps its events onto futures, callbacks and :class:`Call`s.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from functools import partial
from types import CoroutineType
from typing import Any

from takeback.sip import Request, Response, SipParseError
from takeback.sip import core as sipcore
from takeback.sip.dialog import Dialog
from takeback.sip.parser import error_response
from takeback.sip.peer import response_destination, uri_destination
from takeback.sip.timers import TimerEntry
from takeback.sip.transaction import ClientTransaction, ServerTransaction

from .address import LocalEndpoint, Peer
from .boundary import Boundary, Recorder
from .calls import (
    Call,
    CallFailed,
    Handler,
    HeaderList,
    IncomingRefer,
    ReferOutcome,
    RequestFailed,
    SipRuntimeError,
)
from .counters import Counters
from .dispatch import EventDispatcher, ReferWaiter
from .listen import ListenSpec, parse_listen_spec
from .tls import TlsConfig
from .transport import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, TransportLayer
from .udp import SOCKET_BUFFER_BYTES

__all__ = ["UserAgent"]

logger = logging.getLogger("takeback.net.ua")

#: Rounds of (drain output, drain events) per input; an application that keeps feeding the core from
#: its callbacks is continued on the next loop iteration instead of starving the loop.
_MAX_PUMP_ROUNDS = 64
_MAX_EVENTS_PER_ROUND = 10_000


def _time_out(waiter: asyncio.Future[Any], now: float) -> None:
    """Expiry of a ``timeout`` on :meth:`UserAgent.send_invite`: the awaiting task gets TimeoutError."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class UserAgent:
    """A SIP user agent on asyncio. Use as ``async with UserAgent([...]) as ua:``.

    Incoming calls go to ``on_call`` (sync or async callable) or, when it is ``None``, to the
    ``incoming()`` async iterator. Other requests go to ``on_request`` (default answers: OPTIONS 200,
    in-dialog INFO/UPDATE/MESSAGE/NOTIFY 200, re-INVITE 200 with our last SDP, the rest 405); REFERs to
    ``call.on_refer`` or ``on_refer`` (default: 603 Decline).
    """

    def __init__(
        self,
        listen: Iterable[ListenSpec | str] = ("udp:127.0.0.1:0",),
        *,
        tls: TlsConfig | None = None,
        core_options: Mapping[str, Any] | None = None,
        rng: random.Random | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        udp_buffer_bytes: int = SOCKET_BUFFER_BYTES,
        reuse_port: bool = False,
        counters: Counters | None = None,
        trace: Recorder | None = None,
    ) -> None:
        self.listen_specs = [parse_listen_spec(s) if isinstance(s, str) else s for s in listen]
        if not self.listen_specs:
            raise ValueError("a UserAgent needs at least one listening point")
        self.tls = tls
        self.core_options = dict(core_options or {})
        self.rng = rng or random.SystemRandom()
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.udp_buffer_bytes = udp_buffer_bytes
        self.reuse_port = reuse_port  #: SO_REUSEPORT listeners (worker processes sharing the ports)
        self.counters = counters if counters is not None else Counters()
        self.trace = trace  #: copy of every message in and out (takeback.observe), or None
        self.boundary = Boundary(self.counters, logger)
        self.on_call: Handler | None = None
        self.on_request: Handler | None = None
        self.on_refer: Handler | None = None
        self._incoming: asyncio.Queue[Call | None] = asyncio.Queue()
        self._waiters: set[asyncio.Future[Any]] = set()  # pending API futures, failed on close()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refer_waiters: dict[int, ReferWaiter] = {}  # id(ReferSubscription) -> waiter
        self._notify_waiters: list[tuple[ClientTransaction, asyncio.Future[Response]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._pumping = False
        self._again = False
        self._started = False
        self._closed = False
        self.loop: asyncio.AbstractEventLoop
        self.transport: TransportLayer
        self.core: sipcore.SipCore
        self._dispatcher: EventDispatcher

    # -- lifecycle --

    async def start(self) -> UserAgent:
        """Open the listening points and create the core with the bound endpoints."""
        if self._started:
            return self
        self.loop = asyncio.get_running_loop()
        self.transport = TransportLayer(
            self,
            counters=self.counters,
            tls=self.tls,
            idle_timeout=self.idle_timeout,
            max_connections=self.max_connections,
            udp_buffer_bytes=self.udp_buffer_bytes,
            reuse_port=self.reuse_port,
            loop=self.loop,
        )
        self.transport.recorder = self.trace
        try:
            for spec in self.listen_specs:
                await self.transport.listen(spec)
        except BaseException:
            await self.transport.close()
            raise
        config = sipcore.CoreConfig(endpoints=tuple(self.transport.endpoints), **self.core_options)
        self.core = sipcore.SipCore(config, self.rng)
        self._dispatcher = EventDispatcher(self)
        self._started = True
        return self

    async def close(self) -> None:
        """Stop timers and close every socket (calls in progress are abandoned, not hung up)."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._incoming.put_nowait(None)  # ends incoming() iterators
        for future in list(self._waiters):
            if not future.done():
                future.set_exception(SipRuntimeError("the user agent was closed"))
        for refer_waiter in list(self._refer_waiters.values()):
            refer_waiter.finish(False, None, "closed")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        await self.transport.close()

    async def __aenter__(self) -> UserAgent:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def endpoints(self) -> list[LocalEndpoint]:
        return list(self.transport.endpoints)

    def endpoint(self, transport: str = "UDP") -> LocalEndpoint:
        """The first listening point of ``transport`` (``LookupError`` if there is none)."""
        for endpoint in self.transport.endpoints:
            if endpoint.transport == transport.upper():
                return endpoint
        raise LookupError(f"no {transport} listening point")

    def uri(self, user: str = "takeback", transport: str | None = None) -> str:
        """A SIP URI that reaches this UA (``transport`` param added for TCP/TLS)."""
        endpoint = self.endpoint(transport or self.transport.endpoints[0].transport)
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        scheme = "sips" if endpoint.transport == "TLS" else "sip"
        param = f";transport={endpoint.transport.lower()}" if endpoint.transport == "TCP" else ""
        return f"{scheme}:{user}@{host}:{endpoint.port}{param}"

    # -- MessageSink: input from the transports --

    def message_received(self, message: Request | Response, peer: Peer) -> None:
        if not self._started:  # a datagram can beat start() between binding and creating the core
            return
        if self.trace is not None:
            wire = message.wire  # as it arrived, before admit() or the core edit it
            self.transport.record_received(wire if wire is not None else bytes(message), peer)
        if not self.admit(message, peer):
            return
        self.core.receive_message(message, peer, self.loop.time())
        self._pump()

    def admit(self, message: Request | Response, peer: Peer) -> bool:
        """Whether ``message`` goes on to the SIP core (subclasses: edge rules such as an IP ACL).

        Called after the message was traced and before the core sees it: a request the core has seen
        already got a server transaction and maybe a 100 Trying, which "drop silently" must not do. An
        override may also edit the message, and answer statelessly (RFC 3261 §8.2.6) before refusing.
        """
        return True

    def parse_error(self, error: SipParseError, peer: Peer, data: bytes | None) -> None:
        """Malformed input: the core records it (MessageDiscarded); we answer it when routable."""
        if not self._started:
            return
        self.core.receive_parse_error(error, peer, self.loop.time())
        self._answer_malformed(error, peer)
        self._pump()

    def _answer_malformed(self, error: SipParseError, peer: Peer) -> None:
        """RFC 3261 §8.2.6/§21.4.1: a malformed *request* gets ``error.status`` (400, 505, 513 …) when
        its Via, Call-ID and CSeq survived parsing; otherwise (or for responses) it is dropped."""
        try:
            response = error_response(error, to_tag=self.core.ids.tag())
            if response is None:
                return
            destination = response_destination(response.top_via, peer)
        except ValueError as exc:  # SipParseError too: the salvaged headers were unusable after all
            self.boundary.notice("unanswerable", "cannot answer malformed request from %s: %s", peer, exc)
            return
        self.counters.error_responses += 1
        self.transport.send(bytes(response), destination)

    def connection_lost(self, connection_id: int) -> None:
        if self._started and not self._closed:
            self.core.connection_lost(connection_id, self.loop.time())
            self._pump()

    def transport_error(self, peer: Peer) -> None:
        if self._started and not self._closed:
            self.core.transport_error(peer, self.loop.time())
            self._pump()

    # -- the engine: output, events, the single timer --

    def _pump(self) -> None:
        """Drain output and events until the core is quiet; re-arm the timer. Not re-entrant."""
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        core, send, dispatch = self.core, self.transport.send, self._dispatcher.dispatch
        next_event = core.next_event
        try:
            for _ in range(_MAX_PUMP_ROUNDS):
                self._again = False
                for data, peer in core.data_to_send():
                    send(data, peer)
                event = next_event()
                if event is not None:  # most inputs end here: nothing can have been queued since
                    dispatched = 0
                    while event is not None:
                        try:
                            dispatch(event)
                        except Exception as exc:
                            self.boundary.internal_error(f"event {type(event).__name__}", exc)
                        dispatched += 1
                        if dispatched >= _MAX_EVENTS_PER_ROUND:
                            self._again = True
                            break
                        event = next_event()
                    for data, peer in core.data_to_send():
                        send(data, peer)
                if not self._again:
                    break
            else:
                self.loop.call_soon(self._pump)
        finally:
            self._pumping = False
        if self._notify_waiters:
            self._settle_notifies()
        if self._closed:
            return
        deadline = core.get_timer()  # the test of _arm_timer, inline: it runs after every input
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            self._arm_timer(deadline)

    def _arm_timer(self, deadline: float) -> None:
        """One TimerHandle per UA, armed at ``deadline`` when that is earlier than the armed one. A later
        deadline leaves an earlier handle armed: it fires, the core finds nothing due, and we re-arm; that
        costs less than cancelling a handle on every input."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        # A loop may fire a timer slightly early (uvloop rounds to milliseconds and caches its clock);
        # the deadline we armed is by definition due, so never hand the core an earlier "now".
        armed = self._timer_at or 0.0
        self._timer = None
        self._timer_at = None
        self.counters.timer_fires += 1
        try:
            self.core.handle_timer(max(self.loop.time(), armed))
        except Exception as exc:
            self.boundary.internal_error("handle_timer", exc)
        self._pump()

    def _spawn(self, result: Any) -> None:
        """Run what a handler returned if it is awaitable; keep a reference until it finishes."""
        if result is None:
            return
        task: asyncio.Task[Any]
        if type(result) is CoroutineType:  # an ``async def`` handler: what ensure_future would do, directly
            task = self.loop.create_task(result)
        elif inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
        else:
            return
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.boundary.internal_error("application handler", task.exception())  # type: ignore[arg-type]

    # -- incoming calls --

    def _deliver_call(self, call: Call) -> None:
        handler = self.on_call
        if handler is None:
            self._incoming.put_nowait(call)
        else:
            self._spawn(handler(call))

    async def incoming(self) -> AsyncIterator[Call]:
        """Incoming calls (only when ``on_call`` is not set). Ends when the UA is closed."""
        while not self._closed:
            call = await self._incoming.get()
            if call is None:
                self._incoming.put_nowait(None)  # wake any other iterator too
                return
            yield call

    # -- UAC API --

    def _from_default(self) -> str:
        return f"<{self.uri()}>"

    async def invite(
        self,
        uri: str,
        *,
        dest: Peer | None = None,
        from_: str | None = None,
        to: str | None = None,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> Call:
        """Send an INVITE; return the established :class:`Call` on 2xx, raise :class:`CallFailed` otherwise.

        ``dest`` defaults to the URI's host/port/transport (RFC 3263 without DNS SRV). Cancelling the
        awaiting task (or ``timeout``) sends CANCEL (RFC 3261 §9.1).
        """
        if body and content_type is None:
            content_type = "application/sdp"
        request = self.core.make_request(
            "INVITE", uri, from_=from_ or self._from_default(), to=to or f"<{uri}>",
            headers=headers, body=body, content_type=content_type,
        )  # fmt: skip
        return await self.send_invite(request, dest or self._destination(uri), timeout=timeout)

    async def send_invite(self, request: Request, dest: Peer, *, timeout: float | None = None) -> Call:
        """Send an INVITE built elsewhere; like :meth:`invite`, the established :class:`Call` on 2xx,
        :class:`CallFailed` otherwise, and ``timeout`` (or cancelling the awaiting task) sends CANCEL.

        For callers that must control the request itself: a retry after a 401/407 challenge keeps the
        Call-ID and From tag and raises the CSeq (RFC 3261 §22.2), so it cannot go through ``invite()``.
        Build it with ``ua.core.make_request("INVITE", ...)``.
        """
        if request.method != "INVITE":
            raise ValueError(f"send_invite() sends INVITE requests, not {request.method}")
        call = Call(self, "UAC", request)
        call.local_body = request.body
        waiter: asyncio.Future[Call] = self._new_waiter(forget_when_done=False)
        tx = self.core.send_request(request, dest, self.loop.time())
        tx.user_data = (call, waiter)
        call.peer = dest
        expiry = self._expire_after(timeout, partial(_time_out, waiter))
        self._pump()
        try:
            return await waiter
        except (asyncio.CancelledError, TimeoutError):
            if not self._closed:
                self.core.cancel(tx, self.loop.time())
                self._pump()
            raise
        finally:
            self.core.cancel_timer(expiry)
            self._waiters.discard(waiter)

    def _destination(self, uri: str) -> Peer:
        return uri_destination(uri, self.transport.endpoints[0].transport)

    async def send_request(
        self,
        method: str,
        uri: str,
        *,
        dest: Peer | None = None,
        from_: str | None = None,
        to: str | None = None,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """An out-of-dialog non-INVITE request (OPTIONS, MESSAGE …); returns the final response."""
        request = self.core.make_request(
            method, uri, from_=from_ or self._from_default(), to=to or f"<{uri}>",
            headers=headers, body=body, content_type=content_type,
        )  # fmt: skip
        tx = self.core.send_request(request, dest or self._destination(uri), self.loop.time())
        return await self._await_final(tx)

    async def request(
        self,
        call: Call | Dialog,
        method: str,
        *,
        headers: HeaderList = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """An in-dialog request; returns its final response (raises :class:`RequestFailed` on timeout)."""
        dialog = self._dialog_of(call)
        tx = self.core.request(
            dialog, method, self.loop.time(), headers=headers, body=body, content_type=content_type
        )
        if method == "INVITE" and body and isinstance(call, Call):
            call.local_body = body
        return await self._await_final(tx)

    async def bye(self, call: Call | Dialog, *, headers: HeaderList = ()) -> Response | None:
        """Hang up. None when the dialog was already gone, or when the BYE is deferred until the ACK of
        our 2xx arrives (RFC 3261 §15: the callee must not send BYE before the ACK).

        After a 401/407 to our BYE, call again with ``Authorization``/``Proxy-Authorization`` in
        ``headers``: the core sends the authorized retry in the same dialog (RFC 3261 §22.2, §22.3).
        """
        tx = self.core.bye(self._dialog_of(call), self.loop.time(), headers=headers)
        if tx is None:
            self._pump()
            return None
        return await self._await_final(tx)

    async def refer(
        self, call: Call | Dialog, refer_to: str, *, timeout: float | None = None, headers: HeaderList = ()
    ) -> ReferOutcome:
        """REFER in the call's dialog; returns the outcome carried by the terminal NOTIFY (RFC 3515).

        ``timeout`` bounds the whole wait (the core's ``refer_timeout`` applies too); expiry returns an
        outcome with ``status=None``.
        """
        subscription = self.core.refer(self._dialog_of(call), refer_to, self.loop.time(), headers=headers)
        waiter = ReferWaiter(subscription, self._new_waiter(forget_when_done=False))
        key = id(subscription)
        self._refer_waiters[key] = waiter
        expiry = self._expire_after(timeout, waiter.expire)
        self._pump()
        try:
            return await waiter.future
        finally:
            self.core.cancel_timer(expiry)
            self._refer_waiters.pop(key, None)
            self._waiters.discard(waiter.future)

    def _expire_after(self, timeout: float | None, expire: Callable[[float], None]) -> TimerEntry | None:
        """Run ``expire(now)`` ``timeout`` seconds from now, on the core's timer heap: the UA's one loop
        timer serves it, where ``asyncio.timeout`` costs a Timeout, two coroutines and a loop timer handle
        per wait (measured: ~3x the cost of the wait itself). Cancel with ``core.cancel_timer``."""
        if timeout is None:
            return None
        return self.core.schedule(self.loop.time() + timeout, expire)

    def _new_waiter(self, *, forget_when_done: bool = True) -> asyncio.Future[Any]:
        """A future that :meth:`close` fails if it is still pending. ``forget_when_done=False``: the caller
        awaits it itself and discards it from ``_waiters`` in a ``finally``, which spares the done callback
        (one loop handle per future)."""
        if self._closed:
            raise SipRuntimeError("the user agent is closed")
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waiters.add(future)
        if forget_when_done:
            future.add_done_callback(self._waiters.discard)
        return future

    @staticmethod
    def _dialog_of(call: Call | Dialog) -> Dialog:
        """Accept a :class:`Call` or a core ``Dialog`` (from ``ua.core.dialogs``)."""
        if not isinstance(call, Call):
            return call
        if call.dialog is None:
            raise RuntimeError(f"{call!r} has no dialog yet (answer or cancel it first)")
        return call.dialog

    async def _await_final(self, tx: ClientTransaction) -> Response:
        waiter: asyncio.Future[Response] = self._new_waiter(forget_when_done=False)
        tx.user_data = waiter
        self._pump()
        try:
            return await waiter
        finally:
            self._waiters.discard(waiter)

    # -- UAS helpers used by Call / IncomingRequest / IncomingRefer --

    def _respond_invite(
        self,
        call: Call,
        status: int,
        reason: str,
        headers: HeaderList,
        body: bytes,
        content_type: str | None,
    ) -> Response:
        tx = call.server_tx
        if tx is None:
            raise RuntimeError(f"{call!r} is not an incoming call awaiting an answer")
        if status >= 200:
            call.server_tx = None  # before the events of this answer are dispatched
            if body:
                call.local_body = body
        response = self.core.respond(
            tx, status, reason, headers=headers, body=body, content_type=content_type, now=self.loop.time()
        )
        if 100 < status < 300 and tx.dialog is not None and call.dialog is None:
            call.dialog = tx.dialog
            tx.dialog.user_data = call
        if status >= 200:
            # The transaction lives on for Timer L/J (32 s on UDP) to absorb retransmitted INVITEs, but a
            # CANCEL can no longer reach the call: holding it would keep every ended call's whole object
            # graph (application, media, SDP) alive that long, ~10,000 calls at 300 calls/s.
            tx.user_data = None
        self._pump()
        return response

    def _respond(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str,
        headers: HeaderList,
        body: bytes,
        content_type: str | None,
    ) -> Response:
        response = self.core.respond(
            tx, status, reason, headers=headers, body=body, content_type=content_type, now=self.loop.time()
        )
        self._pump()
        return response

    def _accept_refer(self, refer: IncomingRefer, expires: int, notify_trying: bool) -> None:
        self.core.accept_refer(refer.notifier, self.loop.time(), expires=expires, notify_trying=notify_trying)
        self._pump()

    def _reject_refer(self, refer: IncomingRefer, status: int, reason: str) -> None:
        self.core.reject_refer(refer.notifier, status, self.loop.time(), reason=reason)
        self._pump()

    def _notify_refer(
        self, refer: IncomingRefer, status: int, reason: str, terminal: bool | None
    ) -> asyncio.Future[Response]:
        """Send the NOTIFY; the future resolves with its final response. The core answers NOTIFY
        responses itself and emits no event for them, so the adapter settles these few futures by
        looking at ``tx.final_response`` after each drain (see :meth:`_settle_notifies`)."""
        tx = self.core.notify_refer(refer.notifier, status, reason, self.loop.time(), terminal=terminal)
        waiter: asyncio.Future[Response] = self._new_waiter()
        self._notify_waiters.append((tx, waiter))
        self._pump()
        return waiter

    def _settle_notifies(self) -> None:
        pending: list[tuple[ClientTransaction, asyncio.Future[Response]]] = []
        for tx, waiter in self._notify_waiters:
            if waiter.done():
                continue
            if tx.final_response is not None:
                waiter.set_result(tx.final_response)
            elif tx.terminated:
                waiter.set_exception(RequestFailed(408, "NOTIFY got no final response"))
            else:
                pending.append((tx, waiter))
        self._notify_waiters = pending

    # -- failures of our own requests (used by the dispatcher) --

    @staticmethod
    def _fail_tx(tx: ClientTransaction, status: int, reason: str) -> None:
        waiter = tx.user_data
        tx.user_data = None
        if isinstance(waiter, tuple):
            _call, future = waiter
            if not future.done():
                future.set_exception(CallFailed(status, reason))
        elif isinstance(waiter, asyncio.Future) and not waiter.done():
            waiter.set_exception(RequestFailed(status, reason))
