"""A simulated PSTN caller: dials a DID of the org, goes through its flow, is bridged to the device.

The PSTN trunk of the org (``pstn.trunk``) is where customer calls come in (article intro); the emulator
does not need a real carrier for that. :func:`place_pstn_call` plays the carrier: a conversation starts
with a ``customer`` participant whose session holds a made-up carrier Call-ID (``…@pstn.takeback.invalid``,
RFC 6761 ``.invalid``) as ``protocolCallId``, then the inbound flow of the dialed DID runs
(:mod:`.flowrunner`). Its *Transfer to Number* places the real INVITE to the device; once bridged, the
caller's ``dtmf_to_device`` digits go to the device as RFC 4733 events over real RTP. Having no SIP leg,
this caller cannot be released to the carrier: a release link transfer is always bridged (:mod:`.rlt`,
RC-T2N fallback); a real SIP caller enters through :mod:`.inbound`.

Example (the article, GENESYS.md §1)::

    record = await place_pstn_call(engine, PstnCaller(dnis="+18005550100"))
    await record.wait(10)
    record.flows_run[-1].uui_data    # Call.UUIData of the flow the device took the call back to
"""

from __future__ import annotations

from dataclasses import dataclass

from .calllog import ConversationRecord
from .engine import CloudEngine

__all__ = ["PSTN_DOMAIN", "PstnCaller", "place_pstn_call"]

#: Host part of the simulated carrier's Call-IDs (RFC 6761 §6.4: never resolves).
PSTN_DOMAIN = "pstn.takeback.invalid"


@dataclass(frozen=True, slots=True)
class PstnCaller:
    """Who calls and what they press.

    ``ani`` defaults to the org's ``pstn.default_caller``; ``uui_data`` is what the carrier's UUI gives the
    inbound flow as ``Call.UUIData`` (§5.2); ``ivr_digits`` answer the flow's collects; ``dtmf_to_device``
    are pressed ``dtmf_delay_s`` after the call is bridged to the device.
    """

    dnis: str
    ani: str | None = None
    name: str = ""
    uui_data: str | None = None
    ivr_digits: str = ""
    dtmf_to_device: str = ""
    dtmf_delay_s: float = 0.3


async def place_pstn_call(engine: CloudEngine, caller: PstnCaller) -> ConversationRecord:
    """Start the call (module doc); returns its record at once, the flow runs in the background.

    A DID without a flow ends the conversation immediately with a failure noted (the carrier would get
    404, INFERRED).
    """
    org = engine.org
    ani = caller.ani if caller.ani is not None else org.pstn.default_caller
    record = ConversationRecord(
        conversation_id=engine.new_id(),
        ani=ani,
        dnis=caller.dnis,
        caller_name=caller.name or ani,
        customer_call_id=f"{engine.new_id()}@{PSTN_DOMAIN}",
    )
    active = engine.open_conversation(
        record,
        ivr_digits=caller.ivr_digits,
        dtmf_to_device=caller.dtmf_to_device,
        dtmf_delay_s=caller.dtmf_delay_s,
    )
    flow = org.flow_for_did(caller.dnis)
    if flow is None:
        record.failures.append(f"{caller.dnis} is not a DID routed to a flow")
        await engine.end_conversation(active, "no flow for the DID")
        return record
    engine.start_flow(active, flow, did=caller.dnis, uui_data=caller.uui_data)
    return record
