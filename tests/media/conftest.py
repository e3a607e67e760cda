"""Every asyncio test under tests/media runs twice: on stock asyncio and on uvloop (when installed)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable, Mapping

import pytest

from takeback.media import MediaScheduler, PortAllocator


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        factories["uvloop"] = uvloop.new_event_loop
    return factories


@pytest.fixture
async def scheduler() -> AsyncIterator[MediaScheduler]:
    sched = MediaScheduler()
    yield sched
    sched.close()


@pytest.fixture
def ports() -> PortAllocator:
    """A range of RTP ports on 127.0.0.1; ports other processes hold are skipped by the allocator."""
    return PortAllocator("127.0.0.1", 43000, 43999, dscp=None)
