"""Release Link Transfer (takeback.cloud.rlt): GENESYS.md §1 item 2, §3.3 ``trunk_rlt_enabled``, §6 (end).

The article's step-4 warning, shown on the wire: a real carrier (SIPp, or a takeback UserAgent) calls the
DID over the BYOC PSTN trunk; the flow's *Transfer to Number* 9991 asks for a release link transfer.
With Release Link Transfer on the trunk the carrier gets a REFER toward the device number and Genesys
leaves the call - the device is never called, so nothing could ever be taken back. With it off, the
device leg is bridged through Genesys and the take-back works.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from takeback.cloud import parse_org
from takeback.cloud.engine import ActiveConversation
from takeback.cloud.server import CloudServer
from takeback.net import Call, IncomingRefer, Peer, UserAgent
from takeback.sdp import LocalMedia, build_offer
from tests.interop.sipp_support import SIPP, free_port, run_sipp, sipp_command

from .support import ARTICLE_UUI, BACK_DID, CALLER, MAIN_DID, Device, org_data

SCENARIOS = Path(__file__).parent / "scenarios"
PSTN_FQDN = "pstn.byoc.mypurecloud.com"
OFFER = build_offer(LocalMedia("127.0.0.1", 40000)).to_bytes()

sipp_only = pytest.mark.skipif(SIPP is None, reason="sipp not installed")


def rlt_org(device_port: int, *, rlt: bool, number: str = "9991", **policies: Any) -> Any:
    """The article's org; Main IVR asks for RLT on its Transfer to Number; the PSTN trunk has RLT ``rlt``."""
    data = org_data(device_port, policies=policies)
    data["trunks"][0].update(release_link_transfer=rlt, conversation_headers=True)
    data["flows"][0]["actions"][1] = {"transfer_to_number": {"number": number, "release_link_transfer": True}}
    return parse_org(data)


def only_conversation(cloud: CloudServer) -> ActiveConversation:
    assert cloud.engine is not None
    (active,) = cloud.engine.conversations.values()
    return active


async def run_carrier(tmp_path: Path, cloud: CloudServer, scenario: str) -> Any:
    """SIPp as the PSTN carrier: one call to the main DID over the PSTN trunk's FQDN."""
    remote = f"127.0.0.1:{cloud.endpoint('UDP').port}"
    args = sipp_command(
        str(SCENARIOS / scenario), local_port=free_port(), calls=1, remote=remote, timeout=20,
        extra=("-s", MAIN_DID, "-key", "rhost", PSTN_FQDN),
    )  # fmt: skip
    return await run_sipp(args, tmp_path, limit=30)


@sipp_only
@pytest.mark.interop
async def test_rlt_on_the_pstn_trunk_refers_the_carrier_and_the_device_is_never_called(
    tmp_path: Path,
) -> None:
    """§1 item 2 / §6 [DOC BLOG, RC-T2N]: RLT on the BYOC PSTN trunk -> REFER to the carrier with
    Refer-To sip:9991@…, NOTIFY 200, Genesys BYEs the carrier; no INVITE reaches the device."""
    device = Device(refer_to=None)
    async with device:
        org = rlt_org(device.port, rlt=True)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(5)) as cloud:
            result = await run_carrier(tmp_path, cloud, "carrier_uac_rlt.xml")
            active = only_conversation(cloud)
            await active.record.wait(10)
            analytics = cloud.store.get(active.record.conversation_id)
    assert result.returncode == 0, result.describe()
    assert device.invites == []  # take-back impossible: Genesys is no longer in the call
    (link,) = active.release_links
    assert (link.outcome, link.trunk, link.refer_status, link.notify_status) == ("released", "PSTN", 202, 200)
    assert link.refer_to == "<sip:9991@127.0.0.1:9>"  # the PSTN trunk's SIP server (rlt_refer_to_host)
    assert link.bye_by == "genesys" and active.record.legs == []
    assert active.record.flows_run[0].outcome == "transferred"
    assert analytics is not None and active.record.customer_session_id is not None
    customer = analytics.session(active.record.customer_session_id)
    assert customer.segments[-1].disconnect_type == "transfer"  # the conversation shows the release


