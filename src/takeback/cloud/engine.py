"""The emulator's call logic: conversations, flows, transfers to the device and take-back.

One :class:`CloudEngine` per emulator process, on one :class:`~takeback.cloud.sipua.EmulatorUserAgent`.

* A call (simulated PSTN caller, :mod:`.pstn`) is a conversation: a UUID, participants customer / ivr /
  external written to the :class:`~takeback.cloud.conversations.ConversationStore` as they appear
  (GENESYS.md §9.5), and a :class:`~takeback.cloud.calllog.ConversationRecord` for tests and tools.
* The DID's inbound flow runs (:mod:`.flowrunner`); *Transfer to Number* runs the dial path of the
  inbound trunk's site (§4.1 [DOC RC-T2N]), places the INVITE (:mod:`.dialer`, :mod:`.invite`) and bridges
  the caller's simulated media to the device over real RTP (:mod:`.media_leg`). When the flow asks for a
  release link transfer and the caller's trunk allows it, the carrier gets a REFER instead (:mod:`.rlt`).
* A REFER on a device leg is the take-back (:mod:`.takeback`, §6): the DID's flow runs with
  ``Call.UUIData`` from the Refer-To.
* The conversation ends when a flow disconnects, the device hangs up without a take-back, or the caller
  hangs up (:meth:`CloudEngine.hangup`, which BYEs the device legs still up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from takeback.media import MediaError, MediaScheduler, PortAllocator
from takeback.net import Call, IncomingRefer, IncomingRequest, SipRuntimeError
from takeback.sdp import session_id_from_time

from .calllog import (
    AnalyticsRecorder,
    ConversationRecord,
    FlowRecord,
    LegRecord,
    ReferRecord,
    SkippedAttempt,
)
from .conversations import ConversationStore
from .dialer import CallSpec, Dialer, DialResult
from .flowrunner import begin_flow, drive_flow
from .flows import Flow, TransferCall
from .invite import Caller
from .media_leg import MediaLeg
from .org import Org
from .rlt import ReleaseLinkRecord, release_link_transfer
from .routing import Attempt, NoRoute, route_number
from .sipua import EmulatorUserAgent
from .trunk import Trunk

__all__ = ["MAX_CONVERSATIONS", "ActiveConversation", "CloudEngine", "DeviceLeg"]

logger = logging.getLogger("takeback.cloud")

OrgSource = Callable[[], Org]
#: Conversation records kept for ``engine.conversation(id)`` (Analytics keeps everything in its store).
MAX_CONVERSATIONS = 10_000


@dataclass(slots=True)
class ActiveConversation:
    """A conversation in progress: its record, the simulated caller's keys, its device legs."""

    record: ConversationRecord
    ivr_digits: str = ""
    dtmf_to_device: str = ""
    dtmf_delay_s: float = 0.3
    legs: list[DeviceLeg] = field(default_factory=list)
    customer_call: Call | None = None  # a real inbound SIP leg (:mod:`.inbound`), else simulated
    inbound_trunk: Trunk | None = None  # the trunk the real SIP leg came in on (:mod:`.inbound`)

    @property
    def release_links(self) -> list[ReleaseLinkRecord]:
        """The RLT requests (:mod:`.rlt` appends here); kept on the record, so they outlive the call."""
        return self.record.release_links

    @property
    def released(self) -> bool:
        """Did a release link transfer hand the call to the carrier (Genesys leaves it)?"""
        return any(link.outcome == "released" for link in self.release_links)

    def collect(self, max_digits: int, terminator: str) -> str:
        """The caller's next IVR digits: up to ``max_digits`` or the terminator (consumed, not returned)."""
        taken = ""
        while self.ivr_digits and len(taken) < max_digits:
            digit, self.ivr_digits = self.ivr_digits[0], self.ivr_digits[1:]
            if terminator and digit == terminator:
                break
            taken += digit
        return taken


