"""Call records: one SQLite row per call, written at every state change by a dedicated writer thread.

Why a thread and a queue: a commit is an fsync-bound system call; made on the event loop it would stall
every call's RTP pacing and SIP timers. The loop only appends a change to a queue (microseconds); the writer
applies changes **in the order they were made**, each batch in one transaction. A change is committed before
any change made after it, so a ``kill -9`` loses only changes still in the queue — at most the last steps of
the calls that were running. ``await records.barrier()`` returns once everything queued before it is
committed: the device awaits it when a call ends, so a completed call is on disk.

Durability: WAL journal. ``synchronous=NORMAL`` (default) survives a process crash, which is what kills and
OOMs do; ``FULL`` also survives power loss, at one fsync per commit.

One row per call: the key is (Call-ID, From tag), which a UAC keeps when it retries an INVITE after a 401
(RFC 3261 §22.2, §8.1.3.5), so the challenged INVITE and its authenticated retry update the same row.

Schema versions live in ``PRAGMA user_version``; :data:`SCHEMA_VERSION` is what this code writes, and a
database from a newer version is refused rather than misread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sqlite3
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["COLUMNS", "SCHEMA_VERSION", "CallRecords", "RecordsError", "read_recent"]

SCHEMA_VERSION = 1

#: Column -> SQL type. Times are Unix epoch seconds (float); statuses are SIP status codes.
COLUMNS: dict[str, str] = {
    "call_id": "TEXT NOT NULL",
    "from_tag": "TEXT NOT NULL DEFAULT ''",
    "conversation_id": "TEXT",  # x-inin-cnv (GENESYS.md §4.2); NULL when Conversation Headers is off
    "caller": "TEXT",  # From user part (the ANI with "Unassigned DID", §4.2)
    "dnis": "TEXT",  # Request-URI user part
    "source_ip": "TEXT",
    "source_port": "INTEGER",
    "transport": "TEXT",
    "auth": "TEXT",  # off | ok | challenge | stale | replay | bad-nonce | bad-credentials | malformed
    "access": "TEXT",  # the access decision reason: ok | acl | token-mismatch | dnis | ...
    "codec": "TEXT",
    "uui_in_raw": "TEXT",  # the UUI header as received ("User-to-User: 00…;encoding=hex")
    "uui_in": "TEXT",  # what Genesys would expose as Call.UUIData (§5.2)
    "invite_at": "REAL",
    "answer_at": "REAL",
    "refer_at": "REAL",
    "notify_final_at": "REAL",
    "end_at": "REAL",
    "refer_to": "TEXT",  # the Refer-To value sent, verbatim
    "uui_out": "TEXT",  # the UUI text embedded in it
    "take_back_number": "TEXT",
    "outcome": "TEXT",  # rejected | answered | taken-back | take-back-failed | hangup | peer-hangup | ...
    "end_reason": "TEXT",  # remote-bye | local-bye | no-ack | cancelled | timeout | ...
    "invite_status": "INTEGER",  # our final response to the INVITE
    "refer_status": "INTEGER",  # the REFER's own final response (202, 403, 481 ...)
    "notify_status": "INTEGER",  # the terminal NOTIFY sipfrag status (200, 404 ...)
    "bye_status": "INTEGER",  # the response to our BYE, when we sent one
    "detail": "TEXT",
}
_WRITABLE = frozenset(COLUMNS) - {"call_id", "from_tag"}
_STOP = object()
_BATCH = 512


class RecordsError(RuntimeError):
    """The records database cannot be used (newer schema, not a database, not writable)."""


class _LoopBarrier:
    """A barrier awaited on an event loop: resolved there, by one ``call_soon_threadsafe`` per batch.

    Every completed call awaits one, so it avoids what :func:`asyncio.wrap_future` of a
    ``concurrent.futures.Future`` costs the loop (a lock and condition per barrier, chained callbacks)."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self.loop = loop
        self.future = future


def _resolve_waiters(futures: list[asyncio.Future[None]], error: str | None) -> None:
    """On the loop: the writer committed (``error`` None) or failed to commit what these waited for."""
    for future in futures:
        if future.done():  # the waiting task was cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(RecordsError(error))


_Op = tuple[str, tuple[Any, ...]] | concurrent.futures.Future[None] | _LoopBarrier | object


