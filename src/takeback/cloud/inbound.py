"""Inbound INVITEs to the emulator: a carrier or a device calls a DID of the org (GENESYS.md §10 (6)).

Not the article's direction, emulated for completeness and so that a real SIP caller (SIPp, a softphone,
``takeback.net``) can be the PSTN customer:

* the trunk is the one named by the Request-URI host (``<Inbound SIP Termination Identifier>.byoc.…``,
  [DOC BLOG] §2.2), else the first BYOC trunk whose ACL admits the source (the edge admitted it already);
* the DID is the Request-URI user part; no flow for it -> 404 (INFERRED);
* ``200 OK`` with our SDP answer, plus ``x-inin-cnv: <conversationId>`` when the trunk has Conversation
  Headers on [DOC BLOG: "in the 200 OK following the received SIP INVITE"];
* ``Call.UUIData`` of the flow comes from the INVITE's UUI headers by the §5.2 rules
  (:func:`takeback.uui.genesys_uuidata`);
* the caller's BYE ends the conversation (device legs still up get a BYE); a flow that disconnects BYEs
  the caller. The caller's RTP is answered (we send silence) but not relayed to the device leg: the device
  gets the simulated caller's media (:mod:`.media_leg`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from takeback.media import MediaError, MediaSession
from takeback.media.params import params_from_negotiated
from takeback.net import Call
from takeback.sdp import LocalMedia, SdpError, negotiate, parse_sdp
from takeback.sdp.errors import NegotiationError
from takeback.sip import SipUri
from takeback.uui import genesys_uuidata

from .calllog import ConversationRecord
from .trunk import Trunk

if TYPE_CHECKING:
    from .engine import CloudEngine

__all__ = ["handle_inbound", "inbound_trunk"]

logger = logging.getLogger("takeback.cloud.inbound")


def inbound_trunk(engine: CloudEngine, call: Call) -> Trunk | None:
    """The trunk an inbound INVITE arrived on (module doc)."""
    trunks = [trunk for trunk in engine.org.trunks if trunk.kind == "byoc" and trunk.enabled]
    uri = call.invite.request_uri
    host = uri.host.lower() if isinstance(uri, SipUri) else ""
    for trunk in trunks:
        identifier = trunk.inbound_sip_termination_identifier.lower()
        if identifier and host.startswith(f"{identifier}."):
            return trunk
    source = call.peer.host if call.peer is not None else ""
    return next((trunk for trunk in trunks if trunk.acl_allows(source)), None)


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
    uri = call.invite.request_uri
    did = uri.user if isinstance(uri, SipUri) and uri.user else ""
    flow = engine.org.flow_for_did(did)
    if flow is None:
        call.respond(404)
        return
    trunk = inbound_trunk(engine, call)
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
    active = engine.open_conversation(record)
    active.customer_call = call
    call.respond(200, headers=headers, body=body, content_type="application/sdp" if body else None)
    engine.start_flow(active, flow, did=did, uui_data=genesys_uuidata(call.invite.headers))
    try:
        await call.wait_terminated()
    finally:
        if session is not None:
            session.close()
    await engine.end_conversation(active, "caller hung up")
