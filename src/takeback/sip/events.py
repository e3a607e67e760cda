"""Events the core hands to its user, drained with ``SipCore.next_event()`` (frozen, slotted; h11 style).

The transaction, dialog and subscription objects inside events are live, mutable core objects: they are
handles for the TU to act on (``core.respond(event.tx, …)``), compared by identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from takeback._frozen import slot_init

from .message import Request, Response
from .peer import Peer

if TYPE_CHECKING:
    from .dialog import Dialog
    from .subscription import ReferNotifier, ReferSubscription
    from .transaction import ClientTransaction, ServerTransaction, Transaction

__all__ = [
    "AckReceived",
    "CancelReceived",
    "DialogConfirmed",
    "DialogCreated",
    "DialogTerminated",
    "Event",
    "MessageDiscarded",
    "ProtocolWarning",
    "ReferAccepted",
    "ReferCompleted",
    "ReferFailed",
    "ReferProgress",
    "ReferReceived",
    "RequestReceived",
    "ResponseReceived",
    "SessionExpired",
    "SessionRefreshDue",
    "TransactionTimedOut",
    "TransportFailed",
]


@slot_init
@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request for the TU, which must answer it with ``core.respond``/``core.send_response``."""

    request: Request
    tx: ServerTransaction
    peer: Peer
    dialog: Dialog | None


@slot_init
@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response to a request the TU sent. A 2xx to an INVITE is delivered once per dialog."""

    response: Response
    tx: ClientTransaction
    dialog: Dialog | None


@slot_init
@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """Client: Timer B/F fired (no final response, §8.1.3.1 treats it as 408). Server: Timer H (no ACK)."""

    tx: Transaction


@slot_init
@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport reported an error for this transaction's destination (treated as 503, §8.1.3.1)."""

    tx: Transaction


@slot_init
@dataclass(frozen=True, slots=True)
class AckReceived:
    """The ACK for a 2xx we sent (§13.3.1.4); may carry the answer of a late offer."""

    request: Request
    dialog: Dialog
    peer: Peer


@slot_init
@dataclass(frozen=True, slots=True)
class CancelReceived:
    """The peer cancelled ``invite_tx``; the core already answered 200 to the CANCEL and 487 (§9.2)."""

    invite_tx: ServerTransaction
    request: Request


@slot_init
@dataclass(frozen=True, slots=True)
class DialogCreated:
    dialog: Dialog


@slot_init
@dataclass(frozen=True, slots=True)
class DialogConfirmed:
    dialog: Dialog


@slot_init
@dataclass(frozen=True, slots=True)
class DialogTerminated:
    """The INVITE usage ended (BYE, rejection, CANCEL, no ACK, 481/408 …): the call is over."""

    dialog: Dialog
    reason: str


@slot_init
@dataclass(frozen=True, slots=True)
class ReferReceived:
    """The peer asks us to refer; answer with ``core.accept_refer`` or ``core.reject_refer``."""

    dialog: Dialog
    request: Request
    notifier: ReferNotifier


@slot_init
@dataclass(frozen=True, slots=True)
class ReferAccepted:
    """A 2xx to our REFER: the peer *will try*. Not the outcome (GENESYS.md §12 item 6)."""

    subscription: ReferSubscription
    response: Response


@slot_init
@dataclass(frozen=True, slots=True)
class ReferProgress:
    """A non-terminal NOTIFY (``SIP/2.0 100 Trying``, ``180 Ringing`` …)."""

    subscription: ReferSubscription
    status: int
    reason: str


@slot_init
@dataclass(frozen=True, slots=True)
class ReferCompleted:
    """Success: a terminal NOTIFY whose sipfrag is a 2xx (RFC 3515 §2.4.5)."""

    subscription: ReferSubscription
    status: int
    reason: str


@slot_init
@dataclass(frozen=True, slots=True)
class ReferFailed:
    """Failure. ``status`` is the REFER's own >=300 response, the terminal sipfrag's >=300 status, 408 or 503
    for a REFER that timed out / could not be sent, or ``None`` when no terminal NOTIFY came in time."""

    subscription: ReferSubscription
    status: int | None
    reason: str


@slot_init
@dataclass(frozen=True, slots=True)
class SessionRefreshDue:
    """RFC 4028 §10: we are the refresher and half the session interval has passed."""

    dialog: Dialog


@slot_init
@dataclass(frozen=True, slots=True)
class SessionExpired:
    """RFC 4028 §10: no refresh arrived in time; the TU should send BYE."""

    dialog: Dialog


@slot_init
@dataclass(frozen=True, slots=True)
class ProtocolWarning:
    """We were lenient with a peer's deviation (NOTIFY without Event, bad sipfrag …)."""

    text: str
    message: Request | Response | None


@slot_init
@dataclass(frozen=True, slots=True)
class MessageDiscarded:
    """Input dropped: unparseable, or a response matching nothing."""

    peer: Peer
    reason: str


Event = (
    RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransportFailed
    | AckReceived
    | CancelReceived
    | DialogCreated
    | DialogConfirmed
    | DialogTerminated
    | ReferReceived
    | ReferAccepted
    | ReferProgress
    | ReferCompleted
    | ReferFailed
    | SessionRefreshDue
    | SessionExpired
    | ProtocolWarning
    | MessageDiscarded
)
