"""The dialog layer of the core: creates dialogs from INVITE transactions and runs what RFC 3261 gives
the UA core rather than the transaction layer.

UAC: dialogs from 1xx-with-tag / 2xx (§12.1.2, one per To tag when forked), the ACK for every 2xx and
its re-sending on 2xx retransmissions (§13.2.2.4). UAS: dialogs from our 1xx/2xx (§12.1.1), the 2xx
retransmission with T1..T2 back-off until the ACK and the BYE when none comes in 64*T1 (§13.3.1.4).
Both: in-dialog request checks (481, CSeq → 500, §12.2.2), BYE (§15) and its authorized retry after a
401/407 (§22.2/§22.3: see :meth:`DialogLayer.bye`), re-INVITE glare (§14), target
refresh of both targets (the peer's from its Contact, ours from the Contact of our accepted target refresh),
session timers (RFC 4028) and the RFC 5057 rule that a dialog lives while any usage lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .dialog import TARGET_REFRESH, Dialog, DialogId, DialogState
from .errors import TransactionError
from .events import (
    AckReceived,
    DialogConfirmed,
    DialogCreated,
    DialogTerminated,
    RequestReceived,
    ResponseReceived,
    SessionExpired,
    SessionRefreshDue,
)
from .message import Request, Response
from .peer import Peer
from .session_timer import SessionTimer, session_from_2xx
from .timers import TimerEntry
from .transaction import ClientTransaction, ServerTransaction

if TYPE_CHECKING:
    from .core import SipCore

__all__ = ["DialogLayer"]

#: Requests of the INVITE usage: a 481/408 to them ends the dialog (§12.2.1.2, RFC 5057 §5.2).
_INVITE_USAGE = frozenset({"INVITE", "BYE", "UPDATE", "INFO", "PRACK", "ACK"})
#: Final responses to our BYE that leave room for its authorized retry (§22.2 401, §22.3 407).
_CHALLENGES = frozenset({401, 407})
#: The headers that make a BYE retry an authorized one (§22.2, §22.3).
_CREDENTIALS = frozenset({"authorization", "proxy-authorization"})


class _Retransmit2xx:
    """§13.3.1.4 state for one 2xx awaiting its ACK."""

    __slots__ = ("cseq", "data", "give_up_at", "interval", "peer", "resend", "timer")

    def __init__(self, cseq: int, data: bytes, peer: Peer, give_up_at: float, interval: float) -> None:
        self.cseq = cseq
        self.data = data
        self.peer = peer
        self.give_up_at = give_up_at
        self.interval = interval
        self.resend = True
        self.timer: TimerEntry | None = None


class DialogLayer:
    __slots__ = ("_by_invite", "core", "dialogs")

    def __init__(self, core: SipCore) -> None:
        self.core = core
        self.dialogs: dict[DialogId, Dialog] = {}
        # every dialog an INVITE client transaction created, until it ends (forking, §13.2.2.4)
        self._by_invite: dict[ClientTransaction, list[Dialog]] = {}

    # ------------------------------------------------------------------ UAC

    def on_invite_response(self, tx: ClientTransaction, response: Response, peer: Peer, now: float) -> None:
        """A response the INVITE client transaction passed up (§13.2.2)."""
        if tx.request.to.tag is not None:
            self._on_reinvite_response(tx, response, now)
            return
        status = response.status
        if status >= 300:
            for early in self._by_invite.get(tx, ()):
                if early.state is DialogState.EARLY:
                    self.terminate(early, "rejected", now)
            self.core.emit(ResponseReceived(response, tx, tx.dialog))
            return
        tag = response.to.tag
        if tag is None or status == 100:
            self.core.emit(ResponseReceived(response, tx, None))
            return
        dialog = self._uac_dialog(tx, response, tag, peer)
        if dialog is None:
            return
        if status < 200:
            self.core.emit(ResponseReceived(response, tx, dialog))
            return
        if dialog.ack_cseq == response.cseq.seq:  # 2xx retransmission: ACK again, nothing for the TU
            self._resend_ack(dialog)
            return
        self._confirm_uac(tx, dialog, response, peer, now)

    def _uac_dialog(self, tx: ClientTransaction, response: Response, tag: str, peer: Peer) -> Dialog | None:
        known = self._by_invite.setdefault(tx, [])
        for dialog in known:
            if dialog.remote_tag == tag:
                return dialog if dialog.invite_usage_active or dialog.ack_data else None
        dialog = Dialog.for_uac(tx.request, response, peer)
        dialog.invite_tx = tx
        known.append(dialog)
        self.dialogs[dialog.id] = dialog
        tx.dialog = dialog
        self.core.emit(DialogCreated(dialog))
        return dialog

    def _confirm_uac(
        self, tx: ClientTransaction, dialog: Dialog, response: Response, peer: Peer, now: float
    ) -> None:
        dialog.state = DialogState.CONFIRMED
        dialog.peer = peer
        dialog.refresh_target(response)
        tx.dialog = dialog
        self.core.emit(DialogConfirmed(dialog))
        self._arm_session(dialog, session_from_2xx(response, we_sent_it=False, request=tx.request), now)
        dialog.ack_cseq = response.cseq.seq
        if self.core.config.auto_ack_2xx or tx.cancel_requested:
            self.send_ack(dialog, now)
        if tx.cancel_requested:  # CANCEL lost the race against a 2xx (§9.1): end the call at once
            self._send_bye(dialog, now, "cancelled")
        self.core.emit(ResponseReceived(response, tx, dialog))

    def _on_reinvite_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        dialog: Dialog | None = tx.dialog
        if dialog is None:
            return
        status = response.status
        if 200 <= status < 300:
            if dialog.ack_cseq == response.cseq.seq:
                self._resend_ack(dialog)
                return
            dialog.refresh_target(response)
            dialog.adopt_local_contact(tx.request)  # our re-INVITE's Contact is accepted (§12.2.1.2)
            self._arm_session(dialog, session_from_2xx(response, we_sent_it=False, request=tx.request), now)
            dialog.ack_cseq = response.cseq.seq
            if self.core.config.auto_ack_2xx:
                self.send_ack(dialog, now, invite=tx.request)
        if status >= 200 and dialog.pending_client_invite is tx:
            dialog.pending_client_invite = None
        if status in (408, 481):
            self.terminate(dialog, str(status), now)
        self.core.emit(ResponseReceived(response, tx, dialog))

    def on_in_dialog_2xx(self, tx: ClientTransaction, dialog: Dialog, response: Response, now: float) -> None:
        """A 2xx to our in-dialog non-INVITE request: our BYE is done (§15.1.1); UPDATE is a target refresh
        whose 2xx may renew the session timer (RFC 3311 §5.1, RFC 4028)."""
        if tx.method == "BYE":
            self._on_bye_final(tx, response.status, now)
            return
        if tx.method != "UPDATE":
            return
        dialog.refresh_target(response)
        self._arm_session(dialog, session_from_2xx(response, we_sent_it=False, request=tx.request), now)

    def send_ack(
        self,
        dialog: Dialog,
        now: float,
        *,
        invite: Request | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> None:
        """Build, send and remember the ACK for the 2xx of ``invite`` (default: the dialog's INVITE)."""
        dest = dialog.next_hop()
        ack = dialog.create_ack(invite or dialog.invite, via=self.core.via(dest.transport))
        if body:
            ack.body = body
            if content_type:
                ack.headers.add("Content-Type", content_type)
        self.core.prepare_request(ack, dest)
        dialog.ack_data = bytes(ack)
        dialog.ack_peer = dest
        self.core.transmit(dialog.ack_data, dest)

    def _resend_ack(self, dialog: Dialog) -> None:
        if dialog.ack_data is not None and dialog.ack_peer is not None:
            self.core.transmit(dialog.ack_data, dialog.ack_peer)

    def on_stray_2xx(self, response: Response) -> None:
        """A 2xx retransmission after the client transaction ended (Timer M): ACK it again."""
        tag = response.to.tag
        from_tag = response.from_.tag
        if tag is None or from_tag is None:
            return
        dialog = self.dialogs.get(DialogId(response.call_id, from_tag, tag))
        if dialog is not None and dialog.ack_cseq == response.cseq.seq:
            self._resend_ack(dialog)

    def on_invite_client_done(self, tx: ClientTransaction, now: float) -> None:
        """The INVITE client transaction terminated: early dialogs that never got a 2xx die.

        On a reliable transport Timer D is zero, so this runs while the final response is still being
        processed; the reason is taken from that response then.
        """
        final = tx.final_response
        reason = "rejected" if final is not None and final.status >= 300 else "timeout"
        for dialog in self._by_invite.pop(tx, ()):
            if dialog.state is DialogState.EARLY:
                self.terminate(dialog, reason, now)

    # ------------------------------------------------------------------ UAS

    def on_uas_response(self, tx: ServerTransaction, response: Response, now: float) -> None:
        """After the TU sent ``response`` on ``tx``: create/confirm/end dialogs, arm 2xx retransmission."""
        request = tx.request
        status = response.status
        if request.method == "UPDATE" and 200 <= status < 300 and tx.dialog is not None:
            tx.dialog.refresh_target(request)
            self._arm_session(tx.dialog, session_from_2xx(response, we_sent_it=True, request=request), now)
            return
        if request.method != "INVITE" or status == 100:
            return
        dialog: Dialog | None = tx.dialog
        if dialog is None:
            if status >= 300:
                return
            dialog = self._create_uas(tx, response)
        if status < 200:
            return
        if status >= 300:
            if dialog.pending_server_invite is tx:
                dialog.pending_server_invite = None
            elif dialog.state is DialogState.EARLY:
                self.terminate(dialog, "rejected", now)
            return
        if dialog.state is DialogState.EARLY:
            dialog.state = DialogState.CONFIRMED
            self.core.emit(DialogConfirmed(dialog))
        elif dialog.pending_server_invite is tx:
            dialog.pending_server_invite = None
            dialog.refresh_target(request)
        self._arm_session(dialog, session_from_2xx(response, we_sent_it=True, request=request), now)
        self._start_2xx_retransmission(dialog, tx, response, now)

    def _create_uas(self, tx: ServerTransaction, response: Response) -> Dialog:
        """§12.1.1: the dialog our 1xx/2xx created; its Contact is our side's target from now on."""
        assert tx.local_tag is not None
        contact = response.headers.get("Contact")
        dialog = Dialog.for_uas(tx.request, tx.local_tag, tx.peer, contact)
        dialog.invite_tx = tx
        tx.dialog = dialog
        self.dialogs[dialog.id] = dialog
        self.core.emit(DialogCreated(dialog))
        return dialog

    def _start_2xx_retransmission(
        self, dialog: Dialog, tx: ServerTransaction, response: Response, now: float
    ) -> None:
        self._stop_retransmission(dialog)
        values = self.core.timer_values
        # the transaction serialised this very response a moment ago: reuse those bytes
        sent = tx.response_bytes if tx.last_response is response else None
        data = sent if sent is not None else bytes(response)
        state = _Retransmit2xx(tx.request.cseq.seq, data, tx.response_peer, now + values.timeout, values.t1)
        state.resend = not tx.reliable or self.core.config.retransmit_2xx_on_reliable
        dialog.retransmit = state
        first = now + values.t1 if state.resend else state.give_up_at
        state.timer = self.core.schedule(first, lambda t: self._on_2xx_timer(dialog, state, t))

    def _on_2xx_timer(self, dialog: Dialog, state: _Retransmit2xx, now: float) -> None:
        state.timer = None
        if dialog.retransmit is not state:
            return
        if now >= state.give_up_at - 1e-9:
            dialog.retransmit = None  # §13.3.1.4: no ACK in 64*T1 → confirmed, but end it with BYE
            self._send_bye(dialog, now, "no-ack")
            return
        self.core.transmit(state.data, state.peer)
        state.interval = min(state.interval * 2, self.core.timer_values.t2)
        deadline = min(now + state.interval, state.give_up_at)
        state.timer = self.core.schedule(deadline, lambda t: self._on_2xx_timer(dialog, state, t))

    def _stop_retransmission(self, dialog: Dialog) -> None:
        state = dialog.retransmit
        if isinstance(state, _Retransmit2xx):
            self.core.cancel_timer(state.timer)
        dialog.retransmit = None

    def on_ack(self, request: Request, peer: Peer, now: float) -> None:
        """An ACK that matched no server transaction: the ACK for a 2xx (§13.3.1.4), or a stray."""
        to_tag = request.to.tag
        if to_tag is None:
            return
        dialog = self.dialogs.get(DialogId(request.call_id, to_tag, request.from_.tag or ""))
        if dialog is None:
            return
        state = dialog.retransmit
        if not isinstance(state, _Retransmit2xx) or state.cseq != request.cseq.seq:
            return  # a retransmitted ACK: absorbed
        self._stop_retransmission(dialog)
        dialog.peer = peer
        self.core.emit(AckReceived(request, dialog, peer))
        if dialog.bye_pending:
            dialog.bye_pending = False
            self._send_bye(dialog, now, "local-bye")

    # ------------------------------------------------------------------ in-dialog requests

    def on_request(
        self, request: Request, tx: ServerTransaction, peer: Peer, now: float, to_tag: str | None = None
    ) -> None:
        """A request with a To tag (§12.2.2); ``to_tag``: that tag, when the caller has read it already."""
        if to_tag is None:
            to_tag = request.to.tag or ""
        dialog = self.dialogs.get(DialogId(request.call_id, to_tag, request.from_.tag or ""))
        method = request.method
        if dialog is None or not self._accepts(dialog, method):
            self.core.respond(tx, 481, now=now)
            return
        seq = request.cseq.seq
        if dialog.remote_seq is not None and seq < dialog.remote_seq:
            self.core.respond(tx, 500, "CSeq Out Of Order", now=now)
            return
        dialog.remote_seq = seq
        dialog.peer = peer
        tx.dialog = dialog
        if method == "BYE":
            self._on_bye(dialog, tx, now)
        elif method == "NOTIFY":
            self.core.refer_layer.on_notify(dialog, request, tx, peer, now)
        elif method == "REFER":
            self.core.refer_layer.on_refer(dialog, request, tx, peer, now)
        elif method == "INVITE" and not self._reinvite_allowed(dialog, tx, now):
            return
        else:
            self.core.emit(RequestReceived(request, tx, peer, dialog))

    @staticmethod
    def _accepts(dialog: Dialog, method: str) -> bool:
        """Whether an in-dialog request is processed rather than answered 481 (§12.2.2).

        Once we sent BYE the session is over (§15.1.1): only NOTIFY (a subscription usage may outlive it,
        RFC 5057) and a BYE crossing ours (the dialog lasts until our BYE's final response) get through.
        """
        if dialog.invite_usage_active or method == "NOTIFY":
            return True
        return method == "BYE" and dialog.bye_outstanding

    def _reinvite_allowed(self, dialog: Dialog, tx: ServerTransaction, now: float) -> bool:
        """§14.2: one INVITE at a time per dialog (500 + Retry-After, or 491 on glare)."""
        if dialog.pending_server_invite is not None and not dialog.pending_server_invite.answered:
            self.core.respond(tx, 500, headers=[("Retry-After", "1")], now=now)
            return False
        if dialog.pending_client_invite is not None:
            self.core.respond(tx, 491, now=now)
            return False
        dialog.pending_server_invite = tx
        return True

    def _on_bye(self, dialog: Dialog, tx: ServerTransaction, now: float) -> None:
        """§15.1.2: 200 to the BYE, 487 to any INVITE of the dialog still unanswered, dialog over.

        A BYE crossing ours also gets its 200; the dialog is then over for both sides, so a retry of our
        BYE after a challenge is off (the late final response to ours changes nothing).
        """
        self.core.respond(tx, 200, now=now)
        unanswered = [
            pending
            for pending in (dialog.pending_server_invite, dialog.invite_tx)
            if isinstance(pending, ServerTransaction) and not pending.answered and not pending.terminated
        ]
        self.terminate(dialog, "remote-bye", now)
        self._drop_bye(dialog)
        for pending in unanswered:
            self.core.respond(pending, 487, now=now)

    # ------------------------------------------------------------------ sending, ending

    def send(self, dialog: Dialog, request: Request, now: float) -> ClientTransaction:
        """Send ``request`` in ``dialog``; a target refresh the TU built without Contact gets the
        dialog's own (create_request already wrote it on the ones it built)."""
        method = request.method
        if not self._may_send(dialog, method):
            raise TransactionError(f"dialog {dialog.id} is terminated")
        if method in TARGET_REFRESH and dialog.local_contact and "Contact" not in request.headers:
            request.headers.add("Contact", dialog.local_contact)
        tx = self.core.send_request(request, dialog.next_hop(), now)
        tx.dialog = dialog
        if method == "INVITE":
            dialog.pending_client_invite = tx
        return tx

    @staticmethod
    def _may_send(dialog: Dialog, method: str) -> bool:
        """After our BYE only the authorized BYE retry (§22.2/§22.3) and a subscription's NOTIFY may go."""
        if method == "BYE" and dialog.bye_retry_open:
            return True
        return dialog.has_usages and (dialog.invite_usage_active or method == "NOTIFY")

    def bye(
        self, dialog: Dialog, now: float, headers: Iterable[tuple[str, str]] = ()
    ) -> ClientTransaction | None:
        """End the call (§15.1.1): the dialog is terminated (DialogTerminated) as the BYE goes.

        It stays in the table until the BYE's final response, and after a 401/407 for one more 64*T1 so
        the TU can call ``bye`` again with ``Authorization``/``Proxy-Authorization`` in ``headers``
        (§22.2/§22.3: same dialog, new CSeq). None when there is nothing to send.
        """
        if dialog.bye_retry_open:
            return self._retry_bye(dialog, now, list(headers))
        if not dialog.invite_usage_active:
            return None
        if dialog.state is DialogState.EARLY:
            if isinstance(dialog.invite_tx, ClientTransaction):
                self.core.cancel(dialog.invite_tx, now)
                return None
            raise TransactionError("a UAS ends an early dialog with a final response, not BYE (§15)")
        if dialog.retransmit is not None:  # §15: the callee waits for the ACK before its BYE
            dialog.bye_pending = True
            return None
        return self._send_bye(dialog, now, "local-bye", headers)

    def _send_bye(
        self, dialog: Dialog, now: float, reason: str, headers: Iterable[tuple[str, str]] = ()
    ) -> ClientTransaction:
        request = self.core.create_request(dialog, "BYE", headers=headers)
        tx = self.send(dialog, request, now)
        dialog.bye_tx = tx  # before terminate: the dialog stays in the table for the BYE's outcome
        self.terminate(dialog, reason, now)
        return tx

    def _retry_bye(self, dialog: Dialog, now: float, headers: list[tuple[str, str]]) -> ClientTransaction:
        """§22.2/§22.3: the challenged BYE again, with credentials, as a new request (new CSeq)."""
        if not any(name.lower() in _CREDENTIALS for name, _ in headers):
            raise TransactionError("a BYE retry after 401/407 needs Authorization or Proxy-Authorization")
        request = self.core.create_request(dialog, "BYE", headers=headers)
        tx = self.send(dialog, request, now)
        self.core.cancel_timer(dialog.bye_retry_timer)
        dialog.bye_retry_timer = None
        dialog.bye_tx = tx
        return tx

    def _on_bye_final(self, tx: ClientTransaction, status: int, now: float) -> None:
        """Our BYE's final response (or timeout): a challenge opens the retry window, all else ends it."""
        dialog = tx.dialog
        if dialog is None or dialog.bye_tx is not tx:
            return
        if status in _CHALLENGES:
            deadline = now + self.core.timer_values.timeout
            dialog.bye_retry_timer = self.core.schedule(deadline, lambda _t: self._drop_bye(dialog))
            return
        self._drop_bye(dialog)

    def _drop_bye(self, dialog: Dialog) -> None:
        """Nothing more will be sent for our BYE: forget it, release the dialog if no usage is left."""
        if dialog.bye_tx is None:
            return
        self.core.cancel_timer(dialog.bye_retry_timer)
        dialog.bye_retry_timer = None
        dialog.bye_tx = None
        self.maybe_release(dialog)

    def terminate(self, dialog: Dialog, reason: str, now: float) -> None:
        """End the INVITE usage (emits :class:`DialogTerminated` once); the dialog object goes when no
        subscription usage is left (RFC 5057)."""
        if not dialog.invite_usage_active:
            return
        dialog.state = DialogState.TERMINATED
        dialog.terminate_reason = reason
        dialog.bye_pending = False
        self._stop_retransmission(dialog)
        self.core.cancel_timer(dialog.session_timer)
        dialog.session_timer = None
        self.core.emit(DialogTerminated(dialog, reason))
        self.maybe_release(dialog)

    def maybe_release(self, dialog: Dialog) -> None:
        if not dialog.has_usages and not dialog.bye_outstanding:
            self.dialogs.pop(dialog.id, None)

    def on_in_dialog_failure(self, tx: ClientTransaction, status: int, now: float) -> None:
        """§12.2.1.2 / RFC 5057: 481, or 408/timeout to an INVITE-usage request, ends the dialog."""
        dialog: Dialog | None = tx.dialog
        if dialog is None:
            return
        if tx.method == "BYE":
            self._on_bye_final(tx, status, now)
        if dialog.pending_client_invite is tx:
            dialog.pending_client_invite = None
        if status == 481 or (status == 408 and tx.method in _INVITE_USAGE):
            self.terminate(dialog, str(status), now)

    # ------------------------------------------------------------------ session timers (RFC 4028)

    def _arm_session(self, dialog: Dialog, timer: SessionTimer | None, now: float) -> None:
        self.core.cancel_timer(dialog.session_timer)
        dialog.session_timer = None
        if timer is None:
            return
        dialog.session = timer
        dialog.session_timer = self.core.schedule(
            now + timer.delay(), lambda t: self._on_session_timer(dialog, timer)
        )

    def _on_session_timer(self, dialog: Dialog, timer: SessionTimer) -> None:
        dialog.session_timer = None
        if not dialog.invite_usage_active or dialog.session is not timer:
            return
        self.core.emit(SessionRefreshDue(dialog) if timer.we_refresh else SessionExpired(dialog))
