"""RFC 3261 §17 transactions: the four state machines driven by the tables of :mod:`._tx_tables`.

A transaction owns its retransmissions and its timers and nothing else: it asks its host (the core) to
transmit bytes, schedule timers, and it reports timeouts, transport failures and its own termination.
Whether a response or request goes up to the transaction user is the return value of the ``receive_*``
calls, so the core decides what event to emit and dialogs stay out of this module.

Matching (§17.1.3, §17.2.3) is by dictionary key: :func:`client_key` for responses,
:func:`server_key` for requests (branch + sent-by + method, ACK folded onto INVITE; CANCEL keeps its own
method so it is its own transaction). Requests without the magic cookie use an RFC 2543 style fallback
key built from Call-ID, From tag, CSeq number and sent-by.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from ._tx_tables import INITIAL, START_TIMER, TABLES, TxAction, TxInput, TxKind, TxState
from .errors import TransactionError
from .ids import MAGIC_COOKIE
from .message import Headers, Request, Response
from .peer import RELIABLE_TRANSPORTS, Peer, default_port, response_destination
from .responses import make_response
from .timers import TimerEntry, TimerHeap, TimerValues

__all__ = [
    "ClientKey",
    "ClientTransaction",
    "ServerKey",
    "ServerTransaction",
    "Transaction",
    "TransactionHost",
    "TxKind",
    "TxState",
    "client_key",
    "server_key",
]

#: 64*T1 on every transport (RFC 3261 Table 4; RFC 6026 Timers L and M).
_TIMEOUT_TIMERS = frozenset(
    (TxInput.TIMER_B, TxInput.TIMER_F, TxInput.TIMER_H, TxInput.TIMER_L, TxInput.TIMER_M)
)
#: Retransmission timers, not armed on reliable transports (§17.1.1.2, §17.1.2.2, §17.2.1).
_RETRANSMIT_TIMERS = frozenset((TxInput.TIMER_A, TxInput.TIMER_E, TxInput.TIMER_G))
#: Actions the host handles (the transaction only reports them).
_REPORTS = frozenset((TxAction.TIMEOUT, TxAction.TRANSPORT_FAILED, TxAction.REQUEST_CANCEL))

Durations = dict[TxInput, float | None]


def timer_durations(values: TimerValues, trying: float, timer_c: float, reliable: bool) -> Durations:
    """Every timer's length on one kind of transport, ``None`` where it is not armed (A, E, G on a stream).

    Computed once per core and transport kind, so starting a timer is a dictionary lookup."""
    durations: Durations = {}
    for timer in START_TIMER.values():
        if timer in _TIMEOUT_TIMERS:
            durations[timer] = values.timeout
        elif timer in _RETRANSMIT_TIMERS:
            durations[timer] = None if reliable else values.t1
        elif timer is TxInput.TIMER_J:
            durations[timer] = values.wait_j(reliable)
        elif timer is TxInput.TIMER_K or timer is TxInput.TIMER_I:
            durations[timer] = values.wait_k(reliable)
        elif timer is TxInput.TIMER_D:
            durations[timer] = values.wait_d(reliable)
        elif timer is TxInput.TIMER_C:
            durations[timer] = timer_c
        else:
            durations[timer] = trying
    return durations


#: A table entry's actions regrouped for :meth:`Transaction._apply`: (clear the timers first?, the other
#: actions in order, pass to the TU?, the timers to start last, in order).
Plan = tuple[bool, tuple[TxAction, ...], bool, tuple[TxInput, ...]]


def _plan(actions: tuple[TxAction, ...]) -> Plan:
    """Regroup ``actions`` without changing the order they run in: the tables put CLEAR_TIMERS first and
    the START_* actions last (checked here, so a table edit that breaks this fails at import)."""
    clear = bool(actions) and actions[0] is TxAction.CLEAR_TIMERS
    rest = actions[1:] if clear else actions
    starts = tuple(START_TIMER[a] for a in rest if a in START_TIMER)
    others = tuple(a for a in rest if a not in START_TIMER and a is not TxAction.PASS)
    regrouped = (TxAction.CLEAR_TIMERS,) * clear + others + tuple(a for a in rest if a in START_TIMER)
    if TxAction.CLEAR_TIMERS in rest or regrouped != tuple(a for a in actions if a is not TxAction.PASS):
        raise AssertionError(f"transaction table actions out of the expected order: {actions}")
    return clear, others, TxAction.PASS in rest, starts


#: Every table (and the initial actions) as plans: (state, input) -> (next state, plan).
_PLANS: dict[TxKind, dict[tuple[TxState, TxInput], tuple[TxState, Plan]]] = {
    kind: {key: (new, _plan(actions)) for key, (new, actions) in table.items()}
    for kind, table in TABLES.items()
}
_INITIAL_PLANS: dict[TxKind, Plan] = {kind: _plan(actions) for kind, (_state, actions) in INITIAL.items()}

ClientKey = tuple[str, str]
ServerKey = tuple[str | int | None, ...]


class TransactionHost(Protocol):
    """What a transaction needs from the core."""

    timer_values: TimerValues
    #: The heap transactions arm their timers on directly (one call per timer, not three).
    timer_heap: TimerHeap
    #: :func:`timer_durations` for unreliable (index 0) and reliable (index 1) transports.
    tx_durations: tuple[Durations, Durations]

    def transmit(self, data: bytes, peer: Peer) -> None: ...

    def on_tx_report(self, tx: Transaction, action: TxAction, now: float) -> None:
        """TIMEOUT, TRANSPORT_FAILED or REQUEST_CANCEL happened to ``tx``."""

    def on_tx_terminated(self, tx: Transaction) -> None: ...


def client_key(branch: str, cseq_method: str) -> ClientKey:
    """§17.1.3: a response matches the client transaction of its top-Via branch and CSeq method."""
    return (branch, cseq_method)


def server_key(request: Request) -> ServerKey:
    """§17.2.3 key of the server transaction a request belongs to (ACK → its INVITE)."""
    via = request.top_via
    method = request.method
    if method == "ACK":
        method = "INVITE"
    branch = via.params.get("branch") or via.branch  # the usual spelling first (a plain dict hit)
    host = via.host.lower()
    port = via.port or default_port(via.transport)
    if branch and branch.startswith(MAGIC_COOKIE):
        return (branch, host, port, method)
    # RFC 2543 fallback (§17.2.3, simplified): no usable branch.
    return ("2543", request.call_id, request.from_.tag, request.cseq.seq, host, port, method)


class Transaction:
    """State, timers and the action interpreter shared by the four machines."""

    __slots__ = (
        "_durations",
        "_heap",
        "_host",
        "_immediate",
        "_interval",
        "_plans",
        "_timers",
        "dialog",
        "key",
        "kind",
        "method",
        "owner",
        "peer",
        "reliable",
        "request",
        "state",
        "user_data",
    )

    def __init__(self, host: TransactionHost, kind: TxKind, request: Request, peer: Peer) -> None:
        self._host = host
        self._heap = host.timer_heap
        self.kind = kind
        self._plans = _PLANS[kind]
        self.request = request
        self.method = request.method
        self.peer = peer
        self.reliable = reliable = peer.transport in RELIABLE_TRANSPORTS
        self._durations = host.tx_durations[reliable]
        self.state = INITIAL[kind][0]
        self._timers: dict[TxInput, TimerEntry] = {}
        self._interval = host.timer_values.t1
        self._immediate: list[TxInput] | None = None  # zero-length waits (reliable transports), rare
        self.dialog: Any = None
        self.owner: Any = None  # core-internal: the REFER subscription / notifier that sent it
        self.key: tuple[Any, ...] = ()
        self.user_data: Any = None

    @property
    def terminated(self) -> bool:
        return self.state is TxState.TERMINATED

    @property
    def branch(self) -> str | None:
        return self.request.top_via.branch

    def _start(self, now: float) -> None:
        self._run_plan(_INITIAL_PLANS[self.kind], now)
        if self._immediate:
            self._drain_immediate(now)

    def _apply(self, inp: TxInput, now: float) -> bool | None:
        """Run one transition. ``None``: no such transition; else whether to pass the input to the TU."""
        entry = self._plans.get((self.state, inp))
        if entry is None:
            return None
        new_state, plan = entry
        self.state = new_state
        self._run_plan(plan, now)
        if new_state is TxState.TERMINATED:
            self._terminate()
        elif self._immediate:
            self._drain_immediate(now)
        return plan[2]  # passed: whether the TU gets the input

    def _drain_immediate(self, now: float) -> None:
        while self._immediate and self.state is not TxState.TERMINATED:
            self._apply(self._immediate.pop(0), now)

    def _run_plan(self, plan: Plan, now: float) -> None:
        """A table entry's actions, in table order: see :func:`_plan`."""
        clear, actions, _passed, starts = plan
        if clear and self._timers:
            self._clear_timers()
        for action in actions:
            if action in _REPORTS:
                self._host.on_tx_report(self, action, now)
            else:
                self._act(action, now)
        for timer in starts:
            self._start_timer(timer, now)

    def _act(self, action: TxAction, now: float) -> None:
        raise TransactionError(f"{self.kind.value} cannot {action.value}")

    # -- timers --

    def _start_timer(self, timer: TxInput, now: float) -> None:
        duration = self._durations[timer]
        if duration is None:  # a retransmission timer on a reliable transport
            return
        if timer in _RETRANSMIT_TIMERS:
            self._interval = duration
        if duration > 0.0 and timer not in self._timers:
            # _arm's common case (a positive wait, none running) without its call: a dozen per call
            self._timers[timer] = self._heap.schedule(now + duration, partial(self._on_timer, timer))
            return
        self._arm(timer, now + duration, now)

    def _arm(self, timer: TxInput, deadline: float, now: float) -> None:
        old = self._timers.pop(timer, None)
        if old is not None:
            self._heap.cancel(old)
        if deadline <= now:
            # zero-length wait on a reliable transport
            if self._immediate is None:
                self._immediate = []
            self._immediate.append(timer)
            return
        self._timers[timer] = self._heap.schedule(deadline, partial(self._on_timer, timer))

    def _on_timer(self, timer: TxInput, fired_at: float) -> None:
        """``timer`` fired: the transaction's input (scheduled as a ``partial``: built in C, no closure)."""
        self._timers.pop(timer, None)
        self._apply(timer, fired_at)

    def _clear_timers(self) -> None:
        cancel = self._heap.cancel
        for entry in self._timers.values():
            cancel(entry)
        self._timers.clear()

    def _terminate(self) -> None:
        if self._timers:
            self._clear_timers()
        self._immediate = None
        self._host.on_tx_terminated(self)

    def transport_error(self, now: float) -> None:
        self._apply(TxInput.TRANSPORT_ERROR, now)

    def __repr__(self) -> str:
        return f"<{self.kind.value} {self.method} {self.state.value} {self.key!r}>"


