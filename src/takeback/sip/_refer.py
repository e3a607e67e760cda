"""The REFER layer of the core (RFC 3515, RFC 6665, RFC 5057): subscriber and notifier usages.

Subscriber: one :class:`ReferSubscription` per REFER we send, keyed in its dialog by the REFER's CSeq
(the ``id`` of ``Event: refer;id=``). It ends with exactly one ReferCompleted/ReferFailed: terminal NOTIFY,
direct >=300 to the REFER, REFER transaction failure, or ``refer_timeout`` without a terminal NOTIFY.
A NOTIFY whose sipfrag is final but whose subscription stays active sets the outcome; the subscription
then lingers (answering NOTIFYs 200) until terminated or 64*T1 later.

Notifier: one :class:`ReferNotifier` per REFER received; the TU accepts (202 + NOTIFY 100 Trying),
reports progress and the final sipfrag, or rejects. An accepted subscription that the TU forgets ends on
its own when ``expires`` runs out (NOTIFY ``terminated;reason=timeout``), so nothing leaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .dialog import Dialog, DialogState
from .errors import TransactionError
from .events import (
    ProtocolWarning,
    ReferAccepted,
    ReferCompleted,
    ReferFailed,
    ReferProgress,
    ReferReceived,
    RequestReceived,
)
from .message import Request, Response
from .peer import Peer
from .responses import reason_phrase
from .subscription import (
    NotifyView,
    ReferNotifier,
    ReferSubscription,
    SubscriptionState,
    notify_headers,
    read_notify,
    sipfrag_body,
)
from .transaction import ClientTransaction, ServerTransaction

if TYPE_CHECKING:
    from .core import SipCore

__all__ = ["ReferLayer"]


class ReferLayer:
    __slots__ = ("core",)

    def __init__(self, core: SipCore) -> None:
        self.core = core

    # ------------------------------------------------------------------ subscriber (we sent REFER)

    def refer(
        self, dialog: Dialog, refer_to: str, now: float, headers: Iterable[tuple[str, str]] = ()
    ) -> ReferSubscription:
        if dialog.state is not DialogState.CONFIRMED:
            raise TransactionError("REFER needs a confirmed dialog")
        request = self.core.create_request(dialog, "REFER", headers=[("Refer-To", refer_to), *headers])
        sub = ReferSubscription(dialog, str(request.cseq.seq), refer_to)
        dialog.subscriptions[sub.id] = sub
        if dialog.first_refer_id is None:
            dialog.first_refer_id = sub.id
        tx = self.core.send_in_dialog(dialog, request, now)
        tx.owner = sub
        sub.tx = tx
        sub.timer = self.core.schedule(now + self.core.config.refer_timeout, lambda t: self._expire(sub))
        return sub

    def on_refer_response(self, sub: ReferSubscription, response: Response, now: float) -> None:
        status = response.status
        if sub.finished or status < 200:
            return
        if status < 300:
            if sub.state is SubscriptionState.PENDING:
                sub.state = SubscriptionState.ACTIVE
            self.core.emit(ReferAccepted(sub, response))
            return
        self._finish(sub, status, response.reason)
        self._remove(sub)

    def on_refer_tx_failed(self, sub: ReferSubscription, status: int, reason: str) -> None:
        """§8.1.3.1: a REFER that timed out (408) or could not be sent (503)."""
        if not sub.finished:
            self._finish(sub, status, reason)
        self._remove(sub)

    def _expire(self, sub: ReferSubscription) -> None:
        sub.timer = None
        if not sub.finished:
            self._finish(sub, None, "timeout")
        self._remove(sub)

    def _finish(self, sub: ReferSubscription, status: int | None, reason: str) -> None:
        sub.finished = True
        sub.outcome = status
        if status is not None and 200 <= status < 300:
            self.core.emit(ReferCompleted(sub, status, reason))
        else:
            self.core.emit(ReferFailed(sub, status, reason))

    def _remove(self, sub: ReferSubscription) -> None:
        self.core.cancel_timer(sub.timer)
        sub.timer = None
        sub.state = SubscriptionState.TERMINATED
        dialog = sub.dialog
        if dialog.subscriptions.get(sub.id) is sub:
            del dialog.subscriptions[sub.id]
        self.core.dialog_layer.maybe_release(dialog)

    def on_notify(
        self, dialog: Dialog, request: Request, tx: ServerTransaction, peer: Peer, now: float
    ) -> None:
        """An in-dialog NOTIFY: ours if ``Event: refer`` (or no Event at all), else the TU's."""
        view = read_notify(request)
        if not view.is_refer:
            if dialog.invite_usage_active:
                self.core.emit(RequestReceived(request, tx, peer, dialog))
            else:
                self.core.respond(tx, 481, now=now)
            return
        sub = self._match(dialog, view.sub_id)
        if sub is None:
            self.core.respond(tx, 481, now=now)  # RFC 6665 §4.1.3: no such subscription
            return
        self.core.respond(tx, 200, now=now)
        for text in view.warnings:
            self.core.emit(ProtocolWarning(text, request))
        self._apply_notify(sub, view, now)

    @staticmethod
    def _match(dialog: Dialog, sub_id: str | None) -> ReferSubscription | None:
        subs = dialog.subscriptions
        if sub_id is not None:
            return subs.get(sub_id)
        # RFC 3515 §2.4.6: no id means the first REFER of the dialog; be lenient with a single one.
        first = subs.get(dialog.first_refer_id or "")
        if first is not None:
            return first
        return next(iter(subs.values())) if len(subs) == 1 else None

    def _apply_notify(self, sub: ReferSubscription, view: NotifyView, now: float) -> None:
        status = view.status
        sub.last_status = status
        if sub.state is SubscriptionState.PENDING:
            sub.state = SubscriptionState.ACTIVE  # the NOTIFY overtook the 202 (RFC 6665 §4.1.2.4)
        final = status is not None and status >= 200
        if not sub.finished:
            if final:
                self._finish(sub, status, view.reason)
            elif view.terminated:
                self._finish(sub, None, view.state_reason or "terminated")
            elif status is not None:
                self.core.emit(ReferProgress(sub, status, view.reason))
        if view.terminated:
            self._remove(sub)
        elif sub.finished:  # outcome known, subscription still active: linger a while for the rest
            self.core.cancel_timer(sub.timer)
            sub.timer = self.core.schedule(now + self.core.timer_values.timeout, lambda t: self._expire(sub))

    # ------------------------------------------------------------------ notifier (we received REFER)

    def on_refer(
        self, dialog: Dialog, request: Request, tx: ServerTransaction, peer: Peer, now: float
    ) -> None:
        values = request.headers.get_raw("Refer-To")
        if len(values) != 1:  # RFC 3515 §2.4.1: exactly one Refer-To
            self.core.respond(tx, 400, "Exactly One Refer-To Required", now=now)
            return
        notifier = ReferNotifier(dialog, request, tx, values[0])
        dialog.notifiers[notifier.id] = notifier
        self.core.emit(ReferReceived(dialog, request, notifier))

    def accept(self, notifier: ReferNotifier, now: float, expires: int, notify_trying: bool) -> None:
        if notifier.state is not SubscriptionState.PENDING:
            raise TransactionError("this REFER was already answered")
        self.core.respond(notifier.tx, 202, now=now)
        notifier.state = SubscriptionState.ACTIVE
        notifier.expires_at = now + expires
        notifier.timer = self.core.schedule(
            notifier.expires_at, lambda t: self._notifier_expired(notifier, t)
        )
        if notify_trying:
            self.notify(notifier, 100, "Trying", now, terminal=False)

    def notify(
        self,
        notifier: ReferNotifier,
        status: int,
        reason: str,
        now: float,
        *,
        terminal: bool | None = None,
        state_reason: str = "noresource",
    ) -> ClientTransaction:
        """Send a NOTIFY with the sipfrag ``SIP/2.0 <status> <reason>`` (RFC 3515 §2.4.5)."""
        if notifier.state is not SubscriptionState.ACTIVE:
            raise TransactionError("accept the REFER before notifying (or it already ended)")
        if terminal is None:
            terminal = status >= 200
        headers = notify_headers(
            notifier.id, terminal=terminal, expires=round(notifier.expires_at - now), reason=state_reason
        )
        dialog = notifier.dialog
        request = self.core.create_request(
            dialog, "NOTIFY", headers=headers, body=sipfrag_body(status, reason)
        )
        notifier.last_status = status
        if terminal:
            self._end_notifier(notifier)
        tx = self.core.dialog_layer.send(dialog, request, now) if dialog.has_usages else None
        if tx is None:  # the dialog went away with the notifier: send it anyway, it is the last word
            tx = self.core.send_request(request, dialog.next_hop(), now)
            tx.dialog = dialog
        tx.owner = notifier
        return tx

    def reject(self, notifier: ReferNotifier, status: int, now: float, reason: str) -> None:
        if notifier.state is not SubscriptionState.PENDING:
            raise TransactionError("this REFER was already answered")
        if status < 300:
            raise TransactionError("reject_refer needs a status >= 300")
        self.core.respond(notifier.tx, status, reason, now=now)
        self._end_notifier(notifier)

    def _notifier_expired(self, notifier: ReferNotifier, now: float) -> None:
        notifier.timer = None
        if notifier.state is SubscriptionState.ACTIVE:
            status = notifier.last_status
            self.notify(notifier, status, reason_phrase(status), now, terminal=True, state_reason="timeout")

    def on_notify_response(self, notifier: ReferNotifier, status: int) -> None:
        """RFC 6665 §4.2.2: a 481 (or a failed NOTIFY) ends the subscription on our side."""
        if status in (408, 481, 503):
            self._end_notifier(notifier)

    def _end_notifier(self, notifier: ReferNotifier) -> None:
        if notifier.state is SubscriptionState.TERMINATED:
            return
        self.core.cancel_timer(notifier.timer)
        notifier.timer = None
        notifier.state = SubscriptionState.TERMINATED
        dialog = notifier.dialog
        if dialog.notifiers.get(notifier.id) is notifier:
            del dialog.notifiers[notifier.id]
        self.core.dialog_layer.maybe_release(dialog)
