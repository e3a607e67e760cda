"""What the emulator remembers about each call, for tests and tools (``engine.conversation(id)``).

The Analytics view of a call lives in the :class:`~takeback.cloud.conversations.ConversationStore`
(GENESYS.md §9.5). This is the richer, emulator-only view of the same conversation: every flow that ran
with the ``Call.UUIData`` it saw (``record.flows_run[-1].uui_data``), every SIP leg with its Call-ID,
every REFER and what was decided about it, every dial attempt that was never sent (Max Call Rate, no
listener for the trunk's transport: no Call-ID, so no leg and no Analytics session) and every release
link transfer (:mod:`.rlt`). :class:`AnalyticsRecorder` writes the store as things happen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .conversations import ConversationStore, FlowInfo

if TYPE_CHECKING:
    from .rlt import ReleaseLinkRecord

__all__ = [
    "AnalyticsRecorder",
    "ConversationRecord",
    "FlowRecord",
    "LegRecord",
    "ReferRecord",
    "SkippedAttempt",
    "describe",
]


@dataclass(slots=True)
class FlowRecord:
    """One Architect flow run: ``uui_data`` is ``Call.UUIData`` as the flow saw it (GENESYS.md §5.2)."""

    flow_name: str
    did: str
    uui_data: str | None
    prompts: list[str] = field(default_factory=list)
    collected: dict[str, str] = field(default_factory=dict)
    participant_data: dict[str, str] = field(default_factory=dict)
    transfers: list[str] = field(default_factory=list)
    outcome: str = "running"  # running | transferred | disconnected | failed
    session_id: str | None = None


@dataclass(slots=True)
class LegRecord:
    """One SIP leg to a device (``external`` participant) and how it went."""

    number: str
    trunk: str
    call_id: str
    target: str
    uui_sent: tuple[tuple[str, str], ...] = ()
    status: int | None = None
    end_reason: str | None = None
    taken_back: bool = False
    media_problem: str | None = None
    digits_sent: str = ""
    packets_received: int = 0
    packets_sent: int = 0
    session_id: str | None = None


@dataclass(slots=True)
class ReferRecord:
    """One REFER on a device leg (GENESYS.md §6): what it asked for and what the emulator answered."""

    call_id: str
    refer_to: str
    number: str | None = None
    uui_data: str | None = None
    spelling: str | None = None
    rfc_correct: bool = True
    warnings: tuple[str, ...] = ()
    response: int | None = None  # 202, or the status the REFER was rejected with
    notify: list[int] = field(default_factory=list)  # sipfrag statuses sent
    flow: str | None = None
    bye_by: str | None = None  # "device" | "genesys" | None (call still up)


@dataclass(frozen=True, slots=True)
class SkippedAttempt:
    """A dial attempt toward a device that was never sent: the trunk's Max Call Rate (GENESYS.md §3.3) or
    no listener here for its transport. Nothing went on the wire, so there is no Call-ID to show."""

    number: str
    trunk: str
    target: str
    reason: str


@dataclass(slots=True)
class ConversationRecord:
    """The emulator's view of one conversation (module doc). ``done`` is set when the call is over."""

    conversation_id: str
    ani: str
    dnis: str
    caller_name: str = ""
    customer_call_id: str = ""
    customer_session_id: str | None = None
    flows_run: list[FlowRecord] = field(default_factory=list)
    legs: list[LegRecord] = field(default_factory=list)
    refers: list[ReferRecord] = field(default_factory=list)
    skipped_attempts: list[SkippedAttempt] = field(default_factory=list)
    release_links: list[ReleaseLinkRecord] = field(default_factory=list)  # RLT requests (:mod:`.rlt`)
    failures: list[str] = field(default_factory=list)
    ended: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_ids(self) -> list[dict[str, str]]:
        """``[{"party": "customer"|"external", "call_id": …}]``, as ``takeback demo --json`` prints them."""
        legs = [{"party": "customer", "call_id": self.customer_call_id}]
        legs += [{"party": "external", "call_id": leg.call_id} for leg in self.legs if leg.status == 200]
        return legs

    async def wait(self, timeout: float | None = None) -> ConversationRecord:
        """Wait until the conversation ended (bounded by ``timeout`` seconds)."""
        await asyncio.wait_for(self.done.wait(), timeout)
        return self


