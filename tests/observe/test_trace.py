"""The trace recorder: ring bound, Call-ID grouping, subscribers, and pairing of both ends' recordings."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from takeback.observe.trace import MirrorFilter, SipTrace, TraceEntry, extract_call_id, merge_entries

from .scenario import CALL_ID_A, CALL_ID_B, DEVICE, FLOW, GENESYS, START, message, recorded_trace


def options(call_id: str, branch: str = "z9hG4bK-1") -> bytes:
    return message(
        "OPTIONS sip:127.0.0.1:5080 SIP/2.0",
        [("Via", f"SIP/2.0/UDP 127.0.0.1:5070;branch={branch}"), ("From", "<sip:a@127.0.0.1>;tag=1"),
         ("To", "<sip:b@127.0.0.1>"), ("Call-ID", call_id), ("CSeq", "1 OPTIONS")],
    )  # fmt: skip


def test_record_fills_every_field_and_copies_the_buffer() -> None:
    trace = SipTrace(clock=lambda: 1234.5)
    buffer = bytearray(options("abc@host"))
    entry = trace.record("out", "udp", ("127.0.0.1", 5070), ("::1", 5080, 0, 0), buffer, party="genesys")
    buffer[:7] = b"XXXXXXX"  # a transport reusing its buffer must not rewrite history
    assert entry == TraceEntry(
        1234.5, "out", "UDP", ("127.0.0.1", 5070), ("::1", 5080), bytes(options("abc@host")), "genesys",
        "abc@host", 1,
    )  # fmt: skip
    assert entry.local == ("127.0.0.1", 5070) and entry.remote == ("::1", 5080)
    assert trace.entries() == [entry]


def test_addresses_may_be_objects_with_host_and_port() -> None:
    @dataclass(frozen=True)
    class Peer:
        transport: str
        host: str
        port: int

    entry = SipTrace().record("in", "TCP", Peer("TCP", "127.0.0.1", 40000), ("127.0.0.1", 5080), b"x")
    assert entry is not None and entry.src == ("127.0.0.1", 40000)


def test_explicit_timestamp_wins_and_party_recorder_stamps_party() -> None:
    trace = SipTrace(clock=lambda: 1.0)
    device = trace.for_party("device")
    entry = device.record("in", "TCP", GENESYS, DEVICE, options("x"), timestamp=99.25)
    assert entry is not None
    assert (entry.timestamp, entry.party, entry.direction, entry.local) == (99.25, "device", "in", DEVICE)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"BYE sip:a SIP/2.0\r\ni: compact@x\r\n\r\n", "compact@x"),
        (b"BYE sip:a SIP/2.0\r\ncall-ID:   spaced@x  \r\n\r\n", "spaced@x"),
        (b"BYE sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-body@x\r\n", None),
        (b"SIP/2.0 200 OK\r\nCall-ID: no-blank-line@x\r\n", "no-blank-line@x"),
        (b"\r\n\r\n", None),
        (b"garbage", None),
    ],
)
def test_call_id_is_found_only_in_the_header_section(data: bytes, expected: str | None) -> None:
    assert extract_call_id(data) == expected


def test_ring_buffer_bound_and_call_groups_follow_eviction() -> None:
    trace = SipTrace(max_entries=5, clock=lambda: 0.0)
    for index in range(12):
        trace.record("out", "UDP", GENESYS, DEVICE, options(f"call-{index % 4}", f"b{index}"))
    assert len(trace) == 5 and trace.evicted == 7
    retained = trace.entries()
    assert [entry.serial for entry in retained] == [8, 9, 10, 11, 12]
    groups = trace.calls()
    assert sum(len(group) for group in groups.values()) == 5
    assert {entry.serial for group in groups.values() for entry in group} == {8, 9, 10, 11, 12}
    assert trace.call_ids() == ["call-3", "call-0", "call-1", "call-2"]
    assert [entry.serial for entry in trace.call("call-3")] == [8, 12]
    assert [entry.serial for entry in trace.entries(["call-2", "call-3"])] == [8, 11, 12]
    assert trace.call("call-9") == []


def test_noted_messages_read_back_exactly_like_recorded_ones() -> None:
    """``note`` (the transport's call) defers the entry; readers cannot tell the difference."""
    recorded, noted = SipTrace(max_entries=5, clock=lambda: 7.0), SipTrace(max_entries=5, clock=lambda: 7.0)
    for index in range(12):
        data = bytearray(options(f"call-{index % 4}", f"b{index}"))
        src = ("::1", 5070, 0, 0) if index % 3 == 0 else GENESYS
        recorded.record("out", "udp", src, DEVICE, data, party="device")
        noted.for_party("device").note("out", "udp", src, DEVICE, data)
        data[:7] = b"XXXXXXX"  # copied at note time, not when read
        if index == 6:  # a read in the middle settles what was noted so far
            assert noted.entries() == recorded.entries()
    assert len(noted) == 5 and noted.evicted == recorded.evicted == 7
    assert noted.entries() == recorded.entries()
    assert noted.calls() == recorded.calls() and noted.call_ids() == recorded.call_ids()
    assert noted.call("call-3") == recorded.call("call-3")
    assert noted.entries(["call-2", "call-3"]) == recorded.entries(["call-2", "call-3"])


def test_note_mixes_with_record_and_subscribers_in_order() -> None:
    trace, seen = SipTrace(), list[TraceEntry]()
    trace.note("in", "UDP", GENESYS, DEVICE, options("a"))
    entry = trace.record("out", "UDP", DEVICE, GENESYS, options("b"))
    assert entry is not None and entry.serial == 2
    trace.subscribe(seen.append)
    trace.note("in", "TCP", GENESYS, DEVICE, options("c"))  # a subscriber needs the entry now
    assert [e.call_id for e in seen] == ["c"]
    assert [(e.serial, e.call_id) for e in trace.entries()] == [(1, "a"), (2, "b"), (3, "c")]
    trace.enabled = False
    trace.note("in", "UDP", GENESYS, DEVICE, options("d"))
    trace.clear()
    trace.enabled = True
    trace.note("in", "UDP", GENESYS, DEVICE, options("e"))
    assert len(trace) == 1 and trace.call_ids() == ["e"]
    with pytest.raises(ValueError):
        trace.note("in", "SCTP", GENESYS, DEVICE, b"x")


def test_ring_of_one() -> None:
    trace = SipTrace(max_entries=1)
    trace.record("out", "UDP", GENESYS, DEVICE, options("a"))
    trace.record("out", "UDP", GENESYS, DEVICE, options("b"))
    assert [entry.call_id for entry in trace] == ["b"] and trace.calls() == {"b": trace.entries()}


def test_disabled_trace_records_nothing_and_can_be_enabled() -> None:
    seen: list[TraceEntry] = []
    trace = SipTrace(enabled=False)
    trace.subscribe(seen.append)
    assert trace.record("out", "UDP", GENESYS, DEVICE, options("a")) is None
    trace.enabled = True
    assert trace.record("out", "UDP", GENESYS, DEVICE, options("b")) is not None
    assert [entry.call_id for entry in seen] == ["b"] and len(trace) == 1


def test_subscribers_get_every_entry_and_a_failing_one_is_contained() -> None:
    trace = SipTrace()
    seen: list[int] = []

    def broken(entry: TraceEntry) -> None:
        raise RuntimeError("sink down")

    trace.subscribe(broken)
    unsubscribe = trace.subscribe(lambda entry: seen.append(entry.serial))
    trace.record("out", "UDP", GENESYS, DEVICE, options("a"))
    unsubscribe()
    trace.record("out", "UDP", GENESYS, DEVICE, options("b"))
    assert seen == [1] and trace.listener_errors == 2 and len(trace) == 2


@pytest.mark.parametrize(("direction", "transport"), [("sideways", "UDP"), ("in", "SCTP"), ("OUT", "UDP")])
def test_bad_direction_or_transport_is_refused(direction: str, transport: str) -> None:
    with pytest.raises(ValueError):
        SipTrace().record(direction, transport, GENESYS, DEVICE, b"x")  # type: ignore[arg-type]


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SipTrace(max_entries=0)


def test_concurrent_recorders_keep_the_structure_consistent() -> None:
    trace = SipTrace(max_entries=500)

    def work(worker: int) -> None:
        for index in range(1500):
            trace.record("out", "UDP", GENESYS, DEVICE, options(f"w{worker}-{index % 7}"))

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(trace) == 500 and trace.evicted == 5500
    assert sum(len(group) for group in trace.calls().values()) == 500
    indexes = [entry.serial for entry in trace.entries()]
    assert indexes == sorted(indexes) and indexes[-1] == 6000


def test_mirror_filter_pairs_each_send_with_one_receive() -> None:
    mirrors = MirrorFilter(window=1.0)
    data = options("m")

    def entry(direction: str, when: float, payload: bytes = data) -> TraceEntry:
        return TraceEntry(when, direction, "UDP", GENESYS, DEVICE, payload)  # type: ignore[arg-type]

    verdicts = [
        mirrors.is_mirror(entry("out", 0.0)),
        mirrors.is_mirror(entry("in", 0.001)),  # the receiver's copy
        mirrors.is_mirror(entry("out", 0.5)),  # a retransmission: kept
        mirrors.is_mirror(entry("in", 0.501)),
        mirrors.is_mirror(entry("in", 0.502, options("other"))),  # different bytes: kept
        mirrors.is_mirror(entry("out", 3.0)),
        mirrors.is_mirror(entry("in", 4.5)),  # too late to be the same packet
    ]
    assert verdicts == [False, True, False, True, False, False, False]


def test_mirror_filter_pending_set_is_bounded() -> None:
    mirrors = MirrorFilter(window=1e9, max_pending=3)
    for index in range(10):
        mirrors.is_mirror(TraceEntry(0.0, "out", "UDP", GENESYS, DEVICE, options(str(index))))
    late = TraceEntry(0.0, "in", "UDP", GENESYS, DEVICE, options("0"))
    recent = TraceEntry(0.0, "in", "UDP", GENESYS, DEVICE, options("9"))
    assert not mirrors.is_mirror(late) and mirrors.is_mirror(recent)


def test_scenario_trace_groups_both_legs() -> None:
    trace = recorded_trace()
    assert len(trace) == 2 * len(FLOW)
    assert trace.call_ids() == [CALL_ID_A, CALL_ID_B]
    assert len(trace.call(CALL_ID_A)) == 2


def test_merge_orders_several_traces_by_time() -> None:
    first, second = SipTrace(), SipTrace()
    first.record("out", "UDP", GENESYS, DEVICE, options("a"), timestamp=START + 2)
    second.record("in", "UDP", GENESYS, DEVICE, options("b"), timestamp=START + 1)
    first.record("out", "UDP", GENESYS, DEVICE, options("c"), timestamp=START + 3)
    assert [entry.call_id for entry in merge_entries(first, second)] == ["b", "a", "c"]


def test_note_addresses_reads_back_exactly_like_note_and_record() -> None:
    """The transport's call (``note_addresses``: checks skipped) records what ``note``/``record`` do."""
    traces = [SipTrace(max_entries=6, clock=lambda: 3.0) for _ in range(3)]
    recorded, noted, trusted = traces
    for index in range(14):
        data = options(f"call-{index % 5}", f"b{index}")
        direction = "in" if index % 2 else "out"
        transport = ("UDP", "TCP", "TLS")[index % 3]
        recorded.record(direction, transport, GENESYS, DEVICE, data, party="device")
        noted.for_party("device").note(direction, transport, GENESYS, DEVICE, data)
        trusted.for_party("device").note_addresses(direction, transport, GENESYS, DEVICE, bytearray(data))
        if index == 9:
            assert trusted.entries() == noted.entries() == recorded.entries()
    assert trusted.entries() == noted.entries() == recorded.entries()
    assert trusted.calls() == recorded.calls() and trusted.evicted == recorded.evicted == 8
    with pytest.raises(ValueError):
        trusted.for_party("x").note_addresses("in", "SCTP", GENESYS, DEVICE, b"x")
