"""The runtime copies every message it sends and receives to a recorder (``takeback.observe``)."""

from __future__ import annotations

from takeback.net import UserAgent
from takeback.observe import SipTrace, build_ladder


async def test_trace_records_both_directions_of_an_options_exchange() -> None:
    trace = SipTrace()
    async with (
        UserAgent(["udp:127.0.0.1:0"], trace=trace.for_party("a")) as a,
        UserAgent(["udp:127.0.0.1:0"], trace=trace.for_party("b")) as b,
    ):
        response = await a.send_request("OPTIONS", b.uri())
        assert response.status == 200
    entries = trace.entries()
    outgoing = [(e.party, e.direction) for e in entries]
    assert ("a", "out") in outgoing and ("b", "in") in outgoing
    assert ("b", "out") in outgoing and ("a", "in") in outgoing
    sent = next(e for e in entries if e.party == "a" and e.direction == "out")
    assert sent.data.startswith(b"OPTIONS ")
    assert sent.src[1] != sent.dst[1]
    ladder = build_ladder(entries)
    assert [arrow.label.split()[0] for arrow in ladder.arrows][:2] == ["OPTIONS", "200"]


async def test_a_failing_recorder_never_breaks_signalling() -> None:
    class Broken:
        def record(self, *args: object) -> object:
            raise RuntimeError("disk full")

    async with (
        UserAgent(["udp:127.0.0.1:0"], trace=Broken()) as a,
        UserAgent(["udp:127.0.0.1:0"]) as b,
    ):
        response = await a.send_request("OPTIONS", b.uri())
        assert response.status == 200


async def test_recorder_can_be_replaced_and_removed_while_running() -> None:
    """The transport looks the recorder's ``note`` up when the recorder is set, not per message."""
    first, second = SipTrace(), SipTrace()
    async with (
        UserAgent(["udp:127.0.0.1:0"], trace=first.for_party("a")) as a,
        UserAgent(["udp:127.0.0.1:0"]) as b,
    ):
        assert (await a.send_request("OPTIONS", b.uri())).status == 200
        a.transport.recorder = second.for_party("a2")
        assert (await a.send_request("OPTIONS", b.uri())).status == 200
        a.transport.recorder = None
        assert (await a.send_request("OPTIONS", b.uri())).status == 200
    assert [(e.party, e.direction) for e in first.entries()] == [("a", "out"), ("a", "in")]
    assert [(e.party, e.direction) for e in second.entries()] == [("a2", "out"), ("a2", "in")]
    stamped = SipTrace().for_party("p")
    stamped.note("in", "UDP", ("127.0.0.1", 1), ("127.0.0.1", 2), b"x", timestamp=5.0)
    assert [(e.party, e.timestamp) for e in stamped.trace.entries()] == [("p", 5.0)]