@dataclass(slots=True)
class DeviceLeg:
    """One established call to a device (the ``external`` participant)."""

    active: ActiveConversation
    record: LegRecord
    call: Call
    trunk: Trunk
    media: MediaLeg | None = None
    taken_back: bool = False
    refer: ReferRecord | None = None
    hung_up_for: str | None = None  # why the emulator ended the leg itself ("idle-rtp")


class CloudEngine:
    """Calls, flows, transfers and take-backs of one emulator (module doc)."""

    def __init__(
        self,
        ua: EmulatorUserAgent,
        org_source: OrgSource,
        store: ConversationStore,
        *,
        rng: random.Random,
        scheduler: MediaScheduler,
        ports: PortAllocator,
        media_address: str = "127.0.0.1",
        is_down: Callable[[Attempt], bool] | None = None,
        advertise: str | None = None,
    ) -> None:
        self.ua = ua
        self.org_source = org_source
        self.store = store
        self.rng = rng
        self.scheduler = scheduler
        self.ports = ports
        self.media_address = media_address
        self.analytics = AnalyticsRecorder(store)
        self.dialer = Dialer(
            ua, policies=lambda: self.org.policies, rng=rng, is_down=is_down, advertise=advertise
        )
        self.conversations: dict[str, ActiveConversation] = {}
        self.legs: dict[str, DeviceLeg] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        ua.on_refer = self.on_refer
        ua.on_call = self.on_call

    @property
    def org(self) -> Org:
        """The org calls are routed with now (the REST API may replace it between calls)."""
        return self.org_source()

    def new_id(self) -> str:
        """A UUID (conversation ids, simulated Call-IDs) from the injected rng."""
        text = f"{self.rng.getrandbits(128):032x}"
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-8{text[17:20]}-{text[20:]}"

    def conversation(self, conversation_id: str) -> ConversationRecord:
        """The emulator's record of a conversation (``KeyError`` if unknown)."""
        return self.conversations[conversation_id].record

    def find_by_call_id(self, call_id: str) -> ConversationRecord | None:
        """The conversation one of whose legs has this SIP Call-ID (GENESYS.md §9.5, live)."""
        for active in self.conversations.values():
            record = active.record
            if call_id == record.customer_call_id or any(leg.call_id == call_id for leg in record.legs):
                return record
        return None

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("emulator task failed", exc_info=task.exception())

    # -- conversations --

    def open_conversation(self, record: ConversationRecord, **caller: Any) -> ActiveConversation:
        """Register a new conversation and write its customer participant (§9.5)."""
        active = ActiveConversation(record, **caller)
        self.conversations[record.conversation_id] = active
        self.analytics.start(record)
        return active

    def start_flow(
        self, active: ActiveConversation, flow: Flow, *, did: str, uui_data: str | None
    ) -> FlowRecord:
        """Run ``flow`` for ``did`` with ``Call.UUIData`` in the background; its record exists at once."""
        flow_record, run = begin_flow(self, active, flow, did=did, uui_data=uui_data)
        self.spawn(drive_flow(self, active, flow_record, run))
        return flow_record

    async def end_conversation(self, active: ActiveConversation, reason: str) -> None:
        """The customer's call is over: BYE device legs still up, close the Analytics record."""
        record = active.record
        if record.ended:
            return
        record.ended = True
        logger.info("conversation %s ended (%s)", record.conversation_id, reason)
        for leg in list(active.legs):
            if not leg.call.terminated and not leg.taken_back:  # a taken-back leg follows the BYE policy
                await _quiet_bye(leg.call)
        if active.customer_call is not None and not active.customer_call.terminated:
            await _quiet_bye(active.customer_call)
        self.analytics.ended(record)
        record.done.set()
        self._prune()

    def _prune(self) -> None:
        """At most ``MAX_CONVERSATIONS`` records in memory: the oldest ended ones go (the store keeps all)."""
        excess = len(self.conversations) - MAX_CONVERSATIONS
        if excess <= 0:
            return
        ended = [cid for cid, active in self.conversations.items() if active.record.ended][:excess]
        for cid in ended:
            del self.conversations[cid]

    async def hangup(self, conversation_id: str) -> None:
        """The simulated caller hangs up."""
        await self.end_conversation(self.conversations[conversation_id], "caller hung up")

    # -- Transfer to Number (§4.1, §4.2) --

    async def transfer(self, active: ActiveConversation, effect: TransferCall) -> bool:
        """Dial ``effect.number`` from the inbound trunk's site and bridge the caller to the answer.

        With ``effect.release_link_transfer`` the carrier is REFERred first (:mod:`.rlt`): True when it
        took the call; otherwise the bridged transfer follows (or the failure path, per policy).
        """
        if effect.release_link_transfer:
            decision = await release_link_transfer(self, active, effect)
            if decision == "fail":
                reason = active.release_links[-1].reason
                active.record.failures.append(f"release link transfer to {effect.number}: {reason}")
            if decision != "bridge":
                return decision == "released"
        org, record = self.org, active.record
        inbound = active.inbound_trunk.name if active.inbound_trunk is not None else org.pstn.trunk
        try:
            site = org.site_for_trunk(inbound)  # "the same trunk and site as the inbound call"
            plan = route_number(org, site, effect.number, self.rng)
        except NoRoute as exc:
            record.failures.append(f"transfer to {effect.number}: {exc.message}")
            return False
        media = await self._open_media()
        session_id = session_id_from_time(time.time())
        spec = CallSpec(
            Caller(record.ani, record.caller_name),
            record.conversation_id,
            uui=None if effect.via_api else effect.uui,  # API transfers drop Set UUI Data [DOC BLOG]
            offer_for=(lambda trunk: media.offer(trunk, org.policies, session_id)) if media else None,
            timeout_s=effect.connect_timeout_s,
        )
        result = await self.dialer.dial(plan, spec)
        self._record_attempts(active, result, plan.number)
        if result.call is None or result.attempt is None:
            if media is not None:
                media.close()
            detail = f" ({result.reason})" if result.reason else ""
            record.failures.append(f"transfer to {effect.number}: status {result.status}{detail}")
            return False
        self._bridge(active, result, plan.number, media)
        if record.ended:  # the caller hung up while the device was being dialled
            await _quiet_bye(result.call)
            return False
        return True

    async def _open_media(self) -> MediaLeg | None:
        try:
            return await MediaLeg.open(self.scheduler, self.ports, self.media_address)
        except (MediaError, OSError) as exc:
            logger.warning("no RTP port for the device leg: %s", exc)
            return None

    def _record_attempts(self, active: ActiveConversation, result: DialResult, number: str) -> None:
        """Failed attempts become ended ``external`` sessions with their SIP status (§9.5); attempts never
        sent (no Call-ID: Max Call Rate, no listener) are kept as :class:`SkippedAttempt` only."""
        for attempt in result.attempts:
            if not attempt.call_id:
                skipped = SkippedAttempt(number, attempt.trunk, attempt.target, attempt.reason)
                active.record.skipped_attempts.append(skipped)
                continue
            if attempt.status == 200:
                continue
            leg = LegRecord(number, attempt.trunk, attempt.call_id, attempt.target, status=attempt.status)
            leg.end_reason = attempt.reason
            active.record.legs.append(leg)
            self.analytics.leg_placed(active.record, leg, number)

    def _bridge(
        self, active: ActiveConversation, result: DialResult, number: str, media: MediaLeg | None
    ) -> None:
        call, attempt = result.call, result.attempt
        assert call is not None and attempt is not None and result.built is not None
        leg_record = LegRecord(
            number, attempt.trunk.name, call.call_id, str(attempt.proxy), result.built.uui, status=200
        )
        active.record.legs.append(leg_record)
        self.analytics.leg_placed(active.record, leg_record, number)
        leg = DeviceLeg(active, leg_record, call, attempt.trunk, media)
        active.legs.append(leg)
        self.legs[call.call_id] = leg
        if media is not None and call.response is not None:
            if media.connect(call.response.body):
                self._watch_media(leg, media)
            else:
                leg_record.media_problem = media.problem
        self.spawn(self._watch_leg(leg))

    def _watch_media(self, leg: DeviceLeg, media: MediaLeg) -> None:
        """Re-offers from the device (hold/unhold) and *Disconnect on idle RTP* (§3.3, §4.4 INFERRED)."""

        def on_request(incoming: IncomingRequest) -> None:
            if incoming.method not in ("INVITE", "UPDATE") or not incoming.request.body:
                return  # the runtime's defaults (200 with our last SDP for a refresh, 200 for INFO …)
            answer = media.answer_reoffer(incoming.request.body)
            if answer is None:
                incoming.respond(488)
                return
            leg.call.local_body = answer
            incoming.respond(200, body=answer, content_type="application/sdp")

        leg.call.on_request = on_request
        if leg.trunk.disconnect_on_idle_rtp:
            media.on_idle(self.org.policies.idle_rtp_timeout_s, lambda: self._on_idle(leg))

    def _on_idle(self, leg: DeviceLeg) -> None:
        self.spawn(self._idle(leg))

    async def _idle(self, leg: DeviceLeg) -> None:
        if leg.call.terminated or leg.hung_up_for is not None:
            return
        leg.hung_up_for = "idle-rtp"
        leg.active.record.failures.append(f"no RTP from the device on {leg.call.call_id}: BYE")
        await _quiet_bye(leg.call)

    async def _watch_leg(self, leg: DeviceLeg) -> None:
        """Press the caller's DTMF toward the device, then wait for the leg to end and account for it."""
        active = leg.active
        dtmf = None
        if leg.media is not None and active.dtmf_to_device:
            dtmf = self.spawn(self._press(leg.media, active.dtmf_delay_s, active.dtmf_to_device))
        try:
            reason = await leg.call.wait_terminated()
        finally:
            if dtmf is not None:
                dtmf.cancel()
            self._leg_ended(leg)
        leg.record.end_reason = reason
        if leg.taken_back:
            self.analytics.leg_ended(active.record, leg.record, "transfer")
            return
        disconnect = "timeout" if leg.hung_up_for else ("peer" if reason == "remote-bye" else "client")
        self.analytics.leg_ended(active.record, leg.record, disconnect)
        await self.end_conversation(active, f"device leg ended ({reason})")

    @staticmethod
    async def _press(media: MediaLeg, delay: float, digits: str) -> None:
        await asyncio.sleep(delay)
        await media.send_dtmf(digits)

    def _leg_ended(self, leg: DeviceLeg) -> None:
        if leg.media is not None:
            leg.media.close()
            stats = leg.media.stats
            leg.record.packets_received, leg.record.packets_sent = stats.packets_received, stats.packets_sent
            leg.record.digits_sent = leg.media.digits_sent
        self.legs.pop(leg.call.call_id, None)
        self.ua.forget_leg(leg.call.call_id)

    # -- SIP requests: inbound calls (§10 (6)) and take back (§6) --

    async def on_call(self, call: Call) -> None:
        from .inbound import handle_inbound  # inbound imports this module's types

        await handle_inbound(self, call)

    async def on_refer(self, refer: IncomingRefer) -> None:
        from .takeback import handle_refer  # takeback imports this module's types

        await handle_refer(self, refer)

    async def close(self) -> None:
        """Stop everything running (calls are abandoned, not hung up)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        for leg in list(self.legs.values()):
            if leg.media is not None:
                leg.media.close()
        self.legs.clear()


async def _quiet_bye(call: Call) -> None:
    """BYE that never raises: the peer may already be gone (RFC 3261 §15)."""
    with contextlib.suppress(SipRuntimeError, RuntimeError, TimeoutError):
        await asyncio.wait_for(call.bye(), 10.0)
