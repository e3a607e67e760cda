"""Hostname → IP for outgoing messages (docs/core-api.md §1: the core may route to an FQDN).

Only A/AAAA through the system resolver (``getaddrinfo``); RFC 3263 NAPTR/SRV are out of scope (the
peers we talk to name a host and a port). Results are cached for ``ttl`` seconds and concurrent lookups of
one name share a single query, so a burst of in-dialog requests to one Contact costs one lookup.
"""

from __future__ import annotations

import asyncio
import socket

__all__ = ["Resolver"]

_MAX_CACHE = 1024


class Resolver:
    def __init__(self, loop: asyncio.AbstractEventLoop, *, ttl: float = 60.0) -> None:
        self.loop = loop
        self.ttl = ttl
        self._cache: dict[tuple[str, bool | None], tuple[str, float]] = {}
        self._pending: dict[tuple[str, bool | None], asyncio.Task[str]] = {}

    def cached(self, host: str, want_v6: bool | None) -> str | None:
        """The cached address of ``host`` if still fresh (synchronous fast path)."""
        entry = self._cache.get((host, want_v6))
        if entry is None or entry[1] < self.loop.time():
            return None
        return entry[0]

    async def resolve(self, host: str, want_v6: bool | None = None) -> str:
        """One IP literal for ``host`` (``want_v6``: restrict the family; None = first answer).

        Raises ``OSError`` (``socket.gaierror``) when the name does not resolve.
        """
        key = (host, want_v6)
        hit = self.cached(host, want_v6)
        if hit is not None:
            return hit
        task = self._pending.get(key)
        if task is None:
            task = self.loop.create_task(self._query_and_cache(key))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(task)

    def _settled(self, key: tuple[str, bool | None], task: asyncio.Task[str]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: a waiter may have gone away

    async def _query_and_cache(self, key: tuple[str, bool | None]) -> str:
        address = await self._query(*key)
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[key] = (address, self.loop.time() + self.ttl)
        return address

    async def _query(self, host: str, want_v6: bool | None) -> str:
        family = socket.AF_UNSPEC if want_v6 is None else (socket.AF_INET6 if want_v6 else socket.AF_INET)
        infos = await self.loop.getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
        if not infos:
            raise socket.gaierror(f"no address for {host!r}")
        address = str(infos[0][4][0])
        return address.partition("%")[0]
