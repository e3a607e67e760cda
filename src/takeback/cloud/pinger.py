"""OPTIONS health pings to the trunks' SIP servers (GENESYS.md §10 (7), §12 item 17; off by default).

Whether BYOC Cloud pings is UNKNOWN, so this follows the shape GENESYS.md borrows from jambonz
(INFERRED): every ``interval_s`` one OPTIONS per SIP server of each enabled BYOC trunk; a timeout or a 5xx
is a miss, ``misses_before_down`` misses in a row mark the server down, any other answer marks it up
again. The dialer skips servers that are down while another one is up (:mod:`.dialer`).

A trunk whose transport has no listener here (a ``protocol: tls`` trunk and no ``tls:`` listener, e.g.
switched through the API at runtime) cannot be pinged: its servers are skipped, neither up nor down, with
one warning per server until a listener appears. A round never ends the pinger: it keeps running until
:meth:`OptionsPinger.close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from takeback.net import Peer, RequestFailed, SipRuntimeError
from takeback.sip import TransactionError

from .org import Org
from .routing import Attempt
from .sipua import EmulatorUserAgent
from .trunk import Trunk
from .values import HostPort

__all__ = ["OptionsPinger", "ProxyHealth"]

logger = logging.getLogger("takeback.cloud.options")


@dataclass(slots=True)
class ProxyHealth:
    """Misses in a row and the down set, keyed by ``transport:host:port``."""

    misses: dict[str, int] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)

    @staticmethod
    def key(trunk: Trunk, proxy: HostPort) -> str:
        return f"{trunk.protocol}:{proxy}"

    def is_down(self, attempt: Attempt) -> bool:
        return attempt.proxy is not None and self.key(attempt.trunk, attempt.proxy) in self.down

    def record(self, key: str, ok: bool, misses_before_down: int) -> None:
        if ok:
            self.misses.pop(key, None)
            if key in self.down:
                logger.info("SIP server %s is up again", key)
            self.down.discard(key)
            return
        count = self.misses.get(key, 0) + 1
        self.misses[key] = count
        if count >= misses_before_down and key not in self.down:
            logger.warning("SIP server %s marked down after %d missed OPTIONS", key, count)
            self.down.add(key)


class OptionsPinger:
    """Pings in the background while enabled in the org's policies (re-read every round)."""

    def __init__(self, ua: EmulatorUserAgent, org_source: Callable[[], Org], health: ProxyHealth) -> None:
        self.ua = ua
        self.org_source = org_source
        self.health = health
        self.rounds = 0
        self.skipped: set[str] = set()  # servers not pingable (no listener for the transport), warned once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            policy = self.org_source().policies.options_ping
            if policy.enabled:
                try:
                    await self.ping_once()
                except Exception:  # one bad round must not end the pinger (nor make close() raise)
                    logger.exception("OPTIONS ping round failed")
            await asyncio.sleep(policy.interval_s)

    async def ping_once(self) -> None:
        """One round: every SIP server of every enabled BYOC trunk, concurrently."""
        org = self.org_source()
        targets = {
            ProxyHealth.key(trunk, proxy): (trunk, proxy)
            for trunk in org.trunks
            if trunk.kind == "byoc" and trunk.enabled
            for proxy in trunk.proxies
        }
        policy = org.policies.options_ping
        results = await asyncio.gather(*(self._ping(t, p, policy.interval_s) for t, p in targets.values()))
        for key, ok in zip(targets, results, strict=True):
            if ok is None:
                self._skip(key)
                continue
            self.skipped.discard(key)
            self.health.record(key, ok, policy.misses_before_down)
        self.rounds += 1

    def _skip(self, key: str) -> None:
        if key not in self.skipped:
            self.skipped.add(key)
            transport = key.split(":", 1)[0]
            logger.warning("SIP server %s not pinged: no %s listener to send OPTIONS from", key, transport)

    async def _ping(self, trunk: Trunk, proxy: HostPort, interval: float) -> bool | None:
        """Alive = any final answer below 500 within the interval (5 s at most); None = cannot be sent
        (no local listener for the trunk's transport: not a miss, the server is not at fault)."""
        dest = Peer(trunk.protocol.upper(), proxy.host, proxy.port)
        scheme = "sips" if trunk.protocol == "tls" else "sip"
        try:
            self.ua.endpoint(dest.transport)
            response = await asyncio.wait_for(
                self.ua.send_request("OPTIONS", f"{scheme}:{proxy}", dest=dest), min(interval, 5.0)
            )
        except (LookupError, TransactionError):
            return None
        except (TimeoutError, RequestFailed, SipRuntimeError, OSError):
            return False
        return response.status < 500
