"""``takeback demo``: the article's call, end to end, on 127.0.0.1.

The Genesys Cloud emulator (``examples/org.yaml``, built in) and the device (``examples/device.yaml``,
built in) run in this process on their DESIGN.md §3 ports. A simulated PSTN caller +13175551234 dials
+18005550100; the "Main IVR" flow sets the UUI and transfers to 9991; number plans, classification and
outbound route pick the device trunk; the device answers, greets with TTS, the caller presses 1234 over
RTP (RFC 4733), and the device takes the call back to +33456456456 with UUI ``<conversationId>|1234``.
The demo succeeds only if the take-back flow sees exactly that as ``Call.UUIData``, and it checks the
conversationId ↔ Call-ID correlation through the emulator's analytics REST API like a user would.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ..cloud import Org, load_org
from ..cloud.calllog import ConversationRecord
from ..cloud.org import builtin_org_text
from ..cloud.server import CloudServer
from ..device.config import builtin_device_config
from ..device.server import DeviceServer
from ..net.loop import run as run_loop  # uvloop when installed
from ..observe import SipTrace

PSTN_NUMBER = "+18005550100"
CALLER = "+13175551234"
DIGITS = "1234"
CALL_TIMEOUT = 45.0
DEFAULT_DEVICE_PORT = 5080
BYE_WAIT = 8.0  # device bye_grace (2 s) + the emulator's BYE policy, with margin


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """DESIGN.md §3 network defaults; every port can be moved (``0`` = any free port)."""

    cloud_sip: int = 5070
    cloud_api: int = 8070
    device_sip: int = 5080
    device_http: int = 8080


@dataclass
class DemoResult:
    """What the demo observed. ``ok`` only when the take-back flow saw the UUI the device sent."""

    conversation_id: str = ""
    uui_sent: str | None = None
    call_uui_data: str | None = None
    refer_to: str | None = None
    refer_spelling: str | None = None
    notify: list[int] = field(default_factory=list)
    legs: list[dict[str, str]] = field(default_factory=list)
    analytics_legs: list[dict[str, str]] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    device_record: dict[str, Any] | None = None
    parties: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.uui_sent is not None
            and self.call_uui_data == self.uui_sent
            and bool(self.analytics_legs)
        )


Progress = Callable[[str], None]


async def run_demo(out: Path, ports: DemoPorts, trace: SipTrace, progress: Progress) -> DemoResult:
    """Run the whole scenario once; never raises for a failed call (the result says what went wrong)."""
    result = DemoResult()
    device = DeviceServer(
        builtin_device_config(),
        cwd=out,
        listen=[f"udp:127.0.0.1:{ports.device_sip}", f"tcp:127.0.0.1:{ports.device_sip}"],
        http=("127.0.0.1", ports.device_http),
    )
    await device.start()
    try:
        device_port = device.endpoints[0].port
        progress(f"device: SIP udp+tcp 127.0.0.1:{device_port}, "
                 f"status page http://127.0.0.1:{device.http.port if device.http else '-'}/")  # fmt: skip
        cloud = CloudServer(
            _org_pointing_at(device_port),
            sip=(f"udp:127.0.0.1:{ports.cloud_sip}", f"tcp:127.0.0.1:{ports.cloud_sip}"),
            api=("127.0.0.1", ports.cloud_api),
            trace=trace,
        )
        async with cloud:
            progress(f"Genesys Cloud emulator: SIP udp+tcp 127.0.0.1:{cloud.endpoint().port}, "
                     f"Platform API {cloud.api.base_url}")  # fmt: skip
            result.parties = {
                ("127.0.0.1", cloud.endpoint().port): "genesys",
                ("127.0.0.1", device_port): "device",
            }
            record = await _place_call(cloud, progress)
            _collect(record, result)
            result.device_record = await _device_record(device, result)
            result.analytics_legs = await _analytics_legs(cloud.api.base_url, result.conversation_id)
    finally:
        await device.close()
    return result


def _org_pointing_at(device_port: int) -> Org:
    """The built-in org.yaml, with the device trunk's SIP server on the port the device really got."""
    text = builtin_org_text()
    if device_port != DEFAULT_DEVICE_PORT:
        text = text.replace(f"127.0.0.1:{DEFAULT_DEVICE_PORT}", f"127.0.0.1:{device_port}")
    return load_org(text)


async def _place_call(cloud: CloudServer, progress: Progress) -> ConversationRecord:
    progress(f"PSTN caller {CALLER} dials {PSTN_NUMBER}; will press {DIGITS} once bridged to the device")
    record = await cloud.call(PSTN_NUMBER, ani=CALLER, dtmf_to_device=DIGITS)
    progress(f"conversation {record.conversation_id} enters flow 'Main IVR': Set UUI Data, Transfer to 9991")
    try:
        await record.wait(CALL_TIMEOUT)
    except TimeoutError:
        record.failures.append(f"the call did not finish within {CALL_TIMEOUT:.0f} s")
    await _legs_released(record, BYE_WAIT)
    return record


async def _legs_released(record: ConversationRecord, timeout: float) -> None:
    """The flow may end before the device leg's BYE (GENESYS.md §6 BYE policy): let the BYE show."""
    deadline = asyncio.get_running_loop().time() + timeout
    while any(leg.end_reason is None for leg in record.legs if leg.status == 200):
        if asyncio.get_running_loop().time() > deadline:
            record.failures.append("the device leg was still up after the take-back")
            return
        await asyncio.sleep(0.05)


def _collect(record: ConversationRecord, result: DemoResult) -> None:
    result.conversation_id = record.conversation_id
    result.legs = record.call_ids
    result.flows = [f"{f.flow_name} ({f.did}): {f.outcome}" for f in record.flows_run]
    result.failures.extend(record.failures)
    if record.refers:
        refer = record.refers[-1]
        result.refer_to = refer.refer_to
        result.refer_spelling = refer.spelling
        result.notify = list(refer.notify)
    back = [f for f in record.flows_run if f.did != PSTN_NUMBER]
    if back:
        result.call_uui_data = back[-1].uui_data
    else:
        result.failures.append("no flow ran on the take-back DID")


async def _device_record(device: DeviceServer, result: DemoResult) -> dict[str, Any] | None:
    """The device's own call record (SQLite): the UUI it sent, as it wrote it down."""
    if device.records is None:
        return None
    await device.records.barrier()
    for row in device.records.list_recent(20):
        if row.get("conversation_id") == result.conversation_id:
            result.uui_sent = row.get("uui_out")
            return row
    result.failures.append("the device has no call record for this conversation")
    return None


async def _analytics_legs(base_url: str, conversation_id: str) -> list[dict[str, str]]:
    """conversationId → legs and their SIP Call-IDs, through the emulator's Platform API (GENESYS.md §9.5)."""
    basic = base64.b64encode(b"takeback:takeback").decode()
    async with aiohttp.ClientSession(base_url) as http:
        async with http.post(
            "/oauth/token", data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ) as response:  # fmt: skip
            token = (await response.json())["access_token"]
        url = f"/api/v2/analytics/conversations/{conversation_id}/details"
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status != 200:
                return []
            details = await response.json()
    return [
        {"party": participant.get("purpose", ""), "call_id": session["protocolCallId"]}
        for participant in details.get("participants", [])
        for session in participant.get("sessions", [])
        if session.get("protocolCallId")
    ]


def run(out: Path, ports: DemoPorts, trace: SipTrace, progress: Progress) -> DemoResult:
    return run_loop(run_demo(out, ports, trace, progress))
