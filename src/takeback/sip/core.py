"""The sans-IO SIP core: one per user agent. Bytes and events in, bytes and events out.

It owns the transaction tables (dicts keyed per RFC 3261 §17.1.3/§17.2.3, never scanned per message),
one heap of timers, and the dialog and REFER layers. The runtime feeds it input and the current time,
drains ``data_to_send()`` and ``next_event()``, and arms one timer at ``get_timer()`` (aioquic style).
The contract is ``docs/core-api.md``.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ._dialogs import DialogLayer
from ._refer import ReferLayer
from ._tx_tables import TxAction, TxKind, TxState
from .dialog import TARGET_REFRESH, Dialog, DialogId
from .errors import SipParseError, TransactionError
from .events import (
    CancelReceived,
    Event,
    MessageDiscarded,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
    TransportFailed,
)
from .headers import KNOWN_METHODS, CSeq, Via, parse_via, via_with_params
from .ids import MAGIC_COOKIE, IdGenerator
from .message import Headers, Request, Response
from .parser import parse_message
from .peer import LocalEndpoint, Peer, response_destination, stamp_received
from .responses import DIALOG_CREATING, make_response
from .session_timer import interval_too_small, make_422, session_headers_for_2xx
from .subscription import ReferNotifier, ReferSubscription
from .timers import TimerCallback, TimerEntry, TimerHeap, TimerValues
from .transaction import (
    ClientKey,
    ClientTransaction,
    ServerKey,
    ServerTransaction,
    Transaction,
    client_key,
    server_key,
    timer_durations,
)

__all__ = ["CoreConfig", "LocalEndpoint", "Peer", "SipCore"]

_NEEDS_CONTACT = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY", "UPDATE"})
_SESSION_METHODS = frozenset({"INVITE", "UPDATE"})
#: What a CRLF keep-alive (RFC 5626 §4.4.1) is made of.
_KEEPALIVE_CHARS = b"\r\n \t\x00"
_KEEPALIVE_BYTES = frozenset(_KEEPALIVE_CHARS)


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """Everything tunable about the core; defaults are RFC 3261's (docs/core-api.md §2)."""

    endpoints: tuple[LocalEndpoint, ...]
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_100_trying: float = 0.2
    timer_c: float = 180.0
    user_agent: str = "takeback"
    contact_user: str = "takeback"
    supported: tuple[str, ...] = ("timer",)
    allow: str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, UPDATE, INFO"
    refer_timeout: float = 32.0
    auto_ack_2xx: bool = True
    retransmit_2xx_on_reliable: bool = False
    min_se: int = 90


