"""Media benchmark: N concurrent G.711 calls, RTP both ways on loopback, takeback vs a separate generator.

Not a test: it measures. For every event loop (uvloop, stock asyncio) and every N it starts two fresh
processes, each pinned to its own core when the machine has two:

* the **takeback** process: one :class:`MediaScheduler`, N :class:`MediaSession` (one UDP socket each) that
  play a looping prompt to the generator and receive its stream (symmetric RTP, loss counters);
* the **generator** process: a plain Python paced sender/receiver without asyncio, a few sockets, the N
  streams spread evenly over the 20 ms period (independent calls do not arrive in lockstep).

After a warm-up it measures, over a fixed window, in the takeback process:

* ``cpu_percent``: user+system CPU time of the takeback process / wall time (percent of ONE core);
* ``packets_per_s``: RTP packets sent + received by the takeback process per second;
* ``p50_jitter_ms``/``p99_jitter_ms``: send pacing jitter, |actual send time - ideal grid point| per packet,
  where a session's ideal grid is the 20 ms grid through its own median offset from the scheduler tick
  (a session always sends at the same position of the batched pass; a constant offset is not jitter);
  logged for every packet of up to 250 sessions spread evenly over the pass;
* ``p50_late_ms``/``p99_late_ms`` (extra): lateness against the scheduler's global grid itself, i.e. also
  counting the position in the batch;
* ``lost``: packets lost in both directions (sequence gaps seen by the generator and by the sessions);
  frames the scheduler skipped when overloaded are not "lost" on the wire (sequence numbers stay
  continuous, RFC 3550) and are counted separately as ``frames_not_sent``;
* ``run_queue_wait_percent`` (extra): time the takeback process was runnable but not running (from
  ``/proc/self/schedstat``) and ``machine_busy_percent`` (all CPUs, /proc/stat): on a shared machine these
  say whether other load distorted the step.

Other extras: ``p99_jitter_pass_start_ms``/``..._end_ms`` (sessions early/late in the pass),
``late_wakeups``/``max_wakeup_lateness_ms`` (scheduler wake-ups > 2 ms late), ``ticks_skipped``,
``gc_collections``, the generator's own CPU and counters.

Scheduling: ``--realtime 10`` runs both processes ``SCHED_RR`` like a production media server (``asterisk
-p``); ``--nice -10`` gives them their own autogroup at nice -10. Without either, on a machine shared with
other work, the numbers measure the neighbours as much as this code. Loopback note: a ``sendto`` on
loopback also runs the receiver's softirq (about 12 % of the takeback CPU at 1,000 calls, per ``perf``),
a cost that a real NIC moves to the receiving host.

Each step is bounded (``--warmup`` + ``--window`` seconds plus setup). Results go to
``bench/results/media.json``. Run: ``.venv/bin/python bench/media.py --realtime 10`` (``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import platform
import resource
import select
import socket
import statistics
import struct
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PTIME = 0.020
PAYLOAD = 160
HEADER = struct.Struct("!BBHII")
RESULTS = Path(__file__).resolve().parent / "results" / "media.json"
STREAMS_PER_GENERATOR_SOCKET = 50
PROBED_SESSIONS = 250  # sessions whose every send time is logged (the probe costs ~0.2 µs per packet)


# --- helpers --------------------------------------------------------------------------------------------


def pin_to_cpu(index: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})


def prioritise(nice: int, realtime: int) -> None:
    """Apply ``nice`` or a real-time priority to this benchmark process.

    ``realtime`` > 0 selects ``SCHED_RR`` at that priority, what media servers do in production (``asterisk
    -p``, ``freeswitch -rp``); the kernel's RT throttling still leaves other tasks 5 % of the core.

    Linux schedules *autogroups* (one per session) fairly against each other before niceness counts, so on
    a machine shared with other sessions a plain ``os.nice`` changes nothing. The process therefore starts
    its own session (a new autogroup holding only benchmark processes) and sets that group's nice level.
    """
    if realtime > 0:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(realtime))
        return
    if nice == 0:
        return
    os.setsid()
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists():
        autogroup.write_text(f"{nice}\n")
    os.nice(nice)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_queue_wait() -> float:
    """Seconds this process spent runnable but waiting for a CPU (/proc/self/schedstat, field 2)."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def wait_for_quiet(limit: float, threshold: float = 25.0) -> float:
    """Wait (at most ``limit`` seconds) until the machine is less than ``threshold`` % busy; return the last
    busy figure seen, so a step run on a loaded machine says so."""
    deadline = time.monotonic() + limit
    while True:
        busy0 = machine_busy()
        time.sleep(1.0)
        busy1 = machine_busy()
        busy = 100.0 * (busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1])
        if busy < threshold or time.monotonic() >= deadline:
            return round(busy, 1)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- the takeback side ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One measurement: which loop, how many calls, how long, and how the processes are scheduled."""

    loop: str
    calls: int
    warmup: float = 2.0
    window: float = 8.0
    nice: int = 0
    realtime: int = 0
    tick_receive: bool = True


def takeback_process(conn: Connection, step: Step) -> None:
    pin_to_cpu(0)
    prioritise(step.nice, step.realtime)
    raise_fd_limit(step.calls + 256)
    if step.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        conn.send(loop.run_until_complete(run_takeback(conn, step)))
    finally:
        loop.close()


async def run_takeback(conn: Connection, step: Step) -> dict[str, Any]:
    from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator, Prompt

    calls, warmup, window = step.calls, step.warmup, step.window
    scheduler = MediaScheduler(tick_receive=step.tick_receive)
    ports = PortAllocator("127.0.0.1", 20000, 20000 + 4 * calls + 1000, dscp=None)
    prompt = Prompt.tone(440.0, 1.0)
    sessions = [await MediaSession.open(scheduler, ports, inactivity_timeout=None) for _ in range(calls)]
    conn.send([session.local_port for session in sessions])
    remotes: list[tuple[str, int]] = conn.recv()
    for session, remote in zip(sessions, remotes, strict=True):
        session.update(MediaParams(codec="PCMU", payload_type=0, remote=remote, dtmf_payload_type=101))
        session.start()
    players = [asyncio.ensure_future(session.play(prompt, loop=True)) for session in sessions]
    await asyncio.sleep(warmup)
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000.0)

    gc.callbacks.append(gc_timer)

    probed = sessions[:: max(1, calls // PROBED_SESSIONS)]  # spread over every position of the pass
    logs = [array("d") for _ in probed]
    for session, log in zip(probed, logs, strict=True):
        session.transmitter.pacing_log = log
    sent0 = sum(s.stats.packets_sent for s in sessions)
    received0 = sum(s.stats.packets_received for s in sessions)
    cpu0, wall0, wait0, machine0 = cpu_seconds(), time.monotonic(), run_queue_wait(), machine_busy()
    skipped0, late0 = scheduler.ticks_skipped, scheduler.late_wakeups
    scheduler.max_lateness = 0.0
    await asyncio.sleep(window)
    cpu1, wall1, wait1, machine1 = cpu_seconds(), time.monotonic(), run_queue_wait(), machine_busy()
    gc.callbacks.remove(gc_timer)
    for session in sessions:
        session.transmitter.pacing_log = None
    sent = sum(s.stats.packets_sent for s in sessions) - sent0
    received = sum(s.stats.packets_received for s in sessions) - received0
    lost = sum(max(0, s.stats.packets_lost) for s in sessions)
    failures = sum(s.stats.send_failures for s in sessions)
    skipped = scheduler.ticks_skipped - skipped0
    late_wakeups = scheduler.late_wakeups - late0

    for player in players:
        player.cancel()
    for session in sessions:
        session.close()
    elapsed = wall1 - wall0
    jitter, late = pacing_figures(logs)
    quarter = max(1, len(logs) // 4)
    first_quarter, _ = pacing_figures(logs[:quarter])
    last_quarter, _ = pacing_figures(logs[-quarter:])
    return {
        "cpu_percent": round(100.0 * (cpu1 - cpu0) / elapsed, 1),
        "packets_per_s": round((sent + received) / elapsed),
        "sent_per_s": round(sent / elapsed),
        "frames_not_sent": max(0, round(calls * elapsed / 0.020) - sent),
        "received_per_s": round(received / elapsed),
        "p50_jitter_ms": round(percentile(jitter, 0.50), 3),
        "p99_jitter_ms": round(percentile(jitter, 0.99), 3),
        "p50_late_ms": round(percentile(late, 0.50), 3),
        "p99_late_ms": round(percentile(late, 0.99), 3),
        "max_jitter_ms": round(jitter[-1], 3) if jitter else None,
        "p99_jitter_pass_start_ms": round(percentile(first_quarter, 0.99), 3),
        "p99_jitter_pass_end_ms": round(percentile(last_quarter, 0.99), 3),
        "lost_by_takeback": lost,
        "send_failures": failures,
        "ticks_skipped": skipped,
        "late_wakeups": late_wakeups,
        "max_wakeup_lateness_ms": round(scheduler.max_lateness * 1000.0, 3),
        "gc_collections": len(gc_pauses),
        "gc_max_pause_ms": round(max(gc_pauses, default=0.0), 3),
        "run_queue_wait_percent": round(100.0 * (wait1 - wait0) / elapsed, 1),
        "machine_busy_percent": round(
            100.0 * (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1]), 1
        ),
    }


def pacing_figures(logs: list[array[float]]) -> tuple[list[float], list[float]]:
    """Per-packet |deviation| from each session's own 20 ms grid, and lateness vs the global grid (ms)."""
    jitter: list[float] = []
    late: list[float] = []
    for log in logs:
        if not log:
            continue
        phase = statistics.median(log)
        jitter.extend(abs(value - phase) * 1000.0 for value in log)
        late.extend(abs(value) * 1000.0 for value in log)
    jitter.sort()
    late.sort()
    return jitter, late


