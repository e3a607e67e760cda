"""Call records: one row per call, ordered commits, schema version, and survival of a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from takeback.device.records import SCHEMA_VERSION, CallRecords, RecordsError, read_recent


def test_a_call_is_one_row_updated_at_each_state_change(tmp_path: Path) -> None:
    with CallRecords(tmp_path / "r.sqlite") as records:
        records.begin(
            "c1", "t1", caller="+13175551234", dnis="+19999990001", invite_at=1.0, source_ip="127.0.0.1"
        )
        records.update("c1", "t1", answer_at=2.0, codec="PCMU", invite_status=200)
        records.update("c1", "t1", refer_at=3.0, refer_to="<sip:+33456456456@localhost>", refer_status=202)
        records.update("c1", "t1", notify_final_at=4.0, notify_status=200, outcome="taken-back")
        records.update("c1", "t1", end_at=5.0, end_reason="remote-bye")
        records.flush()
        (row,) = records.get("c1")
    assert row["caller"] == "+13175551234"
    assert (row["invite_at"], row["answer_at"], row["refer_at"], row["notify_final_at"], row["end_at"]) == (
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    )
    assert (row["invite_status"], row["refer_status"], row["notify_status"]) == (200, 202, 200)
    assert (row["outcome"], row["end_reason"], row["codec"]) == ("taken-back", "remote-bye", "PCMU")


def test_an_invite_retried_after_401_updates_the_same_row(tmp_path: Path) -> None:
    with CallRecords(tmp_path / "r.sqlite") as records:
        records.begin("c1", "t1", invite_at=1.0, auth="challenge", invite_status=401)
        records.begin("c1", "t1", auth="ok")
        records.begin("c1", "other-tag", auth="ok")  # another call that reused the Call-ID
        records.flush()
        rows = records.get("c1")
    assert [(r["from_tag"], r["auth"], r["invite_status"], r["invite_at"]) for r in rows] == [
        ("t1", "ok", 401, 1.0),
        ("other-tag", "ok", None, None),
    ]


def test_list_recent_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with CallRecords(path) as records:
        for i in range(5):
            records.begin(f"c{i}", "t", invite_at=float(i))
        records.flush()
        assert [r["call_id"] for r in records.list_recent(3)] == ["c4", "c3", "c2"]
    assert [r["call_id"] for r in read_recent(path, 10)] == ["c4", "c3", "c2", "c1", "c0"]
    assert read_recent(path, 0) == []


def test_unknown_fields_are_programming_errors(tmp_path: Path) -> None:
    with CallRecords(tmp_path / "r.sqlite") as records, pytest.raises(ValueError, match="nonsense"):
        records.update("c", "t", nonsense=1)


def test_schema_version_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with CallRecords(path):
        pass
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(RecordsError, match="schema version 2"):
        CallRecords(path).start()
    with pytest.raises(RecordsError, match="schema version 2"):
        read_recent(path)


def test_not_a_database_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RecordsError, match=r"bad\.sqlite"):
        CallRecords(bad).start()
    with pytest.raises(RecordsError, match="no records database"):
        read_recent(tmp_path / "missing.sqlite")


def test_writes_before_start_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="not started"):
        CallRecords(tmp_path / "r.sqlite").begin("c", "t")


async def test_writes_happen_off_the_event_loop_thread(tmp_path: Path) -> None:
    records = CallRecords(tmp_path / "r.sqlite").start()
    threads: list[str] = []
    original = records._apply

    def spy(connection: sqlite3.Connection, batch: list[object]) -> bool:
        threads.append(threading.current_thread().name)
        return original(connection, batch)

    records._apply = spy  # type: ignore[method-assign]
    records.begin("c1", "t", invite_at=1.0)
    await records.barrier()
    records.close()
    assert threads and all(name == "takeback-records" for name in threads)
    assert threading.current_thread().name not in threads


async def test_barrier_orders_after_every_earlier_change(tmp_path: Path) -> None:
    records = CallRecords(tmp_path / "r.sqlite").start()
    for i in range(300):
        records.begin(f"c{i}", "t", invite_at=float(i))
        records.update(f"c{i}", "t", end_at=float(i) + 1)
    await asyncio.wait_for(records.barrier(), 30)
    rows = records.list_recent(1000)
    records.close()
    assert len(rows) == 300 and all(r["end_at"] == r["invite_at"] + 1 for r in rows)
    assert records.written == 600


def test_a_failed_commit_does_not_stop_the_writer(tmp_path: Path) -> None:
    with CallRecords(tmp_path / "r.sqlite") as records:
        records._put(("INSERT INTO no_such_table VALUES (1)", ()))
        with pytest.raises(RecordsError, match="no_such_table"):
            records.flush()
        records.begin("c1", "t", invite_at=1.0)
        records.flush()
        assert [r["call_id"] for r in records.list_recent()] == ["c1"]
        assert records.failed == 1 and records.last_error is not None


_WRITER = textwrap.dedent(
    """
    import sys, time
    from takeback.device.records import CallRecords

    records = CallRecords(sys.argv[1]).start()
    for i in range(20):  # completed calls: every state change, then the barrier the device awaits
        key = (f"done-{i}", "t")
        records.begin(*key, invite_at=1.0, caller="+13175551234")
        records.update(*key, answer_at=2.0, invite_status=200)
        records.update(*key, refer_at=3.0, refer_status=202)
        records.update(*key, notify_final_at=4.0, notify_status=200, outcome="taken-back")
        records.update(*key, end_at=5.0, end_reason="remote-bye")
    records.flush()
    records.begin("running", "t", invite_at=1.0)
    records.update("running", "t", answer_at=2.0)
    records.flush()
    print("ready", flush=True)
    while True:  # the running call keeps changing until the kill
        records.update("running", "t", detail=str(time.monotonic()))
        time.sleep(0.001)
    """
)


def test_sigkill_loses_no_completed_call(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert (tmp_path / "r.sqlite-wal").exists()  # killed: no clean checkpoint happened
    rows = {row["call_id"]: row for row in read_recent(path, 100)}
    done = [rows[f"done-{i}"] for i in range(20)]
    assert all(
        (r["answer_at"], r["refer_at"], r["notify_final_at"], r["end_at"], r["outcome"], r["end_reason"])
        == (2.0, 3.0, 4.0, 5.0, "taken-back", "remote-bye")
        for r in done
    )
    assert rows["running"]["answer_at"] == 2.0  # committed changes of the running call survive too
    with CallRecords(path) as records:  # and the store reopens for writing after the crash
        records.update("running", "t", end_reason="crashed")
        records.flush()
        assert records.get("running")[0]["end_reason"] == "crashed"
