"""Hostname resolution for outgoing messages (system resolver, cached, coalesced)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from takeback.net.resolve import Resolver


async def test_localhost_resolves_and_is_cached() -> None:
    resolver = Resolver(asyncio.get_running_loop())
    assert resolver.cached("localhost", False) is None
    address = await resolver.resolve("localhost", want_v6=False)
    assert address == "127.0.0.1"
    assert resolver.cached("localhost", False) == "127.0.0.1"


async def test_concurrent_lookups_share_one_query() -> None:
    resolver = Resolver(asyncio.get_running_loop())
    results = await asyncio.gather(*(resolver.resolve("localhost", False) for _ in range(10)))
    assert set(results) == {"127.0.0.1"}
    assert not resolver._pending


async def test_expired_entry_is_not_used() -> None:
    resolver = Resolver(asyncio.get_running_loop(), ttl=-1.0)
    await resolver.resolve("localhost", False)
    assert resolver.cached("localhost", False) is None


async def test_failure_raises_oserror() -> None:
    resolver = Resolver(asyncio.get_running_loop())
    with pytest.raises(OSError):
        await asyncio.wait_for(resolver.resolve("no-such-host.invalid"), 10)
    assert not resolver._pending


def test_gaierror_is_oserror() -> None:
    assert issubclass(socket.gaierror, OSError)
