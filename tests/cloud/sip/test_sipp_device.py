"""The emulator against a device that is not ours: SIPp's ``device_uas_refer.xml`` (and its Digest variant).

The scenario requires ``x-inin-cnv`` and a hex ``User-to-User`` on the INVITE, answers 200 + SDP, REFERs
to ``+13175550199`` with the UUI echoed in the Refer-To (RFC spelling), expects 202 then a NOTIFY whose
sipfrag is ``SIP/2.0 200`` (so ``refer_notify_trying`` is off here), and waits for Genesys' BYE
(GENESYS.md §6 step 4, §10, §11; the ``_auth`` variant: §4.3 Digest, user genesys / s3cret, realm device).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from takeback.cloud.server import CloudServer
from tests.interop.sipp_support import SIPP, free_port, run_sipp, sipp_command

from .support import ARTICLE_UUI, MAIN_DID, SIPP_BACK_DID, device_trunk, make_org

pytestmark = [pytest.mark.interop, pytest.mark.skipif(SIPP is None, reason="sipp not installed")]

DIGEST = {
    "digest_authentication": True,
    "digest_realm": "device",
    "digest_user_name": "genesys",
    "digest_password": "s3cret",
}


async def against_sipp(tmp_path: Path, scenario: str, transport: str, trunk: dict[str, Any]) -> Any:
    port = free_port()
    args = sipp_command(scenario, local_port=port, calls=1, transport="t1" if transport == "tcp" else "u1",
                        timeout=30)  # fmt: skip
    sipp = asyncio.ensure_future(run_sipp(args, tmp_path, limit=45))
    await asyncio.sleep(0.3)  # SIPp binds its port
    settings = device_trunk(port, protocol=transport, **trunk)
    org = make_org(port, trunk=settings, policies={"refer_notify_trying": False})
    listen = [f"{transport}:127.0.0.1:0", "udp:127.0.0.1:0"]
    async with CloudServer(org, sip=listen, rng=random.Random(11)) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(20)
        result = await sipp
    return record, result


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_device_takes_the_call_back(tmp_path: Path, transport: str) -> None:
    """§6/§10 with SIPp as the device: x-inin-cnv + UUI in, REFER back, Call.UUIData = the Set UUI text."""
    record, result = await against_sipp(tmp_path, "device_uas_refer.xml", transport, {})
    assert result.returncode == 0, result.describe()
    assert result.successful == 1
    back = record.flows_run[-1]
    assert (back.did, back.uui_data) == (SIPP_BACK_DID, ARTICLE_UUI)
    assert record.refers[0].notify == [200] and record.refers[0].bye_by == "genesys"


async def test_sipp_device_with_digest(tmp_path: Path) -> None:
    """§4.3: SIPp challenges with 401 (qop=auth) and verifies genesys/s3cret (403 otherwise)."""
    record, result = await against_sipp(tmp_path, "device_uas_refer_auth.xml", "udp", DIGEST)
    assert result.returncode == 0, result.describe()
    assert record.flows_run[-1].uui_data == ARTICLE_UUI
    assert record.legs[-1].status == 200
