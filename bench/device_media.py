"""Concurrent calls with media through the whole device, built-in flow (issue #5 §5, last item).

SIPp plays Genesys (``bench/scenarios/genesys_uac_dtmf.xml``: INVITE with x-inin-cnv + UUI + the trunk's
token header) against ``takeback device`` in its own process, configured with **no** ``app:`` so the
built-in default flow runs: answer, speak the greeting (espeak-ng, barge-in), collect 4 digits (10 s
first-digit and inter-digit timeout), take back with UUI ``"{conversation_id}|{digits}"``. RTP is on both
ways: the device streams the greeting and silence (``send_silence: true``) to SIPp's media port; after
``--listen-ms`` SIPp plays the RFC 4733 pcaps for 1, 2, 3, 4 (``play_pcap_audio``, sent to the c=/m= of the
device's SDP answer). SIPp's regex action fails the call unless the REFER's Refer-To is exactly what
``takeback.uui.refer_to`` makes of ``<conversationId>|1234`` (the hex of ``|1234`` is ``7c31323334``);
then 202, NOTIFY 200, BYE.

The figure: each step holds ``N`` simultaneous calls (SIPp ``-l N``, ``-r ceil(N/ramp)`` so the level is
reached in about ``--ramp`` s, ``-m 3N`` calls of ``listen + ~1`` s each, so SIPp holds ``N`` for about three
call lengths); a step passes when SIPp exits 0 with every call successful (the right digits came back
in the Refer-To) and the device's SQLite has every call ``taken-back`` with ``uui_out`` ending ``|1234``.
``max_concurrent_calls_zero_fail`` is the highest passing ``N`` of the ladder, which stops at the first
failure. Each step also records: the peak overlap of answered calls seen by the device (``answer_at`` ..
``end_at`` in its records) and by SIPp (``CurrentCall``); the calls that were not taken back with the
digits, by outcome / INVITE status / end reason / detail (under overload the device sheds INVITEs with
503); the device process CPU% (``/proc/PID/stat`` utime+stime, mean over the step and the busiest 1 s;
100 % = one core), SIPp's CPU% (its rusage) and the machine's busy CPU% (``/proc/stat``). SIPp shares
the 2 cores with the device and plays every digit in a thread of its own, so the machine saturates
before the device does; a busy neighbour lowers the figure, hence the load averages in the result.
Runs here (2-core machine, uvloop, 6 s greeting): 600 concurrent calls with 0 failures in one run (a
neighbour's pytest took ~1 core; at 700 the device's overload guard answered 503 to a third of the
INVITEs), 400 in the next (quiet machine; device 46 % of a core on average, 67 % in its busiest second):
at 500 the device took all 1500 calls back with ``|1234`` but 2 SIPp calls failed because a REFER came
again after SIPp's 202 (a retransmission, probably the device's loop late past T1 with the 202 queued; a
real UA absorbs it, this strict scenario aborts the call, as the shared README warns). So the figure is
400-600 here and noisy at the edge; ``device_other_calls`` and ``sipp_errors`` say which limit was hit.

Every step is bounded (SIPp ``-timeout`` ``3 * call length + ramp + 25`` s, an outer subprocess timeout
30 s later, i.e. under 90 s; a step takes ~26 s); the default ladder (50 .. 1000) takes under 6 min and
stops at its first failing step. The result goes INTO ``bench/results/device.json`` as
``results.takeback_device_media`` (every other key is kept). Loopback only.

    .venv/bin/python bench/device_media.py                                   # 50..1000 -> device.json
    .venv/bin/python bench/device_media.py --levels 20 --listen-ms 1000 --out /tmp/x.json   # 10 s check
    .venv/bin/python bench/device_media.py --loop cli                        # plain asyncio loop
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for entry in (ROOT, ROOT / "src", BENCH, ROOT / "tests" / "interop"):
    sys.path.insert(0, str(entry))

from sipp_support import free_port  # noqa: E402
from tests.device.test_sipp import TOKEN_LINE  # noqa: E402  (the trunk's token header, one definition)

from cps import SIPP, run_sipp_step, stop_server, summarize  # noqa: E402
from device import SERVICE, start_device  # noqa: E402
from takeback.uui import refer_to  # noqa: E402

DEFAULT_LEVELS = (50, 100, 200, 300, 400, 500, 600, 700, 800, 1000)
SCENARIO = BENCH / "scenarios" / "genesys_uac_dtmf.xml"
CONVERSATION_PREFIX = "5ee2f000-0000-4000-8000-"  # the scenario's x-inin-cnv, then [pid][call_number]
CALLS_PER_LEVEL = 3  # each step places 3N calls, so SIPp holds N for about three call lengths
DIGITS = "1234"  # dtmf_2833_1..4.pcap
TAKE_BACK_NUMBER = "+33456456456"  # the built-in take_back.number (config defaults)
#: The device under test: no ``app`` key, so DeviceConfig's default flow runs; media settings as shipped
#: except the TTS cache (one per run, so only the first step pays for espeak-ng).
DEVICE_YAML = """\
listen: [udp:127.0.0.1:0]
records: {{path: {records}}}
media: {{tts_cache: {tts}, send_silence: true}}
http: null
access:
  ip_acl: [127.0.0.0/8]
  token: {{header: CUSTOM-DEVICE-TOKEN, value: "1234567"}}
  dnis: {{e164: [{service}]}}
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")