@sipp_only
@pytest.mark.interop
async def test_rlt_off_bridges_the_device_leg_and_take_back_works(tmp_path: Path) -> None:
    """§1 item 2 (the article's fix) and RC-T2N fallback: the flow asks for RLT, the trunk has it off ->
    standard bridged transfer: the device is INVITEd, takes the call back, the carrier never sees a REFER."""
    device = Device()
    async with device:
        org = rlt_org(device.port, rlt=False)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(6)) as cloud:
            result = await run_carrier(tmp_path, cloud, "carrier_uac_bridged.xml")
            active = only_conversation(cloud)
            await active.record.wait(10)
            await asyncio.wait_for(device.done.get(), 10)
    assert result.returncode == 0, result.describe()
    assert device.invites[0].uri.startswith("sip:9991@127.0.0.1:")
    (link,) = active.release_links
    assert link.outcome == "bridged" and "off on trunk 'PSTN'" in link.reason and link.refer_to is None
    assert active.record.legs[0].status == 200 and active.record.legs[0].taken_back
    back = active.record.flows_run[-1]
    assert (back.did, back.uui_data) == (BACK_DID, ARTICLE_UUI)


# ----- the carrier as a takeback UserAgent: refusals, policies, the carrier's own BYE -----


async def call_in(cloud: CloudServer, carrier: UserAgent) -> Call:
    return await carrier.invite(
        f"sip:{MAIN_DID}@{PSTN_FQDN}",
        dest=Peer("UDP", "127.0.0.1", cloud.endpoint("UDP").port),
        from_=f"<sip:{CALLER}@carrier.example>",
        body=OFFER,
        timeout=10,
    )


async def test_a_refused_refer_falls_back_to_the_bridged_transfer() -> None:
    """§6 INFERRED default (Policies.rlt_refer_failure = bridge): the carrier declines the REFER (603, the
    UserAgent's default) -> the device leg is bridged as if RLT were unsupported (RC-T2N fallback)."""
    device = Device()
    async with device:
        org = rlt_org(device.port, rlt=True)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
            call = await call_in(cloud, carrier)
            await asyncio.wait_for(call.wait_terminated(), 10)  # the Back flow hangs up on us
            active = only_conversation(cloud)
            await active.record.wait(10)
    (link,) = active.release_links
    assert (link.outcome, link.refer_status, link.reason) == ("bridged", 603, "REFER refused (603)")
    assert len(device.invites) == 1 and active.record.legs[0].taken_back


async def test_the_fail_policy_takes_the_flow_failure_path() -> None:
    """§6 INFERRED alternative (rlt_refer_failure = fail): no bridge; the flow goes on to its failure
    prompt and disconnects; the device is never called."""
    device = Device(refer_to=None)
    async with device:
        org = rlt_org(device.port, rlt=True, rlt_refer_failure="fail")
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
            call = await call_in(cloud, carrier)
            await asyncio.wait_for(call.wait_terminated(), 10)
            active = only_conversation(cloud)
            await active.record.wait(10)
    assert device.invites == [] and active.release_links[0].outcome == "failed"
    flow = active.record.flows_run[0]
    assert flow.prompts == ["Sorry, the transfer failed."] and flow.outcome == "disconnected"
    assert active.record.failures == ["release link transfer to 9991: REFER refused (603)"]


async def test_the_carrier_bye_within_the_grace_period_and_the_normalized_refer_to() -> None:
    """§6 INFERRED (rlt_wait_for_carrier_bye_s): the carrier BYEs after its NOTIFY 200 -> bye_by carrier.
    §4.1/§4.2 INFERRED (rlt_refer_to_number = normalized): a national 3175550199 is referred as
    +13175550199 by the site's National plan; rlt_uui_in_refer_to carries Set UUI Data (§5.2 form)."""
    refers: list[str] = []

    async def on_refer(refer: IncomingRefer) -> None:
        refers.append(refer.refer_to)
        refer.accept()
        await refer.notify(200, "OK")
        assert refer.call is not None
        await refer.call.bye()

    device = Device(refer_to=None)
    async with device:
        org = rlt_org(
            device.port, rlt=True, number="3175550199", rlt_wait_for_carrier_bye_s=5, rlt_uui_in_refer_to=True
        )
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
            carrier.on_refer = on_refer
            call = await call_in(cloud, carrier)
            reason = await asyncio.wait_for(call.wait_terminated(), 10)
            active = only_conversation(cloud)
            await active.record.wait(10)
    assert reason == "local-bye" and device.invites == []
    link = active.release_links[0]
    assert (link.outcome, link.bye_by, link.progress) == ("released", "carrier", (100,))
    assert refers == [
        "<sip:+13175550199@127.0.0.1:9?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"
    ]


