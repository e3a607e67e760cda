"""Analytics conversation details through the official SDK (GENESYS.md §9.5, §11 item 7).

The conversations are written straight into the ConversationStore, the way the SIP side will write them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import PureCloudPlatformClientV2 as pc

from takeback.cloud.conversations import FlowInfo

from .harness import Emulator, Sdk

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PSTN_CALL_ID = "a84b4c76e66710@pstn.example"
DEVICE_CALL_ID = "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"


def _record_call(emulator: Emulator, *, start: datetime = START, suffix: str = "") -> str:
    """The §9.5 example: customer leg, IVR, external leg to the device."""
    store = emulator.store
    conversation = store.start_conversation(at=start, division_ids=[emulator.state.division_id])
    cid = conversation.conversation_id
    customer = store.add_participant(cid, "customer", name="+13175551234")
    customer_leg = store.add_session(
        cid,
        customer,
        direction="inbound",
        ani="+13175551234",
        dnis="+18005550100",
        protocol_call_id=PSTN_CALL_ID + suffix,
        segment_type="interact",
        at=start,
    )
    ivr = store.add_participant(cid, "ivr", name="Main IVR")
    store.add_session(
        cid,
        ivr,
        direction="inbound",
        peer_id=customer_leg,
        flow=FlowInfo("Main IVR", transfer_type="External", transfer_target_address="+19999990001"),
        segment_type="ivr",
        at=start,
    )
    external = store.add_participant(cid, "external", name="+19999990001")
    store.add_session(
        cid,
        external,
        direction="outbound",
        ani="+13175551234",
        dnis="+19999990001",
        session_dnis="+19999990001",
        protocol_call_id=DEVICE_CALL_ID + suffix,
        peer_id=customer_leg,
        segment_type="interact",
        at=start.replace(second=42),
    )
    return cid


def _query(
    call_id: str, interval: str = "2026-01-05T00:00:00.000Z/2026-01-06T00:00:00.000Z"
) -> pc.ConversationQuery:
    predicate = pc.SegmentDetailQueryPredicate()
    predicate.type, predicate.dimension, predicate.operator = "dimension", "protocolCallId", "matches"
    predicate.value = call_id
    segment_filter = pc.SegmentDetailQueryFilter()
    segment_filter.type, segment_filter.predicates = "and", [predicate]
    query = pc.ConversationQuery()
    query.interval, query.segment_filters = interval, [segment_filter]
    query.order, query.order_by = "asc", "conversationStart"
    return query


async def test_details_by_conversation_id(sdk: Sdk, emulator: Emulator) -> None:
    cid = _record_call(emulator)
    details = await sdk.call(sdk.analytics.get_analytics_conversation_details, cid)
    assert details.conversation_id == cid and details.conversation_start == START
    assert [p.purpose for p in details.participants] == ["customer", "ivr", "external"]
    customer, ivr, external = details.participants
    assert customer.sessions[0].protocol_call_id == PSTN_CALL_ID
    assert customer.sessions[0].ani == "tel:+13175551234" and customer.sessions[0].dnis == "tel:+18005550100"
    assert ivr.sessions[0].flow.flow_name == "Main IVR" and ivr.sessions[0].flow.transfer_type == "External"
    leg = external.sessions[0]
    assert leg.protocol_call_id == DEVICE_CALL_ID and leg.direction == "outbound"
    assert leg.peer_id == customer.sessions[0].session_id and leg.provider == "Edge"
    assert leg.segments[0].segment_type == "interact" and leg.segments[0].segment_end is None  # live
    status, error = await sdk.fails(sdk.analytics.get_analytics_conversation_details, "unknown")
    assert status == 404 and error["code"] == "not.found"


async def test_query_by_protocol_call_id_finds_the_live_conversation(sdk: Sdk, emulator: Emulator) -> None:
    cid = _record_call(emulator)
    _record_call(emulator, suffix="-other")
    result = await sdk.call(sdk.analytics.post_analytics_conversations_details_query, _query(DEVICE_CALL_ID))
    assert result.total_hits == 1 and [c.conversation_id for c in result.conversations] == [cid]
    none = await sdk.call(sdk.analytics.post_analytics_conversations_details_query, _query("no-such-call-id"))
    assert none.total_hits == 0 and none.conversations is None  # omitted with no hit (§9.5)


async def test_query_interval_is_by_touched_days(sdk: Sdk, emulator: Emulator) -> None:
    _record_call(emulator)
    # an interval that starts after the call but on the same day still finds it [DOC SDK]
    later = _query(DEVICE_CALL_ID, "2026-01-05T20:00:00Z/2026-01-05T21:00:00Z")
    assert (await sdk.call(sdk.analytics.post_analytics_conversations_details_query, later)).total_hits == 1
    next_day = _query(DEVICE_CALL_ID, "2026-01-06T00:00:00Z/2026-01-07T00:00:00Z")
    assert (
        await sdk.call(sdk.analytics.post_analytics_conversations_details_query, next_day)
    ).total_hits == 0


async def test_query_paging_order_and_clauses(sdk: Sdk, emulator: Emulator) -> None:
    ids = [_record_call(emulator, start=START.replace(hour=h), suffix=f"-{h}") for h in (9, 11, 10)]
    predicate = pc.SegmentDetailQueryPredicate()
    predicate.dimension, predicate.operator, predicate.value = "purpose", "matches", "external"
    clause = pc.SegmentDetailQueryClause()
    clause.type, clause.predicates = "or", [predicate]
    segment_filter = pc.SegmentDetailQueryFilter()
    segment_filter.type, segment_filter.clauses = "and", [clause]
    query = _query("ignored")
    query.segment_filters = [segment_filter]
    query.order = "desc"
    query.paging = pc.PagingSpec()
    query.paging.page_size, query.paging.page_number = 2, 1
    first = await sdk.call(sdk.analytics.post_analytics_conversations_details_query, query)
    assert first.total_hits == 3
    assert [c.conversation_id for c in first.conversations] == [ids[1], ids[2]]  # 11h, 10h
    query.paging.page_number = 2
    second = await sdk.call(sdk.analytics.post_analytics_conversations_details_query, query)
    assert [c.conversation_id for c in second.conversations] == [ids[0]]


async def test_query_errors(sdk: Sdk) -> None:
    query = _query(DEVICE_CALL_ID)
    query.interval = None
    status, error = await sdk.fails(sdk.analytics.post_analytics_conversations_details_query, query)
    assert status == 400 and error["details"][0]["fieldName"] == "interval"
    query.interval = "2026-01-01T00:00:00Z/2026-03-01T00:00:00Z"  # > 31 days (policy)
    status, error = await sdk.fails(sdk.analytics.post_analytics_conversations_details_query, query)
    assert status == 400 and "31 days" in error["message"]


async def test_multi_get(sdk: Sdk, emulator: Emulator) -> None:
    first, second = _record_call(emulator), _record_call(emulator, suffix="-2")
    result = await sdk.call(sdk.analytics.get_analytics_conversations_details, id=[second, "unknown", first])
    assert [c.conversation_id for c in result.conversations] == [second, first]
