"""Our pcap files as Wireshark reads them: every message back, identical, and nothing malformed.

tshark is the independent decoder: it checks the IPv4 header, UDP and TCP checksums (switched on
explicitly), reassembles IP fragments and TCP segments, and dissects SIP/SDP. Ports are the demo's
non-standard 5070/5080 (Wireshark's heuristic SIP dissector finds them) unless a test says otherwise.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from takeback.observe.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter, pcap_bytes, write_pcap
from takeback.observe.trace import SipTrace, TraceEntry

from .scenario import EXPECTED_LABELS, SDP_OFFER, START, message, recorded_trace
from .tshark import problems, requires_tshark, sip_rows, tshark

pytestmark = [pytest.mark.interop, requires_tshark]


def invite(call_id: str, via_host: str, transport: str = "UDP", extra: int = 0) -> bytes:
    record_routes = [
        ("Record-Route", f"<sip:10.0.{index // 250}.{index % 250 + 1}:5060;lr>") for index in range(extra)
    ]
    return message(
        f"INVITE sip:+19999990001@{via_host}:5080 SIP/2.0",
        [("Via", f"SIP/2.0/{transport} {via_host}:5070;branch=z9hG4bK-{call_id}"), ("Max-Forwards", "70"),
         *record_routes,
         ("From", "<sip:+13175551234@example.com>;tag=1"), ("To", "<sip:+19999990001@example.com>"),
         ("Call-ID", call_id), ("CSeq", "1 INVITE"), ("Contact", f"<sip:{via_host}:5070>"),
         ("Content-Type", "application/sdp")],
        SDP_OFFER,
    )  # fmt: skip


def ok(call_id: str, via_host: str, transport: str = "UDP") -> bytes:
    return message(
        "SIP/2.0 200 OK",
        [("Via", f"SIP/2.0/{transport} {via_host}:5070;branch=z9hG4bK-{call_id}"),
         ("From", "<sip:+13175551234@example.com>;tag=1"), ("To", "<sip:+19999990001@example.com>;tag=2"),
         ("Call-ID", call_id), ("CSeq", "1 INVITE")],
    )  # fmt: skip


def entry(
    offset: float, transport: str, src: tuple[str, int], dst: tuple[str, int], data: bytes
) -> TraceEntry:
    return TraceEntry(START + offset, "out", transport, src, dst, data)


V4_GENESYS, V4_DEVICE = ("127.0.0.1", 5070), ("127.0.0.1", 5080)
V4_CLIENT = ("127.0.0.1", 40001)
V6_GENESYS, V6_DEVICE = ("::1", 5070), ("::1", 5080)


def mixed_entries() -> list[TraceEntry]:
    """An INVITE with SDP over UDP/IPv4, a large INVITE over TCP (two segments), one over UDP/IPv6."""
    return [
        entry(0.000, "UDP", V4_GENESYS, V4_DEVICE, invite("udp4@x", "127.0.0.1")),
        entry(0.010, "UDP", V4_DEVICE, V4_GENESYS, ok("udp4@x", "127.0.0.1")),
        entry(0.020, "TCP", V4_CLIENT, V4_DEVICE, invite("tcp4@x", "127.0.0.1", "TCP", extra=60)),
        entry(0.030, "TCP", V4_DEVICE, V4_CLIENT, ok("tcp4@x", "127.0.0.1", "TCP")),
        entry(0.040, "UDP", V6_GENESYS, V6_DEVICE, invite("udp6@x", "[::1]")),
        entry(0.050, "UDP", V6_DEVICE, V6_GENESYS, ok("udp6@x", "[::1]")),
    ]


EXPECTED_ROWS = [
    ("INVITE", "", "udp4@x"), ("", "200", "udp4@x"), ("INVITE", "", "tcp4@x"), ("", "200", "tcp4@x"),
    ("INVITE", "", "udp6@x"), ("", "200", "udp6@x"),
]  # fmt: skip


@pytest.mark.parametrize(("linktype", "nanosecond"), [(LINKTYPE_ETHERNET, True), (LINKTYPE_RAW, False)])
def test_udp_tcp_ipv6_dissect_as_sent(tmp_path: Path, linktype: int, nanosecond: bool) -> None:
    pcap = tmp_path / "mixed.pcap"
    frames = write_pcap(pcap, mixed_entries(), linktype=linktype, nanosecond=nanosecond)
    assert (
        frames == 2 + (3 + 2 + 1) + (1 + 1) + 2
    )  # UDP pair, handshake + 2 segments + ACK, reply + ACK, v6 pair
    assert sip_rows(pcap) == EXPECTED_ROWS
    assert problems(pcap) == []


def test_large_tcp_invite_is_two_segments_reassembled(tmp_path: Path) -> None:
    entries = mixed_entries()
    assert 1460 < len(entries[2].data) <= 2 * 1460
    pcap = tmp_path / "tcp.pcap"
    write_pcap(pcap, entries)
    rows = tshark(pcap, ["sip.Call-ID", "tcp.segment.count", "tcp.reassembled.length"], "sip && tcp")
    assert rows[0] == ["tcp4@x", "2", str(len(entries[2].data))]
    data_segments = tshark(pcap, ["tcp.len", "tcp.checksum.status"], "tcp.len > 0")
    assert [row[0] for row in data_segments] == [
        "1460",
        str(len(entries[2].data) - 1460),
        str(len(entries[3].data)),
    ]
    assert {row[1] for row in data_segments} == {"1"}  # 1 = "Good" (0 bad, 2 unverified)
    analysis = tshark(pcap, ["frame.number"], "tcp.analysis.flags && !tcp.analysis.window_update")
    assert analysis == []  # no retransmission, lost segment, ACKed-unseen or window problems


def test_checksums_are_verified_good(tmp_path: Path) -> None:
    pcap = tmp_path / "sums.pcap"
    write_pcap(pcap, mixed_entries())
    rows = tshark(pcap, ["ip.checksum.status", "ipv6.src", "udp.checksum.status"], "udp")
    assert len(rows) == 4
    for ip_status, v6_source, udp_status in rows:  # 1 = "Good" (0 bad, 2 unverified)
        assert udp_status == "1"
        assert ip_status == "1" or (ip_status == "" and v6_source == "::1")


def test_large_udp_messages_are_ip_fragmented_and_reassembled(tmp_path: Path) -> None:
    entries = [
        entry(0.0, "UDP", V4_GENESYS, V4_DEVICE, invite("frag4@x", "127.0.0.1", extra=150)),
        entry(0.1, "UDP", V6_GENESYS, V6_DEVICE, invite("frag6@x", "[::1]", extra=150)),
    ]
    pcap = tmp_path / "frag.pcap"
    frames = write_pcap(pcap, entries)
    assert frames > 4
    assert sip_rows(pcap) == [("INVITE", "", "frag4@x"), ("INVITE", "", "frag6@x")]
    assert problems(pcap) == []


def test_tls_entries_are_plaintext_tcp_on_their_port(tmp_path: Path) -> None:
    entries = [
        entry(0.0, "TLS", ("127.0.0.1", 40010), ("127.0.0.1", 5061), invite("tls@x", "127.0.0.1", "TLS")),
        entry(0.1, "TLS", ("127.0.0.1", 5061), ("127.0.0.1", 40010), ok("tls@x", "127.0.0.1", "TLS")),
    ]
    pcap = tmp_path / "tls.pcap"
    write_pcap(pcap, entries)
    decode_as = ("-d", "tcp.port==5061,sip")
    assert sip_rows(pcap, decode_as) == [("INVITE", "", "tls@x"), ("", "200", "tls@x")]
    assert problems(pcap, decode_as) == []


def test_timestamps_keep_sub_microsecond_precision(tmp_path: Path) -> None:
    pcap = tmp_path / "time.pcap"
    data = invite("t@x", "127.0.0.1")
    times = (1_700_000_000.25, 1_700_000_001.0000005)
    write_pcap(pcap, [TraceEntry(when, "out", "UDP", V4_GENESYS, V4_DEVICE, data) for when in times])
    header = pcap.read_bytes()[:4]
    assert struct.unpack("<I", header)[0] == 0xA1B23C4D  # nanosecond pcap
    read = [row[0] for row in tshark(pcap, ["frame.time_epoch"])]
    assert read[0] == "1700000000.250000000"
    seconds, nanos = read[1].split(".")
    # a float holds this instant to ~0.24 µs; the file keeps that, it does not round to whole µs
    assert seconds == "1700000001" and abs(int(nanos) - 500) < 250 and int(nanos) % 1000 != 0


def test_scenario_with_both_ends_recording_gives_each_packet_once(tmp_path: Path) -> None:
    pcap = tmp_path / "scenario.pcap"
    trace = recorded_trace()
    assert write_pcap(pcap, trace) == len(EXPECTED_LABELS)
    rows = sip_rows(pcap)
    labels = [method or status for method, status, _ in rows]
    expected = [label.split()[0] for label in EXPECTED_LABELS]
    assert labels == expected
    assert problems(pcap) == []


def test_streaming_writer_flushes_every_message(tmp_path: Path) -> None:
    """Nothing written is lost if the process dies: the file is readable while the writer is still open."""
    pcap = tmp_path / "stream.pcap"
    trace = SipTrace()
    writer = PcapWriter(pcap)
    trace.subscribe(writer)
    for item in mixed_entries()[:2]:
        trace.record(item.direction, item.transport, item.src, item.dst, item.data, timestamp=item.timestamp)
    assert sip_rows(pcap) == EXPECTED_ROWS[:2]  # writer deliberately not closed yet
    trace.record("in", "UDP", V4_GENESYS, V4_DEVICE, mixed_entries()[0].data, timestamp=START + 0.0001)
    assert writer.mirrors_skipped == 1 and writer.messages_written == 2
    writer.close()
    with pytest.raises(ValueError):
        writer.write(mixed_entries()[0])


def test_pcap_bytes_matches_file_export_and_header_fields(tmp_path: Path) -> None:
    entries = mixed_entries()
    pcap = tmp_path / "export.pcap"
    write_pcap(pcap, entries, nanosecond=False, linktype=LINKTYPE_RAW)
    data = pcap_bytes(entries, nanosecond=False, linktype=LINKTYPE_RAW)
    assert data == pcap.read_bytes()
    magic, major, minor, _, _, snaplen, network = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, snaplen, network) == (0xA1B2C3D4, 2, 4, 262144, LINKTYPE_RAW)


def test_writer_on_a_file_object_leaves_it_open_and_rejects_bad_options() -> None:
    buffer = io.BytesIO()
    with PcapWriter(buffer) as writer:
        writer.write(mixed_entries()[0])
    assert not buffer.closed and len(buffer.getvalue()) > 24
    with pytest.raises(ValueError):
        PcapWriter(io.BytesIO(), linktype=105)
    with pytest.raises(ValueError):
        PcapWriter(io.BytesIO(), mtu=100)


def test_oversized_udp_message_is_refused() -> None:
    writer = PcapWriter(io.BytesIO())
    with pytest.raises(ValueError):
        writer.write(entry(0.0, "UDP", V4_GENESYS, V4_DEVICE, b"x" * 70000))
