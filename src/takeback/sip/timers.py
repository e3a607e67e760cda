"""Timer values (RFC 3261 §17, Table 4; RFC 6026 §8.4) and a heap of deadlines with lazy deletion.

One heap per core: ``get_timer()`` is the top of the heap, ``handle_timer(now)`` pops and runs everything
due. Cancelling only marks the entry (O(1)); dead entries are skipped when they reach the top and the
heap is compacted when more than half of it is dead, so a burst of calls that end early does not leave
64*T1 worth of corpses behind.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TimerCallback", "TimerEntry", "TimerHeap", "TimerValues"]

TimerCallback = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class TimerValues:
    """T1/T2/T4 and every timer derived from them (RFC 3261 Table 4, RFC 6026 Timers L and M)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H, J (unreliable), L, M, and the 2xx-without-ACK limit (§13.3.1.4)."""
        return 64 * self.t1

    def wait_d(self, reliable: bool) -> float:
        """Timer D: > 32 s on UDP to absorb retransmitted final responses, 0 on streams (§17.1.1.2)."""
        return 0.0 if reliable else max(32.0, self.timeout)

    def wait_k(self, reliable: bool) -> float:
        """Timer K (non-INVITE client) and Timer I (INVITE server): T4 on UDP, 0 on streams."""
        return 0.0 if reliable else self.t4

    def wait_j(self, reliable: bool) -> float:
        """Timer J (non-INVITE server): 64*T1 on UDP, 0 on streams (§17.2.2)."""
        return 0.0 if reliable else self.timeout


class TimerEntry:
    """A scheduled callback. ``cancel()`` is O(1); the heap drops the entry when it surfaces."""

    __slots__ = ("callback", "deadline")

    def __init__(self, deadline: float, callback: TimerCallback) -> None:
        self.deadline = deadline
        self.callback: TimerCallback | None = callback

    @property
    def active(self) -> bool:
        return self.callback is not None


_new_entry = object.__new__


class TimerHeap:
    """Min-heap of ``(deadline, seq, entry)``: tuples compare in C; ``seq`` keeps FIFO among equal
    deadlines and guarantees the entries themselves are never compared."""

    __slots__ = ("_dead", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerEntry]] = []
        self._seq = 0
        self._dead = 0

    def __len__(self) -> int:
        """Live (not cancelled, not yet run) timers."""
        return len(self._heap) - self._dead

    def schedule(self, deadline: float, callback: TimerCallback) -> TimerEntry:
        self._seq += 1
        entry = _new_entry(TimerEntry)  # __init__ without its Python frame: dozens of timers per call
        entry.deadline = deadline
        entry.callback = callback
        heapq.heappush(self._heap, (deadline, self._seq, entry))
        return entry

    def cancel(self, entry: TimerEntry | None) -> None:
        if entry is None or entry.callback is None:
            return
        entry.callback = None
        self._dead += 1
        if self._dead > 64 and self._dead * 2 > len(self._heap):
            # In place: run_due() may be iterating over this very list.
            self._heap[:] = [item for item in self._heap if item[2].callback is not None]
            heapq.heapify(self._heap)
            self._dead = 0

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].callback is None:
            heapq.heappop(heap)
            self._dead -= 1
        return heap[0][0] if heap else None

    def run_due(self, now: float, limit: int = 1_000_000) -> int:
        """Run every callback whose deadline is <= ``now``, in deadline order; returns how many ran.

        Callbacks may schedule new timers; those that are already due run in the same call. ``limit``
        bounds the loop against a callback that keeps rescheduling itself at ``now``.
        """
        heap = self._heap
        ran = 0
        while heap and ran < limit:
            deadline, _seq, top = heap[0]
            if top.callback is None:
                heapq.heappop(heap)
                self._dead -= 1
                continue
            if deadline > now:
                break
            heapq.heappop(heap)
            callback = top.callback
            top.callback = None
            callback(now)
            ran += 1
        return ran
