"""The ConversationStore: the same behaviour in memory and in SQLite (GENESYS.md §9.5, §11 item 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from takeback.cloud.conversations import (
    Conversation,
    ConversationStore,
    FlowInfo,
    MemoryConversationStore,
    SqliteConversationStore,
    format_time,
    open_conversation_store,
    parse_time,
    tel_uri,
)

T0 = datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[ConversationStore]:
    ids = (f"id-{n}" for n in range(1000))
    if request.param == "memory":
        made: ConversationStore = MemoryConversationStore(clock=clock, new_id=ids.__next__)
    else:
        made = SqliteConversationStore(tmp_path / "conversations.db", clock=clock, new_id=ids.__next__)
    yield made
    made.close()


def _take_back_call(store: ConversationStore) -> tuple[str, str, str]:
    """PSTN leg, IVR, device leg: the scenario of GENESYS.md §1."""
    cid = store.start_conversation().conversation_id
    customer = store.add_participant(cid, "customer", name="+13175551234")
    pstn = store.add_session(
        cid,
        customer,
        direction="inbound",
        ani="+13175551234",
        dnis="+18005550100",
        protocol_call_id="pstn-call-id",
        segment_type="interact",
    )
    ivr = store.add_participant(cid, "ivr", name="Main IVR")
    store.add_session(
        cid, ivr, direction="inbound", peer_id=pstn, flow=FlowInfo("Main IVR"), segment_type="ivr"
    )
    external = store.add_participant(cid, "external", name="+19999990001")
    device = store.add_session(cid, external, direction="outbound", dnis="+19999990001", peer_id=pstn)
    return cid, pstn, device


def test_times_are_api_milliseconds() -> None:
    assert format_time(T0) == "2026-01-05T10:00:00.123Z"
    assert parse_time("2026-01-05T10:00:00.123Z") == T0.replace(microsecond=123000)
    assert parse_time("2026-01-05T11:00:00+01:00") == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert parse_time("2026-01-05T10:00:00") == datetime(2026, 1, 5, 10, tzinfo=UTC)  # naive = UTC
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2026, 1, 5))


def test_tel_uris() -> None:
    assert tel_uri("+13175551234") == "tel:+13175551234"
    assert tel_uri("9991") == "tel:9991"
    assert tel_uri("sip:+1317@pstn.example") == "sip:+1317@pstn.example"
    assert tel_uri("tel:+1") == "tel:+1"


def test_a_live_call_is_readable_at_every_step(store: ConversationStore) -> None:
    cid, pstn, device = _take_back_call(store)
    live = store.get(cid)
    assert live is not None and live.conversation_end is None
    assert [p.purpose for p in live.participants] == ["customer", "ivr", "external"]
    assert live.session(pstn).ani == "tel:+13175551234" and live.session(pstn).dnis == "tel:+18005550100"
    assert live.protocol_call_ids == ["pstn-call-id"]  # the device leg's Call-ID is not known yet
    assert store.find_by_protocol_call_id("device-call-id") == []
    store.set_protocol_call_id(cid, device, "device-call-id")
    (found,) = store.find_by_protocol_call_id("device-call-id")
    assert found.conversation_id == cid and found.session(device).peer_id == pstn


def test_segments_and_ends(store: ConversationStore, clock: Clock) -> None:
    cid, pstn, device = _take_back_call(store)
    clock.now = T0 + timedelta(seconds=2)
    store.start_segment(cid, device, "interact")
    clock.now = T0 + timedelta(seconds=30)
    store.end_session(cid, device, disconnect_type="transfer", sip_response_code=202)
    clock.now = T0 + timedelta(seconds=40)
    store.end_conversation(cid)
    done = store.get(cid)
    assert done is not None
    (segment,) = done.session(device).segments
    assert segment.segment_end == (T0 + timedelta(seconds=30)).replace(microsecond=123000)
    assert segment.disconnect_type == "transfer" and segment.sip_response_codes == [202]
    pstn_segment = done.session(pstn).segments[-1]
    assert pstn_segment.disconnect_type == "system" and pstn_segment.segment_end == done.conversation_end
    body = done.to_json()
    assert body["conversationStart"] == "2026-01-05T10:00:00.123Z"
    assert body["conversationEnd"] == "2026-01-05T10:00:40.123Z"
    assert Conversation.from_json(body) == done


def test_started_between_is_half_open_and_ordered(store: ConversationStore) -> None:
    later = store.start_conversation(at=T0 + timedelta(hours=1)).conversation_id
    first = store.start_conversation(at=T0).conversation_id
    hits = store.started_between(T0, T0 + timedelta(hours=1))
    assert [c.conversation_id for c in hits] == [first]
    both = store.started_between(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [c.conversation_id for c in both] == [first, later]


def test_readers_get_copies(store: ConversationStore) -> None:
    cid, _, _ = _take_back_call(store)
    copy = store.get(cid)
    assert copy is not None
    copy.participants.clear()
    again = store.get(cid)
    assert again is not None and len(again.participants) == 3


def test_put_and_caller_errors(store: ConversationStore) -> None:
    cid, _, _ = _take_back_call(store)
    record = store.get(cid)
    assert record is not None
    record.conversation_id = "imported"
    store.put(record)
    assert store.find_by_protocol_call_id("pstn-call-id")[1].conversation_id == "imported"
    with pytest.raises(ValueError, match="purpose"):
        store.add_participant(cid, "robot")
    with pytest.raises(ValueError, match="direction"):
        store.add_session(cid, record.participants[0].participant_id, direction="sideways")
    with pytest.raises(KeyError):
        store.add_participant("unknown", "customer")
    with pytest.raises(ValueError, match="exists already"):
        store.start_conversation(conversation_id=cid)


def test_sqlite_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    first = open_conversation_store(path)
    cid, _, device = _take_back_call(first)
    first.set_protocol_call_id(cid, device, "device-call-id")
    first.close()
    second = open_conversation_store(path)
    assert isinstance(second, SqliteConversationStore)
    (found,) = second.find_by_protocol_call_id("device-call-id")
    assert found.conversation_id == cid
    second.close()
    assert isinstance(open_conversation_store(), MemoryConversationStore)
