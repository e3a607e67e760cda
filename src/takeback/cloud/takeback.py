"""Take back: the device's REFER on the call Genesys placed to it (GENESYS.md §6, §11 item 6, §12).

The decision, in order (each step's status is a :class:`~takeback.cloud.policies.Policies` field where
Genesys does not document it):

1. a REFER on a leg we do not know (not a device leg), on a leg already taken back, or after the
   conversation ended -> 403 (REFERs in the other direction, Genesys to the carrier, are :mod:`.rlt`);
2. *Take Back and Transfer* off on the trunk [DOC BLOG precondition] -> ``takeback_disabled_response``
   (403 suggested, INFERRED);
3. the Refer-To is read with :func:`takeback.uui.parse_refer_to`, which accepts the three documented
   spellings (§5.2, §12.1) and flags the non-RFC ones; unreadable -> ``refer_malformed_status`` (400);
   with ``refer_to_spellings: rfc-only`` a non-RFC spelling is malformed too;
4. the user part is routed to a DID's flow (host ignored [DOC BLOG]; "route by user part only", §6).
   How the user part meets a DID is ``refer_number_match`` (INFERRED, :func:`route_refer_number`):
   ``exact`` (default) - it must equal a DID; ``number_plans`` - it is first classified and normalized by
   the number plans of the device trunk's inbound site (§4.1 (2), §8.1: ``33456456456`` or the national
   ``0456456456`` on a +33 site become ``+33456456456``), then the exact form is tried too. Not
   routable -> ``refer_unroutable``: 202 + NOTIFY ``404`` (default), or a final 404 / 480 - the call
   stays up;
5. routable: ``202 Accepted`` (RFC 3515 §2.4.2), NOTIFY ``SIP/2.0 100 Trying`` (``refer_notify_trying``),
   the flow starts with ``Call.UUIData`` from the Refer-To (a UUI header on the REFER itself is ignored,
   §12 item 1 [3P LK]), final NOTIFY ``SIP/2.0 200 OK`` ``terminated;reason=noresource``;
6. BYE policy (§6 step 4, INFERRED): wait ``wait_for_device_bye_s`` for the device's BYE (RFC 5589 §6.1
   transferor), then send BYE ourselves when ``genesys_sends_bye``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from takeback.net import IncomingRefer, SipRuntimeError
from takeback.uui import ReferTarget, UuiError, parse_refer_to

from .calllog import ReferRecord
from .flows import Flow
from .org import Org
from .policies import Policies
from .routing import classify_number
from .trunk import Trunk

if TYPE_CHECKING:
    from .engine import CloudEngine, DeviceLeg

__all__ = ["handle_refer", "read_refer_to", "route_refer_number"]

logger = logging.getLogger("takeback.cloud.refer")

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            480: "Temporarily Unavailable", 501: "Not Implemented"}  # fmt: skip


def read_refer_to(value: str, policies: Policies) -> ReferTarget | None:
    """Step 3: the parsed target, or None when the Refer-To is malformed for these policies."""
    try:
        target = parse_refer_to(value)
    except UuiError:
        return None
    if policies.refer_to_spellings == "rfc-only" and not target.rfc_correct:
        return None
    return target


def route_refer_number(org: Org, trunk: Trunk, number: str) -> tuple[str, Flow] | None:
    """Step 4: ``(DID, flow)`` for a Refer-To user part, per ``Policies.refer_number_match`` (module doc)."""
    candidates = [number]
    if org.policies.refer_number_match == "number_plans":
        normalized = classify_number(org, org.site_for_trunk(trunk.name), number).number
        candidates.insert(0, normalized)
    for did in dict.fromkeys(candidates):
        flow = org.flow_for_did(did)
        if flow is not None:
            return did, flow
    return None


def _reject(refer: IncomingRefer, record: ReferRecord | None, status: int) -> None:
    refer.reject(status, _REASONS.get(status, ""))
    if record is not None:
        record.response = status


async def handle_refer(engine: CloudEngine, refer: IncomingRefer) -> None:
    """Answer one REFER (module doc); never raises into the runtime."""
    leg = engine.legs.get(refer.request.call_id)
    if leg is None:
        _reject(refer, None, 403)
        return
    record = ReferRecord(leg.call.call_id, refer.refer_to)
    leg.active.record.refers.append(record)
    policies = engine.org.policies
    if not leg.trunk.take_back_and_transfer:
        _reject(refer, record, policies.takeback_disabled_response)
        return
    if leg.taken_back or leg.active.record.ended:  # one take-back per leg; nothing left to take back
        _reject(refer, record, 403)
        return
    target = read_refer_to(refer.refer_to, policies)
    if target is None:
        _reject(refer, record, policies.refer_malformed_status)
        return
    record.number, record.uui_data, record.spelling = target.number, target.uui_data, target.spelling
    record.rfc_correct = target.rfc_correct
    record.warnings = tuple(str(warning) for warning in target.all_warnings)
    routed = route_refer_number(engine.org, leg.trunk, target.number)
    if routed is None:
        await _unroutable(refer, record, policies)
        return
    did, flow = routed
    _accept(refer, record, policies)
    leg.taken_back = leg.record.taken_back = True
    leg.refer = record
    record.flow = flow.name
    engine.start_flow(leg.active, flow, did=did, uui_data=target.uui_data)
    await _notify(refer, record, 200, "OK")  # the flow has the call (§6 step 3)
    await _bye_policy(leg, record, policies)


async def _notify(refer: IncomingRefer, record: ReferRecord, status: int, reason: str) -> None:
    """A sipfrag NOTIFY, waiting for its answer so a BYE cannot overtake it (§12 item 8, livekit#807)."""
    record.notify.append(status)
    with contextlib.suppress(SipRuntimeError):
        await refer.notify(status, reason)


def _accept(refer: IncomingRefer, record: ReferRecord, policies: Policies) -> None:
    trying = policies.refer_notify_trying
    refer.accept(expires=policies.refer_subscription_expires_s, notify_trying=trying)
    record.response = 202
    if trying:
        record.notify.append(100)


async def _unroutable(refer: IncomingRefer, record: ReferRecord, policies: Policies) -> None:
    """§6 failure case: the number is in no routed DID range; the original call stays up."""
    logger.info("take-back to %s: no flow for that DID (%s)", record.number, policies.refer_unroutable)
    if policies.refer_unroutable == "notify-404":
        _accept(refer, record, policies)
        await _notify(refer, record, 404, "Not Found")
    elif policies.refer_unroutable == "immediate-404":
        _reject(refer, record, 404)
    else:
        _reject(refer, record, 480)


async def _bye_policy(leg: DeviceLeg, record: ReferRecord, policies: Policies) -> None:
    """§6 step 4: the device's BYE within the grace period, else ours (when the policy says so)."""
    policy = policies.bye_policy
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(leg.call.wait_terminated(), policy.wait_for_device_bye_s)
    if leg.call.terminated:
        record.bye_by = "genesys" if leg.call.termination_reason == "local-bye" else "device"
        return
    if not policy.genesys_sends_bye:
        return
    record.bye_by = "genesys"
    with contextlib.suppress(SipRuntimeError, RuntimeError, TimeoutError):
        await asyncio.wait_for(leg.call.bye(), 32.0)