class ClientTransaction(Transaction):
    """INVITE and non-INVITE client transactions (§17.1.1, §17.1.2)."""

    __slots__ = (
        "_ack_bytes",
        "_request_bytes",
        "cancel_pending",
        "cancel_requested",
        "final_response",
        "got_provisional",
    )

    def __init__(self, host: TransactionHost, request: Request, peer: Peer, now: float) -> None:
        kind = TxKind.INVITE_CLIENT if request.method == "INVITE" else TxKind.NON_INVITE_CLIENT
        super().__init__(host, kind, request, peer)
        self._request_bytes = bytes(request)
        self._ack_bytes: bytes | None = None
        self.final_response: Response | None = None
        self.got_provisional = False
        self.cancel_requested = False  # the TU asked to CANCEL this INVITE
        self.cancel_pending = False  # ... but no provisional response has arrived yet (§9.1)
        self.key = client_key(self.request.top_via.branch or "", request.cseq.method)

    def start(self, now: float) -> None:
        self._host.transmit(self._request_bytes, self.peer)
        self._start(now)

    def cancel_sent(self, now: float) -> None:
        """§9.1: a CANCELled INVITE that gets no final response ends 64*T1 later (Timer B re-armed)."""
        if self.state is TxState.PROCEEDING:
            self._start_timer(TxInput.TIMER_B, now)

    def receive_response(self, response: Response, now: float) -> bool:
        """Feed a matching response; returns whether the TU should see it."""
        status = response.status
        if status < 200:
            inp = TxInput.PROVISIONAL
            self.got_provisional = True
        elif status < 300:
            inp = TxInput.SUCCESS
        else:
            inp = TxInput.FAILURE
        if status >= 200 and self.final_response is None:
            self.final_response = response
        return bool(self._apply(inp, now))

    def _act(self, action: TxAction, now: float) -> None:
        if action is TxAction.RETRANSMIT_A or action is TxAction.RETRANSMIT_E:
            self._host.transmit(self._request_bytes, self.peer)
            values = self._host.timer_values
            doubled = self._interval * 2
            timer = TxInput.TIMER_A if action is TxAction.RETRANSMIT_A else TxInput.TIMER_E
            # Timer A doubles without a cap (§17.1.1.2); Timer E caps at T2 (§17.1.2.2).
            self._interval = doubled if timer is TxInput.TIMER_A else min(doubled, values.t2)
            self._arm(timer, now + self._interval, now)
        elif action is TxAction.RETRANSMIT_E_T2:
            self._host.transmit(self._request_bytes, self.peer)
            self._interval = self._host.timer_values.t2
            self._arm(TxInput.TIMER_E, now + self._interval, now)
        elif action is TxAction.SEND_ACK:
            self._host.transmit(self._ack_for_failure(), self.peer)
        else:
            super()._act(action, now)

    def _ack_for_failure(self) -> bytes:
        """§17.1.1.3: ACK for a 300-699, built once, re-sent for every retransmitted final response."""
        if self._ack_bytes is None:
            req = self.request
            src = req.headers
            assert self.final_response is not None
            fields: list[tuple[str, str]] = [("Via", str(req.top_via))]  # only the top Via
            fields.extend(("Route", v) for v in src.get_raw("Route"))
            fields.append(("Max-Forwards", "70"))
            fields.extend(("From", v) for v in src.get_raw("From"))
            fields.append(("To", self.final_response.headers.get_raw("To")[0]))
            fields.append(("Call-ID", req.call_id))
            fields.append(("CSeq", f"{req.cseq.seq} ACK"))
            self._ack_bytes = bytes(Request("ACK", req.uri, Headers(fields)))
        return self._ack_bytes


