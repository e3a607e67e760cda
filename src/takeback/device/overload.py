"""Load shedding: answer new INVITEs ``503`` + ``Retry-After`` while the process is behind its input.

Why: past its capacity a SIP server that keeps accepting calls does not slow down gracefully, it
collapses. Requests wait in the socket queue longer than the peer's T1 (500 ms), the peer retransmits,
the retransmissions queue up as well, and soon every call in progress times out — bench/device.py saw 72 %
of calls fail at 1.4x the clean rate. Refusing *new* calls early keeps the calls already accepted on
time, and a Genesys trunk fails over to its next SIP server on a 5xx (``trunk_transport_retryable
ReasonCodes`` "500-599", GENESYS.md §3.3; RFC 3261 §21.5.4 for 503 and Retry-After).

The signal is the kernel receive queue (how many bytes wait to be read: the longest UDP listener
queue, or all TCP/TLS connections' queues together), not the event loop's lag: a loop reads a bounded
batch of datagrams per wake-up and runs its timers in between, so its lag stays small while the queue
behind it grows. Two watermarks give hysteresis: shed above ``shed_above`` bytes, accept again once the
queue has stayed below ``resume_below`` for ``hold`` seconds.

:class:`OverloadGuard` is the pure decision (samples and times in, a verdict out); the device's probe
task feeds it every ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OverloadGuard", "OverloadState", "watch_backlog"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class OverloadState:
    """What the status page and metrics show."""

    shedding: bool = False
    episodes: int = 0  #: times shedding started
    last_backlog: int = 0  #: bytes queued at the last sample
    peak_backlog: int = 0


class OverloadGuard:
    """Hysteresis on the receive backlog; ``shed_above <= 0`` disables shedding."""

    def __init__(self, shed_above: int, resume_below: int, hold: float) -> None:
        if shed_above > 0 and not 0 <= resume_below <= shed_above:
            raise ValueError("resume_below must be between 0 and shed_above")
        self.shed_above = shed_above
        self.resume_below = resume_below
        self.hold = hold
        self.state = OverloadState()
        self._calm_since: float | None = None

    @property
    def enabled(self) -> bool:
        return self.shed_above > 0

    @property
    def shedding(self) -> bool:
        return self.state.shedding

    def observe(self, backlog: int, now: float) -> bool:
        """Feed one sample (bytes waiting, loop time); returns whether new calls are shed from now on."""
        state = self.state
        state.last_backlog = backlog
        state.peak_backlog = max(state.peak_backlog, backlog)
        if not self.enabled:
            return False
        if backlog > self.shed_above:
            if not state.shedding:
                state.shedding = True
                state.episodes += 1
            self._calm_since = None
        elif state.shedding and backlog < self.resume_below:
            if self._calm_since is None:
                self._calm_since = now
            if now - self._calm_since >= self.hold:
                state.shedding = False
                self._calm_since = None
        elif state.shedding:
            self._calm_since = None  # between the watermarks: still draining
        return state.shedding


async def watch_backlog(guard: OverloadGuard, sample: Callable[[], int | None], interval: float) -> None:
    """Feed ``guard`` a backlog sample every ``interval`` seconds until cancelled (stops quietly where the
    kernel cannot report the queue)."""
    loop = asyncio.get_running_loop()
    while True:
        backlog = sample()
        if backlog is None:
            logger.info("load shedding off: the receive queue length cannot be read on this system")
            return
        was = guard.shedding
        if guard.observe(backlog, loop.time()) != was:
            if was:
                logger.warning("load shedding ended: receive queue down to %d bytes", backlog)
            else:
                logger.warning("overloaded: %d bytes wait in the receive queue; new calls get 503", backlog)
        await asyncio.sleep(interval)
