"""Running Architect-lite flows against a live call: the effects of :func:`takeback.cloud.flows.step`.

* ``PlayPrompt``: recorded in :attr:`FlowRecord.prompts` (the simulated caller has no ears);
* ``CollectDigits``: the simulated caller's IVR digits (``PstnCaller.ivr_digits``), up to ``max_digits``
  or the terminator; none left = the collect times out with "" (Architect's no-input path);
* ``TransferCall``: Transfer to Number through the dial path (:meth:`CloudEngine.transfer`). Success ends
  the flow (the call is bridged to the device, or released to the carrier by a release link transfer,
  after which Genesys leaves the call: :func:`takeback.cloud.rlt.leave_released_call`); failure continues
  with the next action, Architect's failure path [DOC RC-T2N];
* ``DisconnectCall``: the flow hangs up; the conversation ends unless a transfer holds the call.

:func:`begin_flow` records the run at once (so ``Call.UUIData`` of a take-back flow is visible as soon as
the REFER is accepted); :func:`drive_flow` performs the effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calllog import FlowRecord
from .flows import CollectDigits, Flow, FlowRun, PlayPrompt, TransferCall, start_flow, step
from .rlt import leave_released_call

if TYPE_CHECKING:
    from .engine import ActiveConversation, CloudEngine

__all__ = ["MAX_FLOW_STEPS", "begin_flow", "drive_flow"]

#: Bound on effects per flow run (a flow cannot loop today, but every loop here is bounded).
MAX_FLOW_STEPS = 500


def begin_flow(
    engine: CloudEngine, active: ActiveConversation, flow: Flow, *, did: str, uui_data: str | None
) -> tuple[FlowRecord, FlowRun]:
    """Start ``flow`` for the DID with ``Call.UUIData`` (GENESYS.md §5.2, §6): record it, open its ivr."""
    record = active.record
    flow_record = FlowRecord(flow.name, did, uui_data)
    record.flows_run.append(flow_record)
    engine.analytics.flow_started(record, flow_record)
    run = start_flow(
        flow, ani=record.ani, dnis=did, conversation_id=record.conversation_id, uui_data=uui_data
    )
    return flow_record, run


async def drive_flow(
    engine: CloudEngine, active: ActiveConversation, flow_record: FlowRecord, run: FlowRun
) -> FlowRecord:
    """Perform the flow's effects until it transfers or disconnects (module doc)."""
    digits: str | None = None
    transferred_to: str | None = None
    for _ in range(MAX_FLOW_STEPS):
        run, effect = step(run, digits)
        digits = None
        flow_record.participant_data = dict(run.participant_data)
        if isinstance(effect, PlayPrompt):
            flow_record.prompts.append(effect.prompt)
        elif isinstance(effect, CollectDigits):
            digits = active.collect(effect.max_digits, effect.terminator)
            flow_record.collected[effect.variable] = digits
        elif isinstance(effect, TransferCall):
            flow_record.transfers.append(effect.number)
            if await engine.transfer(active, effect):
                transferred_to = effect.number
                flow_record.outcome = "transferred"
                break
        else:
            flow_record.outcome = "disconnected"
            break
        if active.record.ended:
            flow_record.outcome = "disconnected"
            break
    else:
        flow_record.outcome = "failed"
    engine.analytics.flow_ended(active.record, flow_record, transferred_to)
    if transferred_to is None:
        await engine.end_conversation(active, "flow")
    elif active.released:  # after flow_ended, so the ivr session closes with "transfer" first
        await leave_released_call(engine, active)
    return flow_record
