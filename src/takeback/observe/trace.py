"""The SIP trace recorder: every message a user agent sends or receives, in memory, bounded.

The transport layer calls :meth:`SipTrace.record` once per message, on the hot path, so that call does
only what cannot be deferred: copy the bytes (a transport may reuse its buffer), stamp the time, find the
Call-ID with one bounded regex over the header section, append to a ring buffer and an index, and hand
the entry to the subscribers (pcap writer, HEP sender). Parsing, decoding and drawing happen later, in
the consumers, and only for the entries somebody looks at.

Both ends of a hop may record into the same trace (the demo runs the device and the emulator in one
process), so every transmission can appear twice: once ``"out"`` at the sender and once ``"in"`` at the
receiver. :class:`MirrorFilter` pairs those two recordings so that a pcap, a HEP collector or a ladder
shows each packet once, as a real capture on the wire would, while retransmissions (the *same* bytes sent
again) are kept.

One asyncio loop is the intended user. A lock makes the structure safe to read from another thread too
(a status endpoint, a test); subscribers run outside the lock, in the recording thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Literal, NamedTuple

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "Address",
    "Direction",
    "MirrorFilter",
    "PartyRecorder",
    "SipTrace",
    "TraceEntry",
    "TraceListener",
    "extract_call_id",
    "merge_entries",
]

logger = logging.getLogger("takeback.observe")

Address = tuple[str, int]
Direction = Literal["in", "out"]
TraceListener = Callable[["TraceEntry"], object]
_MirrorKey = tuple[str, Address, Address, bytes]
# What note() keeps until the trace is read: the entry's fields minus the Call-ID, plus its serial.
_Noted = tuple[float, Direction, str, Address, Address, bytes, "str | None", int]

#: Default ring size: a few hundred calls' worth of signalling, a few MB of memory.
DEFAULT_MAX_ENTRIES = 10_000
_TRANSPORTS = frozenset(("UDP", "TCP", "TLS"))
# Call-ID or its compact form ``i`` (RFC 3261 §7.3.3, §20.8) at the start of a header line.
_CALL_ID_RE = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_HEAD_SCAN_LIMIT = 16 * 1024  # a Call-ID deeper than this in the header section is not worth finding


class TraceEntry(NamedTuple):
    """One SIP message as one party saw it cross its transport.

    ``timestamp`` is wall-clock seconds since the epoch (what pcap and HEP want). ``src``/``dst`` are
    the packet's addresses: for ``"out"`` the local address is ``src``, for ``"in"`` it is ``dst``.
    ``party`` names who recorded it ("device", "genesys" …). ``serial`` is the entry's position in the
    trace's lifetime (it keeps counting after old entries are evicted), a stable total order.
    A named tuple: immutable, and about the cheapest record Python builds on the hot path.
    """

    timestamp: float
    direction: Direction
    transport: str
    src: Address
    dst: Address
    data: bytes
    party: str | None = None
    call_id: str | None = None
    serial: int = 0

    @property
    def local(self) -> Address:
        """The recording party's own address."""
        return self.src if self.direction == "out" else self.dst

    @property
    def remote(self) -> Address:
        return self.dst if self.direction == "out" else self.src

    @property
    def is_keepalive(self) -> bool:
        """A CRLF keep-alive (RFC 5626 §4.4.1) rather than a message."""
        return not self.data.strip(b"\r\n")


# A TraceEntry from one tuple, without the Python-level ``__new__`` a NamedTuple call goes through.
_new_entry = partial(tuple.__new__, TraceEntry)


def _checked_transport(direction: str, transport: str) -> str:
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    if transport in _TRANSPORTS:
        return transport
    transport = transport.upper()
    if transport not in _TRANSPORTS:
        raise ValueError(f"transport must be UDP, TCP or TLS, not {transport!r}")
    return transport


def extract_call_id(data: bytes) -> str | None:
    """The Call-ID of a raw message without parsing it; ``None`` when there is none in the header section.

    The fast path finds the canonical spelling with one ``bytes.find``; other spellings (``call-id``,
    compact ``i``, bare LF line ends) take a case-insensitive regex.
    """
    found = data.find(b"\r\nCall-ID:", 0, _HEAD_SCAN_LIMIT)
    if found >= 0 and data.find(b"\r\n\r\n", 0, found + 2) < 0:  # still in the header section
        start = found + 10
        end = data.find(b"\r\n", start)
        value = data[start : end if end >= 0 else len(data)].strip(b" \t")
        if value:
            return value.decode("utf-8", "replace")
    return _extract_call_id_slowly(data)