def refer_to_regex() -> str:
    """The whole Refer-To SIPp must see: ``refer_to(number, uui=cnv|1234)`` with the per-call digits of
    the conversationId (``[pid][call_number]``) left variable (hex ``3X`` each). Checked against the real
    encoder so a change in it cannot make this bench pass on a wrong value."""
    sample = refer_to(TAKE_BACK_NUMBER, uui=f"{CONVERSATION_PREFIX}42|{DIGITS}")
    variable = b"42".hex()
    head, tail = sample.split(variable, 1)
    pattern = _ere_escape(head) + "(3[0-9])+" + _ere_escape(tail)
    assert re.fullmatch(pattern, sample) and tail.startswith(f"|{DIGITS}".encode().hex())
    return pattern


def _ere_escape(text: str) -> str:
    """Literal text for SIPp's POSIX extended regex (``re.escape`` also escapes ``-``, undefined in ERE)."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def write_scenario(workdir: Path) -> Path:
    """The scenario with its two placeholders filled (the header comment names them too)."""
    text = SCENARIO.read_text()
    token, regex = "\n@TOKEN@\n", 'regexp="@REFER_TO_REGEX@"'
    assert text.count(token) == 1 and text.count(regex) == 1
    escaped = refer_to_regex().replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    path = workdir / SCENARIO.name
    path.write_text(text.replace(token, f"\n{TOKEN_LINE}\n").replace(regex, f'regexp="{escaped}"'))
    return path


def write_device_yaml(workdir: Path, tts_cache: Path) -> Path:
    path = workdir / "device.yaml"
    path.write_text(DEVICE_YAML.format(records=workdir / "records.sqlite", tts=tts_cache, service=SERVICE))
    return path


class CpuSampler(threading.Thread):
    """Samples a process's utime+stime and the machine's busy time every second (bounded by ``stop``)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, float, float]] = []  # (wall, process s, busy, total)
        self.halt = threading.Event()

    def _sample(self) -> None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (stat fields 14, 15)
            ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, IndexError, ValueError):
            return
        idle = ticks[3] + ticks[4]  # idle + iowait
        self.samples.append((time.monotonic(), cpu, sum(ticks) - idle, sum(ticks)))

    def run(self) -> None:
        self._sample()
        while not self.halt.wait(1.0):
            self._sample()

    def stop(self) -> dict[str, Any]:
        self.halt.set()
        self.join(timeout=5)
        self._sample()
        s = self.samples
        if len(s) < 2:
            return {}
        spans = [(b[1] - a[1]) / (b[0] - a[0]) * 100 for a, b in itertools.pairwise(s) if b[0] > a[0]]
        busy = (s[-1][2] - s[0][2]) / max(s[-1][3] - s[0][3], 1) * 100
        return {
            "device_cpu_percent_mean": round((s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0]) * 100, 1),
            "device_cpu_percent_peak_1s": round(max(spans, default=0.0), 1),
            "device_cpu_seconds": round(s[-1][1] - s[0][1], 2),
            "machine_busy_percent_mean": round(busy, 1),
        }