# --- the generator side -----------------------------------------------------------------------------------


class _Stream:
    __slots__ = ("base", "cycles", "max_seq", "received")

    def __init__(self) -> None:
        self.base = -1
        self.max_seq = 0
        self.cycles = 0
        self.received = 0

    def update(self, seq: int) -> None:
        if self.base < 0:
            self.base = self.max_seq = seq
        elif (seq - self.max_seq) & 0xFFFF < 0x8000:
            if seq < self.max_seq:
                self.cycles += 0x10000
            self.max_seq = seq
        self.received += 1

    @property
    def lost(self) -> int:
        if self.base < 0:
            return 0
        return max(0, self.cycles + self.max_seq - self.base + 1 - self.received)


def generator_process(conn: Connection, step: Step) -> None:
    pin_to_cpu(1)
    prioritise(step.nice, step.realtime)
    calls = step.calls
    raise_fd_limit(calls // STREAMS_PER_GENERATOR_SOCKET + 256)
    targets: list[int] = conn.recv()
    count = max(1, -(-calls // STREAMS_PER_GENERATOR_SOCKET))
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sockets.append(sock)
    conn.send([sockets[i % count].getsockname() for i in range(calls)])
    generator = Generator(sockets, targets)
    conn.send(generator.run(step.warmup + step.window + 1.0))


class Generator:
    """The far end of N calls: paced senders spread over the 20 ms period, and loss counting receivers."""

    GROUPS = 20  # one group of streams per millisecond of the period

    def __init__(self, sockets: list[socket.socket], targets: list[int]) -> None:
        calls = len(targets)
        payload = bytes((i * 37) & 0xFF for i in range(PAYLOAD))
        self.calls = calls
        self.packets = [bytearray(HEADER.size) + payload for _ in range(calls)]
        self.seqs = [0] * calls
        self.sendtos = [sockets[i % len(sockets)].sendto for i in range(calls)]
        self.addresses = [("127.0.0.1", port) for port in targets]
        self.streams = {port: _Stream() for port in targets}
        self.by_fd = {sock.fileno(): sock for sock in sockets}
        self.poller = select.epoll()
        for fd in self.by_fd:
            self.poller.register(fd, select.EPOLLIN)
        self.buffer = bytearray(2048)
        self.sent = self.send_errors = 0

    def send_group(self, group: int, period: int) -> None:
        timestamp = (period * 160) & 0xFFFFFFFF
        for call in range(group, self.calls, self.GROUPS):
            packet = self.packets[call]
            HEADER.pack_into(packet, 0, 0x80, 0, self.seqs[call], timestamp, call + 1)
            self.seqs[call] = (self.seqs[call] + 1) & 0xFFFF
            try:
                self.sendtos[call](packet, self.addresses[call])
                self.sent += 1
            except OSError:
                self.send_errors += 1

    def drain(self, timeout: float) -> None:
        buffer = self.buffer
        for fd, _ in self.poller.poll(max(0.0, timeout)):
            receive = self.by_fd[fd].recvfrom_into
            while True:
                try:
                    size, source = receive(buffer)
                except BlockingIOError:
                    break
                stream = self.streams.get(source[1])
                if stream is not None and size >= HEADER.size:
                    stream.update((buffer[2] << 8) | buffer[3])

    def run(self, duration: float) -> dict[str, Any]:
        cpu0 = cpu_seconds()
        start = time.monotonic()
        slot = 0  # index of the next 1 ms sending slot
        while (now := time.monotonic()) < start + duration:
            while start + slot * PTIME / self.GROUPS <= now:
                self.send_group(slot % self.GROUPS, slot // self.GROUPS)
                slot += 1
            self.drain(start + slot * PTIME / self.GROUPS - time.monotonic())
        elapsed = time.monotonic() - start
        return {
            "generator_cpu_percent": round(100.0 * (cpu_seconds() - cpu0) / elapsed, 1),
            "generator_sent": self.sent,
            "generator_send_errors": self.send_errors,
            "lost_by_generator": sum(stream.lost for stream in self.streams.values()),
            "generator_received": sum(stream.received for stream in self.streams.values()),
        }


# --- orchestration ----------------------------------------------------------------------------------------


def run_step(step: Step) -> dict[str, Any]:
    context = mp.get_context("spawn")
    ours, theirs = context.Pipe()
    gen_ours, gen_theirs = context.Pipe()
    takeback = context.Process(target=takeback_process, args=(theirs, step))
    generator = context.Process(target=generator_process, args=(gen_theirs, step))
    takeback.start()
    generator.start()
    try:
        children = [takeback, generator]
        ports = _receive(ours, 60.0, "takeback ports", children)
        gen_ours.send(ports)
        remotes = _receive(gen_ours, 60.0, "generator addresses", children)
        ours.send(remotes)
        ours_result = _receive(ours, step.warmup + step.window + 60.0, "takeback result", [takeback])
        generator_result = _receive(gen_ours, 30.0, "generator result", [generator])
    finally:
        for process in (takeback, generator):
            process.join(10.0)
            if process.is_alive():
                process.kill()
    result: dict[str, Any] = {"loop": step.loop, "calls": step.calls}
    result.update(ours_result)
    result.update(generator_result)
    result["lost"] = result["lost_by_takeback"] + result["lost_by_generator"]
    return result


def _receive(conn: Connection, timeout: float, what: str, processes: list[Any]) -> Any:
    """Wait for a message, failing fast if a child process died instead of answering."""
    deadline = time.monotonic() + timeout
    while not conn.poll(0.5):
        dead = [p for p in processes if not p.is_alive()]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(
                f"no {what}: " + ("a benchmark process died" if dead else f"{timeout} s passed")
            )
    return conn.recv()


def available_loops(requested: list[str]) -> list[str]:
    loops = []
    for kind in requested:
        if kind == "uvloop":
            try:
                import uvloop  # noqa: F401
            except ImportError:
                print("uvloop not installed: skipping the uvloop runs", file=sys.stderr)
                continue
        loops.append(kind)
    return loops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="100,500,1000,1500,2000", help="comma-separated call counts")
    parser.add_argument("--loops", default="uvloop,asyncio", help="comma-separated: uvloop, asyncio")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=8.0, help="seconds measured")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness increment for both benchmark processes (negative needs root): on a shared machine "
        "it approximates the dedicated core a media server would have",
    )
    parser.add_argument(
        "--realtime",
        type=int,
        default=0,
        metavar="PRIORITY",
        help="run both benchmark processes SCHED_RR at this priority (needs root), as media servers do",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each step wait up to SECONDS for the machine to be less than 25%% busy",
    )
    parser.add_argument(
        "--loop-readers",
        action="store_true",
        help="receive through the event loop's readers instead of the scheduler's tick-batched epoll",
    )
    args = parser.parse_args(argv)
    results = []
    for loop_kind in available_loops(args.loops.split(",")):
        for calls in (int(n) for n in args.calls.split(",")):
            step = Step(
                loop_kind, calls, args.warmup, args.window, args.nice, args.realtime, not args.loop_readers
            )
            busy_before = wait_for_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
            result = run_step(step)
            result["machine_busy_before_percent"] = busy_before
            results.append(result)
            report(result, print)
    document = {
        "benchmark": "media",
        "description": "N G.711 calls, RTP both ways on loopback; takeback process vs separate generator",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "window_s": args.window,
        "warmup_s": args.warmup,
        "nice": args.nice,
        "realtime_priority": args.realtime,
        "receive": "event loop readers" if args.loop_readers else "tick-batched epoll",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def report(result: dict[str, Any], out: Callable[[str], None]) -> None:
    out(
        f"{result['loop']:8s} {result['calls']:5d} calls: cpu {result['cpu_percent']:5.1f}%  "
        f"{result['packets_per_s']:7d} pkt/s  jitter p50 {result['p50_jitter_ms']:.3f} "
        f"p99 {result['p99_jitter_ms']:.3f} ms  late p99 {result['p99_late_ms']:.3f} ms  "
        f"lost {result['lost']}  (generator cpu {result['generator_cpu_percent']}%, "
        f"run-queue wait {result['run_queue_wait_percent']}%, machine busy {result['machine_busy_percent']}%)"
    )


if __name__ == "__main__":
    sys.exit(main())
