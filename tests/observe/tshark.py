"""Reading our captures back with tshark, with every checksum check Wireshark has switched on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

requires_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

CHECKSUMS = [
    "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
]  # fmt: skip
#: Wireshark expert severities (epan/proto.h PI_CHAT .. PI_ERROR).
SEVERITY_CHAT, SEVERITY_NOTE, SEVERITY_WARN, SEVERITY_ERROR = 0x200000, 0x400000, 0x600000, 0x800000


def tshark(
    pcap: Path, fields: list[str], display_filter: str = "", extra: tuple[str, ...] = ()
) -> list[list[str]]:
    """One row per frame that passes ``display_filter``; repeated field values joined with ``;``."""
    command = ["tshark", "-n", "-r", str(pcap), *CHECKSUMS, *extra, "-T", "fields",
               "-E", "separator=\t", "-E", "aggregator=;", "-E", "occurrence=a"]  # fmt: skip
    if display_filter:
        command += ["-Y", display_filter]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def sip_rows(pcap: Path, extra: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """(method, status, Call-ID) of every SIP message tshark finds."""
    rows = tshark(pcap, ["sip.Method", "sip.Status-Code", "sip.Call-ID"], "sip", extra)
    return [(row[0], row[1], row[2]) for row in rows]


def problems(pcap: Path, extra: tuple[str, ...] = ()) -> list[list[str]]:
    """Frames that are malformed or carry an expert item of severity warning or worse."""
    rows = tshark(
        pcap,
        ["frame.number", "_ws.expert.severity", "_ws.expert.message"],
        "_ws.expert || _ws.malformed",
        extra,
    )
    bad = []
    for row in rows:
        severities = [int(value) for value in row[1].split(";") if value]
        if not severities or max(severities) >= SEVERITY_WARN:
            bad.append(row)
    return bad
