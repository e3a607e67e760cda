"""``takeback device --workers N``: N device processes on one port, driven by SIPp as Genesys.

SIPp's ``-t un`` (one UDP socket per call) stands for several Genesys signalling addresses: the kernel
spreads peers by address:port, so both workers take calls, and every call is taken back and recorded in
the one shared database.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.device.test_sipp import _with_token
from tests.interop.sipp_support import free_port

SERVICE = "+19999990001"
CONFIG = """\
listen: [udp:127.0.0.1:0]
records: {{path: {records}}}
media: {{tts_cache: {tts}, rtp_timeout: 0, send_silence: false, port_range: 30000-30999}}
http: null
access:
  ip_acl: [127.0.0.0/8]
  token: {{header: CUSTOM-DEVICE-TOKEN, value: "1234567"}}
{digest}  dnis: {{e164: ["{service}"]}}
app:
  flow:
    - answer
    - take_back: {{uui: "{{conversation_id}}"}}
take_back: {{bye_grace: 2s}}
workers: 2
"""
DIGEST = "  digest: {realm: device, username: genesys, password: s3cret}\n"

pytestmark = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed")


def _config(tmp_path: Path, digest: bool = False) -> Path:
    path = tmp_path / "device.yaml"
    text = CONFIG.format(
        records=tmp_path / "records.sqlite",
        tts=tmp_path / "tts",
        digest=DIGEST if digest else "",
        service=SERVICE,
    )
    path.write_text(text)
    return path


def _start(tmp_path: Path, config: Path, transport: str = "udp") -> tuple[subprocess.Popen[str], int, str]:
    """The supervisor process, its port, and its listening line."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "takeback.cli", "device", "-c", str(config),
         "--listen", f"{transport}:127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("takeback device: listening"):
        process.kill()
        raise AssertionError(f"{line!r} {process.communicate(timeout=30)[1][-2000:]}")
    assert " (2 workers" in line, line
    return process, port, line


def _genesys(
    tmp_path: Path, port: int, calls: int, digest: bool = False, transport: str = "udp"
) -> subprocess.CompletedProcess[str]:
    scenario = _with_token(tmp_path, "genesys_uac_refer_auth.xml" if digest else "genesys_uac_refer.xml")
    command = [
        "sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-s", SERVICE, "-i", "127.0.0.1",
        "-p", str(free_port()), "-t", "un" if transport == "udp" else "tn", "-max_socket", "200",
        "-r", "20", "-m", str(calls), "-nostdin", "-timeout", "60s", "-timeout_error",
    ]  # fmt: skip
    if digest:
        command += ["-au", "genesys", "-ap", "s3cret"]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=90, cwd=tmp_path)


def _stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[str, str]:
    process.send_signal(signum)
    try:
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _outcomes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT outcome, count(*) FROM calls GROUP BY 1").fetchall())


def _accepted_per_worker(summary: str) -> list[int]:
    """``worker 0/2: 21 calls accepted, 21 taken back, worker 1/2: …`` → [21, …]."""
    parts = summary.split("worker ")[1:]
    return [int(part.split(": ", 1)[1].split(" ", 1)[0]) for part in parts]


@pytest.mark.parametrize(
    ("transport", "digest"), [("udp", False), ("udp", True), ("tcp", False)], ids=["udp", "udp-digest", "tcp"]
)
def test_two_workers_share_the_port_and_the_records(tmp_path: Path, transport: str, digest: bool) -> None:
    """UDP: one socket per call; TCP: one connection per call, spread by the listening sockets' group."""
    process, port, _line = _start(tmp_path, _config(tmp_path, digest), transport)
    try:
        sipp = _genesys(tmp_path, port, 40, digest, transport)
    finally:
        out, err = _stop(process)
    assert sipp.returncode == 0, sipp.stdout[-2000:] + sipp.stderr[-2000:]
    assert process.returncode == 0, err[-2000:]
    summary = next(line for line in out.splitlines() if line.startswith("takeback device: worker 0/2"))
    per_worker = _accepted_per_worker(summary)
    assert sum(per_worker) == 40 and min(per_worker) > 0, summary  # 40 source ports: both workers served
    assert out.rstrip().endswith("takeback device: drained, bye")
    assert _outcomes(tmp_path / "records.sqlite") == {"taken-back": 40}
    assert " w0 INFO " in err and " w1 INFO " in err  # log lines say which worker wrote them


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(text) for text in path.read_text().split()]


def test_a_worker_dying_stops_the_others_and_exits_1(tmp_path: Path) -> None:
    """The SO_REUSEPORT hash changes when a socket leaves the group: no half-working set is left."""
    process, _port, _line = _start(tmp_path, _config(tmp_path))
    try:
        workers = _children(process.pid)
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 1
    assert "worker 1/2 exited (-9); stopping the others" in err
    assert not Path(f"/proc/{workers[0]}").exists() or _is_zombie(workers[0])


def test_workers_drain_and_exit_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to forward anything: the kernel's parent-death signal drains the workers."""
    process, _port, _line = _start(tmp_path, _config(tmp_path))
    workers = _children(process.pid)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        return not _is_zombie(pid)
    except FileNotFoundError:
        return False


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_workers_option_overrides_config_and_rejects_nonsense(tmp_path: Path) -> None:
    config = _config(tmp_path)
    bad = subprocess.run(
        [sys.executable, "-m", "takeback.cli", "device", "-c", str(config), "--workers", "many"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--workers 'many': give 1..64 or 'auto'" in bad.stderr
    config.write_text(config.read_text().replace("workers: 2", "workers: 0"))
    zero = subprocess.run(
        [sys.executable, "-m", "takeback.cli", "device", "-c", str(config)],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert zero.returncode == 2
    assert "workers:" in zero.stderr and "Traceback" not in zero.stderr


def test_configuration_problems_are_reported_once_before_any_worker_starts(tmp_path: Path) -> None:
    config = tmp_path / "device.yaml"
    config.write_text("app: {module: 'no_such_package.app:handle'}\nhttp: null\nworkers: 2\n")
    result = subprocess.run(
        [sys.executable, "-m", "takeback.cli", "device", "-c", str(config), "--listen", "udp:127.0.0.1:0"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("app.module: cannot import 'no_such_package.app'") == 1
    assert "listening" not in result.stdout


def test_the_supervisor_serves_the_set_and_each_worker_its_own_counters(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text().replace("http: null", "http: 127.0.0.1:0"))
    process, _port, line = _start(tmp_path, config)
    try:
        urls = _http_urls(line)
        assert list(urls) == ["all", "w0", "w1"] and len(set(urls.values())) == 3
        for name in ("w0", "w1"):
            with urllib.request.urlopen(f"{urls[name]}/metrics", timeout=10) as response:
                assert response.status == 200
                assert b"takeback_device_" in response.read()
        with urllib.request.urlopen(f"{urls['all']}/metrics", timeout=10) as response:
            merged = response.read().decode()
        assert 'takeback_device_worker_up{worker="0"} 1' in merged
        assert 'takeback_device_worker_up{worker="1"} 1' in merged
        with urllib.request.urlopen(f"{urls['all']}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        _out, err = _stop(process)
    assert process.returncode == 0, err[-2000:]


def _http_urls(line: str) -> dict[str, str]:
    """``… (2 workers; http: all http://127.0.0.1:41000, w0 http://127.0.0.1:41001, w1 …)`` → name: URL."""
    listeners = line.rsplit("; http: ", 1)[1].rstrip(")\n")
    return dict(item.split(" ", 1) for item in listeners.split(", "))
