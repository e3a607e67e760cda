"""``takeback cloud`` over TLS (GENESYS.md §7, §11 item 8) as real processes: the emulator with a ``tls:``
listener and a ``protocol: tls`` trunk, ``takeback device`` with its own TLS listener and CA, and
``takeback call`` placing the article's call; plus the one-line exit-2 errors of the TLS options and of
org.yaml's ``emulator.tls`` fields.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests.cli.test_cloud_cmd import _wait_line, command, run
from tests.cloud.test_tls import Pki, device_yaml, make_pki, tls_org_data
from tests.interop.sipp_support import free_port

LIMIT = 60.0  # bound on each subprocess; never asserted on


def _write_org(tmp_path: Path, device_port: int, emulator: dict[str, object] | None = None) -> Path:
    data = tls_org_data(device_port)
    if emulator is not None:
        data["emulator"] = emulator
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _distinct_ports(count: int) -> list[int]:
    """``count`` different free ports (two free_port() calls may return the same number: each probe
    socket is closed before the next one binds)."""
    ports: list[int] = []
    for _ in range(count * 20):  # bounded
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("no distinct free ports")


@contextmanager
def _process(args: list[str], tmp_path: Path, ready: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "HOME": str(tmp_path)}
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_line(process, ready)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=LIMIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def test_take_back_over_tls_between_processes(tmp_path: Path) -> None:
    """The article's call: SIPS INVITE over TLS to the device (certificate checked against --tls-ca), the
    device's REFER over TLS to our listener (it trusts our CA), Call.UUIData = the device's UUI."""
    pki = make_pki(tmp_path)
    device_port, sip_tls, sip_udp, api, device_http = _distinct_ports(5)
    device_conf = tmp_path / "device.yaml"
    device_conf.write_text(device_yaml(tmp_path, pki, device_port, http=f"127.0.0.1:{device_http}"))
    emulator = {
        "sip": [f"udp:127.0.0.1:{sip_udp}", f"tls:127.0.0.1:{sip_tls}"],
        "api": f"127.0.0.1:{api}",
        "tls": {"certfile": pki.genesys_chain.name},  # relative to org.yaml
    }
    org = _write_org(tmp_path, device_port, emulator)
    device_cmd = [sys.executable, "-m", "takeback.cli", "device", "-c", str(device_conf)]
    cloud_cmd = command("-c", str(org), "--tls-ca", str(pki.device_ca))
    with (
        _process(device_cmd, tmp_path, "takeback device: listening on"),
        _process(cloud_cmd, tmp_path, f"tls:127.0.0.1:{sip_tls}"),
    ):
        call = subprocess.run(
            [sys.executable, "-m", "takeback.cli", "call", "--to", "+18005550100",
             "--api", f"http://127.0.0.1:{api}", "--json"],
            check=False, capture_output=True, text=True, timeout=LIMIT,
        )  # fmt: skip
        assert call.returncode == 0, call.stdout[-3000:] + call.stderr[-3000:]
        result = json.loads(call.stdout)
        conversation = result["conversation"]
        (external,) = [leg["call_id"] for leg in conversation["legs"] if leg["party"] == "external"]
        device_page = _device_call_page(device_http, external)
    assert result["taken_back"] is True
    assert result["uui_data"] == f"This is my data|{conversation['conversation_id']}"
    assert conversation["refers"][0]["response"] == 202
    # The device's page of the call shows every message as it received it: the INVITE came over TLS
    # with a sips: Request-URI, and our Contact / Record-Route name our TLS listener.
    assert f"INVITE sips:9991@127.0.0.1:{device_port} SIP/2.0" in device_page
    assert "Via: SIP/2.0/TLS 127.0.0.1:" in device_page
    assert f"Record-Route: &lt;sips:127.0.0.1:{sip_tls};transport=tls;lr&gt;" in device_page
    assert f"Contact: &lt;sips:127.0.0.1:{sip_tls};transport=tls;gcdlg=" in device_page


def _device_call_page(port: int, call_id: str) -> str:
    url = f"http://127.0.0.1:{port}/calls/{urllib.parse.quote(call_id, safe='')}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


def _pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


def _one_line_exit_2(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_tls_listener_without_a_certificate(tmp_path: Path) -> None:
    _one_line_exit_2(
        run("--sip", "tls:127.0.0.1:5061", "--api", "off"), "--tls-cert", "emulator.tls.certfile"
    )


def test_bad_certificate_files_name_the_option(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    tls = ("--sip", "tls:127.0.0.1:0", "--api", "off")
    _one_line_exit_2(run(*tls, "--tls-cert", str(tmp_path / "missing.pem")), "--tls-cert", "missing.pem")
    _one_line_exit_2(run(*tls, "--tls-cert", str(garbage)), "--tls-cert", "no certificate")
    wrong_key = ("--tls-cert", str(pki.genesys_chain), "--tls-key", str(pki.genesys_ca))
    _one_line_exit_2(run(*tls, *wrong_key), "--tls-key")
    _one_line_exit_2(run("--api", "off", "--tls-ca", str(garbage)), "--tls-ca", "no CA certificate")


def test_bad_org_yaml_tls_fields_name_the_field(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    missing = _write_org(tmp_path, 5061, {"tls": {"certfile": "nope.pem"}})
    _one_line_exit_2(run("-c", str(missing), "--api", "off"), "emulator.tls.certfile", "nope.pem")
    bad = _write_org(tmp_path, 5061, {"sip": ["tls:127.0.0.1:0"], "tls": {"certfile": "garbage.pem"}})
    _one_line_exit_2(run("-c", str(bad), "--api", "off"), "org.yaml: emulator.tls.certfile", "no certificate")
    typo = _write_org(tmp_path, 5061, {"tls": {"cafle": "x.pem"}})
    _one_line_exit_2(run("-c", str(typo), "--api", "off"), "emulator.tls.cafle", "did you mean 'cafile'")
    no_cert = _write_org(tmp_path, 5061, {"sip": ["tls:127.0.0.1:0"]})
    _one_line_exit_2(run("-c", str(no_cert), "--api", "off"), "--tls-cert", "emulator.tls.certfile")
    ciphers = _write_org(tmp_path, 5061, {"tls": {"ciphers": "modern"}})
    _one_line_exit_2(run("-c", str(ciphers), "--api", "off"), "emulator.tls.ciphers", "genesys")
    assert run("--api", "off", "--tls-ciphers", "modern").returncode == 2


def _chacha_handshake(port: int, cafile: Path) -> bool:
    """Does our listener accept a device offering only ECDHE-RSA-CHACHA20-POLY1305 (not a Genesys suite)?"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-CHACHA20-POLY1305")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return True
        except ssl.SSLError:
            return False


