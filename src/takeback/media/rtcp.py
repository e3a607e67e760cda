"""RTCP on port+1 (RFC 3550 §6), when the port allocator was asked for it.

Reports go out every ``interval`` seconds, randomised by a factor 0.5-1.5 (§6.2: so that calls set up
together do not report in lockstep): an SR while we send, else an RR, each with one report block about the
peer and an SDES CNAME (§6.1: every compound carries one). A BYE goes out on close. Received RTCP is
parsed; the peer's SR feeds LSR/DLSR of our next report, a BYE becomes :class:`RtcpByeReceived`. RTCP is
symmetric like RTP: we answer to wherever the peer's RTCP comes from, provided it is the host the
peer's RTP comes from.

Reports are built with the sans-IO :mod:`takeback.rtp.rtcp` types; the loss figures come from the
receiver's fast-path counters (RFC 3550 A.3), so enabling RTCP adds only the jitter estimate to the
per-packet cost.

With SRTP the session sets :meth:`RtcpChannel.set_srtp`: compounds go out as SRTCP (RFC 3711 §3.4) and
what arrives is verified and decrypted before parsing; failures are counted, never parsed.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from takeback.media.events import MediaEvent, RtcpByeReceived
from takeback.media.params import MediaParams
from takeback.media.receive import RtpReceiver
from takeback.media.socket import Reactor, RtpSocket, sendable_address
from takeback.media.transmit import RtpTransmitter
from takeback.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    RtcpParseError,
    SenderReport,
    SourceDescription,
    build_compound,
    ntp_from_unix,
    ntp_middle32,
    parse_compound,
)
from takeback.rtp.srtp import SrtpError, SrtpReplayError

__all__ = ["RtcpChannel"]


class RtcpChannel:
    """The RTCP socket of one session."""

    def __init__(
        self,
        sock: RtpSocket,
        transmitter: RtpTransmitter,
        receiver: RtpReceiver,
        emit: Callable[[MediaEvent], None],
        *,
        interval: float = 5.0,
        cname: str | None = None,
    ) -> None:
        self.socket = sock
        self._tx = transmitter
        self._rx = receiver
        self._emit = emit
        self.interval = interval
        self.cname = cname or f"{secrets.token_hex(8)}@takeback"  # RFC 7022: a random, unlinkable CNAME
        self.destination: tuple[Any, ...] | None = None
        self._latched: Any = None
        self._next_report: float | None = None
        self._packets_at_report = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._last_sr = 0
        self._last_sr_at: float | None = None
        self.reports_sent = 0
        self.received: list[RtcpPacket] = []
        self._protect: Callable[[bytes], bytes] | None = None
        self._unprotect: Callable[[bytes], bytes] | None = None
        self.srtcp_auth_failures = 0
        self.srtcp_replays = 0

    def set_srtp(
        self, protect: Callable[[bytes], bytes] | None, unprotect: Callable[[bytes], bytes] | None
    ) -> None:
        """Send SRTCP with ``protect`` and accept only what ``unprotect`` verifies; ``None`` = plain RTCP."""
        self._protect, self._unprotect = protect, unprotect

    async def start(self, reactor: Reactor | None = None) -> None:
        self._rx.measure_jitter = True
        await self.socket.start(self._handle, reactor)

    def set_remote(self, params: MediaParams) -> None:
        """Send to ``a=rtcp`` when given, else RTP port + 1 (RFC 3605 default); forget the latched source."""
        self._latched = None
        if params.remote_is_null or params.remote is None:
            self.destination = None
            return
        remote = params.remote_rtcp or (params.remote[0], params.remote[1] + 1)
        self.destination = sendable_address(self.socket.family, remote)

    # --- receiving ----------------------------------------------------------------------------------------

    def _handle(self, data: bytes, address: Any) -> None:
        if self._unprotect is not None:
            try:
                data = self._unprotect(data)
            except SrtpReplayError:
                self.srtcp_replays += 1
                return
            except SrtpError:
                self.srtcp_auth_failures += 1
                return
        try:
            packets = parse_compound(data)
        except RtcpParseError:
            return
        latched_rtp = self._rx.latched
        if address != self._latched and (latched_rtp is None or address[0] == latched_rtp[0]):
            self._latched = self.destination = address  # symmetric RTCP, from the host our RTP comes from
        self.received = packets[-8:]
        for packet in packets:
            if isinstance(packet, SenderReport):
                self._last_sr = ntp_middle32(packet.ntp_timestamp)
                self._last_sr_at = time.monotonic()
            elif isinstance(packet, Bye):
                self._emit(RtcpByeReceived(packet.reason))

    # --- sending ------------------------------------------------------------------------------------------

    def maybe_report(self, now: float) -> None:
        """Called from housekeeping: send a report when one is due."""
        if self._next_report is None:
            self._next_report = now + self.interval * random.uniform(0.5, 1.5)
            return
        if now < self._next_report or self.destination is None:
            return
        self._next_report = now + self.interval * random.uniform(0.5, 1.5)
        self._send(self._report())

    def _report(self) -> list[RtcpPacket]:
        blocks = self._report_blocks()
        ssrc = self._tx.ssrc
        first: RtcpPacket
        if self._tx.packets_sent != self._packets_at_report:
            self._packets_at_report = self._tx.packets_sent
            first = SenderReport(
                ssrc=ssrc,
                ntp_timestamp=ntp_from_unix(time.time()),
                rtp_timestamp=self._tx.last_timestamp,
                packet_count=self._tx.packets_sent & 0xFFFFFFFF,
                octet_count=self._tx.octets_sent & 0xFFFFFFFF,
                reports=blocks,
            )
        else:
            first = ReceiverReport(ssrc=ssrc, reports=blocks)
        return [first, SourceDescription.cname(ssrc, self.cname)]

    def _report_blocks(self) -> tuple[ReportBlock, ...]:
        rx = self._rx
        if rx.ssrc is None or rx.expected == 0:
            return ()
        expected, received = rx.expected, rx.expected - rx.lost
        expected_interval = expected - self._expected_prior
        lost_interval = expected_interval - (received - self._received_prior)
        self._expected_prior, self._received_prior = expected, received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:  # RFC 3550 A.3
            fraction = min((lost_interval << 8) // expected_interval, 0xFF)
        delay = 0
        if self._last_sr_at is not None:
            delay = min(int((time.monotonic() - self._last_sr_at) * 65536), 0xFFFFFFFF)
        return (
            ReportBlock(
                ssrc=rx.ssrc,
                fraction_lost=fraction,
                cumulative_lost=max(-(1 << 23), min(rx.lost, (1 << 23) - 1)),
                highest_sequence=(expected + rx.base_sequence - 1) & 0xFFFFFFFF,
                jitter=min(int(rx.jitter), 0xFFFFFFFF),
                last_sr=self._last_sr,
                delay_since_last_sr=delay,
            ),
        )

    def _send(self, packets: list[RtcpPacket]) -> None:
        if self.destination is not None:
            data = build_compound(packets)
            if self._protect is not None:
                try:
                    data = self._protect(data)
                except SrtpError:
                    return
            self.socket.sendto(data, self.destination)
            self.reports_sent += 1

    def close(self) -> None:
        """Say goodbye (RFC 3550 §6.6) and close the socket."""
        if self.destination is not None and self._tx.packets_sent:
            self._send([*self._report(), Bye((self._tx.ssrc,))])
        self.socket.close()
