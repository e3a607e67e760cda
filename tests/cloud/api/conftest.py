"""Fixtures: a real :class:`ApiServer` on 127.0.0.1 (ephemeral port) in the test's loop, the official SDK
logged in to it, and a plain aiohttp client. The SDK is synchronous (urllib3): its calls run in a worker
thread while the server keeps serving on the loop, as it will beside the SIP side. Every async test runs
on stock asyncio and on uvloop (when installed), the two loops ``takeback cloud`` may run on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import PureCloudPlatformClientV2 as pc
import pytest
from aiohttp import ClientSession

from takeback.cloud import load_builtin_org
from takeback.cloud.api import ApiServer, ApiSettings, OrgState
from takeback.cloud.conversations import MemoryConversationStore
from takeback.net.loop import uvloop_available

from .harness import CLIENT_ID, CLIENT_SECRET, Emulator, Sdk


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    if uvloop_available():
        import uvloop

        factories["uvloop"] = uvloop.new_event_loop
    return factories


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    state = OrgState(load_builtin_org())
    store = MemoryConversationStore()
    settings = ApiSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with ApiServer(state, store, port=0, settings=settings) as server:
        yield Emulator(state, store, server)


@pytest.fixture
async def sdk(emulator: Emulator) -> Sdk:
    def login() -> pc.api_client.ApiClient:
        return pc.api_client.ApiClient(emulator.url).get_client_credentials_token(CLIENT_ID, CLIENT_SECRET)

    client = await asyncio.to_thread(login)
    return Sdk(client, pc.TelephonyProvidersEdgeApi(client), pc.AnalyticsApi(client))


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[ClientSession]:
    """A plain HTTP client on the emulator (status codes and raw bodies)."""
    async with ClientSession(base_url=emulator.url) as session:
        yield session
