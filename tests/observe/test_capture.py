"""Capture wiring: one trace feeding a streaming pcap and a HEP collector, closed cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from takeback.observe import Capture, CaptureConfig, build_ladder, parse_hep3, render_text

from .scenario import DEVICE, FLOW, GENESYS, NAMES, START
from .tshark import requires_tshark, sip_rows


@requires_tshark
@pytest.mark.interop
def test_capture_streams_to_pcap_and_hep(tmp_path: Path) -> None:
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.settimeout(5.0)
    host, port = collector.getsockname()
    pcap = tmp_path / "out" / "capture.pcap"
    config = CaptureConfig(pcap_path=pcap, hep_address=f"{host}:{port}", hep_node_name="demo")
    with Capture(config) as capture:
        genesys, device = capture.trace.for_party("genesys"), capture.trace.for_party("device")
        for offset, src, dst, data, _ in FLOW[1:4]:
            sender, receiver = (genesys, device) if src == GENESYS else (device, genesys)
            sender.record("out", "UDP", src, dst, data, timestamp=START + offset)
            receiver.record("in", "UDP", src, dst, data, timestamp=START + offset + 0.0001)
        received = [parse_hep3(collector.recvfrom(65535)[0]) for _ in range(3)]
        assert capture.pcap is not None and capture.pcap.messages_written == 3
        assert capture.pcap_path == pcap
    collector.close()
    assert [packet.payload for packet in received] == [data for _, _, _, data, _ in FLOW[1:4]]
    assert {packet.node_name for packet in received} == {"demo"}
    assert [row[0] or row[1] for row in sip_rows(pcap)] == ["INVITE", "401", "INVITE"]
    capture.trace.record("out", "UDP", GENESYS, DEVICE, FLOW[1][3], timestamp=START + 9)  # after close
    assert len(sip_rows(pcap)) == 3 and len(capture.trace) == 7
    assert "401 Unauthorized" in render_text(build_ladder(capture.trace, NAMES))


def test_disabled_capture_records_nothing(tmp_path: Path) -> None:
    with Capture(CaptureConfig(enabled=False, max_entries=10)) as capture:
        assert capture.trace.record("out", "UDP", GENESYS, DEVICE, b"x") is None
        assert capture.pcap is None and capture.hep is None and capture.pcap_path is None
        assert capture.trace.max_entries == 10


@pytest.mark.parametrize(
    "kwargs", [{"max_entries": 0}, {"hep_address": "host:notaport"}, {"hep_address": ":9060"}]
)
def test_bad_configuration_fails_early(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CaptureConfig(**kwargs)  # type: ignore[arg-type]
