"""Sans-IO RTP for telephony: packets, RTCP, G.711, RFC 4733 DTMF and a jitter buffer.

No sockets, clocks or global state: bytes and packets in, bytes and packets out, ``now`` passed in. The
asyncio side lives in :mod:`takeback.media`.

Modules: :mod:`~takeback.rtp.packet` (RTP packets, :class:`RtpSender`), :mod:`~takeback.rtp.sequence`
(wrap-safe arithmetic), :mod:`~takeback.rtp.stats` (RFC 3550 receive statistics),
:mod:`~takeback.rtp.rtcp`, :mod:`~takeback.rtp.g711`, :mod:`~takeback.rtp.dtmf`,
:mod:`~takeback.rtp.jitter`.
"""

from takeback.rtp.dtmf import (
    DTMF_DIGITS,
    TELEPHONE_EVENT,
    DigitDetected,
    DtmfEvent,
    DtmfReceiver,
    DtmfSender,
    digit_to_event,
    event_to_digit,
)
from takeback.rtp.g711 import (
    PCMA,
    PCMU,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)
from takeback.rtp.jitter import JitterBuffer, JitterStats, PlayoutFrame
from takeback.rtp.packet import (
    RTP_HEADER_SIZE,
    RtpExtension,
    RtpPacket,
    RtpParseError,
    RtpSender,
)
from takeback.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    RtcpParseError,
    RtcpUnknown,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    build_compound,
    is_rtcp,
    ntp_from_unix,
    parse_compound,
)
from takeback.rtp.sequence import seq_add, seq_diff, ts_add, ts_diff
from takeback.rtp.stats import ReceiveStatistics

__all__ = [
    "DTMF_DIGITS",
    "PCMA",
    "PCMU",
    "RTP_HEADER_SIZE",
    "TELEPHONE_EVENT",
    "Bye",
    "DigitDetected",
    "DtmfEvent",
    "DtmfReceiver",
    "DtmfSender",
    "JitterBuffer",
    "JitterStats",
    "PlayoutFrame",
    "ReceiveStatistics",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "RtcpParseError",
    "RtcpUnknown",
    "RtpExtension",
    "RtpPacket",
    "RtpParseError",
    "RtpSender",
    "SdesChunk",
    "SdesItem",
    "SenderReport",
    "SourceDescription",
    "alaw_decode",
    "alaw_encode",
    "build_compound",
    "digit_to_event",
    "event_to_digit",
    "is_rtcp",
    "ntp_from_unix",
    "parse_compound",
    "seq_add",
    "seq_diff",
    "ts_add",
    "ts_diff",
    "ulaw_decode",
    "ulaw_encode",
]
