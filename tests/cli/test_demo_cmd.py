"""``takeback demo``: the whole article scenario through the real console entry point, then the pcap it
wrote is dissected by tshark (a user opening it in Wireshark must see clean SIP)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_KEYS = {"ok", "conversation_id", "uui_sent", "call_uui_data", "legs", "pcap", "report"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "-m", "takeback.cli", "demo", "--json", "--ports", "0", "--out", str(out)],
        check=False, capture_output=True, text=True, timeout=120, cwd=out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_demo_takes_the_call_back_with_the_expected_uui(demo: dict[str, object]) -> None:
    assert demo.keys() >= DEMO_KEYS
    assert demo["ok"] is True
    conversation_id = demo["conversation_id"]
    assert demo["uui_sent"] == f"{conversation_id}|1234"
    assert demo["call_uui_data"] == demo["uui_sent"]
    assert demo["refer_to_spelling"] == "rfc"
    assert demo["notify_sipfrag"] == [100, 200]


def test_demo_correlates_call_ids_through_analytics(demo: dict[str, object]) -> None:
    legs = {leg["party"]: leg["call_id"] for leg in demo["legs"]}  # type: ignore[attr-defined]
    analytics = {leg["party"]: leg["call_id"] for leg in demo["analytics_legs"]}  # type: ignore[attr-defined]
    assert set(legs) == {"customer", "external"}
    assert analytics == legs


def test_demo_report_is_html_and_names_both_parties(demo: dict[str, object]) -> None:
    html = Path(str(demo["report"])).read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "REFER" in html and "device" in html and "genesys" in html


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_demo_pcap_dissects_as_sip_without_errors(demo: dict[str, object]) -> None:
    pcap = str(demo["pcap"])
    fields = subprocess.run(
        ["tshark", "-r", pcap, "-d", "udp.port==5070,sip", "-T", "fields", "-e", "sip.Method",
         "-e", "sip.Status-Code", "-Y", "sip"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    for method in ("INVITE", "ACK", "REFER", "NOTIFY", "BYE"):
        assert method in fields
    malformed = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= warning"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    assert malformed == ""
