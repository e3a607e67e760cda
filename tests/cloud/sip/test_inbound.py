"""Inbound INVITEs to the emulator (takeback.cloud.inbound): GENESYS.md §10 (6), §5.2, [DOC BLOG] x-inin-cnv.

A real SIP caller (a takeback UserAgent playing the carrier) dials the article's DID; the flow transfers
to the device, which takes the call back.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from takeback.cloud.server import CloudServer
from takeback.net import CallFailed, UserAgent
from takeback.sdp import LocalMedia, build_offer

from .support import CALLER, MAIN_DID, Device, device_trunk, make_org

OFFER = build_offer(LocalMedia("127.0.0.1", 40000)).to_bytes()


async def test_a_sip_caller_goes_through_the_flow_to_the_device_and_back() -> None:
    """§10 (6): 200 OK carries x-inin-cnv (Conversation Headers on the trunk named by the R-URI host);
    Call.UUIData of the DID's flow comes from the INVITE's UUI (§5.2); the take-back flow ends the call."""
    device = Device()
    async with device:
        org = make_org(device.port)
        async with (
            CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(4)) as cloud,
            UserAgent() as carrier,
        ):
            port = cloud.endpoint("UDP").port
            call = await carrier.invite(
                f"sip:{MAIN_DID}@myexternaldevicetrunk.byoc.mypurecloud.com",
                dest=_peer(port),
                from_=f"<sip:{CALLER}@carrier.example>",
                headers=[("User-to-User", "00496e626f756e64;encoding=hex")],
                body=OFFER,
                timeout=10,
            )
            assert call.response is not None
            conversation_id = call.response.headers["x-inin-cnv"]
            reason = await asyncio.wait_for(call.wait_terminated(), 10)
            record = cloud.conversation(conversation_id)
    assert reason == "remote-bye"  # the Back flow disconnected the caller
    assert record.customer_call_id == call.call_id and record.ani == CALLER
    assert record.flows_run[0].uui_data == "Inbound"
    assert record.flows_run[-1].uui_data == "This is my data"
    assert device.invites[0].headers["x-inin-cnv"] == conversation_id


async def test_no_x_inin_cnv_without_conversation_headers() -> None:
    """[DOC BLOG]: the 200 OK carries x-inin-cnv only when the trunk has Conversation Headers on."""
    device = Device(refer_to=None)
    async with device:
        org = make_org(device.port, trunk=device_trunk(device.port, conversation_headers=False))
        async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
            call = await carrier.invite(
                f"sip:{MAIN_DID}@myexternaldevicetrunk.byoc.mypurecloud.com",
                dest=_peer(cloud.endpoint("UDP").port), body=OFFER, timeout=10,
            )  # fmt: skip
            assert call.response is not None and "x-inin-cnv" not in call.response.headers
            await asyncio.wait_for(call.bye(), 10)
            await asyncio.wait_for(device.done.get(), 10)
    assert device.ended == ["remote-bye"]  # the caller's BYE reached the device leg


async def test_a_did_without_a_flow_is_404() -> None:
    """§10 (6) INFERRED: an inbound INVITE to a number routed to no flow fails with 404."""
    async with CloudServer(make_org(9), sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
        with pytest.raises(CallFailed) as failed:
            await carrier.invite(
                "sip:+18005559999@127.0.0.1", dest=_peer(cloud.endpoint("UDP").port), timeout=10
            )
    assert failed.value.status == 404


def _peer(port: int):  # type: ignore[no-untyped-def]
    from takeback.net import Peer

    return Peer("UDP", "127.0.0.1", port)