async def test_a_simulated_pstn_caller_is_always_bridged() -> None:
    """RC-T2N: RLT needs the call's trunk to support it; the simulated caller has no SIP leg to REFER,
    so the transfer is the standard bridge (no failure output)."""
    device = Device()
    async with device:
        org = rlt_org(device.port, rlt=True)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(10)
            assert cloud.engine is not None
            active = cloud.engine.conversations[record.conversation_id]
    assert active.release_links[0].outcome == "bridged"
    assert "simulated" in active.release_links[0].reason
    assert record.legs[0].taken_back and record.flows_run[-1].uui_data == ARTICLE_UUI


async def test_release_links_are_on_the_record_and_in_the_rest_timeline() -> None:
    """The RLT requests outlive the live conversation: ConversationRecord.release_links (the list
    ActiveConversation.release_links appends to) and ``release_links`` of GET /emulator/v1/calls/{id}."""
    device = Device()
    async with device:
        cloud = CloudServer(rlt_org(device.port, rlt=True), sip=["udp:127.0.0.1:0"], api=("127.0.0.1", 0))
        async with cloud, ClientSession(base_url=cloud.api.base_url) as http:
            async with http.post("/emulator/v1/calls", json={"to": MAIN_DID}) as response:
                created = await response.json()
            record = cloud.conversation(created["conversationId"])
            await record.wait(10)
            assert record.release_links is only_conversation(cloud).release_links
            async with http.get(created["selfUri"]) as response:
                timeline = await response.json()
    (link,) = record.release_links
    assert timeline["release_links"] == [
        {
            "number": "9991",
            "trunk": None,
            "refer_to": None,
            "outcome": "bridged",
            "reason": link.reason,
            "refer_status": None,
            "notify_status": None,
            "progress": [],
            "bye_by": None,
        }
    ]
    assert "simulated" in link.reason and timeline["skipped_attempts"] == []


@pytest.mark.parametrize(
    ("policies", "trunk", "user", "host"),
    [
        ({}, {}, "+13175550199", "127.0.0.1:9"),
        ({"rlt_refer_to_number": "dialed"}, {}, "3175550199", "127.0.0.1:9"),
        ({}, {"called_address_omit_plus": True}, "13175550199", "127.0.0.1:9"),
        ({"rlt_refer_to_host": "carrier-contact"}, {}, "+13175550199", "carrier"),
    ],
)
async def test_refer_to_policies(
    policies: dict[str, Any], trunk: dict[str, Any], user: str, host: str
) -> None:
    """§4.1/§4.2 INFERRED (rlt_refer_to_number: plans + the trunk's called omit-+, or as dialed) and §6
    UNKNOWN (rlt_refer_to_host: the trunk's SIP server, or the carrier's Contact); no UUI by default."""
    refers: list[str] = []

    def on_refer(refer: IncomingRefer) -> None:
        refers.append(refer.refer_to)
        refer.reject(603)

    data = org_data(9, policies=policies)
    data["trunks"][0].update(release_link_transfer=True, **trunk)
    data["flows"][0]["actions"] = [
        {"set_uui": "not sent"},
        {"transfer_to_number": {"number": "3175550199", "release_link_transfer": True}},
        "disconnect",
    ]
    org = parse_org({**data, "policies": {**data["policies"], "rlt_refer_failure": "fail"}})
    async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
        carrier.on_refer = on_refer
        call = await call_in(cloud, carrier)
        await asyncio.wait_for(call.wait_terminated(), 10)
        contact = f"127.0.0.1:{carrier.endpoint('UDP').port}"
    assert refers == [f"<sip:{user}@{contact if host == 'carrier' else host}>"]
