"""OPTIONS pings to SIP servers (takeback.cloud.pinger): GENESYS.md §10 (7), §12 item 17 (INFERRED shape)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

from takeback.cloud import Policies
from takeback.cloud.server import CloudServer
from takeback.net import IncomingRequest

from .support import MAIN_DID, Device, device_trunk, make_org, until

PING = {"options_ping": {"enabled": True, "interval_s": 0.05, "misses_before_down": 2}}


def answer_options(device: Device, status: list[int]) -> None:
    """The device answers OPTIONS with ``status[0]`` (changeable while running)."""

    def on_request(incoming: IncomingRequest) -> None:
        if incoming.method == "OPTIONS":
            incoming.respond(status[0])

    device.ua.on_request = on_request


@contextlib.asynccontextmanager
async def pinged(first: Device, second: Device, policies: dict[str, Any]) -> AsyncIterator[CloudServer]:
    async with first, second:
        servers = [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"]
        org = make_org(first.port, trunk=device_trunk(first.port, sip_servers=servers), policies=policies)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(5)) as cloud:
            yield cloud


def test_options_ping_is_off_by_default() -> None:
    """§10 (7): whether BYOC Cloud pings is UNKNOWN, so the pinger is off unless configured."""
    assert Policies().options_ping.enabled is False


async def test_a_server_answering_5xx_is_marked_down_then_up_again() -> None:
    """§10 (7) / §12 item 17: misses_before_down 5xx answers in a row mark it down; a 200 marks it up."""
    first, second = Device(), Device()
    async with pinged(first, second, PING) as cloud:
        status = [503]
        answer_options(first, status)
        key = f"udp:127.0.0.1:{first.port}"
        await until(lambda: key in cloud.health.down)
        assert f"udp:127.0.0.1:{second.port}" not in cloud.health.down
        status[0] = 200
        await until(lambda: key not in cloud.health.down)
        assert cloud.pinger is not None and cloud.pinger.rounds >= 3


async def test_a_server_that_does_not_answer_is_marked_down() -> None:
    """§10 (7): a timeout is a miss too (closed port: nothing answers)."""
    first, second = Device(), Device()
    async with pinged(first, second, PING) as cloud:
        key = f"udp:127.0.0.1:{first.port}"
        await first.ua.close()  # the port is gone: ICMP / timeout
        await until(lambda: key in cloud.health.down, timeout=10)


async def test_the_dialer_skips_a_server_marked_down() -> None:
    """§4.1 (5) + §10 (7): while the first SIP server is down the INVITE goes to the next one."""
    first, second = Device(), Device()
    async with pinged(first, second, PING) as cloud:
        answer_options(first, [500])
        await until(lambda: f"udp:127.0.0.1:{first.port}" in cloud.health.down)
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
    assert first.invites == [] and len(second.invites) == 1
    assert record.flows_run[-1].uui_data == "This is my data"


async def test_a_trunk_without_a_listener_for_its_transport_is_skipped(caplog: Any) -> None:
    """A tcp trunk on a udp-only emulator: no OPTIONS can be sent (the SIP core has no local endpoint).
    Its server is skipped (not marked down), warned about once, other servers are still pinged, and the
    pinger keeps running until close() (which must not raise)."""
    first = Device()
    async with first:
        trunk = device_trunk(first.port, protocol="tcp")
        org = make_org(first.port, trunk=trunk, policies=PING)
        cloud = CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(5))
        async with cloud:
            assert cloud.pinger is not None
            await until(lambda: cloud.pinger is not None and cloud.pinger.rounds >= 3)
            key = f"tcp:127.0.0.1:{first.port}"
            assert key in cloud.pinger.skipped and key not in cloud.health.down
            assert "udp:127.0.0.1:9" in cloud.health.down  # the PSTN server (nothing listens) still pinged
    warnings = [r.getMessage() for r in caplog.records if "not pinged" in r.getMessage()]
    assert warnings == [f"SIP server {key} not pinged: no tcp listener to send OPTIONS from"]