class SipCore:
    """Transactions, dialogs and REFER subscriptions of one UA, driven entirely from outside."""

    def __init__(self, config: CoreConfig, rng: random.Random) -> None:
        if not config.endpoints:
            raise ValueError("CoreConfig needs at least one LocalEndpoint")
        self.config = config
        self.timer_values = values = TimerValues(config.t1, config.t2, config.t4)
        self.timer_100_trying = config.timer_100_trying
        self.timer_c = config.timer_c
        self.tx_durations = (
            timer_durations(values, config.timer_100_trying, config.timer_c, reliable=False),
            timer_durations(values, config.timer_100_trying, config.timer_c, reliable=True),
        )
        self.ids = IdGenerator(rng)
        self._timers = self.timer_heap = TimerHeap()
        self._events: deque[Event] = deque()
        # The host interface the layers call a dozen times per call: the heap's and the queue's own
        # methods, bound once (a wrapper method would add a Python call to each use).
        self.schedule: Callable[[float, TimerCallback], TimerEntry] = self._timers.schedule
        self.cancel_timer: Callable[[TimerEntry | None], None] = self._timers.cancel
        self.emit: Callable[[Event], None] = self._events.append
        self._outgoing: list[tuple[bytes, Peer]] = []
        self._client_txs: dict[ClientKey, ClientTransaction] = {}
        self._server_txs: dict[ServerKey, ServerTransaction] = {}
        self._endpoints: dict[str, LocalEndpoint] = {}
        for endpoint in config.endpoints:
            self._endpoints.setdefault(endpoint.transport.upper(), endpoint)
        self._contacts: dict[str, str] = {}
        self._via_templates: dict[str, Via] = {}
        self._supported = frozenset(tok.lower() for tok in config.supported)
        self.dialog_layer = DialogLayer(self)
        self.refer_layer = ReferLayer(self)

    # ------------------------------------------------------------------ introspection

    @property
    def transaction_count(self) -> int:
        return len(self._client_txs) + len(self._server_txs)

    @property
    def dialog_count(self) -> int:
        return len(self.dialog_layer.dialogs)

    @property
    def timer_count(self) -> int:
        return len(self._timers)

    @property
    def dialogs(self) -> Mapping[DialogId, Dialog]:
        return MappingProxyType(self.dialog_layer.dialogs)

    # ------------------------------------------------------------------ host interface (layers, transactions)

    def transmit(self, data: bytes, peer: Peer) -> None:
        self._outgoing.append((data, peer))

    def on_tx_terminated(self, tx: Transaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self._client_txs.get(tx.key) is tx:
                del self._client_txs[tx.key]
            if tx.kind is TxKind.INVITE_CLIENT and tx.request.to.tag is None:
                self.dialog_layer.on_invite_client_done(tx, 0.0)
        elif self._server_txs.get(tx.key) is tx:
            del self._server_txs[tx.key]
        if tx.method == "INVITE" and _ended_by_timer(tx):
            # The dialog keeps its ``invite_tx``; the finished transaction lets go of the dialog so the pair
            # is not a reference cycle (freed by the collector only, with every message both hold).
            tx.dialog = None

    def on_tx_report(self, tx: Transaction, action: TxAction, now: float) -> None:
        """Timer B/F/H fired, the transport failed, or Timer C asks to CANCEL."""
        if action is TxAction.REQUEST_CANCEL:
            if isinstance(tx, ClientTransaction):
                self.cancel(tx, now)
            return
        timed_out = action is TxAction.TIMEOUT
        if isinstance(tx, ClientTransaction):
            status, reason = (408, "Request Timeout") if timed_out else (503, "Service Unavailable")
            owner = tx.owner
            tx.owner = None  # its last report (the owner holds the transaction: no cycle left behind)
            if isinstance(owner, ReferSubscription):
                self.refer_layer.on_refer_tx_failed(owner, status, reason)
                return
            if isinstance(owner, ReferNotifier):
                self.refer_layer.on_notify_response(owner, status)
                return
            if tx.method == "CANCEL":
                return
            self.dialog_layer.on_in_dialog_failure(tx, status, now)
        self.emit(TransactionTimedOut(tx) if timed_out else TransportFailed(tx))

    # ------------------------------------------------------------------ input

    def receive_datagram(self, data: bytes, peer: Peer, now: float) -> None:
        """A UDP datagram. CRLF keep-alives (RFC 5626 §4.4.1) are ignored."""
        if not data or (data[0] in _KEEPALIVE_BYTES and not data.strip(_KEEPALIVE_CHARS)):
            return  # (the strip, a copy of the datagram, only for what starts like a keep-alive)
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.emit(MessageDiscarded(peer, str(exc)))
            return
        self.receive_message(message, peer, now)

    def receive_message(self, message: Request | Response, peer: Peer, now: float) -> None:
        """A parsed message (stream transports after framing, or from receive_datagram)."""
        try:
            if isinstance(message, Request):
                self._on_request(message, peer, now)
            else:
                self._on_response(message, peer, now)
        except SipParseError as exc:
            # a header parsed lazily turned out malformed: answer it if it is a request we can route
            if isinstance(message, Request) and message.method != "ACK":
                self._reply_stateless(message, exc.status, exc.reason, peer)
            self.emit(MessageDiscarded(peer, str(exc)))

    def receive_parse_error(self, error: SipParseError, peer: Peer, now: float) -> None:
        """A stream could not be framed; the runtime closes the connection afterwards (§18.3)."""
        self.emit(MessageDiscarded(peer, str(error)))

    def connection_lost(self, connection_id: int, now: float) -> None:
        """A stream closed: client transactions that used it fail (§8.1.3.1 treats it as 503)."""
        for tx in [t for t in self._client_txs.values() if t.peer.connection_id == connection_id]:
            tx.transport_error(now)

    def transport_error(self, peer: Peer, now: float) -> None:
        """Sending to ``peer`` failed (ICMP, connection refused, DNS)."""
        target = (peer.transport, peer.host, peer.port)
        for tx in [
            t for t in self._client_txs.values() if (t.peer.transport, t.peer.host, t.peer.port) == target
        ]:
            tx.transport_error(now)

    # ------------------------------------------------------------------ output

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> list[tuple[bytes, Peer]]:
        out = self._outgoing
        self._outgoing = []
        return out

    def get_timer(self) -> float | None:
        return self._timers.next_deadline()

    def handle_timer(self, now: float) -> None:
        self._timers.run_due(now)

    # ------------------------------------------------------------------ receiving requests

    def _on_request(self, request: Request, peer: Peer, now: float) -> None:
        stamp_received(request, peer)  # first: it edits the top Via (and its cached typed value)
        # parse (and so validate) what matching and dialogs need before touching any state
        if request.method not in (request.cseq.method, "ACK"):
            raise SipParseError("CSeq method does not match the request method")
        request.call_id, request.from_, request.to  # noqa: B018 - validation by parsing
        key = server_key(request)
        tx = self._server_txs.get(key)
        if tx is not None:
            if tx.receive_request(request, now):  # an ACK for a 2xx reusing the INVITE branch
                self.dialog_layer.on_ack(request, peer, now)
            return
        method = request.method
        if method == "ACK":
            self.dialog_layer.on_ack(request, peer, now)
            return
        tx = ServerTransaction(self, request, peer, key)
        self._server_txs[key] = tx
        tx.start(now)
        try:
            self._dispatch_new(tx, peer, now)
        except SipParseError as exc:
            # a header read lazily is malformed: answer on the transaction so nothing lingers
            if not tx.answered and not tx.terminated:
                self.respond(tx, exc.status, exc.reason, now=now)
            self.emit(MessageDiscarded(peer, str(exc)))

    def _dispatch_new(self, tx: ServerTransaction, peer: Peer, now: float) -> None:
        request = tx.request
        method = request.method
        if method == "CANCEL":
            self._on_cancel(tx, now)
        elif self._rejected(tx, now):
            return
        elif (to_tag := request.to.tag) is not None:
            self.dialog_layer.on_request(request, tx, peer, now, to_tag)
        elif method == "BYE":
            self.respond(tx, 481, now=now)
        else:
            self.emit(RequestReceived(request, tx, peer, None))

    def _rejected(self, tx: ServerTransaction, now: float) -> bool:
        """UAS checks that need no TU (§8.2.2.3 Require → 420; RFC 4028 §8 Session-Expires → 422)."""
        request = tx.request
        headers = request.headers
        present = headers.index()  # lookup key → first value: one dict for both checks
        if "require" in present:
            unsupported = [
                tok for tok in headers.get_all("Require") if tok.strip().lower() not in self._supported
            ]
            if unsupported:
                self.respond(tx, 420, headers=[("Unsupported", ", ".join(unsupported))], now=now)
                return True
        if (
            self.config.min_se
            and request.method in _SESSION_METHODS
            and "session-expires" in present
            and interval_too_small(request, self.config.min_se)
        ):
            self.send_response(tx, make_422(request, self.config.min_se), now)
            return True
        return False

    def _on_cancel(self, tx: ServerTransaction, now: float) -> None:
        """§9.2: CANCEL is its own transaction; it finds the INVITE by the same key with method INVITE."""
        invite_tx = self._server_txs.get((*tx.key[:-1], "INVITE"))
        if invite_tx is None:
            self.respond(tx, 481, now=now)
            return
        if invite_tx.local_tag is None:
            invite_tx.local_tag = self.ids.tag()
        tx.local_tag = invite_tx.local_tag  # §9.2: the same To tag in both responses
        self.respond(tx, 200, now=now)
        if not invite_tx.answered:
            self.respond(invite_tx, 487, now=now)
            self.emit(CancelReceived(invite_tx, tx.request))

    def _reply_stateless(self, request: Request, status: int, reason: str, peer: Peer) -> None:
        try:
            response = make_response(request, status, reason, to_tag=self.ids.tag())
            self.transmit(bytes(response), response_destination(request.top_via, peer))
        except SipParseError:
            pass

    # ------------------------------------------------------------------ receiving responses

    def _on_response(self, response: Response, peer: Peer, now: float) -> None:
        branch = response.top_via.branch or ""
        tx = self._client_txs.get(client_key(branch, response.cseq.method))
        if tx is None:
            if response.cseq.method == "INVITE" and 200 <= response.status < 300:
                self.dialog_layer.on_stray_2xx(response)
            else:
                self.emit(MessageDiscarded(peer, f"response {response.status} matches no transaction"))
            return
        if not tx.receive_response(response, now):
            return
        if tx.kind is TxKind.INVITE_CLIENT:
            if response.status < 200 and tx.cancel_pending:
                tx.cancel_pending = False
                self._send_cancel(tx, now)
            self.dialog_layer.on_invite_response(tx, response, peer, now)
            return
        self._on_non_invite_response(tx, response, now)

    def _on_non_invite_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        dialog = tx.dialog
        if dialog is not None and 200 <= response.status < 300 and tx.method in TARGET_REFRESH:
            dialog.adopt_local_contact(tx.request)  # UPDATE, REFER, NOTIFY, SUBSCRIBE accepted
        owner = tx.owner
        if response.status >= 200:
            tx.owner = None  # the final response is its last report (the owner holds the transaction)
        if isinstance(owner, ReferSubscription):
            self.refer_layer.on_refer_response(owner, response, now)
            return
        if isinstance(owner, ReferNotifier):
            self.refer_layer.on_notify_response(owner, response.status)
            return
        if tx.method == "CANCEL":
            return
        if dialog is not None:
            if response.status >= 300:
                self.dialog_layer.on_in_dialog_failure(tx, response.status, now)
            elif response.status >= 200:
                self.dialog_layer.on_in_dialog_2xx(tx, dialog, response, now)
        self.emit(ResponseReceived(response, tx, dialog))

    # ------------------------------------------------------------------ TU: requests

    def make_request(
        self,
        method: str,
        request_uri: str,
        *,
        from_: str,
        to: str,
        call_id: str | None = None,
        cseq: int = 1,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """An out-of-dialog request (§8.1.1): From tag, Call-ID, CSeq, Max-Forwards; Via comes at send."""
        fields = [
            ("Max-Forwards", "70"),
            ("From", f"{from_};tag={self.ids.tag()}"),
            ("To", to),
            ("Call-ID", call_id or self.ids.call_id()),
            ("CSeq", f"{cseq} {method}"),
            *headers,
        ]
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        return Request(method, request_uri, Headers(fields), body)

    def prepare_request(self, request: Request, dest: Peer) -> None:
        """Add the top Via (new branch, ;rport), a Contact where needed, and User-Agent."""
        headers = request.headers
        if "Via" not in headers:
            via = self.via(dest.transport)
            headers = Headers([("Via", via), *headers.items_as_written()])
            request.headers = headers
        if request.method in _NEEDS_CONTACT and "Contact" not in headers:
            headers.add("Contact", self.contact(dest.transport))
        if request.method == "INVITE" and self.config.allow and "Allow" not in headers:
            headers.add("Allow", self.config.allow)
        if self.config.user_agent and "User-Agent" not in headers:
            headers.add("User-Agent", self.config.user_agent)

    def send_request(self, request: Request, dest: Peer, now: float) -> ClientTransaction:
        """Start a client transaction (§17.1). ACK and CANCEL have their own API."""
        if request.method in ("ACK", "CANCEL"):
            raise TransactionError(f"{request.method} is sent by core.ack()/core.cancel()")
        self.prepare_request(request, dest)
        tx = ClientTransaction(self, request, dest, now)
        if tx.key in self._client_txs:
            raise TransactionError(f"a client transaction with branch {tx.key[0]} exists")
        self._client_txs[tx.key] = tx
        tx.start(now)
        return tx

    def cancel(self, invite_tx: ClientTransaction, now: float, *, reason: str | None = None) -> None:
        """§9.1: CANCEL an INVITE we sent; held back until a provisional response has arrived."""
        if invite_tx.kind is not TxKind.INVITE_CLIENT:
            raise TransactionError("only an INVITE can be cancelled")
        if invite_tx.final_response is not None or invite_tx.terminated or invite_tx.cancel_requested:
            return
        invite_tx.cancel_requested = True
        if invite_tx.got_provisional:
            self._send_cancel(invite_tx, now, reason)
        else:
            invite_tx.cancel_pending = True

    def _send_cancel(self, invite_tx: ClientTransaction, now: float, reason: str | None = None) -> None:
        invite = invite_tx.request
        src = invite.headers
        fields = [("Via", str(invite.top_via))]
        fields += [("Route", v) for v in src.get_raw("Route")]
        fields += [("Max-Forwards", "70"), ("From", src.get_raw("From")[0]), ("To", src.get_raw("To")[0])]
        fields += [("Call-ID", invite.call_id), ("CSeq", f"{invite.cseq.seq} CANCEL")]
        if reason:
            fields.append(("Reason", reason))
        cancel = Request("CANCEL", invite.uri, Headers(fields))
        tx = ClientTransaction(self, cancel, invite_tx.peer, now)
        self._client_txs[tx.key] = tx
        tx.start(now)
        invite_tx.cancel_sent(now)

    # ------------------------------------------------------------------ TU: responses

    def make_response(
        self, request: Request, status: int, reason: str = "", *, to_tag: str | None = None
    ) -> Response:
        return make_response(request, status, reason, to_tag=to_tag)

    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> None:
        """Send on ``tx`` after completing the response (To tag, Contact, Server, session timer)."""
        self._send_completed(tx, response, now, to_tagged=False)

    def _send_completed(
        self, tx: ServerTransaction, response: Response, now: float, *, to_tagged: bool
    ) -> None:
        if tx.state is TxState.TERMINATED:
            raise TransactionError("the server transaction is terminated")
        self._complete_response(tx, response, to_tagged)
        tx.send_response(response, now)
        self.dialog_layer.on_uas_response(tx, response, now)

    def _complete_response(self, tx: ServerTransaction, response: Response, to_tagged: bool) -> None:
        """``to_tagged``: make_response already wrote ``tx.local_tag`` into To (no need to parse it)."""
        request = tx.request
        status = response.status
        headers = response.headers
        if status > 100 and not to_tagged and request.to.tag is None:
            tag = response.to.tag
            if tag is None:
                tag = tx.local_tag or self.ids.tag()
                headers.set("To", f"{headers.get_raw('To')[0]};tag={tag}")
            tx.local_tag = tag
        method = request.method
        if 100 < status < 300 and method in TARGET_REFRESH:  # ⊇ DIALOG_CREATING
            self._response_contact(tx, headers, status)
        # lookup key → first value; adding a line keeps it current, so one lookup serves every check
        present = headers.index()
        if 200 <= status < 300 and method in _SESSION_METHODS and "session-expires" not in present:
            for name, value in session_headers_for_2xx(request):
                headers.add(name, value)
        config = self.config
        if method == "INVITE" and 200 <= status < 300 and config.allow and "allow" not in present:
            headers.add("Allow", config.allow)  # §20.5: what the peer may send in this dialog
        if config.user_agent and "server" not in present:
            headers.add("Server", config.user_agent)

    def _response_contact(self, tx: ServerTransaction, headers: Headers, status: int) -> None:
        """Contact of a 101-299 to a target refresh (or dialog-creating) request.

        In a dialog it is the dialog's own Contact (§12.1.1: where the peer reaches us). A 2xx to a target
        refresh carries it (RFC 3311 for UPDATE, RFC 6665 for SUBSCRIBE/NOTIFY) and may refresh the peer's
        remote target (§12.2.1.2), so it must stay that one; a Contact the TU wrote on such a 2xx becomes
        the dialog's. Outside a dialog the UA-wide Contact answers the requests that create one (§12.1.1;
        SUBSCRIBE, REFER). A 1xx carries one only for INVITE (§12.1.1 early dialogs).
        """
        dialog = tx.dialog
        if "contact" in headers.index():
            if dialog is not None and status >= 200:
                dialog.local_contact = headers.get("Contact") or dialog.local_contact
            return
        if status < 200 and tx.request.method != "INVITE":
            return
        if dialog is not None:
            headers._add_trusted("Contact", dialog.local_contact or self.contact(dialog.transport))
        elif tx.request.method in DIALOG_CREATING:
            headers._add_trusted("Contact", self.contact(tx.peer.transport))  # built from our endpoint

    def respond(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str = "",
        *,
        now: float,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """make_response + send_response: the usual way for the TU to answer."""
        if tx.local_tag is None and status > 100:
            tx.local_tag = self.ids.tag()  # tag now: saves rewriting To in _complete_response
        response = make_response(tx.request, status, reason, to_tag=tx.local_tag)
        fields = response.headers
        for name, value in headers:
            fields.add(name, value)
        if content_type is not None:
            fields.add("Content-Type", content_type)
        response.body = body
        # make_response put tx.local_tag in To unless the request had a To tag (then nothing to do)
        self._send_completed(tx, response, now, to_tagged=status > 100)
        return response

    def make_422(self, request: Request, min_se: int | None = None) -> Response:
        return make_422(request, min_se or self.config.min_se)

    # ------------------------------------------------------------------ TU: dialogs

    def create_request(
        self,
        dialog: Dialog,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """§12.2.1.1 request within ``dialog`` (CSeq incremented, Route set, Contact where needed).

        A target refresh request carries the dialog's own Contact (``dialog.local_contact``, the one that
        created it, §12.1.1/§12.1.2), else the UA-wide one; a Contact in ``headers`` wins.
        """
        headers = list(headers)
        has_contact = any(name.lower() in ("contact", "m") for name, _ in headers)
        contact = None if has_contact else dialog.local_contact or self.contact(dialog.transport)
        transport = dialog.next_hop().transport
        branch = self.ids.branch()
        request = dialog.create_request(method, contact=contact, via=self._via_text(transport, branch))
        fields = request.headers
        for name, value in headers:
            fields.add(name, value)
        if content_type is not None:
            fields.add("Content-Type", content_type)
        request.body = body
        self._note_built(request, transport, branch, dialog.local_seq)
        return request

    def _note_built(self, request: Request, transport: str, branch: str, seq: int) -> None:
        """Cache the typed top Via and CSeq of a request we just wrote, as parsing them would give: the
        transaction key and the REFER's subscription id need them, and re-parsing our own text is waste.
        A header edited later drops its cached value (Headers' rule), so these can never go stale."""
        template = self._via_template(transport)
        if template is None:
            return  # an endpoint whose sent-by does not parse: sending reports it, as it always did
        typed = request.headers.typed
        typed["top:via"] = via_with_params(template, {"branch": branch, "rport": None})
        method = request.method
        if method in KNOWN_METHODS and seq < 2**31:  # what parse_cseq accepts without looking further
            typed["cseq"] = CSeq(seq, method)

    def send_in_dialog(self, dialog: Dialog, request: Request, now: float) -> ClientTransaction:
        return self.dialog_layer.send(dialog, request, now)

    def request(
        self,
        dialog: Dialog,
        method: str,
        now: float,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> ClientTransaction:
        req = self.create_request(dialog, method, headers=headers, body=body, content_type=content_type)
        return self.send_in_dialog(dialog, req, now)

    def bye(
        self, dialog: Dialog, now: float, *, headers: Iterable[tuple[str, str]] = ()
    ) -> ClientTransaction | None:
        """BYE (§15.1.1); after a 401/407 to it, call again with credentials in ``headers`` (§22.2/§22.3)."""
        return self.dialog_layer.bye(dialog, now, headers)

    def ack(self, dialog: Dialog, now: float, *, body: bytes = b"", content_type: str | None = None) -> None:
        """The TU's ACK for the latest 2xx when ``auto_ack_2xx`` is off."""
        if dialog.ack_data is not None and dialog.ack_cseq == dialog.invite.cseq.seq:
            raise TransactionError("this 2xx was already acknowledged")
        self.dialog_layer.send_ack(dialog, now, body=body, content_type=content_type)

    # ------------------------------------------------------------------ TU: REFER

    def refer(
        self, dialog: Dialog, refer_to: str, now: float, *, headers: Iterable[tuple[str, str]] = ()
    ) -> ReferSubscription:
        return self.refer_layer.refer(dialog, refer_to, now, headers)

    def accept_refer(
        self, notifier: ReferNotifier, now: float, *, expires: int = 60, notify_trying: bool = True
    ) -> None:
        self.refer_layer.accept(notifier, now, expires, notify_trying)

    def notify_refer(
        self, notifier: ReferNotifier, status: int, reason: str, now: float, *, terminal: bool | None = None
    ) -> ClientTransaction:
        return self.refer_layer.notify(notifier, status, reason, now, terminal=terminal)

    def reject_refer(self, notifier: ReferNotifier, status: int, now: float, *, reason: str = "") -> None:
        self.refer_layer.reject(notifier, status, now, reason)

    # ------------------------------------------------------------------ addressing

    def via(self, transport: str) -> str:
        """A top Via for a new client transaction: our sent-by, a fresh branch, ``rport`` (RFC 3581)."""
        return self._via_text(transport, self.ids.branch())

    def _via_text(self, transport: str, branch: str) -> str:
        return f"SIP/2.0/{transport} {self._endpoint(transport).hostport};branch={branch};rport"

    def _via_template(self, transport: str) -> Via | None:
        """Our Via for ``transport`` parsed once: every one we write differs only in its branch."""
        template = self._via_templates.get(transport)
        if template is None:
            try:
                template = parse_via(self._via_text(transport, MAGIC_COOKIE))
            except SipParseError:
                return None
            self._via_templates[transport] = template
        return template

    def _endpoint(self, transport: str) -> LocalEndpoint:
        endpoint = self._endpoints.get(transport)
        if endpoint is None:
            raise TransactionError(f"no local endpoint for transport {transport}")
        return endpoint

    def contact(self, transport: str) -> str:
        """Our Contact for ``transport``: scheme-consistent (``sips:`` over TLS, GENESYS.md §12 item 9)."""
        contact = self._contacts.get(transport)
        if contact is None:
            endpoint = self._endpoint(transport)
            user = self.config.contact_user
            userinfo = f"{user}@" if user else ""
            if transport == "TLS":
                contact = f"<sips:{userinfo}{endpoint.hostport}>"
            elif transport == "UDP":
                contact = f"<sip:{userinfo}{endpoint.hostport}>"
            else:
                contact = f"<sip:{userinfo}{endpoint.hostport};transport={transport.lower()}>"
            self._contacts[transport] = contact
        return contact


def _ended_by_timer(tx: Transaction) -> bool:
    """An INVITE transaction nobody reads ``tx.dialog`` of once it has ended. Every INVITE server one: it ends
    by Timer L, H or I, and when I is zero (reliable transports) the ACK that ended it is absorbed without
    the dialog. A client one after a 2xx: it ends by Timer M. A client INVITE ended by a failure on a
    reliable transport (Timer D is zero) keeps its dialog: the response that ended it is still being
    handled, and a re-INVITE's failure updates the dialog."""
    if isinstance(tx, ServerTransaction):
        return True
    final = tx.final_response if isinstance(tx, ClientTransaction) else None
    return final is not None and final.status < 300