def device_evidence(records: Path) -> dict[str, Any]:
    """From the device's SQLite: outcomes, calls taken back with ``|1234``, peak overlap of answered calls."""
    if not records.exists():
        return {
            "device_outcomes": {},
            "taken_back_with_digits": 0,
            "device_peak_concurrent": 0,
            "device_other_calls": {},
        }
    with sqlite3.connect(records) as db:
        outcomes = dict(
            db.execute("SELECT coalesce(outcome, 'none'), count(*) FROM calls GROUP BY 1").fetchall()
        )
        (with_digits,) = db.execute(
            "SELECT count(*) FROM calls WHERE outcome = 'taken-back' AND uui_out LIKE ?", (f"%|{DIGITS}",)
        ).fetchone()
        spans = db.execute("SELECT answer_at, end_at FROM calls WHERE answer_at IS NOT NULL").fetchall()
        others = db.execute(
            "SELECT coalesce(outcome, 'none') || ' ' || coalesce(invite_status, '-') || ' '"
            " || coalesce(end_reason, '-') || ' ' || coalesce(detail, '-'), count(*) FROM calls"
            " WHERE outcome IS NOT 'taken-back' OR uui_out NOT LIKE ? GROUP BY 1",
            (f"%|{DIGITS}",),
        ).fetchall()
    edges = sorted([(a, 1) for a, _ in spans] + [(e, -1) for _, e in spans if e is not None])
    peak = current = 0
    for _, step in edges:  # ends sort before starts at the same instant (-1 < 1)
        current += step
        peak = max(peak, current)
    return {
        "device_outcomes": outcomes,
        "taken_back_with_digits": with_digits,
        "device_peak_concurrent": peak,
        "device_other_calls": dict(others),  # "outcome invite_status end_reason detail": count
    }


def genesys_uac(
    workdir: Path, port: int, level: int, calls: int, listen_ms: int, ramp: float
) -> dict[str, Any]:
    """SIPp holding ``level`` calls: rate reaching the limit within ``ramp`` s; bounded twice."""
    call_seconds = listen_ms / 1000 + 1.0  # listen, 3 x 250 ms of digits, REFER/NOTIFY/BYE
    rate = max(1, math.ceil(level / ramp))
    limit = calls / level * call_seconds + ramp + 25
    args = [
        SIPP, f"127.0.0.1:{port}", "-sf", str(write_scenario(workdir)), "-s", SERVICE,
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
        "-r", str(rate), "-l", str(level), "-m", str(calls), "-d", str(listen_ms),
        "-timeout", f"{int(limit)}s", "-timeout_error", "-nostdin",
        "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_err", "-buff_size", str(4 * 1024 * 1024),
    ]  # fmt: skip
    before = os.times()
    step = run_sipp_step(args, workdir, level, calls, limit)
    after = os.times()  # SIPp is the only child reaped meanwhile: its CPU, for comparison with the device's
    sipp_cpu = after.children_user + after.children_system - before.children_user - before.children_system
    step["sipp_cpu_percent_mean"] = round(sipp_cpu / max(step["seconds"], 0.001) * 100, 1)
    step["call_rate"] = rate
    step["sipp_peak_concurrent"] = _peak_current_calls(workdir / "stat.csv")
    step["sipp_errors"] = _first_errors(workdir)
    return step