class AnalyticsRecorder:
    """Writes the Analytics side (participants customer / ivr / external, one session per leg with its
    SIP Call-ID as ``protocolCallId``, ``tel:`` addresses; GENESYS.md §9.5, §11 item 7)."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    def start(self, record: ConversationRecord) -> None:
        store, cid = self.store, record.conversation_id
        store.start_conversation(conversation_id=cid)
        customer = store.add_participant(cid, "customer", name=record.caller_name or record.ani)
        record.customer_session_id = store.add_session(
            cid,
            customer,
            direction="inbound",
            ani=record.ani or None,
            dnis=record.dnis,
            protocol_call_id=record.customer_call_id,
            segment_type="interact",
        )

    def flow_started(self, record: ConversationRecord, flow: FlowRecord) -> None:
        cid = record.conversation_id
        participant = self.store.add_participant(cid, "ivr", name=flow.flow_name)
        flow.session_id = self.store.add_session(
            cid,
            participant,
            direction="inbound",
            ani=record.ani or None,
            dnis=flow.did,
            peer_id=record.customer_session_id,
            flow=FlowInfo(flow_name=flow.flow_name, flow_type="INBOUNDCALL"),
            segment_type="ivr",
        )

    def flow_ended(self, record: ConversationRecord, flow: FlowRecord, transfer_to: str | None) -> None:
        if flow.session_id is None:
            return
        cid = record.conversation_id
        conversation = self.store.get(cid)
        if conversation is not None and transfer_to is not None:
            session = conversation.session(flow.session_id)
            if session.flow is not None:
                session.flow.transfer_type = "External"  # INFERRED (§9.5)
                session.flow.transfer_target_address = transfer_to
                self.store.put(conversation)
        disconnect = "transfer" if transfer_to is not None else "endpoint"
        self.store.end_session(cid, flow.session_id, disconnect_type=disconnect)

    def leg_placed(self, record: ConversationRecord, leg: LegRecord, dnis: str) -> None:
        """An ``external`` participant with one outbound session per INVITE attempt (its Call-ID)."""
        cid = record.conversation_id
        participant = self.store.add_participant(cid, "external", name=dnis)
        leg.session_id = self.store.add_session(
            cid,
            participant,
            direction="outbound",
            ani=record.ani or None,
            dnis=dnis,
            session_dnis=dnis,
            protocol_call_id=leg.call_id,
            peer_id=record.customer_session_id,
            segment_type="interact" if leg.status == 200 else "alert",
        )
        if leg.status != 200:
            self.store.end_session(cid, leg.session_id, disconnect_type="error", sip_response_code=leg.status)

    def leg_ended(self, record: ConversationRecord, leg: LegRecord, disconnect_type: str) -> None:
        if leg.session_id is not None:
            self.store.end_session(record.conversation_id, leg.session_id, disconnect_type=disconnect_type)

    def ended(self, record: ConversationRecord) -> None:
        self.store.end_conversation(record.conversation_id)


def describe(record: ConversationRecord) -> dict[str, Any]:
    """A JSON-able summary (CLI, REST timeline ``GET /emulator/v1/calls/{id}``)."""
    return {
        "conversation_id": record.conversation_id,
        "ani": record.ani,
        "dnis": record.dnis,
        "legs": record.call_ids,
        "flows": [
            {"flow": f.flow_name, "did": f.did, "uui_data": f.uui_data, "outcome": f.outcome}
            for f in record.flows_run
        ],
        "refers": [
            {"refer_to": r.refer_to, "response": r.response, "notify": r.notify, "uui_data": r.uui_data}
            for r in record.refers
        ],
        "skipped_attempts": [
            {"number": s.number, "trunk": s.trunk, "target": s.target, "reason": s.reason}
            for s in record.skipped_attempts
        ],
        "release_links": [_release_link(link) for link in record.release_links],
        "ended": record.ended,
        "failures": record.failures,
    }


def _release_link(link: ReleaseLinkRecord) -> dict[str, Any]:
    return {
        "number": link.number,
        "trunk": link.trunk,
        "refer_to": link.refer_to,
        "outcome": link.outcome,
        "reason": link.reason,
        "refer_status": link.refer_status,
        "notify_status": link.notify_status,
        "progress": list(link.progress),
        "bye_by": link.bye_by,
    }
