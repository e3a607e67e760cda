"""Every asyncio test under tests/net runs twice: on stock asyncio and on uvloop (when installed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import pytest

from takeback.net.listen import ListenSpec
from takeback.net.loop import uvloop_available

from .net_helpers import Pair, make_layer


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    if uvloop_available():
        import uvloop

        factories["uvloop"] = uvloop.new_event_loop
    return factories


@pytest.fixture
async def layers(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    transport, host = request.param
    server = await make_layer(ListenSpec(transport, host, 0), ListenSpec("UDP", host, 0), answer=True)
    client = await make_layer(ListenSpec("UDP", host, 0))
    yield Pair(client, server)
    await client.close()
    await server.close()
