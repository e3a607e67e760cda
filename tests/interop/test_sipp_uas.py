"""(a) SIPp as the caller against a minimal takeback UAS: built-in ``uac`` and the Genesys take-back
scenario (``genesys_uac_refer.xml``: we answer, REFER back with the UUI in Refer-To, get 202 + NOTIFY, BYE).
Then the same under 10 % message loss (SIPp ``-lost 10``): retransmissions must complete every call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from takeback.net import loop as loops
from takeback.net.useragent import UserAgent

from .minimal_uas import MinimalUas
from .sipp_support import SIPP, free_port, loop_names, run_sipp, sipp_command

pytestmark = [pytest.mark.interop, pytest.mark.skipif(SIPP is None, reason="sipp not installed")]


async def _against_uas(
    tmp_path: Path, transport: str, mode: str, scenario: str, calls: int, rate: float, extra: tuple[str, ...]
) -> tuple[int, str, MinimalUas]:
    async with UserAgent([f"{transport}:127.0.0.1:0"]) as ua:
        uas = MinimalUas(ua, mode)
        port = ua.endpoints[0].port
        args = sipp_command(
            scenario,
            remote=f"127.0.0.1:{port}",
            local_port=free_port(),
            calls=calls,
            rate=rate,
            transport="t1" if transport == "tcp" else "u1",
            timeout=90,
            extra=("-s", "+13175550100", *extra),
        )
        result = await run_sipp(args, tmp_path, limit=120)
        return result.returncode, result.describe(), uas


@pytest.mark.parametrize("loop_name", loop_names())
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_uac_against_takeback(tmp_path: Path, loop_name: str, transport: str) -> None:
    code, description, uas = loops.run(
        _against_uas(tmp_path, transport, "answer", "uac", 20, 20, ()), loop=loop_name
    )
    assert code == 0, description
    assert uas.calls == 20
    assert uas.ua.counters.internal_errors == 0


@pytest.mark.parametrize("loop_name", loop_names())
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_genesys_refer_scenario(tmp_path: Path, loop_name: str, transport: str) -> None:
    code, description, uas = loops.run(
        _against_uas(tmp_path, transport, "refer", "genesys_uac_refer.xml", 20, 20, ()), loop=loop_name
    )
    assert code == 0, description
    assert uas.outcomes == {"refer-ok": 20}
    assert uas.ua.counters.internal_errors == 0


@pytest.mark.parametrize("scenario", ["uac", "genesys_uac_refer.xml"])
def test_ten_percent_loss(tmp_path: Path, scenario: str) -> None:
    """Every call completes through retransmissions (ours: Timers A/E/G and 2xx; SIPp's: retrans=500).

    For the REFER scenario SIPp's "abort on unexpected message" is turned off: when SIPp's own 202 is
    lost, our REFER is (correctly, RFC 3261 §17.1.2.2) retransmitted after the scenario moved on to its
    NOTIFY, and the scenario has no step to re-answer it. Ignoring that retransmission is what a real
    UA's transaction layer does; every scenario step must still complete.
    """
    mode = "answer" if scenario == "uac" else "refer"
    extra: tuple[str, ...] = ("-lost", "10")
    if mode == "refer":
        extra += ("-default_behaviors", "all,-abortunexp")
    code, description, uas = loops.run(
        _against_uas(tmp_path, "udp", mode, scenario, 30, 10, extra), loop="auto"
    )
    assert code == 0, description
    assert uas.calls == 30
    if mode == "refer":
        assert uas.outcomes == {"refer-ok": 30}
