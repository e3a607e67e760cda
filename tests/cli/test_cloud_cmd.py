"""``takeback cloud`` in a subprocess: configuration errors exit 2, a running emulator answers SIP and REST,
SIGTERM stops it with exit 0 (DESIGN.md §3).

Until ``cloud_cmd`` is registered in ``takeback.cli`` the tests launch it through a tiny parser that
mirrors ``takeback.cli.main`` (ValueError -> one line, exit 2); afterwards through the real entry point.
"""

from __future__ import annotations

import contextlib
import io
import json
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from takeback.cli import build_parser
from tests.interop.sipp_support import free_port

_LAUNCHER = """
import argparse, sys
from takeback.cli import cloud_cmd
parser = argparse.ArgumentParser(prog="takeback")
commands = parser.add_subparsers(dest="command", required=True)
cloud_cmd.register(commands)
args = parser.parse_args(sys.argv[1:])
try:
    sys.exit(args.handler(args))
except ValueError as exc:
    print(f"takeback {args.command}: {exc}", file=sys.stderr)
    sys.exit(2)
"""


def _registered() -> bool:
    """Is ``cloud`` a subcommand of the real parser yet?"""
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            build_parser().parse_args(["cloud", "--help"])
    except SystemExit as exit_:
        return exit_.code == 0
    return True


def command(*args: str) -> list[str]:
    if _registered():
        return [sys.executable, "-m", "takeback.cli", "cloud", *args]
    return [sys.executable, "-c", _LAUNCHER, "cloud", *args]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), check=False, capture_output=True, text=True, timeout=60)


def test_bad_org_exits_2_with_the_problem(tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("pstn: {trunk: Nope}\ntrunks: []\nsites: []\n")
    result = run("-c", str(org), "--api", "off")
    assert result.returncode == 2
    assert "takeback cloud:" in result.stderr and "Traceback" not in result.stderr


def test_bad_options_exit_2() -> None:
    assert "bad listen spec" in run("--sip", "sctp:127.0.0.1:5").stderr
    assert run("--sip", "tls:127.0.0.1:5061").returncode == 2
    assert "--api must be HOST:PORT" in run("--api", "nowhere").stderr
    assert "--rtp-ports" in run("--rtp-ports", "9-1").stderr


def _wait_line(process: subprocess.Popen[str], needle: str, timeout: float = 20.0) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if needle in line:
                return line
            if not line and process.poll() is not None:
                break
    code = process.poll()
    stderr = process.stderr.read() if code is not None and process.stderr is not None else ""
    raise AssertionError(f"no {needle!r} from takeback cloud (exit {code}): {stderr[-800:]}")


def _options(port: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        local = sock.getsockname()[1]
        sock.sendto(
            (
                f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-cli\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:c@127.0.0.1>\r\n"
                "Call-ID: cli-1@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        return sock.recvfrom(4096)[0]


def test_runs_sip_and_api_then_stops_on_sigterm() -> None:
    """The built-in org (no -c): SIP answers OPTIONS from an allowed source, REST serves the org."""
    sip, api = free_port(), free_port()
    process = subprocess.Popen(
        command("--sip", f"udp:127.0.0.1:{sip}", "--api", f"127.0.0.1:{api}"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = _wait_line(process, "takeback cloud: SIP on")
        assert f"udp:127.0.0.1:{sip}" in line and f"http://127.0.0.1:{api}" in line
        assert _options(sip).startswith(b"SIP/2.0 200 ")
        with urllib.request.urlopen(f"http://127.0.0.1:{api}/api/v2/openapi.json", timeout=5) as reply:
            assert reply.status == 200 and "paths" in json.loads(reply.read())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "takeback cloud: stopped" in out
