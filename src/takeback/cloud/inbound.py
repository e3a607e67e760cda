"""Inbound INVITEs to the emulator: a carrier or a device calls a DID of the org (GENESYS.md §10 (6)).

Not the article's direction, emulated for completeness and so that a real SIP caller (SIPp, a softphone,
``takeback.net``) can be the PSTN customer:

* the trunk and the DID come from :func:`identify_inbound` (GENESYS.md §3.3, RC-SIPRT, below); no flow
  for the DID -> 404 (INFERRED);
* ``200 OK`` with our SDP answer, plus ``x-inin-cnv: <conversationId>`` when the trunk has Conversation
  Headers on [DOC BLOG: "in the 200 OK following the received SIP INVITE"];
* ``Call.UUIData`` of the flow comes from the INVITE's UUI headers by the §5.2 rules
  (:func:`takeback.uui.genesys_uuidata`);
* the caller's BYE ends the conversation (device legs still up get a BYE); a flow that disconnects BYEs
  the caller. The caller's RTP is answered (we send silence) but not relayed to the device leg: the device
  gets the simulated caller's media (:mod:`.media_leg`);
* the conversation remembers the inbound trunk: *Transfer to Number* uses its site [DOC RC-T2N], and a
  release link transfer needs it (:mod:`.rlt`).

Which trunk, and which DID ("Inbound SIP Termination Identifier" methods, [DOC RC-SIPRT]: "FQDN, TGRP or
DNIS"; "by default ... FQDN or TGRP. If your carrier's requirements prevent you from using either of those
methods, enable the DNIS Replacement Routing method"), tried in this order:

1. *Inbound SIP Termination Header* [DOC RC-SIPRT]: a trunk that names one is chosen when the INVITE
   carries that header with the identifier as its value (case-insensitive, INFERRED);
2. FQDN [DOC BLOG §2.2, RC-SIPRT]: the Request-URI host is ``<identifier>.<anything>``;
3. TGRP [DOC RC-SIPRT names it; the syntax is RFC 4904 §5, INFERRED]: ``tgrp=<identifier>`` as a user-part
   parameter (``sip:+1800…;tgrp=id;trunk-context=…@host``) or as a URI parameter;
4. DNIS Replacement Routing (``trunk_routing_inbound_dnis_enabled``, §3.3 [3P-MAP]; only on trunks that
   turn it on): the identifier *replaces the DNIS* in the Request-URI user part (INFERRED from the name
   and 3P-MAP, where ``sip:<DID>@<fqdn>`` is not a valid target once the setting is on). The dialed number
   then comes from ``Policies.dnis_replacement_number_source``: the To user (default) or
   ``P-Called-Party-ID`` (RFC 3455) - INFERRED. With the setting off, an identifier in the user part is
   just an unknown DNIS (404);
5. otherwise the first BYOC trunk whose ACL admits the source (the edge admitted it already; INFERRED).

In methods 1-3 and 5 the DID is the Request-URI user part without user parameters (RFC 4904 ``;tgrp``,
RFC 3261 §19.1.1). ``trunk_sip_routingAddress`` (seen value ``"Request-URI"``, §3.3) is not modelled:
the Request-URI is where the DNIS is read, as that value says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from takeback.media import MediaError, MediaSession
from takeback.media.params import params_from_negotiated
from takeback.net import Call
from takeback.sdp import LocalMedia, SdpError, negotiate, parse_sdp
from takeback.sdp.errors import NegotiationError
from takeback.sip import SipParseError, SipUri, parse_name_addr
from takeback.uui import genesys_uuidata

from .calllog import ConversationRecord
from .org import Org
from .trunk import Trunk

if TYPE_CHECKING:
    from .engine import CloudEngine

__all__ = ["InboundRoute", "handle_inbound", "identify_inbound", "inbound_trunk"]

logger = logging.getLogger("takeback.cloud.inbound")

Method = Literal["header", "fqdn", "tgrp", "dnis", "acl", "none"]


@dataclass(frozen=True, slots=True)
class InboundRoute:
    """Where an inbound INVITE goes: its trunk (None: none matched), how it was found, the dialed DID."""

    trunk: Trunk | None
    method: Method
    did: str


def _user_number(user: str | None) -> str:
    """``+1800…;tgrp=x;trunk-context=y`` -> ``+1800…`` (user parameters, RFC 4904 §5)."""
    return (user or "").split(";", 1)[0]


def _tgrp(uri: SipUri) -> str:
    """The RFC 4904 trunk group of a Request-URI: a user-part parameter, else a URI parameter."""
    for item in (uri.user or "").split(";")[1:]:
        name, _, value = item.partition("=")
        if name.strip().lower() == "tgrp":
            return value.strip()
    return uri.param("tgrp") or ""


def _replaced_dnis(call: Call, source: str) -> str:
    """DNIS Replacement Routing: the dialed number from the To user or P-Called-Party-ID (INFERRED)."""
    if source == "to":
        uri = call.invite.to.uri
    else:
        value = call.invite.headers.get("P-Called-Party-ID")
        if value is None:
            return ""
        try:
            uri = parse_name_addr(value).uri
        except SipParseError:
            return ""
    return _user_number(uri.user) if isinstance(uri, SipUri) else ""


def _by_identifier(trunks: list[Trunk], call: Call, uri: SipUri | None) -> tuple[Trunk, Method] | None:
    """Methods 1-4 of the module doc, in order."""
    headers = call.invite.headers
    for trunk in trunks:
        header = trunk.inbound_sip_termination_header
        identifier = trunk.inbound_sip_termination_identifier.lower()
        value = headers.get(header) if header and identifier else None
        if value is not None and value.strip().lower() == identifier:
            return trunk, "header"
    if uri is None:
        return None
    host, tgrp, user = uri.host.lower(), _tgrp(uri).lower(), _user_number(uri.user).lower()
    methods: tuple[Method, ...] = ("fqdn", "tgrp", "dnis")
    for method in methods:
        for trunk in trunks:
            identifier = trunk.inbound_sip_termination_identifier.lower()
            if not identifier:
                continue
            if (
                (method == "fqdn" and host.startswith(f"{identifier}."))
                or (method == "tgrp" and tgrp == identifier)
                or (method == "dnis" and trunk.dnis_replacement_routing and user == identifier)
            ):
                return trunk, method
    return None


def identify_inbound(org: Org, call: Call) -> InboundRoute:
    """The trunk and DID of an inbound INVITE (module doc)."""
    trunks = [trunk for trunk in org.trunks if trunk.kind == "byoc" and trunk.enabled]
    request_uri = call.invite.request_uri
    uri = request_uri if isinstance(request_uri, SipUri) else None
    did = _user_number(uri.user) if uri is not None else ""
    found = _by_identifier(trunks, call, uri)
    if found is not None:
        trunk, method = found
        if method == "dnis":
            did = _replaced_dnis(call, org.policies.dnis_replacement_number_source)
        return InboundRoute(trunk, method, did)
    source = call.peer.host if call.peer is not None else ""
    trunk_by_acl = next((trunk for trunk in trunks if trunk.acl_allows(source)), None)
    return InboundRoute(trunk_by_acl, "acl" if trunk_by_acl else "none", did)


def inbound_trunk(engine: CloudEngine, call: Call) -> Trunk | None:
    """The trunk an inbound INVITE arrived on (module doc)."""
    return identify_inbound(engine.org, call).trunk


async def _answer_media(engine: CloudEngine, call: Call) -> tuple[MediaSession | None, bytes]:
    """Our SDP answer (PCMU/PCMA + telephone-event) on a fresh RTP port; no media on any trouble."""
    if not call.invite.body:
        return None, b""
    try:
        session = await MediaSession.open(engine.scheduler, engine.ports, inactivity_timeout=None)
    except (MediaError, OSError):
        return None, b""
    try:
        answer = negotiate(parse_sdp(call.invite.body), LocalMedia(engine.media_address, session.local_port))
        session.update(params_from_negotiated(answer.media))
        session.start()
    except (SdpError, NegotiationError, MediaError, ValueError) as exc:
        logger.info("inbound call %s without media: %s", call.call_id, exc)
        session.close()
        return None, b""
    return session, bytes(answer.sdp)


async def handle_inbound(engine: CloudEngine, call: Call) -> None:
    """Answer one inbound INVITE and run its DID's flow (module doc)."""
    route = identify_inbound(engine.org, call)
    did, trunk = route.did, route.trunk
    flow = engine.org.flow_for_did(did) if did else None
    if flow is None:
        logger.info("inbound call %s to %r (%s): no flow, 404", call.call_id, did, route.method)
        call.respond(404)
        return
    caller = call.invite.from_.uri
    ani = caller.user if isinstance(caller, SipUri) and caller.user else ""
    record = ConversationRecord(
        conversation_id=engine.new_id(),
        ani=ani,
        dnis=did,
        caller_name=call.invite.from_.display or ani,
        customer_call_id=call.call_id,
    )
    session, body = await _answer_media(engine, call)
    headers = [("x-inin-cnv", record.conversation_id)] if trunk and trunk.conversation_headers else []
    if call.terminated:  # CANCELled while the media port opened
        if session is not None:
            session.close()
        return
    active = engine.open_conversation(record, customer_call=call, inbound_trunk=trunk)
    call.respond(200, headers=headers, body=body, content_type="application/sdp" if body else None)
    engine.start_flow(active, flow, did=did, uui_data=genesys_uuidata(call.invite.headers))
    try:
        await call.wait_terminated()
    finally:
        if session is not None:
            session.close()
    reason = "released by release link transfer" if active.released else "caller hung up"
    await engine.end_conversation(active, reason)
