"""Symmetric RTP latching, source filtering and receive statistics, with real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator, RemoteLatched
from takeback.rtp import RtpPacket

from .media_helpers import EventLog, Sink, rtp, session_pair, within

SILENCE = b"\xff" * 160


async def send_stream(
    sink: Sink, target: tuple[str, int], ssrc: int, count: int, *, first_seq: int = 100
) -> None:
    """``count`` valid PCMU packets, paced on 20 ms like a real sender."""
    for i in range(count):
        sink.sendto(rtp(0, first_seq + i, 1000 + 160 * i, ssrc, SILENCE), target)
        await asyncio.sleep(0.02)


async def test_latches_to_first_packet_source(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """The SDP address is only a starting point: media comes from any address of Genesys' pools."""
    sdp_address = await Sink.open()  # what the peer's SDP said
    real_source = await Sink.open()  # where its media really comes from
    session = await MediaSession.open(scheduler, ports, MediaParams(remote=sdp_address.address))
    session.start()
    await within(sdp_address.receive())  # we start sending to the SDP address
    log = EventLog(session)
    real_source.sendto(rtp(0, 1, 0, 0xABCD, SILENCE), session.local_address)
    event = await log.next(RemoteLatched)
    assert event.address[:2] == real_source.address and event.ssrc == 0xABCD
    assert event.previous is not None and event.previous[:2] == sdp_address.address
    data, _ = await within(real_source.receive())
    assert RtpPacket.parse(data).ssrc == session.ssrc
    session.close()
    for sink in (sdp_address, real_source):
        sink.close()


async def test_relatches_when_media_moves(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """A new media server (new address, new SSRC) takes over once the old source has gone quiet."""
    a, b = await session_pair(scheduler, ports)
    await within(scheduler.wait_ticks(5))
    assert b.remote is not None and b.remote[:2] == a.local_address
    a.update(direction="recvonly")  # the old source stops sending
    mover = await Sink.open()
    log = EventLog(b)
    feeding = asyncio.ensure_future(send_stream(mover, b.local_address, 0x5151, 20))
    event = await log.next(RemoteLatched)
    assert event.address[:2] == mover.address and event.ssrc == 0x5151
    while True:  # b's own stream now flows to the new source
        data, _ = await within(mover.receive())
        if RtpPacket.parse(data).ssrc == b.ssrc:
            break
    await within(feeding)
    a.close()
    b.close()
    mover.close()


async def test_live_source_is_not_stolen(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """While the latched peer keeps sending, a second stream (RTP bleed / injection) is ignored."""
    a, b = await session_pair(scheduler, ports)
    await within(scheduler.wait_ticks(5))
    intruder = await Sink.open()
    events: list[object] = []
    b.add_listener(events.append)
    rejected_before = b.stats.packets_rejected
    await within(send_stream(intruder, b.local_address, 0x6666, 10))
    assert not [e for e in events if isinstance(e, RemoteLatched)]
    assert b.remote is not None and b.remote[:2] == a.local_address
    assert b.stats.packets_rejected >= rejected_before + 10
    a.close()
    b.close()
    intruder.close()


async def test_invalid_and_foreign_packets_rejected(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    sink = await Sink.open()
    session = await MediaSession.open(
        scheduler, ports, MediaParams(remote=sink.address), source_filter=lambda ip: ip != "127.0.0.1"
    )
    session.start()
    sink.sendto(b"\x80\x00", session.local_address)  # too short
    sink.sendto(rtp(0, 1, 0, 1, SILENCE)[:1] + b"\x00" * 20, session.local_address)  # version 0
    sink.sendto(rtp(96, 1, 0, 1, SILENCE), session.local_address)  # payload type not negotiated
    sink.sendto(rtp(0, 1, 0, 1, SILENCE), session.local_address)  # valid, but the filter refuses 127.0.0.1
    for _ in range(100):
        if session.stats.packets_rejected >= 4:
            break
        await within(scheduler.wait_ticks(1))
    assert session.stats.packets_rejected == 4
    assert session.stats.packets_received == 0
    session.close()
    sink.close()


async def test_loss_counted_from_sequence_gaps(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    sink = await Sink.open()
    session = await MediaSession.open(scheduler, ports, MediaParams(remote=sink.address))
    session.start()
    for seq in (65530, 65531, 65533, 65535, 0, 3, 3):  # wraps; 65532, 65534, 1, 2 lost; 3 duplicated
        sink.sendto(rtp(0, seq, seq * 160, 77, SILENCE), session.local_address)
    for _ in range(100):
        if session.stats.packets_received >= 7:
            break
        await within(scheduler.wait_ticks(1))
    assert session.stats.packets_received == 7
    assert session.stats.packets_lost == 10 - 7 + 0  # expected 10 (65530..3), received 7 (with a duplicate)
    session.close()
    sink.close()
