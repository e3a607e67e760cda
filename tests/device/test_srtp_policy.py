"""``media.srtp`` end to end: the emulator's TLS-trunk media leg offers SDES SRTP (GENESYS.md §7), the device
answers with its own key over a TLS listener, both run SRTP and the caller's DTMF arrives; ``required``
refuses a plain offer and ``off`` an RTP/SAVP one with 488."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from takeback.cloud import Policies, Trunk
from takeback.cloud.media_leg import MediaLeg
from takeback.device.call import Call as DeviceCall
from takeback.device.config import parse_device_config
from takeback.device.server import App, DeviceServer
from takeback.device.srtp_policy import srtp_media_options
from takeback.net import CallFailed, TlsConfig
from takeback.sdp import SrtpPolicy, parse_sdp

from .device_helpers import DNIS, genesys, wait_for


def tls_trunk(port: int) -> Trunk:
    return Trunk.model_validate(
        {
            "name": "Device",
            "inbound_sip_termination_identifier": "dev",
            "sip_servers": [f"127.0.0.1:{port}"],
            "protocol": "tls",
        }
    )


@contextlib.asynccontextmanager
async def device(tmp_path: Path, srtp: str, app: App, tls: str = "") -> AsyncIterator[DeviceServer]:
    transport = "tls" if tls else "udp"
    text = (
        f"listen: [{transport}:127.0.0.1:0]\n{tls}"
        f"records: {{path: {tmp_path / 'records.sqlite'}}}\n"
        f"media: {{port_range: 41000-41999, rtp_timeout: 0, srtp: {srtp}}}\n"
        "http: null\n"
    )
    server = DeviceServer(parse_device_config(text, base_dir=tmp_path), app=app, cwd=tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def test_options_follow_the_setting() -> None:
    assert srtp_media_options("optional")["srtp"] is SrtpPolicy.OPTIONAL
    assert len(srtp_media_options("required")["key_source"](30)) == 30
    assert parse_device_config("listen: [udp:127.0.0.1:0]\n").media.srtp == "optional"


async def test_tls_trunk_media_is_srtp_with_dtmf(tmp_path: Path) -> None:
    ca = trustme.CA()
    chain = tmp_path / "device.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(chain))
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    collected: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    calls: list[DeviceCall] = []

    async def app(call: DeviceCall) -> None:
        calls.append(call)
        await call.answer()
        collected.set_result(await call.collect(max_digits=4, timeout=10))
        await call.hangup()

    tls = f"tls: {{certfile: {chain}, cafile: {cafile}}}\n"
    async with (
        device(tmp_path, "optional", app, tls) as server,
        genesys("tls:127.0.0.1:0", TlsConfig(certfile=str(chain), cafile=str(cafile))) as peer,
    ):
        port = server.endpoints[0].port
        leg = await MediaLeg.open(peer.scheduler, peer.ports, "127.0.0.1")
        offer = leg.offer(tls_trunk(port), Policies(), session_id=1)
        assert b"RTP/SAVP" in offer and b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in offer
        call = await peer.ua.invite(f"sips:{DNIS}@127.0.0.1:{port}", body=offer, timeout=10)
        assert call.response is not None and call.response.status == 200
        answer = parse_sdp(call.response.body)
        assert answer.media[0].proto == "RTP/SAVP" and len(answer.media[0].crypto) == 1
        assert leg.connect(call.response.body), leg.problem
        assert leg.negotiated is not None and leg.negotiated.is_srtp
        await wait_for(lambda: leg.stats.packets_received >= 5)  # the device's SRTP silence opens here
        assert await leg.send_dtmf("2468")
        assert await asyncio.wait_for(collected, 10) == "2468"
        await asyncio.wait_for(call.wait_terminated(), 10)
        (device_call,) = calls
        media = device_call.media
        assert media is not None and media.srtp is not None
        device_stats, leg_stats = media.stats, leg.stats
        assert device_stats.packets_received > 0 and device_stats.srtp_auth_failures == 0
        assert leg_stats.srtp_auth_failures == 0 and leg_stats.srtp_replays == 0
        leg.close()


@pytest.mark.parametrize(("srtp", "trunk_protocol"), [("required", "udp"), ("off", "tls")])
async def test_policy_mismatch_is_488(tmp_path: Path, srtp: str, trunk_protocol: str) -> None:
    async def app(call: DeviceCall) -> None:
        await call.answer()

    async with device(tmp_path, srtp, app) as server, genesys() as peer:
        port = server.endpoints[0].port
        leg = await MediaLeg.open(peer.scheduler, peer.ports, "127.0.0.1")
        settings: dict[str, Any] = {"protocol": trunk_protocol} if trunk_protocol == "udp" else {}
        trunk = tls_trunk(port).model_copy(update=settings)
        offer = leg.offer(trunk, Policies(), session_id=1)
        with pytest.raises(CallFailed) as refused:
            await peer.ua.invite(f"sip:{DNIS}@127.0.0.1:{port}", body=offer, timeout=10)
        assert refused.value.status == 488
        leg.close()
