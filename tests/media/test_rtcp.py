"""RTCP on port+1 between two sessions: reports both ways, BYE on close."""

from __future__ import annotations

from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator, RtcpByeReceived
from takeback.rtp import ReceiverReport, SenderReport, SourceDescription

from .media_helpers import EventLog, within


async def test_reports_and_bye(scheduler: MediaScheduler) -> None:
    ports = PortAllocator("127.0.0.1", 43000, 43999, rtcp=True, dscp=None)
    a = await MediaSession.open(scheduler, ports, rtcp_interval=0.2)
    b = await MediaSession.open(scheduler, ports, rtcp_interval=0.2)
    a.update(MediaParams(remote=b.local_address))
    b.update(MediaParams(remote=a.local_address))
    a.start()
    b.start()
    log = EventLog(b)
    rtcp_b = b._rtcp
    assert rtcp_b is not None
    for _ in range(200):  # up to 4 s of media time
        if any(isinstance(p, SenderReport) for p in rtcp_b.received):
            break
        await within(scheduler.wait_ticks(1))
    report = next(p for p in rtcp_b.received if isinstance(p, SenderReport))
    assert report.ssrc == a.ssrc and report.packet_count > 0
    assert any(isinstance(p, SourceDescription) for p in rtcp_b.received)
    if report.reports:
        block = report.reports[0]
        assert block.ssrc == b.ssrc and block.cumulative_lost == 0
    a.close()  # sends RR/SR + SDES + BYE
    bye = await log.next(RtcpByeReceived)
    assert bye.reason == ""
    assert not any(isinstance(p, ReceiverReport) and p.ssrc != a.ssrc for p in rtcp_b.received)
    b.close()