class CallRecords:
    """The store. ``begin``/``update`` never block (they queue); reads use their own connection.

    Use ``records = CallRecords(path); records.start()`` … ``records.close()`` (or ``with``).
    """

    def __init__(self, path: str | Path, *, synchronous: Literal["normal", "full"] = "normal") -> None:
        self.path = Path(path)
        self.synchronous = synchronous.upper()
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None  #: the last failed commit (a full disk …)
        self.written = 0  #: changes committed so far (for metrics)
        self.failed = 0  #: changes lost to failed commits

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> CallRecords:
        """Create or open the database (raises :class:`RecordsError` now, not later) and start the writer."""
        if self._thread is not None:
            return self
        connection = self._connect()
        self._thread = threading.Thread(
            target=self._run, args=(connection,), name="takeback-records", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Commit everything queued, then stop the writer."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> CallRecords:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self.synchronous}")
            connection.execute("PRAGMA busy_timeout=5000")
            migrate(connection)
        except sqlite3.DatabaseError as exc:
            raise RecordsError(f"records database {self.path}: {exc}") from None
        except OSError as exc:
            raise RecordsError(f"records database {self.path}: {exc.strerror or exc}") from None
        return connection

    # -- writing (event-loop side: never blocks) -------------------------------------------------------

    def begin(self, call_id: str, from_tag: str, **fields: Any) -> None:
        """Create the call's row, or update it when the same call retries (INVITE after a 401)."""
        self.begin_row(call_id, from_tag, fields)

    def update(self, call_id: str, from_tag: str, **fields: Any) -> None:
        """Set some columns of the call's row (a state change)."""
        self.update_row(call_id, from_tag, fields)

    # The device writes a handful of changes per call from dicts it holds already (``Call.row``, a verb's
    # keyword arguments): these two take the mapping as it is instead of re-packing it into keywords.

    def begin_row(self, call_id: str, from_tag: str, fields: Mapping[str, Any]) -> None:
        """:meth:`begin` with the columns given as a mapping (its values are read now)."""
        sql = _BEGIN_SQL.get(tuple(fields))
        if sql is None:
            sql = _remember(_BEGIN_SQL, fields, _begin_sql(_checked(fields)))
        self._put((sql, (call_id, from_tag, *fields.values())))

    def update_row(self, call_id: str, from_tag: str, fields: Mapping[str, Any]) -> None:
        """:meth:`update` with the columns given as a mapping (its values are read now)."""
        if not fields:
            return
        sql = _UPDATE_SQL.get(tuple(fields))
        if sql is None:
            sql = _remember(_UPDATE_SQL, fields, _update_sql(_checked(fields)))
        self._put((sql, (*fields.values(), call_id, from_tag)))

    def barrier_future(self) -> concurrent.futures.Future[None]:
        """A future done once every change queued before it is committed."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._put(future)
        return future

    async def barrier(self) -> None:
        """Wait (without blocking the loop) until every change queued so far is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._put(_LoopBarrier(loop, future))
        await future

    def flush(self, timeout: float | None = 10.0) -> None:
        """Blocking barrier, for code outside an event loop."""
        self.barrier_future().result(timeout)

    def _put(self, op: _Op) -> None:
        if self._thread is None:
            raise RecordsError("records store is not started")
        self._queue.put(op)

    # -- the writer thread ------------------------------------------------------------------------------

    def _run(self, connection: sqlite3.Connection) -> None:
        try:
            while True:
                batch = [self._queue.get()]
                while len(batch) < _BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if not self._apply(connection, batch):
                    return
        finally:
            connection.close()

    def _apply(self, connection: sqlite3.Connection, batch: list[_Op]) -> bool:
        """Commit one batch in order, then resolve its barriers. False once stopped.

        When the batch fails (a full disk, a locked file), it is rolled back and replayed one change per
        transaction so that only the changes that fail themselves are lost; barriers then report failure.
        """
        barriers = [op for op in batch if isinstance(op, concurrent.futures.Future)]
        changes = [op for op in batch if isinstance(op, tuple)]
        error: sqlite3.Error | None = None
        try:
            self._commit(connection, changes)
        except sqlite3.Error:
            for change in changes:
                try:
                    self._commit(connection, [change])
                except sqlite3.Error as exc:  # records must never take calls down: note it, carry on
                    error = exc
                    self.failed += 1
        if error is not None:
            self.last_error = error
        failure = None if error is None else f"records write failed: {error}"
        for barrier in barriers:
            if barrier.cancelled():
                continue
            if failure is None:
                barrier.set_result(None)
            else:
                barrier.set_exception(RecordsError(failure))
        _wake_loops([op for op in batch if isinstance(op, _LoopBarrier)], failure)
        return not any(op is _STOP for op in batch)

    def _commit(self, connection: sqlite3.Connection, changes: list[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            connection.execute("BEGIN")
            for sql, params in changes:
                connection.execute(sql, params)
            connection.execute("COMMIT")
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self.written += len(changes)

    # -- reading ----------------------------------------------------------------------------------------

    def list_recent(self, n: int = 20) -> list[dict[str, Any]]:
        """The ``n`` most recent calls, newest first (reads what is committed)."""
        return read_recent(self.path, n)

    def get(self, call_id: str) -> list[dict[str, Any]]:
        """Every row of a Call-ID (several when different From tags used it)."""
        with _reader(self.path) as connection:
            rows = connection.execute("SELECT * FROM calls WHERE call_id=? ORDER BY id", (call_id,))
            return [dict(row) for row in rows]


def _wake_loops(waiters: list[_LoopBarrier], failure: str | None) -> None:
    """Resolve the loop barriers of a batch: one thread-safe call per loop (in practice one loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in waiters:
        by_loop.setdefault(waiter.loop, []).append(waiter.future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve_waiters, futures, failure)


# The statements per tuple of column names, in keyword order: a call makes the same few changes every time,
# so each statement is built (and its names checked) once instead of on every state change.
_BEGIN_SQL: dict[tuple[str, ...], str] = {}
_UPDATE_SQL: dict[tuple[str, ...], str] = {}
_SQL_CACHE_LIMIT = 256


def _remember(cache: dict[tuple[str, ...], str], fields: Mapping[str, Any], sql: str) -> str:
    if len(cache) < _SQL_CACHE_LIMIT:  # bounded: callers pick the names, but only checked ones get here
        cache[tuple(fields)] = sql
    return sql


def _begin_sql(names: list[str]) -> str:
    columns = ["call_id", "from_tag", *names]
    placeholders = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{name}=excluded.{name}" for name in names) or "call_id=call_id"
    return (
        f"INSERT INTO calls ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT(call_id, from_tag) DO UPDATE SET {updates}"
    )


def _update_sql(names: list[str]) -> str:
    assignments = ", ".join(f"{name}=?" for name in names)
    return f"UPDATE calls SET {assignments} WHERE call_id=? AND from_tag=?"


def _checked(fields: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(fields) - _WRITABLE)
    if unknown:
        raise ValueError(f"unknown call record field(s): {', '.join(unknown)}")
    return list(fields)


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` (``PRAGMA user_version``)."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RecordsError(
            f"records database has schema version {version}; this takeback knows up to {SCHEMA_VERSION}"
        )
    if version == 0:
        columns = ",\n  ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
        connection.executescript(
            f"""
            BEGIN;
            CREATE TABLE IF NOT EXISTS calls (
              id INTEGER PRIMARY KEY,
              {columns}
            );
            CREATE UNIQUE INDEX IF NOT EXISTS calls_key ON calls(call_id, from_tag);
            CREATE INDEX IF NOT EXISTS calls_conversation ON calls(conversation_id);
            CREATE INDEX IF NOT EXISTS calls_invite_at ON calls(invite_at);
            PRAGMA user_version = {SCHEMA_VERSION};
            COMMIT;
            """
        )


class _reader:
    """A short-lived read-only connection (WAL lets it read while the writer writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise RecordsError(f"no records database at {self.path}")
        try:
            uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
            self.connection = sqlite3.connect(uri, uri=True)
            self.connection.row_factory = sqlite3.Row
            (version,) = self.connection.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RecordsError(f"records database {self.path}: {exc}") from None
        if version != SCHEMA_VERSION:
            raise RecordsError(
                f"records database {self.path} has schema version {version}, expected {SCHEMA_VERSION}"
            )
        return self.connection

    def __exit__(self, *exc_info: object) -> None:
        if self.connection is not None:
            self.connection.close()


def read_recent(path: str | Path, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` most recent calls of a records database, newest first (for ``takeback device records``)."""
    with _reader(Path(path)) as connection:
        rows = connection.execute("SELECT * FROM calls ORDER BY id DESC LIMIT ?", (max(0, n),))
        return [dict(row) for row in rows]
