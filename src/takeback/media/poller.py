"""Tick-batched receiving: every RTP socket's readiness, collected with one ``epoll_wait`` per tick.

Letting the event loop watch 2,000 sockets costs, for every datagram, a loop wake-up, a handle and a
callback dispatch, and the work lands at random moments between ticks where it can delay the next one.
The scheduler instead keeps its own epoll set: right after each send pass it asks the kernel, in one
non-blocking ``epoll_wait``, which sockets have data, and reads one datagram from each; sockets still
readable (level-triggered) come back in the next round. Between ticks the process sleeps undisturbed.
Received packets are therefore handled up to one tick (20 ms) late, which nothing in RTP minds (the jitter
buffer of any receiver is larger). Linux only (``select.epoll``); elsewhere the loop's readers are used.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable

__all__ = ["EPOLL_AVAILABLE", "TickPoller"]

_log = logging.getLogger(__name__)
EPOLL_AVAILABLE = hasattr(select, "epoll")
_ROUNDS = 4  # a socket gets at most this many datagrams read per tick; more wait for the next tick


class TickPoller:
    """A set of readable-callbacks driven by :meth:`drain`, not by the event loop."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._callbacks: dict[int, Callable[[], None]] = {}

    def __len__(self) -> int:
        return len(self._callbacks)

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (which must read one datagram) whenever ``fd`` is readable at a tick."""
        if fd in self._callbacks:
            self._epoll.modify(fd, select.EPOLLIN)
        else:
            self._epoll.register(fd, select.EPOLLIN)
        self._callbacks[fd] = callback

    def remove_reader(self, fd: int) -> None:
        if self._callbacks.pop(fd, None) is not None:
            try:  # noqa: SIM105  (once per call: contextlib.suppress costs as much as the unregister)
                self._epoll.unregister(fd)
            except (OSError, ValueError):  # already closed: the kernel dropped it
                pass

    def drain(self) -> int:
        """Serve every readable socket (one datagram per socket per round); returns datagrams served."""
        callbacks = self._callbacks
        poll = self._epoll.poll
        served = 0
        for _ in range(_ROUNDS):
            events = poll(0, max(64, len(callbacks)))
            if not events:
                break
            for fd, _mask in events:
                callback = callbacks.get(fd)
                if callback is None:
                    continue
                try:
                    callback()
                except Exception:
                    _log.exception("media receive callback for fd %d failed", fd)
            served += len(events)
        return served

    def close(self) -> None:
        self._callbacks.clear()
        self._epoll.close()
