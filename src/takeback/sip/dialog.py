"""Dialog state (RFC 3261 §12) and in-dialog request construction (§12.2.1.1).

A :class:`Dialog` is data plus pure construction rules; the core's dialog layer drives it. Everything a
peer gave us is kept *as written*: the remote target is the Contact URI text verbatim with every parameter
(GENESYS.md §4.2: Genesys' unknown Contact parameters must come back in the Request-URI), the route set is
the raw Record-Route values, and From/To are the exact header values with their tags.

Our own side is kept the same way: ``local_contact`` is the Contact header value we advertised when the
dialog was created (the INVITE's as UAC, §12.1.2; the 1xx/2xx's as UAS, §12.1.1), and the core writes it
on every later target refresh request and 2xx to one, so a per-dialog Contact (the emulator's opaque
``gcdlg`` parameter, GENESYS.md §4.2 RC-DCV) survives re-INVITE, UPDATE, REFER and NOTIFY.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import SipParseError
from .headers import parse_name_addr
from .message import Headers, Request, Response
from .peer import Peer, uri_destination
from .uri import SipUri, parse_uri

if TYPE_CHECKING:
    from .session_timer import SessionTimer
    from .subscription import ReferNotifier, ReferSubscription
    from .timers import TimerEntry
    from .transaction import ClientTransaction, ServerTransaction

__all__ = ["TARGET_REFRESH", "Dialog", "DialogId", "DialogState", "raw_uri"]

#: Requests whose Contact replaces the remote target (RFC 3261 §12.2, RFC 3311, RFC 6665 §4.1.2.1).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
#: URI parameters not allowed in a Request-URI (§19.1.1 table 1), dropped when a strict route becomes it.
_NOT_IN_RURI = frozenset({"method", "maddr", "ttl", "lr"})
#: Lookup keys of the header names :meth:`Dialog.create_request` writes.
_KEYS_OF = {
    name: name.lower()
    for name in ("Via", "Route", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Contact")
}


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogId(NamedTuple):
    """§12: Call-ID + local tag + remote tag.

    A named tuple rather than a frozen dataclass: it keys the dialog table, looked up for every in-dialog
    request, and a tuple hashes and compares in C (the dataclass's ``__hash__``/``__eq__`` are Python).
    """

    call_id: str
    local_tag: str
    remote_tag: str


def raw_uri(value: str) -> str:
    """The URI text of a name-addr/addr-spec header value, byte for byte (no re-escaping).

    ``"A <b>" <sip:x@h;ob;x-genesys=1>;expires=60`` → ``sip:x@h;ob;x-genesys=1``. In an addr-spec the
    parameters after the URI are header parameters (§20), so they are cut off.
    """
    text = value.strip()
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            end = text.find(">", i)
            if end == -1:
                raise SipParseError(f"unterminated <URI> in {value[:60]!r}")
            return text[i + 1 : end].strip()
        i += 1
    return text.split(";", 1)[0].strip()


def _has_lr(route_value: str) -> bool:
    uri = parse_name_addr(route_value).uri
    return isinstance(uri, SipUri) and uri.has_param("lr")


def _strip_for_ruri(uri_text: str) -> str:
    """A strict route's URI as Request-URI: URI headers and the parameters §19.1.1 forbids there, removed."""
    uri = parse_uri(uri_text)
    if not isinstance(uri, SipUri):
        return uri_text
    if not uri.headers and not any(k.lower() in _NOT_IN_RURI for k in uri.params):
        return uri_text
    params = {k: v for k, v in uri.params.items() if k.lower() not in _NOT_IN_RURI}
    return str(SipUri(uri.scheme, uri.user, uri.password, uri.host, uri.port, params, {}))


class Dialog:
    """One dialog: identifiers, route set, remote target, sequence numbers, usages (RFC 5057)."""

    __slots__ = (
        "ack_cseq",
        "ack_data",
        "ack_peer",
        "bye_pending",
        "bye_retry_timer",
        "bye_tx",
        "call_id",
        "first_refer_id",
        "id",
        "invite",
        "invite_tx",
        "local_contact",
        "local_party",
        "local_seq",
        "local_tag",
        "notifiers",
        "peer",
        "pending_client_invite",
        "pending_server_invite",
        "remote_party",
        "remote_seq",
        "remote_tag",
        "remote_target",
        "retransmit",
        "role",
        "route_set",
        "secure",
        "session",
        "session_timer",
        "state",
        "subscriptions",
        "terminate_reason",
        "transport",
        "user_data",
    )

    def __init__(
        self,
        role: str,
        dialog_id: DialogId,
        *,
        local_party: str,
        remote_party: str,
        remote_target: str,
        route_set: list[str],
        local_seq: int,
        remote_seq: int | None,
        peer: Peer,
        invite: Request,
        local_contact: str | None = None,
    ) -> None:
        self.role = role
        self.id = dialog_id
        self.call_id = dialog_id.call_id
        self.local_tag = dialog_id.local_tag
        self.remote_tag = dialog_id.remote_tag
        self.local_party = local_party
        self.remote_party = remote_party
        self.remote_target = remote_target
        # our Contact header value in this dialog, as written (None: the core's UA-wide default)
        self.local_contact = local_contact
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.peer = peer
        self.transport = peer.transport
        self.secure = invite.uri.lower().startswith("sips:")
        self.invite = invite
        self.state = DialogState.EARLY
        self.terminate_reason: str | None = None
        self.invite_tx: ClientTransaction | ServerTransaction | None = None
        self.pending_client_invite: ClientTransaction | None = None
        self.pending_server_invite: ServerTransaction | None = None
        self.subscriptions: dict[str, ReferSubscription] = {}
        self.notifiers: dict[str, ReferNotifier] = {}
        self.first_refer_id: str | None = None
        # UAC: the ACK for the 2xx (re-sent on every 2xx retransmission, §13.2.2.4)
        self.ack_data: bytes | None = None
        self.ack_cseq = -1
        self.ack_peer: Peer | None = None
        # UAS: 2xx retransmission until ACK (§13.3.1.4); a BYE waiting for that ACK (§15)
        self.retransmit: Any = None
        self.bye_pending = False
        # our BYE until its final response (RFC 3261 §15.1.1), kept open for its authorized retry after a
        # 401/407 (§22.2/§22.3) until ``bye_retry_timer`` fires: see DialogLayer.bye
        self.bye_tx: ClientTransaction | None = None
        self.bye_retry_timer: TimerEntry | None = None
        self.session: SessionTimer | None = None
        self.session_timer: TimerEntry | None = None
        self.user_data: Any = None

    # -- creation (§12.1.1 UAS, §12.1.2 UAC) --

    @classmethod
    def for_uac(cls, invite: Request, response: Response, peer: Peer) -> Dialog:
        """From our INVITE and a 1xx-with-tag or 2xx: route set is the Record-Route *reversed*."""
        to_tag = response.to.tag
        assert to_tag is not None
        contact = response.headers.get("Contact")
        target = raw_uri(contact) if contact else invite.uri
        routes = response.headers.get_all("Record-Route")
        routes.reverse()
        return cls(
            "UAC",
            DialogId(invite.call_id, invite.from_.tag or "", to_tag),
            local_party=invite.headers.get_raw("From")[0],
            remote_party=response.headers.get_raw("To")[0],
            remote_target=target,
            route_set=routes,
            local_seq=invite.cseq.seq,
            remote_seq=None,
            peer=peer,
            invite=invite,
            local_contact=invite.headers.get("Contact"),
        )

    @classmethod
    def for_uas(cls, invite: Request, local_tag: str, peer: Peer, local_contact: str | None = None) -> Dialog:
        """From a received INVITE and the tag of our response: route set is the Record-Route in order.

        ``local_contact`` is the Contact of the response that created the dialog (§12.1.1).
        """
        contact = invite.headers.get("Contact")
        target = raw_uri(contact) if contact else f"sip:{peer.host}:{peer.port}"
        return cls(
            "UAS",
            DialogId(invite.call_id, local_tag, invite.from_.tag or ""),
            local_party=f"{invite.headers.get_raw('To')[0]};tag={local_tag}",
            remote_party=invite.headers.get_raw("From")[0],
            remote_target=target,
            route_set=invite.headers.get_all("Record-Route"),
            local_seq=0,
            remote_seq=invite.cseq.seq,
            peer=peer,
            invite=invite,
            local_contact=local_contact,
        )

    # -- usages (RFC 5057) --

    @property
    def invite_usage_active(self) -> bool:
        return self.state is not DialogState.TERMINATED

    @property
    def has_usages(self) -> bool:
        return self.invite_usage_active or bool(self.subscriptions) or bool(self.notifiers)

    @property
    def bye_outstanding(self) -> bool:
        """Our BYE awaits its final response, or its authorized retry after a 401/407 (§15.1.1, §22)."""
        return self.bye_tx is not None

    @property
    def bye_retry_open(self) -> bool:
        """Our BYE was challenged (401/407): one more BYE, with credentials, may go (§22.2, §22.3)."""
        return self.bye_retry_timer is not None

    @property
    def local_uri(self) -> str:
        return str(parse_name_addr(self.local_party).uri)

    @property
    def remote_uri(self) -> str:
        return str(parse_name_addr(self.remote_party).uri)

    @property
    def local_target(self) -> str | None:
        """The URI of ``local_contact``, verbatim: where the peer sends its requests in this dialog."""
        return raw_uri(self.local_contact) if self.local_contact else None

    @property
    def session_expires(self) -> int | None:
        """RFC 4028 interval in force (seconds), or ``None`` without session timer."""
        return self.session.expires if self.session is not None else None

    @property
    def refresher(self) -> str | None:
        """``"uac"``/``"uas"`` of the last refreshing transaction, as negotiated (RFC 4028 §7)."""
        return self.session.refresher if self.session is not None else None

    @property
    def min_se(self) -> int | None:
        return self.session.min_se if self.session is not None else None

    def refresh_target(self, message: Request | Response) -> None:
        """§12.2: a target refresh request (or its 2xx) carrying Contact replaces the remote target."""
        contact = message.headers.get("Contact")
        if contact:
            self.remote_target = raw_uri(contact)

    def adopt_local_contact(self, message: Request | Response) -> None:
        """Our own target refresh succeeded (§12.2.1.2 / §12.2.2 seen from the peer): the Contact we sent
        in it, if any, is now where the peer reaches us, so later requests and 2xx carry it too."""
        contact = message.headers.get("Contact")
        if contact:
            self.local_contact = contact

    # -- in-dialog requests (§12.2.1.1) --

    def _request_uri_and_routes(self) -> tuple[str, list[str]]:
        routes = self.route_set
        if not routes or _has_lr(routes[0]):
            return self.remote_target, routes
        # Strict routing: the first route becomes the Request-URI, the remote target the last Route.
        return _strip_for_ruri(raw_uri(routes[0])), [*routes[1:], f"<{self.remote_target}>"]

    @property
    def request_uri(self) -> str:
        """The Request-URI of the next request in this dialog (§12.2.1.1): the remote target under loose
        routing, the first route under strict routing; it is the digest-uri of a credential (§22.4)."""
        return self._request_uri_and_routes()[0]

    def next_hop(self) -> Peer:
        """Where an in-dialog request goes: the first route, else the remote target (§12.2.1.1, §8.1.2)."""
        target = raw_uri(self.route_set[0]) if self.route_set else self.remote_target
        return uri_destination(target, self.transport, self.peer)

    def create_request(
        self, method: str, *, contact: str | None = None, cseq: int | None = None, via: str | None = None
    ) -> Request:
        """A request within this dialog. CSeq is incremented except for ACK/CANCEL (or given as ``cseq``).

        ``contact`` goes on target refresh requests only (§12.2.1.1; RFC 3311 §5.1, RFC 6665 §4.4.1 for
        NOTIFY): BYE, INFO, PRACK, ACK and the like never carry it. ``via`` (the top Via for the next
        hop) can be given now so the header block is built once.
        """
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        ruri, routes = self._request_uri_and_routes()
        fields: list[tuple[str, str]] = [("Via", via)] if via is not None else []
        fields += [("Route", route) for route in routes]
        fields += [
            ("Max-Forwards", "70"),
            ("From", self.local_party),
            ("To", self.remote_party),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        if contact is not None and method in TARGET_REFRESH:
            fields.append(("Contact", contact))
        values = "".join([value for _name, value in fields])
        if "\r" in values or "\n" in values:
            return Request(method, ruri, Headers(fields))  # refuses the line break, as it always did
        # Every name above is a constant token and no value holds a line break: what Headers() checks
        # field by field, checked at once.
        lines = [(name, ":", " " + value) for name, value in fields]
        keys = [_KEYS_OF[name] for name, _value in fields]
        return Request(method, ruri, Headers._trusted(lines, keys))

    def create_ack(self, invite: Request, via: str | None = None) -> Request:
        """§13.2.2.4: ACK for a 2xx: the INVITE's CSeq number and credentials, and a new branch."""
        ack = self.create_request("ACK", cseq=invite.cseq.seq, via=via)
        for name in ("Authorization", "Proxy-Authorization"):
            for value in invite.headers.get_raw(name):
                ack.headers.add(name, value)
        return ack

    def __repr__(self) -> str:
        return f"<Dialog {self.role} {self.state} {self.call_id} {self.local_tag}/{self.remote_tag}>"
