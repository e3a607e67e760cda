"""Release Link Transfer: Genesys hands a transfer to the carrier with a REFER instead of bridging it.

GENESYS.md §3.3 (``trunk_rlt_enabled``), §1 item 2 and §6 (last item). This is the article's step-4
warning: with Release Link Transfer on the BYOC PSTN trunk, a *Transfer to Number* toward the device is
REFERred to the carrier, Genesys leaves the signalling path, and the device's take-back REFER has no
Genesys dialog to land on.

Rules, each with its source:

* requested by the flow (Architect "Perform release link transfer" = ``release_link_transfer`` on
  ``transfer_to_number``) [DOC RC-T2N];
* possible only when the call came in over a real SIP leg on a BYOC trunk with Release Link Transfer on
  [DOC RC-T2N: "If the call's BYOC Cloud or Premises Edge trunk does not support release link transfer or
  release link transfer is inactive, the fallback runtime behavior is to perform a standard bridge
  transfer. In this case, execution does not take the failure output"; "Release link transfer is not
  available for Genesys Cloud Voice"]. The simulated PSTN caller (:mod:`.pstn`) has no SIP leg to REFER:
  it counts as "does not support" and is bridged;
* the REFER goes in the caller's dialog (RFC 3515 §2.4.1), ``Refer-To`` =
  ``<sip:NUMBER@HOST>`` [DOC BLOG: "it sends a REFER to the carrier"]. NUMBER per
  ``Policies.rlt_refer_to_number`` (default: the inbound site's number plans and the trunk's called
  omit-+, as an INVITE on that trunk would carry it, §4.1/§4.2, INFERRED), HOST per
  ``Policies.rlt_refer_to_host`` (UNKNOWN; default the trunk's first SIP server), Set UUI Data inside the
  Refer-To only with ``Policies.rlt_uui_in_refer_to`` (UNKNOWN, off);
* the outcome is the terminal NOTIFY's sipfrag (RFC 3515 §2.4.5, GENESYS.md §12 item 6), bounded by
  ``Policies.rlt_notify_timeout_s``. 2xx: released. The caller's ``customer`` session ends with
  disconnect type ``transfer`` [DOC SDK enum], Genesys leaves the call: it waits
  ``Policies.rlt_wait_for_carrier_bye_s`` for the carrier's BYE, then sends BYE itself (the transferor's
  BYE, RFC 5589 §6.1; INFERRED);
* REFER refused (4xx/5xx, 481), non-2xx sipfrag or no terminal NOTIFY: ``Policies.rlt_refer_failure``
  (INFERRED; default ``bridge`` - the same fallback RC-T2N documents for an unsupported trunk; ``fail``
  takes the flow's failure path).

Every attempt is kept as a :class:`ReleaseLinkRecord` in ``ActiveConversation.release_links``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from takeback.net import Call, SipRuntimeError
from takeback.sip import SipParseError, SipUri, parse_name_addr
from takeback.uui import UUI_HEADER, UuiError, encode

from .org import Org
from .policies import Policies
from .routing import classify_number
from .trunk import Trunk

if TYPE_CHECKING:
    from .engine import ActiveConversation, CloudEngine
    from .flows import TransferCall

__all__ = [
    "ReleaseLinkRecord",
    "RltDecision",
    "leave_released_call",
    "release_link_transfer",
    "rlt_refer_to",
    "rlt_unsupported",
]

logger = logging.getLogger("takeback.cloud.rlt")

#: What the transfer does next: the carrier took the call, bridge it after all, or fail the transfer.
RltDecision = Literal["released", "bridge", "fail"]


@dataclass(slots=True)
class ReleaseLinkRecord:
    """One release link transfer request of a flow and what became of it (module doc)."""

    number: str  # as the flow's Transfer to Number gave it
    trunk: str | None = None
    refer_to: str | None = None
    outcome: Literal["released", "bridged", "failed"] = "bridged"
    reason: str = ""  # why it was not released
    refer_status: int | None = None  # 202 when accepted, else the REFER's final status (None: no answer)
    notify_status: int | None = None  # the terminal sipfrag status, when the REFER was accepted
    progress: tuple[int, ...] = ()  # non-terminal sipfrag statuses (100 Trying …)
    bye_by: Literal["genesys", "carrier"] | None = None


def rlt_unsupported(active: ActiveConversation) -> str | None:
    """Why this call cannot be released to the carrier [DOC RC-T2N], or None when it can."""
    call, trunk = active.customer_call, active.inbound_trunk
    if call is None:
        return "the caller is simulated (no SIP leg to REFER): bridged [RC-T2N fallback]"
    if trunk is None:
        return "the call came in on no known trunk: bridged [RC-T2N fallback]"
    if trunk.kind != "byoc":
        return "release link transfer is not available for Genesys Cloud Voice [RC-T2N]: bridged"
    if not trunk.release_link_transfer:
        return f"Release Link Transfer is off on trunk {trunk.name!r}: bridged [RC-T2N fallback]"
    if call.terminated or call.dialog is None:
        return "the caller's call is not established"
    return None


def _refer_number(org: Org, trunk: Trunk, number: str, policies: Policies) -> str:
    """The Refer-To user part per ``Policies.rlt_refer_to_number`` (INFERRED, §4.1 (2), §4.2)."""
    if policies.rlt_refer_to_number == "dialed":
        return number
    normalized = classify_number(org, org.site_for_trunk(trunk.name), number).number
    if normalized.startswith(("sip:", "sips:")):  # the Network plan's URI form: keep the dialed number
        return number
    return normalized.removeprefix("+") if trunk.called_address_omit_plus else normalized


def _refer_host(trunk: Trunk, call: Call, policies: Policies) -> tuple[str, int | None]:
    """The Refer-To host per ``Policies.rlt_refer_to_host`` (UNKNOWN)."""
    if policies.rlt_refer_to_host == "sip-server" and trunk.proxies:
        proxy = trunk.proxies[0]
        return proxy.host, proxy.port
    value = call.invite.headers.get("Contact")
    with contextlib.suppress(SipParseError):
        uri = parse_name_addr(value).uri if value else None
        if isinstance(uri, SipUri):
            return uri.host, uri.port
    peer = call.peer
    return (peer.host, peer.port) if peer is not None else ("localhost", None)


def rlt_refer_to(org: Org, trunk: Trunk, call: Call, number: str, uui: str | None) -> str:
    """The ``Refer-To`` value of the release link REFER (module doc); raises ``UuiError``/``ValueError``."""
    policies = org.policies
    headers: dict[str, str] = {}
    if uui is not None and policies.rlt_uui_in_refer_to:
        _name, value = encode(
            uui, header_type="User-to-User", encoding=trunk.uui_encoding_name, pd=trunk.uui_pd
        )
        headers[UUI_HEADER] = value  # the §5.2 REFER form: UUI as a Refer-To URI header
    host, port = _refer_host(trunk, call, policies)
    user = _refer_number(org, trunk, number, policies)
    return f"<{SipUri('sip', user, None, host, port, {}, headers)}>"


async def release_link_transfer(
    engine: CloudEngine, active: ActiveConversation, effect: TransferCall
) -> RltDecision:
    """Try to release the call to the carrier (module doc); the caller bridges on ``"bridge"``."""
    record = ReleaseLinkRecord(effect.number)
    active.release_links.append(record)
    reason = rlt_unsupported(active)
    if reason is not None:
        record.reason = reason
        return "bridge"
    call, trunk = active.customer_call, active.inbound_trunk
    assert call is not None and trunk is not None
    org = engine.org
    policies = org.policies
    record.trunk = trunk.name
    try:
        record.refer_to = rlt_refer_to(org, trunk, call, effect.number, effect.uui)
        outcome = await call.refer(record.refer_to, timeout=policies.rlt_notify_timeout_s)
    except (UuiError, ValueError, SipRuntimeError, RuntimeError) as exc:
        return _failed(record, policies, f"no REFER sent: {exc}")
    record.refer_status = 202 if outcome.accepted else outcome.status
    record.notify_status = outcome.status if outcome.accepted else None
    record.progress = outcome.progress
    if active.record.ended:
        record.outcome, record.reason = "failed", "the caller hung up during the release link transfer"
        return "fail"
    if not outcome.success:
        return _failed(record, policies, _describe_failure(outcome.accepted, outcome.status))
    record.outcome = "released"
    session = active.record.customer_session_id
    if session is not None:  # the conversation shows the caller's leg ended by a transfer [DOC SDK enum]
        engine.store.end_session(active.record.conversation_id, session, disconnect_type="transfer")
    logger.info("call %s released to the carrier: REFER %s", call.call_id, record.refer_to)
    return "released"


def _describe_failure(accepted: bool, status: int | None) -> str:
    if not accepted:
        return f"REFER refused ({status})" if status is not None else "REFER got no answer"
    return f"carrier reported {status}" if status is not None else "no terminal NOTIFY in time"


def _failed(record: ReleaseLinkRecord, policies: Policies, reason: str) -> RltDecision:
    """``Policies.rlt_refer_failure`` (INFERRED): bridge after all, or the flow's failure path."""
    logger.info(
        "release link transfer to %s failed: %s (%s)", record.number, reason, policies.rlt_refer_failure
    )
    record.reason = reason
    if policies.rlt_refer_failure == "bridge":
        record.outcome = "bridged"
        return "bridge"
    record.outcome = "failed"
    return "fail"


async def leave_released_call(engine: CloudEngine, active: ActiveConversation) -> None:
    """After a released transfer: the carrier's BYE within the grace period, else ours (module doc)."""
    call = active.customer_call
    record = active.release_links[-1]
    grace = engine.org.policies.rlt_wait_for_carrier_bye_s
    if call is not None and not call.terminated and grace > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.wait_terminated(), grace)
    carrier_left = call is not None and call.termination_reason == "remote-bye"
    record.bye_by = "carrier" if carrier_left else "genesys"
    await engine.end_conversation(active, "released by release link transfer")  # BYEs a caller still up
