"""The process-wide paced sender: ONE timer ticking every 20 ms for every call.

One task or timer per call costs a heap operation, a handle and a wake-up per call per 20 ms; with 1,500
calls that is 75,000 timer events a second and the pacing degrades with load. Instead one timer fires per
tick and the scheduler walks every registered session once, in a stable order, each sending the frame due
at that tick. A session therefore always sends at the same offset from the tick, so its own inter-packet
spacing stays at exactly 20 ms no matter how many calls share the pass.

Timing is kept on an absolute grid (``anchor + k * tick``), never by adding 20 ms to "now": a late wake-up
does not push the following ticks back (drift correction). If the loop was blocked for several ticks, up
to ``max_catch_up`` missed ticks are sent back to back; older ones are skipped, and since every session
derives its RTP timestamp from the tick index, the receiver sees a clean timestamp jump rather than
compressed audio. The wake-up time itself is trimmed by a small learnt lead, because stock asyncio rounds
its poll timeout up to the next millisecond and uvloop's timers are millisecond-granular too.

Receiving is tick-batched too (:mod:`takeback.media.poller`): after each pass one ``epoll_wait`` finds
every socket with data, so between ticks the process sleeps and incoming packets never delay a tick.

The grid lives on ``time.monotonic`` (which *is* ``loop.time()`` on stock asyncio); uvloop's ``loop.time()``
is a millisecond clock cached per loop iteration, too coarse to measure 2 ms of jitter against.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from takeback.media.poller import EPOLL_AVAILABLE, TickPoller

__all__ = ["MediaScheduler", "TickClient"]

_log = logging.getLogger(__name__)

_MAX_LEAD = 0.002  # never wake more than 2 ms before the grid point ...
_MIN_LEAD = -0.001  # ... nor aim more than 1 ms after it
_LEAD_GAIN = 0.05  # EWMA gain of the wake-up error correction


class TickClient(Protocol):
    """What the scheduler drives; :class:`~takeback.media.session.MediaSession` implements it."""

    def on_tick(self, tick: int) -> None:
        """Send whatever is due at grid point ``tick``. Must not block or await."""

    def on_housekeeping(self, now: float) -> None:
        """Slow periodic work (inactivity checks, RTCP), called every ``housekeeping_interval``."""


class MediaScheduler:
    """Drives every registered :class:`TickClient` from one timer on the running event loop.

    Start it implicitly by adding a client from inside a running loop; it stops itself when the last client
    leaves and re-anchors its grid when the next one arrives. ``close()`` detaches everything.
    """

    def __init__(
        self,
        *,
        tick_ms: int = 20,
        max_catch_up: int = 3,
        housekeeping_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        tick_receive: bool = True,
    ) -> None:
        if tick_ms <= 0 or max_catch_up < 1:
            raise ValueError("tick_ms must be positive and max_catch_up at least 1")
        self.tick_ms = tick_ms
        self.tick = tick_ms / 1000.0
        self.max_catch_up = max_catch_up
        self.clock = clock
        self._housekeeping_every = max(1, round(housekeeping_interval / self.tick))
        self._clients: dict[int, TickClient] = {}
        # The clients of the next pass, in a stable order; None after add/remove, rebuilt by the next pass. A
        # call joins and leaves between two ticks, so rebuilding here (once per tick at most) instead of in
        # add/remove (twice per call, O(concurrent calls) each) keeps a call's set-up cost flat.
        self._snapshot: tuple[TickClient, ...] | None = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._anchor_time = 0.0
        self._anchor_tick = 0
        self._next_tick = 0
        self._lead = 0.0
        self._tick_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.current_tick = -1
        """Index of the grid point being (or last) processed."""
        self.current_ideal = 0.0
        """Ideal ``clock()`` time of ``current_tick``."""
        self.ticks_run = 0
        self.ticks_skipped = 0
        self.late_wakeups = 0
        """Wake-ups more than ``late_threshold`` after their grid point (the loop was busy or descheduled)."""
        self.late_threshold = 0.002
        self.max_lateness = 0.0
        self.poller = TickPoller() if tick_receive and EPOLL_AVAILABLE else None
        """Tick-batched receiving (see :mod:`takeback.media.poller`); None = the loop's own readers."""

    # --- membership ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._clients)

    def add(self, client: TickClient) -> None:
        """Register a client; it gets ``on_tick`` from the next grid point on."""
        self._clients[id(client)] = client
        self._snapshot = None
        if self._timer is None:
            self._start()

    def remove(self, client: TickClient) -> None:
        """Unregister a client (safe to call from inside its own ``on_tick``)."""
        if self._clients.pop(id(client), None) is not None:
            self._snapshot = None
        if not self._busy():
            self._stop()

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Watch a socket: ``callback()`` reads one datagram; served after each pass, or by the loop."""
        if self.poller is None:
            asyncio.get_running_loop().add_reader(fd, callback)
            return
        self.poller.add_reader(fd, callback)
        if self._timer is None:
            self._start()

    def remove_reader(self, fd: int) -> None:
        if self.poller is None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(fd)
            else:
                asyncio.get_running_loop().remove_reader(fd)
            return
        self.poller.remove_reader(fd)
        if not self._busy():
            self._stop()

    def close(self) -> None:
        """Detach every client and reader and stop the timer."""
        self._clients.clear()
        self._snapshot = ()
        if self.poller is not None:
            self.poller.close()
            self.poller = TickPoller()
        self._stop()

    def _busy(self) -> bool:
        return bool(self._clients) or (self.poller is not None and len(self.poller) > 0)

    @property
    def running(self) -> bool:
        return self._timer is not None

    def next_tick_time(self) -> float:
        """Ideal ``clock()`` time of the next grid point."""
        return self._ideal(self._next_tick)

    async def wait_ticks(self, count: int) -> None:
        """Return after ``count`` more ticks have been processed (tests and tools use this as a clock)."""
        if self._loop is None or self._timer is None:
            raise RuntimeError("the scheduler is not running (no session attached)")
        future = self._loop.create_future()
        self._tick_waiters.append((self.current_tick + count, future))
        await future

    # --- the timer ------------------------------------------------------------------------------------------

    def _ideal(self, tick: int) -> float:
        return self._anchor_time + (tick - self._anchor_tick) * self.tick

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._anchor_tick = self.current_tick + 1
        self._anchor_time = self.clock() + self.tick
        self._next_tick = self._anchor_tick
        self._arm()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _, future in self._tick_waiters:
            if not future.done():
                future.cancel()
        self._tick_waiters.clear()

    def _arm(self) -> None:
        assert self._loop is not None
        target = self._ideal(self._next_tick) - self._lead
        self._timer = self._loop.call_at(self._loop.time() + (target - self.clock()), self._run)

    def _run(self) -> None:
        now = self.clock()
        first = self._next_tick
        error = now - self._ideal(first)
        self._lead = min(_MAX_LEAD, max(_MIN_LEAD, self._lead + _LEAD_GAIN * error))
        if error > self.late_threshold:
            self.late_wakeups += 1
            self.max_lateness = max(self.max_lateness, error)
        last = max(first, self._anchor_tick + math.floor((now - self._anchor_time) / self.tick))
        if last - first >= self.max_catch_up:
            self.ticks_skipped += last - first + 1 - self.max_catch_up
            first = last - self.max_catch_up + 1
        for tick in range(first, last + 1):
            self._pass(tick)
        self._next_tick = last + 1
        if self.poller is not None:
            self.poller.drain()
        if self._tick_waiters:
            self._wake_waiters()
        if self._busy():
            self._arm()
        else:
            self._timer = None

    def _pass(self, tick: int) -> None:
        self.current_tick = tick
        self.current_ideal = self._ideal(tick)
        self.ticks_run += 1
        clients = self._snapshot
        if clients is None:
            clients = self._snapshot = tuple(self._clients.values())
        for client in clients:
            try:
                client.on_tick(tick)
            except Exception:
                _log.exception("media client %r failed in on_tick; detaching it", client)
                self.remove(client)
        # Housekeeping is spread: each tick serves one slice of the clients, so every client gets it once per
        # interval and no tick carries all of it (which would lengthen that pass for 2,000 calls by ~3 ms).
        every = self._housekeeping_every
        now = self.clock()
        for client in clients[tick % every :: every]:
            try:
                client.on_housekeeping(now)
            except Exception:
                _log.exception("media client %r failed in housekeeping", client)

    def _wake_waiters(self) -> None:
        remaining = []
        for target, future in self._tick_waiters:
            if future.done():
                continue
            if target <= self.current_tick:
                future.set_result(None)
            else:
                remaining.append((target, future))
        self._tick_waiters = remaining
