"""The emulator's SIP user agent: a :class:`takeback.net.UserAgent` with Genesys' edge rules in front.

What it adds, each before the SIP core sees the message (a request the core has seen already got a
transaction and maybe a 100 Trying, which "drop silently" must not do):

* **SIP Access Control** (GENESYS.md §4.3, §11 item 5, §12 item 13): a request whose source is outside
  the allow list ∪ SIP servers of its trunk [DOC RC-ACL] is dropped or answered 403
  (``Policies.acl_refusal``). In-dialog requests are checked against the trunk that carries the dialog;
  others against every BYOC trunk of the org. The source is the socket address, or the top Via with
  ``Policies.acl_source = "via"``.
* **Strict Contact** (§4.2 RC-DCV, §11 item 4): an in-dialog request on one of our legs whose
  Request-URI dropped the opaque ``gcdlg`` Contact parameter is answered 481 (or 404, policy).
* **Record-Route** (§4.2 [DOC RC-CARR]): our INVITEs carry ``Record-Route`` like Genesys' edge does. In
  Genesys the edge (SBC) and the B2BUA are two hops; here they are one process, so our own entry is taken
  out of the 2xx before the core builds the route set (RFC 3261 §12.1.2) - otherwise ACK/BYE would be
  routed to ourselves. Requests from the device still carry it as ``Route``, which a UAS ignores.
* **Per-dialog Contact** needs nothing here: a leg's INVITE carries its opaque Contact, and the SIP core
  keeps that as the dialog's own Contact (``Dialog.local_contact``, RFC 3261 §12.1.2) and writes it on
  every target refresh request it builds in the dialog (re-INVITE, UPDATE, REFER, NOTIFY - RFC 6665
  §4.4.1) and on 2xx answers to the peer's (RFC 3261 §12.2), so the peer keeps echoing ``gcdlg``.

Tracing is the runtime's (``recorder=`` becomes ``UserAgent(trace=...)``): every message is recorded as it
arrived, before these rules refuse or edit it. Prebuilt INVITEs (digest retries keep Call-ID, From tag and
CSeq, RFC 3261 §22.2) go out with :meth:`takeback.net.UserAgent.send_invite`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from takeback.net import Peer, UserAgent
from takeback.net.boundary import Recorder  # re-exported: what CloudServer hands to ``recorder=``
from takeback.sip import Request, Response, SipParseError, SipUri, parse_name_addr
from takeback.sip.peer import response_destination
from takeback.sip.responses import make_response

from .invite import CONTACT_PARAM
from .org import Org
from .trunk import Trunk

__all__ = ["EmulatorUserAgent", "LegAddress", "Recorder"]

logger = logging.getLogger("takeback.cloud.sip")


@dataclass(frozen=True, slots=True)
class LegAddress:
    """What the edge knows about one of our outbound legs: its Contact, opaque token and trunk."""

    call_id: str
    contact: str
    token: str
    trunk: Trunk


class EmulatorUserAgent(UserAgent):
    """The user agent of ``takeback cloud`` (module doc). ``org_source()`` returns the current org."""

    def __init__(
        self,
        listen: Iterable[Any],
        *,
        org_source: Callable[[], Org],
        recorder: Recorder | None = None,
        **options: Any,
    ) -> None:
        super().__init__(listen, trace=recorder, **options)
        self.org_source = org_source
        self.legs: dict[str, LegAddress] = {}
        self.acl_refused = 0
        self.contact_refused = 0

    async def start(self) -> EmulatorUserAgent:
        """``UserAgent.start`` typed as this class (callers go on to use ``legs`` etc.)."""
        await super().start()
        return self

    # -- legs --

    def register_leg(self, leg: LegAddress) -> None:
        self.legs[leg.call_id] = leg

    def forget_leg(self, call_id: str) -> None:
        self.legs.pop(call_id, None)

    # -- input filters --

    def admit(self, message: Request | Response, peer: Peer) -> bool:
        """The edge rules (module doc), after the runtime traced the message and before the core."""
        if isinstance(message, Response):
            self._strip_own_record_route(message)
            return True
        try:
            return self._admitted(message, peer) and self._contact_echoed(message, peer)
        except SipParseError:
            return True  # the core answers malformed requests

    def parse_error(self, error: SipParseError, peer: Peer, data: bytes | None) -> None:
        if not self._any_trunk_allows(peer.host):
            self.acl_refused += 1
            return
        super().parse_error(error, peer, data)

    def _source(self, request: Request, peer: Peer) -> str:
        """§4.3 'Use Source Address' is UNKNOWN for BYOC: the socket by default, the top Via on request."""
        if self.org_source().policies.acl_source == "via":
            via = request.top_via
            return via.received or via.sent_by[0]
        return peer.host

    def _any_trunk_allows(self, source: str) -> bool:
        return any(trunk.acl_allows(source) for trunk in self.org_source().trunks if trunk.kind == "byoc")

    def _admitted(self, request: Request, peer: Peer) -> bool:
        """[DOC RC-ACL] allow list ∪ SIP servers; refused -> drop or 403 (``Policies.acl_refusal``)."""
        source = self._source(request, peer)
        leg = self.legs.get(request.call_id)
        allowed = leg.trunk.acl_allows(source) if leg is not None else self._any_trunk_allows(source)
        if allowed:
            return True
        self.acl_refused += 1
        logger.info("ACL: refused %s from %s", request.method, source)
        if self.org_source().policies.acl_refusal == "403":
            self._reply(request, 403, peer)
        return False

    def _contact_echoed(self, request: Request, peer: Peer) -> bool:
        """RC-DCV: in-dialog requests must carry our opaque Contact parameter back in the Request-URI."""
        if request.method in ("ACK", "CANCEL") or request.to.tag is None:
            return True
        leg = self.legs.get(request.call_id)
        policies = self.org_source().policies
        if leg is None or not policies.strict_contact_params:
            return True
        uri = request.request_uri
        if isinstance(uri, SipUri) and uri.param(CONTACT_PARAM) == leg.token:
            return True
        self.contact_refused += 1
        logger.info("strict Contact: %s %s dropped ;%s", request.method, request.uri, CONTACT_PARAM)
        self._reply(request, policies.contact_param_violation_status, peer)
        return False

    def _reply(self, request: Request, status: int, peer: Peer) -> None:
        """A stateless answer (RFC 3261 §8.2.6) that never creates a transaction; ACK gets none (§17)."""
        if request.method == "ACK":
            return
        response = make_response(request, status, to_tag=self.core.ids.tag())
        self.transport.send(bytes(response), response_destination(request.top_via, peer))

    def _own(self, value: str) -> bool:
        try:
            uri = parse_name_addr(value).uri
        except SipParseError:
            return False
        if not isinstance(uri, SipUri):
            return False
        return any(uri.host == e.host and (uri.port or 5060) == e.port for e in self.transport.endpoints)

    def _strip_own_record_route(self, response: Response) -> None:
        """Take our own Record-Route out of a response to our INVITE (module doc, RFC 3261 §12.1.2)."""
        try:
            if response.cseq.method != "INVITE":
                return
        except SipParseError:
            return
        values = response.headers.get_all("Record-Route")
        kept = [value for value in values if not self._own(value)]
        if len(kept) == len(values):
            return
        response.headers.remove("Record-Route")
        for value in kept:
            response.headers.add("Record-Route", value)
        response.invalidate()