def _extract_call_id_slowly(data: bytes) -> str | None:
    end = data.find(b"\r\n\r\n", 0, _HEAD_SCAN_LIMIT)
    if end < 0:
        end = data.find(b"\n\n", 0, _HEAD_SCAN_LIMIT)
    if end < 0:
        end = min(len(data), _HEAD_SCAN_LIMIT)
    match = _CALL_ID_RE.search(data, 0, end)
    if match is None:
        return None
    value = match.group(1).strip(b" \t\r")
    return value.decode("utf-8", "replace") if value else None


def _address(value: Any) -> Address:
    """``(host, port)`` from a 2-tuple, a 4-tuple IPv6 sockaddr or anything with ``host``/``port``."""
    if isinstance(value, tuple):
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int):
            return value
        return (str(value[0]), int(value[1]))
    return (str(value.host), int(value.port))


class SipTrace:
    """A bounded, in-memory record of SIP traffic with per-Call-ID grouping and subscribers.

    ``max_entries`` bounds memory: the oldest entry is dropped when a new one would exceed it
    (:attr:`evicted` counts them). ``enabled`` can be flipped at any time; a disabled trace records nothing
    and costs one attribute test per message. ``clock`` supplies timestamps when the caller passes none.
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.enabled = enabled
        self.clock = clock
        self.evicted = 0
        self.listener_errors = 0
        self._entries: deque[TraceEntry] = deque()
        self._by_call: dict[str, deque[TraceEntry]] = {}
        self._pending: deque[_Noted] = deque()  # noted, not yet entries (see note()); newer than _entries
        self._listeners: tuple[TraceListener, ...] = ()
        self._lock = threading.Lock()
        self._count = 0

    # ------------------------------------------------------------------------------------- recording

    def record(
        self,
        direction: Direction,
        transport: str,
        src: Any,
        dst: Any,
        data: bytes | bytearray | memoryview,
        *,
        party: str | None = None,
        timestamp: float | None = None,
    ) -> TraceEntry | None:
        """Record one message; returns the entry (``None`` when the trace is disabled).

        ``src``/``dst`` are ``(host, port)`` pairs, socket addresses (IPv6 4-tuples) or objects with
        ``host`` and ``port`` (a ``Peer``). ``timestamp`` must be wall-clock epoch seconds, *not* the
        loop's monotonic ``now``; leave it out to use the trace's clock. Never raises because of a
        subscriber: their errors are logged and counted in :attr:`listener_errors`.
        """
        if not self.enabled:
            return None
        transport = _checked_transport(direction, transport)
        payload = data if type(data) is bytes else bytes(data)
        when = self.clock() if timestamp is None else timestamp
        call_id = extract_call_id(payload)
        with self._lock:
            self._settle()
            self._count += 1
            entry = TraceEntry(
                when, direction, transport, _address(src), _address(dst), payload, party, call_id, self._count
            )
            self._append(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                self.listener_errors += 1
                logger.exception("trace subscriber %r failed", listener)
        return entry

    def note(
        self,
        direction: Direction,
        transport: str,
        src: Any,
        dst: Any,
        data: bytes | bytearray | memoryview,
        *,
        party: str | None = None,
        timestamp: float | None = None,
    ) -> None:
        """:meth:`record` for callers that do not want the entry back (the transports, per message).

        With no subscriber, nothing needs the entry now, so only what cannot wait is done (copy the bytes,
        stamp the time, take a serial number); the Call-ID and the entry are made when the trace is read,
        and never for messages evicted before that. What a reader sees is the same as with :meth:`record`.
        """
        self._note(party, direction, transport, src, dst, data, timestamp)

    def _note(
        self,
        party: str | None,
        direction: Direction,
        transport: str,
        src: Any,
        dst: Any,
        data: bytes | bytearray | memoryview,
        timestamp: float | None = None,
    ) -> None:
        """:meth:`note` with ``party`` first and positional: what :class:`PartyRecorder` binds with a
        plain ``partial``, whose call then needs no keyword dictionary (one per SIP message otherwise)."""
        if transport not in _TRANSPORTS or direction not in ("in", "out"):
            transport = _checked_transport(direction, transport)
        if type(src) is not tuple or len(src) != 2 or type(src[0]) is not str or type(src[1]) is not int:
            src = _address(src)
        if type(dst) is not tuple or len(dst) != 2 or type(dst[0]) is not str or type(dst[1]) is not int:
            dst = _address(dst)
        self._note_addresses(party, direction, transport, src, dst, data, timestamp)

    def _note_addresses(
        self,
        party: str | None,
        direction: Direction,
        transport: str,
        src: Address,
        dst: Address,
        data: bytes | bytearray | memoryview,
        timestamp: float | None = None,
    ) -> None:
        """:meth:`_note` for a caller that passes ``direction`` "in"/"out" and ``(str, int)`` address pairs
        (the transport layer builds them so): the checks of those, 8 per message, are skipped."""
        if not self.enabled:
            return
        if self._listeners:
            self.record(direction, transport, src, dst, data, party=party, timestamp=timestamp)
            return
        if transport not in _TRANSPORTS:
            transport = _checked_transport(direction, transport)
        payload = data if type(data) is bytes else bytes(data)
        when = self.clock() if timestamp is None else timestamp
        lock = self._lock
        lock.acquire()  # not ``with``: its __enter__/__exit__ lookups cost twice the lock itself
        try:
            self._count += 1
            pending = self._pending
            pending.append((when, direction, transport, src, dst, payload, party, self._count))
            if len(pending) + len(self._entries) > self.max_entries:
                self._evict_oldest()
        finally:
            lock.release()

    def _settle(self) -> None:
        """Turn the noted messages into entries (under the lock; they are newer than every entry)."""
        pending = self._pending
        if not pending:
            return
        entries, by_call = self._entries, self._by_call
        for when, direction, transport, src, dst, payload, party, serial in pending:
            call_id = extract_call_id(payload)
            entry = _new_entry((when, direction, transport, src, dst, payload, party, call_id, serial))
            entries.append(entry)
            if call_id is not None:
                group = by_call.get(call_id)
                if group is None:
                    group = by_call[call_id] = deque()
                group.append(entry)
        pending.clear()

    def _evict_oldest(self) -> None:
        if not self._entries:
            self._pending.popleft()  # never read: dropped before anyone made an entry of it
            self.evicted += 1
            return
        old = self._entries.popleft()
        self.evicted += 1
        if old.call_id is not None:
            group = self._by_call[old.call_id]
            group.popleft()  # the globally oldest entry is the oldest of its call too
            if not group:
                del self._by_call[old.call_id]

    def _append(self, entry: TraceEntry) -> None:
        if len(self._entries) >= self.max_entries:
            self._evict_oldest()
        self._entries.append(entry)
        if entry.call_id is not None:
            group = self._by_call.get(entry.call_id)
            if group is None:
                group = self._by_call[entry.call_id] = deque()
            group.append(entry)

    def for_party(self, party: str) -> PartyRecorder:
        """A recorder that stamps every entry with ``party`` (one per user agent sharing this trace)."""
        return PartyRecorder(self, party)

    # ----------------------------------------------------------------------------------- subscribers

    def subscribe(self, listener: TraceListener) -> Callable[[], None]:
        """Call ``listener(entry)`` for every entry recorded from now on; returns the unsubscribe function."""
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(item for item in self._listeners if item is not listener)

        return unsubscribe

    # --------------------------------------------------------------------------------------- reading

    def entries(self, call_ids: Iterable[str] | None = None) -> list[TraceEntry]:
        """A snapshot, oldest first; restricted to the given Call-IDs when ``call_ids`` is given."""
        with self._lock:
            self._settle()
            if call_ids is None:
                return list(self._entries)
            selected: list[TraceEntry] = []
            for call_id in dict.fromkeys(call_ids):
                selected.extend(self._by_call.get(call_id, ()))
        selected.sort(key=lambda entry: entry.serial)
        return selected

    def call(self, call_id: str) -> list[TraceEntry]:
        """Every retained entry of one Call-ID, oldest first."""
        with self._lock:
            self._settle()
            return list(self._by_call.get(call_id, ()))

    def call_ids(self) -> list[str]:
        """Retained Call-IDs, in order of their first retained message."""
        with self._lock:
            self._settle()
            groups = list(self._by_call.items())
        groups.sort(key=lambda item: item[1][0].serial)
        return [call_id for call_id, _ in groups]

    def calls(self) -> dict[str, list[TraceEntry]]:
        """Every retained entry grouped by Call-ID (entries without one are left out)."""
        with self._lock:
            self._settle()
            return {call_id: list(group) for call_id, group in self._by_call.items()}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._pending.clear()
            self._by_call.clear()

    def __len__(self) -> int:
        return len(self._entries) + len(self._pending)

    def __iter__(self) -> Iterator[TraceEntry]:
        return iter(self.entries())

    def __repr__(self) -> str:
        return f"<SipTrace {len(self)}/{self.max_entries} entries, {self.evicted} evicted>"


class PartyRecorder:
    """``trace.record`` with the party filled in; what a transport layer is handed.

    ``note(direction, transport, src, dst, data, *, timestamp=None)`` is :meth:`SipTrace.note` with the
    party filled in: the transport's per-message call, so it is the trace's own method with the party
    bound (a ``functools.partial``) rather than one more Python frame per SIP message. The party is bound
    positionally (``SipTrace._note``): a ``partial`` holding keywords copies them into a new dict per call.

    ``note_addresses`` is ``note`` for callers that pass ``direction`` "in"/"out" and ``(str, int)``
    address pairs, whose checks it skips (the transport layer's call).
    """

    __slots__ = ("note", "note_addresses", "party", "trace")

    def __init__(self, trace: SipTrace, party: str) -> None:
        self.trace = trace
        self.party = party
        self.note: Callable[..., None] = partial(trace._note, party)
        self.note_addresses: Callable[..., None] = partial(trace._note_addresses, party)

    def record(
        self,
        direction: Direction,
        transport: str,
        src: Any,
        dst: Any,
        data: bytes | bytearray | memoryview,
        *,
        timestamp: float | None = None,
    ) -> TraceEntry | None:
        return self.trace.record(direction, transport, src, dst, data, party=self.party, timestamp=timestamp)


def merge_entries(*sources: Iterable[TraceEntry]) -> list[TraceEntry]:
    """Entries of several traces (several processes' dumps) as one timeline, ordered by timestamp."""
    merged = [entry for source in sources for entry in source]
    merged.sort(key=lambda entry: entry.timestamp)
    return merged


class MirrorFilter:
    """Recognises the second recording of one transmission: the receiver's ``"in"`` of a sender's ``"out"``.

    Two recordings are the same transmission when transport, addresses and bytes match, the directions
    are opposite and they are at most ``window`` seconds apart. Each ``"out"`` pairs with at most one
    ``"in"`` (and vice versa), so a retransmission, which repeats the bytes, still shows up once per send.
    Unpaired recordings are forgotten after ``window`` seconds or beyond ``max_pending`` of them.
    """

    def __init__(self, window: float = 2.0, max_pending: int = 4096) -> None:
        self.window = window
        self.max_pending = max_pending
        self._waiting: dict[_MirrorKey, deque[tuple[int, str, float]]] = {}
        self._order: deque[tuple[int, _MirrorKey, float]] = deque()
        self._serial = 0

    def is_mirror(self, entry: TraceEntry) -> bool:
        """True when ``entry`` is the other end's copy of an earlier, still unpaired entry."""
        key: _MirrorKey = (entry.transport, entry.src, entry.dst, entry.data)
        self._expire(entry.timestamp)
        waiting = self._waiting.get(key)
        if waiting:
            for position, (_, direction, when) in enumerate(waiting):
                if direction != entry.direction and abs(entry.timestamp - when) <= self.window:
                    del waiting[position]
                    if not waiting:
                        del self._waiting[key]
                    return True
        self._serial += 1
        self._waiting.setdefault(key, deque()).append((self._serial, entry.direction, entry.timestamp))
        self._order.append((self._serial, key, entry.timestamp))
        if len(self._order) > self.max_pending:
            serial, old_key, _ = self._order.popleft()
            self._forget(serial, old_key)
        return False

    def _expire(self, now: float) -> None:
        order = self._order
        while order and now - order[0][2] > self.window:
            serial, key, _ = order.popleft()
            self._forget(serial, key)

    def _forget(self, serial: int, key: _MirrorKey) -> None:
        waiting = self._waiting.get(key)
        if not waiting:
            return
        for position, item in enumerate(waiting):
            if item[0] == serial:
                del waiting[position]
                break
        if not waiting:
            del self._waiting[key]