def test_tls_ciphers_option_and_field(tmp_path: Path) -> None:
    """GENESYS.md §7 suites by default; ``emulator.tls.ciphers: default`` lifts them; ``--tls-ciphers``
    wins over the org.yaml field."""
    pki = _pki(tmp_path)
    cases = (
        ({}, (), False),
        ({"ciphers": "default"}, (), True),
        ({"ciphers": "default"}, ("genesys",), False),
    )
    for index, (fields, option, accepted) in enumerate(cases):
        port = free_port()
        tls = {"certfile": pki.genesys_chain.name, **fields}
        org = _write_org(tmp_path, 5061, {"sip": [f"tls:127.0.0.1:{port}"], "api": "off", "tls": tls})
        flags = ["--tls-ciphers", *option] if option else []
        with _process(command("-c", str(org), *flags), tmp_path, f"tls:127.0.0.1:{port}"):
            assert _chacha_handshake(port, pki.genesys_ca) is accepted, index


def test_tls_trunk_without_a_tls_listener(tmp_path: Path) -> None:
    org = _write_org(tmp_path, 5061)
    _one_line_exit_2(
        run("-c", str(org), "--sip", "udp:127.0.0.1:0", "--api", "off"),
        "trunks[1].protocol",
        "--sip tls:",
    )
