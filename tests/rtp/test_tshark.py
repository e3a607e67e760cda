"""Our RTP, RFC 4733 and RTCP bytes as Wireshark's dissectors (tshark) read them: an independent decoder."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from takeback.rtp.dtmf import DtmfSender
from takeback.rtp.packet import RtpExtension, RtpPacket, RtpSender
from takeback.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    build_compound,
    ntp_from_unix,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed"),
]

RTP_PORT = 40002
RTCP_PORT = 40003


def udp_frame(payload: bytes, dport: int) -> bytes:
    """Ethernet + IPv4 + UDP from 127.0.0.1 to 127.0.0.1 (UDP checksum 0: none, allowed for IPv4)."""
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, b"\x7f\0\0\1", b"\x7f\0\0\1"
        )
    )
    total = sum(struct.unpack("!10H", bytes(ip)))
    total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", ip, 10, ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF)
    return bytes(12) + b"\x08\x00" + bytes(ip) + udp


def write_pcap(path: Path, datagrams: list[tuple[bytes, int]]) -> None:
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # LINKTYPE_ETHERNET
    for index, (payload, port) in enumerate(datagrams):
        frame = udp_frame(payload, port)
        records.append(struct.pack("<IIII", 1_700_000_000, index * 20_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(records))


def tshark_fields(pcap: Path, display_filter: str, fields: list[str]) -> list[dict[str, str]]:
    command = [
        "tshark", "-n", "-r", str(pcap),
        "-d", f"udp.port=={RTP_PORT},rtp", "-d", f"udp.port=={RTCP_PORT},rtcp", "-d", "rtp.pt==101,rtpevent",
        "-Y", display_filter, "-T", "fields",
        "-E", "separator=\t", "-E", "aggregator=;", "-E", "occurrence=a",
    ]  # fmt: skip
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in result.stdout.splitlines()]


def test_rtp_and_telephone_events_decode_as_sent(tmp_path: Path) -> None:
    rtp = RtpSender(0, ssrc=0x11223344, sequence=65534, timestamp=2**32 - 160)
    packets = [rtp.next_packet(b"\xff" * 160, 160, marker=True), rtp.next_packet(b"\xff" * 160, 160)]
    packets.append(
        RtpPacket(
            8, 5, 6, 7, b"abc", csrc=(1, 2), extension=RtpExtension(0xBEDE, b"\x10\xff\x00\x00"), padding=5
        )
    )
    dtmf = DtmfSender(rtp)
    dtmf.start("#", 0.0)
    packets += dtmf.poll(1.0)
    pcap = tmp_path / "rtp.pcap"
    write_pcap(pcap, [(bytes(p), RTP_PORT) for p in packets])
    fields = [
        "rtp.version", "rtp.padding", "rtp.ext", "rtp.cc", "rtp.marker", "rtp.p_type", "rtp.seq",
        "rtp.timestamp", "rtp.ssrc", "rtp.csrc.item", "rtp.ext.profile", "rtp.padding.count",
        "rtpevent.event_id", "rtpevent.end_of_event", "rtpevent.duration", "rtpevent.volume", "_ws.malformed",
    ]  # fmt: skip
    rows = tshark_fields(pcap, "rtp", fields)
    assert len(rows) == len(packets)
    for row, packet in zip(rows, packets, strict=True):
        assert row["rtp.version"] == "2"
        assert row["_ws.malformed"] == ""
        assert int(row["rtp.seq"]) == packet.sequence
        assert int(row["rtp.timestamp"]) == packet.timestamp
        assert int(row["rtp.ssrc"], 16) == packet.ssrc
        assert int(row["rtp.p_type"]) == packet.payload_type
        assert row["rtp.marker"] in ("1", "True") if packet.marker else row["rtp.marker"] in ("0", "False")
    general = rows[2]
    assert [int(c, 16) for c in general["rtp.csrc.item"].split(";")] == [1, 2]
    assert int(general["rtp.ext.profile"], 16) == 0xBEDE
    assert general["rtp.padding.count"] == "5"
    events = rows[3:]
    assert [r["rtpevent.event_id"] for r in events] == ["11"] * 7
    assert [r["rtpevent.duration"] for r in events] == ["160", "320", "480", "640", "800", "800", "800"]
    assert [r["rtpevent.end_of_event"] in ("1", "True") for r in events] == [False] * 4 + [True] * 3
    assert {r["rtpevent.volume"] for r in events} == {"10"}


def test_rtcp_compound_decodes_as_sent(tmp_path: Path) -> None:
    block = ReportBlock(8, fraction_lost=25, cumulative_lost=-3, highest_sequence=65536 + 13, jitter=37,
                        last_sr=0x12345678, delay_since_last_sr=65536)  # fmt: skip
    compound = build_compound(
        [
            SenderReport(7, ntp_from_unix(1_700_000_000.0), 160, 3, 480, (block,)),
            SourceDescription.cname(7, "device@127.0.0.1"),
            Bye((7,), "call ended"),
        ]
    )
    receiver_report = build_compound([ReceiverReport(9, (block,)), SourceDescription.cname(9, "peer")])
    pcap = tmp_path / "rtcp.pcap"
    write_pcap(pcap, [(compound, RTCP_PORT), (receiver_report, RTCP_PORT)])
    fields = [
        "rtcp.pt", "rtcp.senderssrc", "rtcp.timestamp.ntp.msw", "rtcp.timestamp.rtp",
        "rtcp.sender.packetcount", "rtcp.sender.octetcount", "rtcp.ssrc.fraction", "rtcp.ssrc.cum_nr",
        "rtcp.ssrc.ext_high",
        "rtcp.ssrc.jitter", "rtcp.ssrc.lsr", "rtcp.ssrc.dlsr", "rtcp.sdes.text", "rtcp.length_check.bad",
        "_ws.malformed",
    ]  # fmt: skip
    sr, rr = tshark_fields(pcap, "rtcp", fields)
    assert sr["rtcp.pt"].split(";") == ["200", "202", "203"]
    assert int(sr["rtcp.senderssrc"], 16) == 7
    assert sr["rtcp.timestamp.ntp.msw"] == str(1_700_000_000 + 2_208_988_800)
    assert (sr["rtcp.timestamp.rtp"], sr["rtcp.sender.packetcount"], sr["rtcp.sender.octetcount"]) == (
        "160",
        "3",
        "480",
    )
    for report in (sr, rr):
        assert report["rtcp.ssrc.fraction"] == "25"
        assert report["rtcp.ssrc.cum_nr"] == "-3"
        assert report["rtcp.ssrc.ext_high"] == str(65536 + 13)
        assert report["rtcp.ssrc.jitter"] == "37"
        assert report["rtcp.ssrc.lsr"] == str(0x12345678)
        assert report["rtcp.ssrc.dlsr"] == "65536"
        assert report["rtcp.length_check.bad"] == ""
        assert report["_ws.malformed"] == ""
    assert "device@127.0.0.1" in sr["rtcp.sdes.text"].split(";")
    assert rr["rtcp.pt"].split(";") == ["201", "202"]
    assert int(rr["rtcp.senderssrc"], 16) == 9
