"""Running SIPp (Debian ``sip-tester``) as a bounded subprocess on 127.0.0.1, from asyncio.

Every run has ``-m`` (call count), ``-timeout`` with ``-timeout_error`` (SIPp's own bound) and an outer
``asyncio.wait_for`` (ours); the process is killed if it outlives either. Success is exit code 0; the
``-trace_stat`` CSV gives the call counts for the failure message.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

SIPP = shutil.which("sipp")
# The project's shared/ folder lies beside the checkout (developers and CI alike).
SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "sipp"
if not SCENARIOS.is_dir():
    SCENARIOS = Path("/work/shared/sipp")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP right now (SIPp binds both for -t t1)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair found")


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str
    stats: dict[str, str] = field(default_factory=dict)
    errors: str = ""

    @property
    def successful(self) -> int:
        return int(self.stats.get("SuccessfulCall(C)", "0") or 0)

    @property
    def failed(self) -> int:
        return int(self.stats.get("FailedCall(C)", "0") or 0)

    def describe(self) -> str:
        return (
            f"sipp exit {self.returncode}: successful={self.successful} failed={self.failed}\n"
            f"stderr: {self.stderr[-2000:]}\nerrors: {self.errors[-3000:]}"
        )


def sipp_command(
    scenario: str,
    *,
    local_port: int,
    calls: int,
    remote: str | None = None,
    rate: float | None = None,
    transport: str = "u1",
    timeout: float = 60.0,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """``scenario`` is a built-in name (``uac``/``uas``) or a file in ``/work/shared/sipp``."""
    assert SIPP is not None
    args = [SIPP]
    if remote:
        args.append(remote)
    if scenario in ("uac", "uas"):
        args += ["-sn", scenario]
    else:
        args += ["-sf", str(SCENARIOS / scenario)]
    args += ["-i", "127.0.0.1", "-p", str(local_port), "-t", transport, "-m", str(calls)]
    if rate is not None:
        args += ["-r", str(rate)]
    args += ["-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin"]
    args += ["-trace_stat", "-stf", "stat.csv", "-trace_err", "-error_file", "errors.log"]
    return args + list(extra)


async def run_sipp(args: list[str], cwd: Path, *, limit: float = 120.0) -> SippResult:
    """Run SIPp to completion (bounded by ``limit`` seconds, then killed)."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    finally:
        if process.returncode is None:  # timed out, or the test failed and cancelled us: no orphan
            process.kill()
    assert process.returncode is not None
    return SippResult(
        process.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        read_stats(cwd / "stat.csv"),
        _read(cwd / "errors.log"),
    )


def read_stats(path: Path) -> dict[str, str]:
    """The last row of a ``-trace_stat`` CSV as a dict (``SuccessfulCall(C)``, ``FailedCall(C)`` …)."""
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def loop_names() -> list[str]:
    """Event loops to run the interop tests on: stock asyncio, and uvloop when installed."""
    from takeback.net.loop import uvloop_available

    return ["asyncio", "uvloop"] if uvloop_available() else ["asyncio"]


async def wait_until_listening(port: int, transport: str, *, attempts: int = 100) -> None:
    """Give a freshly started SIPp time to bind: TCP is probed with connects (bounded), UDP is given a
    short pause (a lost first INVITE would be retransmitted anyway)."""
    if transport != "tcp":
        await asyncio.sleep(0.3)
        return
    for _ in range(attempts):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on tcp port {port}")
