"""The emulator process (takeback.cloud.server): SIP side + Platform API in one loop, one conversation store.

GENESYS.md §9.5 / §11 item 7: the device finds the conversationId from its SIP Call-ID through Analytics,
live during the call [DOC BLOG]; GET details shows the external participant's protocolCallId.
"""

from __future__ import annotations

import asyncio
import base64
import random

from aiohttp import ClientSession

from takeback.cloud.server import CloudServer

from .support import MAIN_DID, Device, make_org, until


async def token(http: ClientSession) -> str:
    basic = base64.b64encode(b"takeback:takeback").decode()
    async with http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    ) as response:
        assert response.status == 200
        return str((await response.json())["access_token"])


async def test_analytics_finds_the_live_call_by_its_sip_call_id() -> None:
    """§9.5 [DOC BLOG]: POST details/query with a protocolCallId segment filter works while the call is
    live; GET details lists customer / ivr / external with the device leg's Call-ID."""
    device = Device(refer_to=None)  # the device keeps the call: the conversation stays live
    async with device:
        org = make_org(device.port)
        async with CloudServer(
            org, sip=["udp:127.0.0.1:0"], api=("127.0.0.1", 0), rng=random.Random(9)
        ) as cloud:
            record = await cloud.call(MAIN_DID)
            await until(lambda: bool(device.invites) and bool(record.legs))
            call_id = device.invites[0].call_id
            assert device.invites[0].headers["x-inin-cnv"] == record.conversation_id
            async with ClientSession(base_url=cloud.api.base_url) as http:
                auth = {"Authorization": f"Bearer {await token(http)}"}
                query = {
                    "interval": _today_interval(),
                    "segmentFilters": [{"type": "and", "predicates": [
                        {"type": "dimension", "dimension": "protocolCallId", "value": call_id}]}],
                }  # fmt: skip
                async with http.post(
                    "/api/v2/analytics/conversations/details/query", json=query, headers=auth
                ) as r:
                    found = await r.json()
                path = f"/api/v2/analytics/conversations/{record.conversation_id}/details"
                async with http.get(path, headers=auth) as r:
                    details = await r.json()
            await cloud.engine.hangup(record.conversation_id)  # type: ignore[union-attr]
            await asyncio.wait_for(device.done.get(), 10)
    assert [c["conversationId"] for c in found["conversations"]] == [record.conversation_id]
    purposes = [p["purpose"] for p in details["participants"]]
    assert purposes == ["customer", "ivr", "external"]
    external = details["participants"][2]["sessions"][0]
    assert external["protocolCallId"] == call_id and external["direction"] == "outbound"
    assert details["participants"][0]["sessions"][0]["protocolCallId"] == record.customer_call_id
    assert device.ended == ["remote-bye"]


def _today_interval() -> str:
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    return f"{start:%Y-%m-%dT%H:%M:%S}.000Z/{end:%Y-%m-%dT%H:%M:%S}.000Z"


async def test_sip_only_without_the_api() -> None:
    """DESIGN.md §3: `takeback cloud --api off` runs SIP only; calls still record analytics in the store."""
    device = Device()
    listen = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
    async with device, CloudServer(make_org(device.port), sip=listen) as cloud:
        assert cloud.api is None
        assert {e.transport for e in cloud.endpoints} == {"UDP", "TCP"}
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        assert cloud.store.get(record.conversation_id) is not None
        assert cloud.engine is not None
        assert cloud.engine.find_by_call_id(device.invites[0].call_id) is record


async def test_a_did_without_a_flow_ends_the_call_at_once() -> None:
    """§6 / org model: a DID must be routed to a flow; otherwise the carrier's call fails (INFERRED 404)."""
    async with CloudServer(make_org(9), sip=["udp:127.0.0.1:0"]) as cloud:
        record = await cloud.call("+18005550199")
        assert record.ended and record.failures == ["+18005550199 is not a DID routed to a flow"]


async def test_place_and_follow_a_call_over_rest() -> None:
    """/emulator/v1/calls (emulator-only, for `takeback call`): place a simulated PSTN call, read its
    timeline (Call-IDs, flows with Call.UUIData, REFERs), errors as ErrorBody."""
    device = Device(collect_digits=2)
    async with device:
        org = make_org(device.port)
        cloud = CloudServer(org, sip=["udp:127.0.0.1:0"], api=("127.0.0.1", 0))
        async with cloud, ClientSession(base_url=cloud.api.base_url) as http:
            body = {"to": MAIN_DID, "from": "+13175550000", "dtmf": "42"}
            async with http.post("/emulator/v1/calls", json=body) as r:
                assert r.status == 201
                created = await r.json()
            record = cloud.conversation(created["conversationId"])
            await record.wait(10)
            async with http.get(created["selfUri"]) as r:
                timeline = await r.json()
            async with http.post("/emulator/v1/calls", json={"from": "+1"}) as r:
                missing = (r.status, (await r.json())["code"])
            async with http.get("/emulator/v1/calls/nope") as r:
                unknown = r.status
    assert timeline["ani"] == "+13175550000" and timeline["ended"]
    assert [f["uui_data"] for f in timeline["flows"]] == [None, "This is my data"]
    assert timeline["legs"][1] == {"party": "external", "call_id": device.invites[0].call_id}
    assert device.digits == ["42"]
    assert missing == (400, "bad.request") and unknown == 404


async def test_the_emulator_records_its_sip_trace() -> None:
    """takeback.observe: every message the emulator sends or receives is in the trace as party "genesys"
    (the ladder of §10: INVITE, 200, ACK, REFER, 202, NOTIFY 100, NOTIFY 200, BYE)."""
    from takeback.observe import SipTrace

    trace = SipTrace()
    device = Device()
    async with device, CloudServer(make_org(device.port), sip=["udp:127.0.0.1:0"], trace=trace) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
    call_id = device.invites[0].call_id
    lines = [(e.direction, e.data.split(b"\r\n", 1)[0].decode()) for e in trace.call(call_id)]
    firsts = [(direction, line.split()[0] if not line.startswith("SIP/2.0") else line.split()[1])
              for direction, line in lines]  # fmt: skip
    assert firsts[:5] == [("out", "INVITE"), ("in", "200"), ("out", "ACK"), ("in", "REFER"), ("out", "202")]
    assert ("out", "NOTIFY") in firsts and ("out", "BYE") in firsts
    assert {e.party for e in trace.call(call_id)} == {"genesys"}
