"""``takeback device`` and ``takeback device records`` through the real entry point (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from takeback.device.records import CallRecords
from tests.interop.sipp_support import SCENARIOS, free_port


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeback.cli", *args],
        check=False, capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "device.yaml"
    config.write_text("access: {acl_action: reject}\nmedia: {codecs: [g729]}\n")
    result = run("device", "-c", str(config))
    assert result.returncode == 2
    assert f"{config}: access.acl_action: 'reject' is not valid; use one of drop, 403" in result.stderr
    assert f"{config}: media.codecs: 'g729' is not valid; use pcmu, pcma or opus" in result.stderr
    assert "Traceback" not in result.stderr


def test_preflight_problem_exits_2_before_listening(tmp_path: Path) -> None:
    config = tmp_path / "device.yaml"
    config.write_text("app: {module: 'no_such_package.app:handle'}\nhttp: null\n")
    result = run("device", "-c", str(config), "--listen", f"udp:127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "app.module: cannot import 'no_such_package.app'" in result.stderr
    assert "listening" not in result.stdout


def test_bad_listen_option_exits_2(tmp_path: Path) -> None:
    result = run("device", "--listen", "sctp:127.0.0.1:5", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad listen spec 'sctp:127.0.0.1:5'" in result.stderr


def test_port_in_use_exits_2_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run("device", "--listen", f"udp:127.0.0.1:{port}", "--http", "off", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot open the listeners" in result.stderr and "Traceback" not in result.stderr


def test_records_json_and_table(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with CallRecords(db) as records:
        records.begin("c1", "t", invite_at=1_795_000_000.25, caller="+13175551234", outcome="taken-back")
        records.flush()
    result = run("device", "records", "--db", str(db), "--json")
    assert result.returncode == 0
    (row,) = json.loads(result.stdout)
    assert (row["call_id"], row["caller"], row["outcome"]) == ("c1", "+13175551234", "taken-back")
    table = run("device", "records", "--db", str(db))
    assert table.returncode == 0
    assert "c1" in table.stdout and "2026-11-18T" in table.stdout and "taken-back" in table.stdout


def test_records_from_the_config_and_missing_database(tmp_path: Path) -> None:
    config = tmp_path / "device.yaml"
    config.write_text("records: {path: calls.sqlite}\n")
    result = run("device", "records", "-c", str(config))
    assert result.returncode == 1
    assert f"no records database at {tmp_path / 'calls.sqlite'}" in result.stderr


def test_device_runs_answers_options_and_drains_on_sigterm(tmp_path: Path) -> None:
    """The built-in configuration (no -c) with --listen: start, OPTIONS 200, SIGTERM, exit 0."""
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.skip("sipp (sip-tester) is not installed")
    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path)}  # the TTS cache goes under the test's HOME
    command = [sys.executable, "-m", "takeback.cli", "device", "--listen", f"udp:127.0.0.1:{port}"]
    process = subprocess.Popen(
        [*command, "--http", "off"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"takeback device: listening on udp:127.0.0.1:{port}"), line
        assert str(tmp_path / "takeback-device.sqlite") in line  # records default: the working directory
        options = subprocess.run(
            [sipp, f"127.0.0.1:{port}", "-sf", str(SCENARIOS / "options_uac.xml"), "-i", "127.0.0.1",
             "-p", str(free_port()), "-m", "1", "-nostdin", "-timeout", "10s", "-timeout_error"],
            check=False, capture_output=True, text=True, timeout=30, cwd=tmp_path,
        )  # fmt: skip
        assert options.returncode == 0, options.stderr[-2000:]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err[-2000:]
    assert "drained" in out
    assert (tmp_path / "takeback-device.sqlite").exists()
