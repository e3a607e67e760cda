"""Call-ID <-> conversationId against the emulator's analytics (official SDK) and a device records file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from takeback.device.records import CallRecords, RecordsError
from takeback.provision import by_call_id, by_conversation_id, connect, details_query, device_rows
from takeback.provision.platform import Credentials, PlatformClient

from .support import CLIENT_ID, CLIENT_SECRET, ThreadedEmulator, bare_org

PSTN_CALL_ID = "a84b4c76e66710@pstn.example"
DEVICE_CALL_ID = "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(bare_org()) as running:
        yield running


@pytest.fixture(scope="module")
def conversation_id(emulator: ThreadedEmulator) -> str:
    return emulator.record_call(
        NOW - timedelta(hours=1), pstn_call_id=PSTN_CALL_ID, device_call_id=DEVICE_CALL_ID
    )


@pytest.fixture(scope="module")
def client(emulator: ThreadedEmulator) -> PlatformClient:
    return connect(emulator.url, Credentials(CLIENT_ID, CLIENT_SECRET))


def write_records(path: Path, *rows: tuple[str, str, str | None]) -> Path:
    """A device records database as the device writes it: (Call-ID, From tag, x-inin-cnv) per call."""
    with CallRecords(path) as records:
        for call_id, tag, cnv in rows:
            records.begin(call_id, tag, conversation_id=cnv, caller="+13175551234", dnis="+19999990001")
            records.update(
                call_id,
                tag,
                outcome="taken-back",
                take_back_number="+33456456456",
                uui_in="This is my data",
                uui_out="Case-1",
            )
        records.flush()
    return path


def test_details_query_shape() -> None:
    query = details_query("abc@host", now=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert query["interval"] == "2026-01-29T12:05:00.000Z/2026-03-01T12:05:00.000Z"  # 31 days, skew margin
    (segment_filter,) = query["segmentFilters"]
    assert segment_filter == {
        "type": "and",
        "predicates": [
            {"type": "dimension", "dimension": "protocolCallId", "operator": "matches", "value": "abc@host"}
        ],
    }


def test_call_id_to_conversation_and_its_legs(client: PlatformClient, conversation_id: str) -> None:
    result = by_call_id(client, DEVICE_CALL_ID, now=NOW)
    assert result.ok and [c.conversation_id for c in result.conversations] == [conversation_id]
    legs = [(leg.purpose, leg.direction, leg.call_id) for leg in result.conversations[0].legs]
    assert legs == [
        ("customer", "inbound", PSTN_CALL_ID),
        ("ivr", "inbound", None),
        ("external", "outbound", DEVICE_CALL_ID),
    ]
    assert by_call_id(client, PSTN_CALL_ID, now=NOW).conversations[0].conversation_id == conversation_id


def test_conversation_to_call_ids_joined_with_the_device(
    client: PlatformClient, conversation_id: str, tmp_path: Path
) -> None:
    records = write_records(
        tmp_path / "device.sqlite",
        (DEVICE_CALL_ID, "gc-1", conversation_id),
        ("other-call", "t", "another-conversation"),
        ("retried-call", "t", conversation_id),  # same conversation, a Call-ID analytics does not list
    )
    result = by_conversation_id(client, conversation_id, records=records)
    assert result.ok
    external = result.conversations[0].legs[2]
    (row,) = external.device
    assert row["call_id"] == DEVICE_CALL_ID and row["conversation_id"] == conversation_id
    assert row["outcome"] == "taken-back" and row["uui_in"] == "This is my data"
    assert result.conversations[0].legs[0].device == []  # the PSTN leg never reached the device
    assert [r["call_id"] for r in result.device_records] == ["retried-call"]
    doc = result.to_json()
    assert doc["conversation_ids"] == [conversation_id]
    assert doc["conversations"][0]["legs"][2]["party"] == "external"


def test_call_id_joined_with_the_device(client: PlatformClient, conversation_id: str, tmp_path: Path) -> None:
    records = write_records(tmp_path / "device.sqlite", (DEVICE_CALL_ID, "gc-1", conversation_id))
    result = by_call_id(client, DEVICE_CALL_ID, now=NOW, records=records)
    assert result.ok and result.conversations[0].legs[2].device[0]["take_back_number"] == "+33456456456"


def test_x_inin_cnv_disagreeing_with_analytics_is_a_mismatch(
    client: PlatformClient, conversation_id: str, tmp_path: Path
) -> None:
    records = write_records(tmp_path / "device.sqlite", (DEVICE_CALL_ID, "gc-1", "someone-else"))
    result = by_call_id(client, DEVICE_CALL_ID, now=NOW, records=records)
    assert result.found and not result.ok
    (mismatch,) = result.mismatches
    assert "someone-else" in mismatch and conversation_id in mismatch


def test_x_inin_cnv_finds_what_the_query_does_not(
    client: PlatformClient, conversation_id: str, tmp_path: Path
) -> None:
    records = write_records(tmp_path / "device.sqlite", ("unknown-to-analytics", "t", conversation_id))
    result = by_call_id(client, "unknown-to-analytics", now=NOW, records=records)
    assert [c.conversation_id for c in result.conversations] == [conversation_id]
    assert "x-inin-cnv" in result.warnings[0]
    assert [r["call_id"] for r in result.device_records] == ["unknown-to-analytics"]


def test_nothing_found(client: PlatformClient) -> None:
    assert not by_call_id(client, "never-seen", now=NOW).found
    missing = by_conversation_id(client, "00000000-0000-0000-0000-000000000000")
    assert not missing.found and "no conversation" in missing.warnings[0]


def test_device_records_alone(tmp_path: Path) -> None:
    records = write_records(tmp_path / "device.sqlite", (DEVICE_CALL_ID, "gc-1", "cnv-1"))
    by_call = by_call_id(None, DEVICE_CALL_ID, now=NOW, records=records)
    assert by_call.ok and by_call.device_records[0]["conversation_id"] == "cnv-1"
    by_cnv = by_conversation_id(None, "cnv-1", records=records)
    assert by_cnv.ok and by_cnv.device_records[0]["call_id"] == DEVICE_CALL_ID
    assert device_rows(records, conversation_id="nope") == []
    with pytest.raises(RecordsError, match="no records database"):
        device_rows(tmp_path / "missing.sqlite", conversation_id="x")
    (tmp_path / "junk.sqlite").write_text("not sqlite")
    with pytest.raises(RecordsError):
        device_rows(tmp_path / "junk.sqlite", conversation_id="x")
