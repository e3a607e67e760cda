"""Several device processes on one set of ports: ``workers: N`` in device.yaml, or ``--workers N``.

Why: one Python process is one CPU. A device on a bigger host — or behind a region whose several Genesys
SIP addresses (GENESYS.md §2.2) all send to it — can use every core by running N copies of the device
that share the listening ports with SO_REUSEPORT.

Why that is safe for SIP: the kernel hands each UDP datagram (and each new TCP/TLS connection) to one
socket of the group by a hash of the 4-tuple, so everything one peer address:port sends — the INVITE, its
retransmissions, the ACK, the NOTIFY and the responses to our REFER and BYE — reaches the same worker, the
one holding the call. The spread is therefore per peer address:port: traffic from a single Genesys
address stays on one worker, traffic from several addresses (or several TCP connections) spreads.

What the workers share: the records database (SQLite WAL takes concurrent writers), the Digest nonce key
(a nonce one worker issued verifies in another), the configuration. What each has alone: its RTP port
slice (the range is cut in N), its ``max_calls`` and load shedding, its counters, its HTTP status/metrics
listener: worker I on the configured port + 1 + I (each port free when the port is 0; the supervisor's
listening line lists them), showing its own counters. The supervisor serves the configured port itself
and answers for the set (:mod:`.aggregate`: metrics labelled per worker, health of all, the shared call list).

Why the supervisor stops everything when a worker dies instead of restarting it: a socket leaving or
joining the SO_REUSEPORT group re-maps the hash, so calls held by the *other* workers would start
receiving their in-dialog requests in the wrong process. Exiting non-zero lets the service manager
restart the whole set cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass, field

from takeback.net import parse_listen_spec

from .aggregate import WorkerEndpoint, supervisor_http, worker_http_port
from .http import StatusHttpServer

__all__ = ["DIGEST_KEY_ENV", "WorkerSlot", "parse_worker_slot", "pin_ports", "run_workers"]

logger = logging.getLogger("takeback.device.workers")

#: Environment variable carrying the shared Digest nonce key (hex) from the supervisor to its workers.
DIGEST_KEY_ENV = "TAKEBACK_DEVICE_DIGEST_KEY"
_STARTUP_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_HTTP_URL = re.compile(r"http://[^\s;,]+")
_LISTENING = "takeback device: listening on "
_DRAINED = "takeback device: drained"


@dataclass(frozen=True)
class WorkerSlot:
    """Worker ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"worker {self.index} of {self.count} does not exist")

    def port_slice(self, low: int, high: int) -> tuple[int, int]:
        """This worker's share of the RTP port range ``low..high``: N disjoint slices, so that two
        workers never race for the same port (the last slice takes the remainder)."""
        span = (high - low + 1) // self.count
        if span < 2:
            raise ValueError(f"media.port_range {low}-{high} is too small for {self.count} workers")
        start = low + self.index * span
        end = high if self.index == self.count - 1 else start + span - 1
        return start, end

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_worker_slot(text: str) -> WorkerSlot:
    """``"I/N"`` → :class:`WorkerSlot` (the supervisor passes it to each worker's command line)."""
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise ValueError(f"{text!r} is not I/N (e.g. 0/2)")
    return WorkerSlot(int(index), int(count))


def pin_ports(listen: list[str]) -> list[str]:
    """Listeners on port 0 get a concrete free port first: every worker must bind the same one."""
    pinned = []
    for text in listen:
        spec = parse_listen_spec(text)
        if spec.port == 0:
            kind = socket.SOCK_DGRAM if spec.transport == "UDP" else socket.SOCK_STREAM
            family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
            with socket.socket(family, kind) as probe:
                probe.bind((spec.host, 0))
                spec = parse_listen_spec(
                    f"{spec.transport.lower()}:{_hostport(spec.host, probe.getsockname()[1])}"
                )
        pinned.append(str(spec))
    return pinned


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class _Worker:
    slot: WorkerSlot
    process: asyncio.subprocess.Process
    summary: str = ""


