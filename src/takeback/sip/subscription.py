"""The REFER subscription usage (RFC 3515, RFC 6665, RFC 5057): both ends, as data plus pure rules.

Subscriber (we sent REFER): :class:`ReferSubscription`. Its outcome is the *terminal* NOTIFY's sipfrag,
never the 202 (GENESYS.md §12 item 6): 2xx = success, >=300 = failure. NOTIFYs are correlated by
``Event: refer;id=<CSeq of the REFER>``; the id may be missing only for the first REFER of a dialog
(RFC 3515 §2.4.6). Peers that omit Event or Subscription-State (jambonz' own SIPp scenarios) are accepted
with a warning.

Notifier (we received REFER): :class:`ReferNotifier`; the core sends its NOTIFYs, built here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from takeback._frozen import slot_init

from .errors import SipParseError
from .message import Request, Response
from .sipfrag import MAX_SIPFRAG, build_sipfrag, parse_sipfrag

if TYPE_CHECKING:
    from .dialog import Dialog
    from .timers import TimerEntry
    from .transaction import ClientTransaction, ServerTransaction

__all__ = [
    "NotifyView",
    "ReferNotifier",
    "ReferSubscription",
    "SubscriptionState",
    "notify_headers",
    "read_notify",
    "sipfrag_body",
    "sipfrag_status",
]


class SubscriptionState(StrEnum):
    PENDING = "pending"  # REFER sent, no 2xx yet (a NOTIFY may still overtake the 202)
    ACTIVE = "active"
    TERMINATED = "terminated"


class ReferSubscription:
    """Our side of a REFER we sent: waiting for the terminal NOTIFY."""

    __slots__ = (
        "dialog",
        "finished",
        "id",
        "last_status",
        "outcome",
        "refer_to",
        "state",
        "timer",
        "tx",
        "user_data",
    )

    def __init__(self, dialog: Dialog, sub_id: str, refer_to: str) -> None:
        self.dialog = dialog
        self.id = sub_id
        self.refer_to = refer_to
        self.state = SubscriptionState.PENDING
        self.finished = False  # ReferCompleted or ReferFailed was emitted
        self.outcome: int | None = None  # final status once known (sipfrag or REFER response)
        self.last_status: int | None = None
        self.tx: ClientTransaction | None = None
        self.timer: TimerEntry | None = None
        self.user_data: Any = None

    def __repr__(self) -> str:
        return f"<ReferSubscription id={self.id} {self.state} outcome={self.outcome}>"


class ReferNotifier:
    """The peer's REFER we received: we report its progress with NOTIFYs."""

    __slots__ = ("dialog", "expires_at", "id", "last_status", "refer_to", "request", "state", "timer", "tx")

    def __init__(self, dialog: Dialog, request: Request, tx: ServerTransaction, refer_to: str) -> None:
        self.dialog = dialog
        self.id = str(request.cseq.seq)
        self.request = request
        self.tx = tx
        self.refer_to = refer_to
        self.state = SubscriptionState.PENDING
        self.expires_at = 0.0
        self.last_status = 100
        self.timer: TimerEntry | None = None

    def __repr__(self) -> str:
        return f"<ReferNotifier id={self.id} {self.state}>"


def sipfrag_status(body: bytes) -> tuple[int, str] | None:
    """Status code and reason of a ``message/sipfrag`` body (RFC 3420), if it is a response fragment.

    :func:`takeback.sip.sipfrag.parse_sipfrag` first; a fragment it rejects still counts when its first
    line is a readable status line (leniency toward peers that send odd fragments).
    """
    if len(body) <= MAX_SIPFRAG:
        # What every notifier sends (RFC 3515 §2.4.5): the status line alone, read here exactly as
        # parse_sipfrag() would read it, without building a message.
        match = _STATUS_LINE_ONLY.match(body)
        if match is not None:
            return int(match[1]), match[2].decode("utf-8", "surrogateescape").strip(" \t")
    try:
        fragment = parse_sipfrag(body)
    except SipParseError:
        return _status_line(body)
    if isinstance(fragment, Response):
        return fragment.status, fragment.reason
    return None


_STATUS_LINE_ONLY = re.compile(rb"SIP/2\.0 ([1-6][0-9][0-9]) ([^\r\n]*)(?:\r\n)?\Z")


def _status_line(body: bytes) -> tuple[int, str] | None:
    line = body.lstrip(b"\r\n \t").split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.decode("utf-8", "replace").split(" ", 2)
    if len(parts) < 2 or not parts[0].upper().startswith("SIP/"):
        return None
    code = parts[1]
    if len(code) != 3 or not code.isdigit() or not "1" <= code[0] <= "6":
        return None
    return int(code), (parts[2].strip() if len(parts) > 2 else "")


def sipfrag_body(status: int, reason: str) -> bytes:
    return build_sipfrag(status, reason)


@slot_init  # built for every NOTIFY: the slots' setters, not the dataclass's object.__setattr__
@dataclass(frozen=True, slots=True)
class NotifyView:
    """What a received NOTIFY says about a refer subscription, with the leniencies applied."""

    is_refer: bool
    sub_id: str | None
    terminated: bool
    state_reason: str | None
    status: int | None
    reason: str
    warnings: tuple[str, ...]


def read_notify(request: Request) -> NotifyView:
    """Interpret Event / Subscription-State / sipfrag body of a NOTIFY (RFC 6665 §4.1.3, RFC 3515 §2.4.5).

    Missing Event: assumed ``refer`` (warning). Missing Subscription-State: terminated iff the sipfrag is
    final (warning). Unreadable sipfrag: ``status`` None (warning).
    """
    warnings: list[str] = []
    event = request.param_value("Event")
    if event is None:
        warnings.append("NOTIFY without Event header; assuming Event: refer")
        is_refer, sub_id = True, None
    else:
        is_refer, sub_id = event.value.lower() == "refer", event.id
    frag = sipfrag_status(request.body)
    if frag is None and is_refer:
        warnings.append("NOTIFY body is not a readable message/sipfrag status line")
    status, reason = frag if frag is not None else (None, "")
    state = _subscription_state(request)
    if state is None:
        if is_refer:
            warnings.append("NOTIFY without Subscription-State; inferring it from the sipfrag")
        terminated, state_reason = status is not None and status >= 200, None
    else:
        terminated, state_reason = state
    return NotifyView(is_refer, sub_id, terminated, state_reason, status, reason, tuple(warnings))


def _subscription_state(request: Request) -> tuple[bool, str | None] | None:
    try:
        value = request.param_value("Subscription-State")
    except SipParseError:
        return None
    if value is None:
        return None
    return value.value.lower() == "terminated", value.param("reason")


def notify_headers(
    sub_id: str, *, terminal: bool, expires: int, reason: str = "noresource"
) -> list[tuple[str, str]]:
    """Event / Subscription-State / Content-Type of a refer NOTIFY (RFC 3515 §2.4.4, RFC 6665 §4.2.2)."""
    state = f"terminated;reason={reason}" if terminal else f"active;expires={max(expires, 0)}"
    return [
        ("Event", f"refer;id={sub_id}"),
        ("Subscription-State", state),
        ("Content-Type", "message/sipfrag;version=2.0"),
    ]