class ServerTransaction(Transaction):
    """INVITE and non-INVITE server transactions (§17.2.1, §17.2.2)."""

    __slots__ = ("_response_bytes", "last_response", "local_tag", "response_peer")

    def __init__(self, host: TransactionHost, request: Request, peer: Peer, key: ServerKey) -> None:
        kind = TxKind.INVITE_SERVER if request.method == "INVITE" else TxKind.NON_INVITE_SERVER
        super().__init__(host, kind, request, peer)
        self.key = key
        self.last_response: Response | None = None
        self._response_bytes: bytes | None = None
        self.local_tag: str | None = None
        self.response_peer = response_destination(request.top_via, peer)

    @property
    def response_bytes(self) -> bytes | None:
        """The last response exactly as serialised for the wire (what retransmissions resend)."""
        return self._response_bytes

    def start(self, now: float) -> None:
        self._start(now)

    @property
    def answered(self) -> bool:
        """A final response was sent."""
        return self.last_response is not None and self.last_response.status >= 200

    def receive_request(self, request: Request, now: float) -> bool:
        """A retransmission of the request, or the ACK of an INVITE. True: hand it to the TU/dialog."""
        inp = TxInput.ACK if request.method == "ACK" else TxInput.REQUEST
        return bool(self._apply(inp, now))

    def send_response(self, response: Response, now: float) -> None:
        status = response.status
        if status < 200:
            inp = TxInput.TU_PROVISIONAL
        elif status < 300:
            inp = TxInput.TU_SUCCESS
        else:
            inp = TxInput.TU_FAILURE
        if (self.state, inp) not in self._plans:
            raise TransactionError(f"cannot send {status} in {self.kind.value} state {self.state.value}")
        self.last_response = response
        self._response_bytes = bytes(response)
        self._apply(inp, now)

    def _act(self, action: TxAction, now: float) -> None:
        if action is TxAction.SEND or action is TxAction.RESEND_RESPONSE:
            if self._response_bytes is not None:
                self._host.transmit(self._response_bytes, self.response_peer)
        elif action is TxAction.SEND_100:
            if self.last_response is None:
                trying = make_response(self.request, 100)
                self.last_response = trying
                self._response_bytes = bytes(trying)
                self._host.transmit(self._response_bytes, self.response_peer)
        elif action is TxAction.RETRANSMIT_G:
            if self._response_bytes is not None:
                self._host.transmit(self._response_bytes, self.response_peer)
            self._interval = min(self._interval * 2, self._host.timer_values.t2)
            self._arm(TxInput.TIMER_G, now + self._interval, now)
        else:
            super()._act(action, now)