async def run_workers(
    count: int, worker_args: list[str], listen: list[str], http: tuple[str, int] | None, *, digest_key: bool
) -> int:
    """Start ``count`` workers (``takeback device <worker_args> --listen … --worker I/N``), wait for all to
    listen, forward SIGTERM/SIGINT to them (from the start: a signal during start-up stops those already
    running), and return once all have exited (exit code: the worst one; 1 when a worker died on its own,
    2 when one failed to start)."""
    env = dict(os.environ)
    if digest_key:
        env[DIGEST_KEY_ENV] = os.urandom(32).hex()
    listen_args = [arg for spec in listen for arg in ("--listen", spec)]
    group = _Group()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, group.forward, signum)
    try:
        for index in range(count):
            slot = WorkerSlot(index, count)
            argv = [sys.executable, "-m", "takeback.cli", "device", *worker_args, *listen_args]
            http_arg = "off" if http is None else _hostport(http[0], worker_http_port(http[1], index))
            argv += ["--http", http_arg, "--worker", str(slot)]
            process = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                preexec_fn=_drain_when_orphaned,
            )  # fmt: skip
            group.workers.append(_Worker(slot, process))
        banners = await _wait_listening(group.workers)
        if banners is None:
            await _stop(group.workers, signal.SIGTERM)
            return 0 if group.stopping else 2
        aggregate = None if http is None else supervisor_http(http[0], http[1], _endpoints(banners))
        if aggregate is not None:
            try:
                await aggregate.start()
            except OSError as exc:
                where = _hostport(aggregate.host, aggregate.port)
                logger.error("cannot open the http listener %s: %s", where, exc.strerror or exc)
                await _stop(group.workers, signal.SIGTERM)
                return 2
        print(_banner(banners, aggregate), flush=True)
        try:
            return await _supervise(group)
        finally:
            if aggregate is not None:
                await aggregate.close()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _endpoints(banners: list[str]) -> list[WorkerEndpoint]:
    """Each worker's HTTP listener, from the URL its listening line shows."""
    endpoints = []
    for index, line in enumerate(banners):
        match = _HTTP_URL.search(line)
        if match is not None:
            host, _, port = match.group(0).removeprefix("http://").rpartition(":")
            endpoints.append(WorkerEndpoint(index, host.strip("[]"), int(port)))
    return endpoints


def _banner(banners: list[str], aggregate: StatusHttpServer | None) -> str:
    """Worker 0's listening line without its own HTTP URL, then the set's (``all``) and every worker's."""
    urls = [match.group(0) for line in banners if (match := _HTTP_URL.search(line)) is not None]
    first = _HTTP_URL.sub("", banners[0].rstrip()).replace(", ;", ";")
    if aggregate is None:
        return f"{first} ({len(banners)} workers)"
    listeners = [f"all http://{_hostport(aggregate.host, aggregate.port)}"]
    listeners += [f"w{i} {url}" for i, url in enumerate(urls)]
    return f"{first} ({len(banners)} workers; http: {', '.join(listeners)})"


def _drain_when_orphaned() -> None:
    """In the worker, before exec: SIGTERM (drain) when the supervisor dies, even by SIGKILL — no worker is
    left holding the port on its own (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Group:
    workers: list[_Worker] = field(default_factory=list)
    stopping: bool = False

    def forward(self, signum: int) -> None:
        self.stopping = True
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signum)


async def _wait_listening(workers: list[_Worker]) -> list[str] | None:
    """Each worker's listening line, or None when one failed to start (its stderr already explained)."""
    banners = []
    for worker in workers:
        line = await _read_until(worker, _LISTENING, _STARTUP_SECONDS)
        if line is None:
            logger.error("worker %s did not start", worker.slot)
            return None
        banners.append(line)
    return banners


async def _read_until(worker: _Worker, prefix: str, timeout: float) -> str | None:
    assert worker.process.stdout is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while line := (await worker.process.stdout.readline()).decode(errors="replace"):
                if line.startswith(prefix):
                    return line
    return None


async def _supervise(group: _Group) -> int:
    waits = {asyncio.ensure_future(_finish(worker)): worker for worker in group.workers}
    died = False
    pending = set(waits)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if not group.stopping:  # a worker exited on its own: the hash of the group changes, stop them all
            died = True
            for task in done:
                logger.error("worker %s exited (%s); stopping the others", waits[task].slot, task.result())
            group.forward(signal.SIGTERM)
    summary = ", ".join(f"worker {w.slot}: {w.summary or 'no summary'}" for w in group.workers)
    print(f"takeback device: {summary}", flush=True)
    print("takeback device: drained, bye", flush=True)
    codes = [w.process.returncode or 0 for w in group.workers]
    return max(1 if died else 0, *codes)


async def _finish(worker: _Worker) -> int:
    """Read the worker's output to its end (its drain summary), then its exit code."""
    assert worker.process.stdout is not None
    while line := (await worker.process.stdout.readline()).decode(errors="replace"):
        if line.startswith(_DRAINED):
            worker.summary = line[len(_DRAINED) :].strip(" ,:\n") or "drained"
    return await worker.process.wait()


async def _stop(workers: list[_Worker], signum: int) -> None:
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signum)
    for worker in workers:
        try:
            await asyncio.wait_for(worker.process.wait(), 30)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
