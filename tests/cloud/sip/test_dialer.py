"""Placing the INVITE (takeback.cloud.dialer): Digest, failover, Max Dial Timeout -> CANCEL.

GENESYS.md §4.1 (5), §4.3, §3.3 (Max Dial Timeout, retryable reason codes), §11 item 4. Real UDP devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

from takeback.cloud.api.state import fields_of
from takeback.cloud.server import CloudServer

from .support import ARTICLE_UUI, MAIN_DID, Device, device_trunk, make_org

DIGEST = {"digest_authentication": True, "digest_user_name": "genesys", "digest_password": "s3cret"}


@contextlib.asynccontextmanager
async def two_devices(
    first: Device, second: Device, trunk: dict[str, Any] | None = None, **org: Any
) -> AsyncIterator[CloudServer]:
    """Both devices as the trunk's SIP servers, in that order (GENESYS.md §3.3: list order)."""
    async with first, second:
        servers = [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"]
        settings = device_trunk(first.port, sip_servers=servers, **(trunk or {}))
        org_model = make_org(first.port, trunk=settings, **org)
        async with CloudServer(org_model, sip=["udp:127.0.0.1:0"], rng=random.Random(3)) as cloud:
            yield cloud


async def one_call(cloud: CloudServer) -> Any:
    record = await cloud.call(MAIN_DID)
    await record.wait(15)
    return record


async def test_digest_challenge_is_answered_with_the_trunk_credentials() -> None:
    """§4.3 [DOC BLOG]: the INVITE challenged with 401 is re-sent with Authorization (RFC 3261 §22.2:
    same Call-ID and From tag, CSeq + 1), and the take-back goes on."""
    device = Device(challenge=("device.example", "genesys", "s3cret"))
    async with device:
        trunk = device_trunk(device.port, digest_realm="device.example", **DIGEST)
        async with CloudServer(make_org(device.port, trunk=trunk), sip=["udp:127.0.0.1:0"]) as cloud:
            record = await one_call(cloud)
    first, second = device.invites
    assert first.call_id == second.call_id and first.from_.tag == second.from_.tag
    assert (first.cseq.seq, second.cseq.seq) == (1, 2)
    assert "Authorization" not in first.headers and "Authorization" in second.headers
    assert record.legs[-1].status == 200 and record.flows_run[-1].uui_data == ARTICLE_UUI


async def test_wrong_credentials_fail_the_transfer_and_the_flow_takes_its_failure_path() -> None:
    """§4.3: a second refusal ends the attempt; Architect continues with the next action [RC-T2N]."""
    device = Device(challenge=("device.example", "genesys", "another-password"))
    async with device:
        trunk = device_trunk(device.port, **DIGEST)
        async with CloudServer(make_org(device.port, trunk=trunk), sip=["udp:127.0.0.1:0"]) as cloud:
            record = await one_call(cloud)
    assert len(device.invites) == 2
    main = record.flows_run[0]
    assert main.outcome == "disconnected" and main.prompts == ["Sorry, the transfer failed."]
    assert record.legs[0].status == 403 and record.failures


async def test_without_digest_settings_a_challenge_fails_the_call() -> None:
    """§4.3: Digest off on the trunk -> nothing to answer the 401 with."""
    device = Device(challenge=("device.example", "genesys", "s3cret"))
    async with device, CloudServer(make_org(device.port), sip=["udp:127.0.0.1:0"]) as cloud:
        record = await one_call(cloud)
    assert len(device.invites) == 1 and record.legs[0].status == 401


async def test_failover_on_503_to_the_second_sip_server() -> None:
    """§4.1 (5) / §3.3 retryable reason codes 500-599 (INFERRED): 503 -> next SIP server in list order;
    each attempt is an external session with its own Call-ID (§9.5)."""
    busy, good = Device(reject=503), Device()
    async with two_devices(busy, good) as cloud:
        record = await one_call(cloud)
        analytics = cloud.store.get(record.conversation_id)
    assert len(busy.invites) == 1 and len(good.invites) == 1
    assert busy.invites[0].call_id != good.invites[0].call_id
    assert [leg.status for leg in record.legs] == [503, 200]
    assert record.flows_run[-1].uui_data == ARTICLE_UUI
    assert analytics is not None
    externals = [p for p in analytics.participants if p.purpose == "external"]
    assert [p.sessions[0].protocol_call_id for p in externals] == [
        busy.invites[0].call_id,
        good.invites[0].call_id,
    ]
    assert externals[0].sessions[0].segments[-1].sip_response_codes == [503]


async def test_a_non_retryable_status_does_not_fail_over() -> None:
    """§3.3: 486 is outside the retryable codes: the transfer fails, the second server is not tried."""
    busy, good = Device(reject=486), Device()
    async with two_devices(busy, good) as cloud:
        record = await one_call(cloud)
    assert len(busy.invites) == 1 and good.invites == []
    assert record.flows_run[0].prompts == ["Sorry, the transfer failed."]


async def test_retryable_codes_come_from_the_trunk() -> None:
    """§3.3 trunk_transport_retryableReasonCodes: a trunk may retry 486 too."""
    busy, good = Device(reject=486), Device()
    async with two_devices(busy, good, trunk={"retryable_reason_codes": "486,500-599"}) as cloud:
        record = await one_call(cloud)
    assert [leg.status for leg in record.legs] == [486, 200]


async def test_max_dial_timeout_cancels_then_fails_over() -> None:
    """§3.3 / §11 item 4: no answer within Max Dial Timeout -> CANCEL (RFC 3261 §9.1); no answer counts
    for failover (Policies.failover_on_timeout, INFERRED)."""
    ringing, good = Device(ring_only=True), Device()
    async with two_devices(ringing, good, trunk={"max_dial_timeout": "500ms"}) as cloud:
        record = await one_call(cloud)
        await asyncio.wait_for(ringing.done.get(), 10)
    assert ringing.ended == ["cancelled"]
    assert record.legs[0].status is None and "CANCEL" in (record.legs[0].end_reason or "")
    assert record.legs[1].status == 200


async def test_no_failover_on_timeout_when_the_policy_is_off() -> None:
    """§4.1 (5) INFERRED: Policies.failover_on_timeout = false stops after a CANCELled attempt."""
    ringing, good = Device(ring_only=True), Device()
    policies = {"failover_on_timeout": False}
    async with two_devices(ringing, good, trunk={"max_dial_timeout": "300ms"}, policies=policies) as cloud:
        record = await one_call(cloud)
        await asyncio.wait_for(ringing.done.get(), 10)
    assert good.invites == [] and ringing.ended == ["cancelled"]
    assert record.flows_run[0].outcome == "disconnected"


async def test_connect_timeout_of_the_flow_shortens_the_dial() -> None:
    """[DOC RC-T2N] the Architect Connect Timeout interacts with Max Dial Timeout: the shorter wins."""
    ringing = Device(ring_only=True)
    async with ringing:
        transfer = {"transfer_to_number": {"number": "9991", "connect_timeout": "300ms"}}
        flows = [
            {"name": "Main IVR", "actions": [transfer]},
            {"name": "Back", "actions": ["disconnect"]},
        ]
        org = make_org(ringing.port, flows=flows)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud:
            record = await one_call(cloud)
            await asyncio.wait_for(ringing.done.get(), 10)
    assert ringing.ended == ["cancelled"] and record.legs[0].status is None


async def test_a_trunk_switched_to_a_transport_without_listener_fails_the_attempt() -> None:
    """A trunk switched to tls through the API while the emulator listens on udp only: the INVITE cannot
    be sent (no Via/Contact address). The attempt is recorded as not sent with the reason, the transfer
    takes the flow's failure path, and the flow is not crashed."""
    device = Device()
    async with device:
        org = make_org(device.port)
        async with CloudServer(
            org, sip=["udp:127.0.0.1:0"], api=("127.0.0.1", 0), rng=random.Random(3)
        ) as cloud:
            trunks = [
                t if t.name != "Device" else t.model_copy(update={"protocol": "tls"}) for t in org.trunks
            ]
            cloud.state.replace(cloud.state.validate({**fields_of(org), "trunks": trunks}))
            record = await one_call(cloud)
    assert device.invites == [] and record.legs == []
    (skipped,) = record.skipped_attempts
    assert skipped.trunk == "Device" and skipped.target == f"127.0.0.1:{device.port}"
    assert skipped.reason.startswith("no tls listener on the emulator for trunk 'Device' (protocol tls)")
    assert record.failures == [f"transfer to 9991: status None ({skipped.reason})"]
    assert record.flows_run[0].prompts == ["Sorry, the transfer failed."]
    assert record.ended
