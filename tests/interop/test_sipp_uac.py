"""(b) takeback as the caller against SIPp's built-in UAS (``-sn uas``), over UDP and TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from takeback.net import loop as loops
from takeback.net.useragent import UserAgent

from .sipp_support import SIPP, free_port, loop_names, run_sipp, sipp_command, wait_until_listening

pytestmark = [pytest.mark.interop, pytest.mark.skipif(SIPP is None, reason="sipp not installed")]

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
CALLS = 10


async def _call_sipp(tmp_path: Path, transport: str) -> tuple[int, str, list[int]]:
    port = free_port()
    args = sipp_command("uas", local_port=port, calls=CALLS, transport="t1" if transport == "tcp" else "u1")
    sipp = asyncio.ensure_future(run_sipp(args, tmp_path, limit=60))
    await wait_until_listening(port, transport)
    statuses: list[int] = []
    async with UserAgent([f"{transport}:127.0.0.1:0", "udp:127.0.0.1:0"]) as ua:
        uri = f"sip:service@127.0.0.1:{port}" + (";transport=tcp" if transport == "tcp" else "")
        for _ in range(CALLS):
            call = await asyncio.wait_for(ua.invite(uri, body=SDP), 20)
            assert call.response is not None
            statuses.append(call.response.status)
            bye = await asyncio.wait_for(call.bye(), 20)
            assert bye is not None
            statuses.append(bye.status)
        result = await sipp
        assert ua.counters.internal_errors == 0
    return result.returncode, result.describe(), statuses


@pytest.mark.parametrize("loop_name", loop_names())
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_takeback_calls_sipp_uas(tmp_path: Path, loop_name: str, transport: str) -> None:
    code, description, statuses = loops.run(_call_sipp(tmp_path, transport), loop=loop_name)
    assert code == 0, description
    assert statuses == [200, 200] * CALLS