def _peak_current_calls(stat: Path) -> int:
    """The highest ``CurrentCall`` of SIPp's per-second ``-trace_stat`` rows."""
    if not stat.exists():
        return 0
    rows = list(csv.DictReader(stat.read_text(errors="replace").splitlines(), delimiter=";"))
    return max((int(row.get("CurrentCall") or 0) for row in rows), default=0)


def _first_errors(workdir: Path, lines: int = 3) -> list[str]:
    """The first lines of SIPp's ``-trace_err`` log (why calls failed), if any."""
    found = sorted(workdir.glob("*_errors.log"))
    if not found:
        return []
    text = found[0].read_text(errors="replace").splitlines()
    return [line.strip()[:300] for line in text if line.strip()][:lines]


def run_step(level: int, listen_ms: int, ramp: float, loop: str, tts_cache: Path) -> dict[str, Any]:
    calls = CALLS_PER_LEVEL * level
    with tempfile.TemporaryDirectory(prefix=f"device-media-{level}-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        server = start_device(workdir, port, False, loop, config=write_device_yaml(workdir, tts_cache))
        sampler = CpuSampler(server.pid)
        sampler.start()
        try:
            step = genesys_uac(workdir, port, level, calls, listen_ms, ramp)
        finally:
            step_cpu = sampler.stop()
            stop_server(server)
        step.update(step_cpu)
        step.update(device_evidence(workdir / "records.sqlite"))
    step["concurrent_calls"] = level
    ok = step["exit"] == 0 and step["failed"] == 0 and step["successful"] == calls
    step["ok"] = ok and step["taken_back_with_digits"] == calls
    step["clean"] = step["ok"] and step["retransmissions"] <= 0.01 * calls * 8
    return step


def ladder(levels: tuple[int, ...], listen_ms: int, ramp: float, loop: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="device-media-tts-") as tts:
        for level in levels:
            step = run_step(level, listen_ms, ramp, loop, Path(tts))
            steps.append(step)
            print(f"{level:5d} concurrent: {'ok' if step['ok'] else 'FAIL'} {step}", flush=True)
            if not step["ok"]:
                break
    summary = summarize(steps)  # its "rate" is this bench's concurrency level (``run_sipp_step``'s key)
    for step in steps:
        step.pop("rate")
    return {
        "max_concurrent_calls_zero_fail": summary["max_cps_zero_fail"],
        "max_concurrent_calls_clean": summary["max_cps_clean"],
        "steps": steps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default=",".join(map(str, DEFAULT_LEVELS)), help="concurrent calls")
    parser.add_argument("--listen-ms", type=int, default=6000, help="greeting heard before keying 1234")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to reach the concurrency level")
    loop_help = "auto: uvloop if installed; cli: `python -m takeback.cli` as is (asyncio)"
    parser.add_argument("--loop", choices=("auto", "cli"), default="auto", help=loop_help)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "device.json"))
    args = parser.parse_args()
    levels = tuple(int(n) for n in args.levels.split(","))
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    result = ladder(levels, args.listen_ms, args.ramp, args.loop)
    result.update({
        "flow": "built-in default",
        "loop": "uvloop" if args.loop == "auto" else "asyncio",
        "levels": list(levels),
        "criteria": "step ok: SIPp exit 0, all 3N calls successful (Refer-To carries hex of "
        f"'<conversationId>|{DIGITS}'), and the device records 3N calls taken-back with uui_out "
        f"'...|{DIGITS}'; the ladder stops at the first failing step",
        "call": f"INVITE(x-inin-cnv, UUI, token, SDP) 200 ACK; {args.listen_ms} ms of greeting (RTP, "
        "send_silence); RFC 4733 digits 1,2,3,4 (SIPp play_pcap_audio, 250 ms apart); REFER 202, NOTIFY 200, "
        "BYE 200",
        "sipp": f"-l N -r ceil(N/{args.ramp}) -m 3N -d {args.listen_ms}",
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })  # fmt: skip
    out = Path(args.out)
    report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    report.setdefault("results", {})["takeback_device_media"] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
