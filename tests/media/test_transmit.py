"""What goes on the wire, captured on a plain socket: header fields, pacing grid, DTMF interleaving."""

from __future__ import annotations

import asyncio
import itertools

from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator, Prompt
from takeback.rtp import DtmfEvent, RtpPacket

from .media_helpers import Sink, within


async def capture(sink: Sink, count: int) -> list[RtpPacket]:
    packets = []
    for _ in range(count):
        data, _ = await sink.receive()
        packets.append(RtpPacket.parse(data))
    return packets


async def test_audio_header_fields(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    sink = await Sink.open()
    session = await MediaSession.open(scheduler, ports, MediaParams(codec="PCMA", payload_type=8))
    session.update(remote=sink.address)
    session.start()
    packets = await within(capture(sink, 10))
    assert {p.payload_type for p in packets} == {8}
    assert {p.ssrc for p in packets} == {session.ssrc}
    assert packets[0].marker and not any(p.marker for p in packets[1:])  # RFC 3551 §4.1: first packet only
    for earlier, later in itertools.pairwise(packets):
        assert later.sequence == (earlier.sequence + 1) & 0xFFFF
        assert later.timestamp == (earlier.timestamp + 160) & 0xFFFFFFFF
    assert packets[5].payload == b"\xd5" * 160  # A-law silence
    session.close()
    sink.close()


async def test_ptime_40_sends_every_other_tick(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    sink = await Sink.open()
    session = await MediaSession.open(scheduler, ports, MediaParams(ptime=40, remote=sink.address))
    session.start()
    packets = await within(capture(sink, 4))
    assert all(len(p.payload) == 320 for p in packets)
    assert [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)] == [320] * 3
    session.close()
    sink.close()


async def test_dtmf_interleaved_with_audio(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """RFC 4733 §2.5.1: events share SSRC, sequence space and clock with the audio they replace."""
    sink = await Sink.open()
    session = await MediaSession.open(scheduler, ports, MediaParams(remote=sink.address))
    session.start()
    playing = asyncio.ensure_future(session.play(Prompt.tone(440, 2.0)))
    await within(capture(sink, 3))
    sending = asyncio.ensure_future(session.send_dtmf("12", duration_ms=60, pause_ms=40))
    packets = await within(capture(sink, 30))
    await within(sending)
    playing.cancel()

    assert {p.ssrc for p in packets} == {session.ssrc}
    for earlier, later in itertools.pairwise(packets):
        assert later.sequence == (earlier.sequence + 1) & 0xFFFF  # one sequence space, no gaps
    events = [(i, p) for i, p in enumerate(packets) if p.payload_type == 101]
    digits = {DtmfEvent.parse(p.payload).digit for _, p in events}
    assert digits == {"1", "2"}
    # Every packet, audio or event, stands for 20 ms of one media clock: audio packet i carries base + 160 i,
    # an event keeps the clock value of its first packet (RFC 4733 §2.5.1.2).
    first_audio = next(i for i, p in enumerate(packets) if p.payload_type == 0)
    base = packets[first_audio].timestamp - 160 * first_audio
    for index, packet in enumerate(packets):
        if packet.payload_type == 0:
            assert packet.timestamp == (base + 160 * index) & 0xFFFFFFFF
    for _, packet in events:
        start = next(i for i, p in events if p.timestamp == packet.timestamp)
        assert packet.timestamp == (base + 160 * start) & 0xFFFFFFFF
    for digit in "12":
        run = [p for _, p in events if DtmfEvent.parse(p.payload).digit == digit]
        assert run[0].marker and not any(p.marker for p in run[1:])
        assert len({p.timestamp for p in run}) == 1
        ends = [p for p in run if DtmfEvent.parse(p.payload).end]
        assert len(ends) == 3 and {DtmfEvent.parse(p.payload).duration for p in ends} == {480}
        resume = next(
            p for p in packets if p.payload_type == 0 and p.sequence == (run[-1].sequence + 1) & 0xFFFF
        )
        assert (resume.timestamp - run[0].timestamp) & 0xFFFFFFFF == 160 * len(run)  # clock kept running
    session.close()
    sink.close()


async def test_reconfigure_keeps_clock_continuous(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    sink = await Sink.open()
    session = await MediaSession.open(scheduler, ports, MediaParams(remote=sink.address))
    session.start()
    before = await within(capture(sink, 3))
    session.update(codec="PCMA", payload_type=8)  # a re-INVITE switched codecs
    after = await within(capture(sink, 6))
    switched = next(p for p in after if p.payload_type == 8)
    last_pcmu = [p for p in before + after if p.payload_type == 0][-1]
    assert switched.sequence == (last_pcmu.sequence + 1) & 0xFFFF
    assert (switched.timestamp - last_pcmu.timestamp) & 0xFFFFFFFF == 160
    assert switched.marker
    session.close()
    sink.close()
