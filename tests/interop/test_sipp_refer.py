"""(c) takeback receives a REFER from SIPp (``device_uas_refer.xml`` is the referring device) and acts as
the notifier: 202, terminal NOTIFY ``SIP/2.0 200 OK`` (RFC 3515 §2.4.4, RFC 3420), then BYE.

The other direction (takeback sends REFER, SIPp answers 202 + NOTIFY) is ``test_sipp_uas.py``'s
``test_genesys_refer_scenario``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from takeback.net import loop as loops
from takeback.net.calls import IncomingRefer
from takeback.net.useragent import UserAgent

from .sipp_support import SIPP, free_port, loop_names, run_sipp, sipp_command, wait_until_listening

pytestmark = [pytest.mark.interop, pytest.mark.skipif(SIPP is None, reason="sipp not installed")]

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
CALLS = 5
UUI = "00FA080019001A0A0B0C0D0E0F"


async def _be_referred(tmp_path: Path, transport: str) -> tuple[int, str, list[str]]:
    port = free_port()
    sipp_transport = "t1" if transport == "tcp" else "u1"
    args = sipp_command("device_uas_refer.xml", local_port=port, calls=CALLS, transport=sipp_transport)
    sipp = asyncio.ensure_future(run_sipp(args, tmp_path, limit=60))
    await wait_until_listening(port, transport)
    refer_tos: list[str] = []
    async with UserAgent([f"{transport}:127.0.0.1:0", "udp:127.0.0.1:0"]) as ua:
        referred: asyncio.Queue[IncomingRefer] = asyncio.Queue()

        async def on_refer(refer: IncomingRefer) -> None:
            refer_tos.append(refer.refer_to)
            refer.accept(notify_trying=False)  # the scenario checks the first NOTIFY carries 200
            response = await refer.notify(200, "OK")  # BYE only after SIPp answered the NOTIFY
            assert response.status == 200
            await referred.put(refer)

        ua.on_refer = on_refer
        uri = f"sip:device@127.0.0.1:{port}" + (";transport=tcp" if transport == "tcp" else "")
        headers = [
            ("x-inin-cnv", "5ee2f000-0000-4000-8000-000000000001"),
            ("User-to-User", f"{UUI};encoding=hex"),
        ]
        for _ in range(CALLS):
            call = await asyncio.wait_for(ua.invite(uri, body=SDP, headers=headers), 20)
            await asyncio.wait_for(referred.get(), 20)
            bye = await asyncio.wait_for(call.bye(), 20)
            assert bye is not None and bye.status == 200
        result = await sipp
        assert ua.counters.internal_errors == 0
    return result.returncode, result.describe(), refer_tos


@pytest.mark.parametrize("loop_name", loop_names())
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_takeback_is_referred_by_sipp(tmp_path: Path, loop_name: str, transport: str) -> None:
    code, description, refer_tos = loops.run(_be_referred(tmp_path, transport), loop=loop_name)
    assert code == 0, description
    assert len(refer_tos) == CALLS
    assert all(f"User-to-User={UUI}%3Bencoding%3Dhex" in value for value in refer_tos)
