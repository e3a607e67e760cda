"""A minimal takeback UAS on the asyncio runtime: the peer of the SIPp interop tests and of bench/cps.py.

Modes:
  ``answer``  answer every INVITE 200 with SDP; BYE is answered by the core (SIPp ``-sn uac``).
  ``refer``   answer, wait for the ACK, then REFER the caller back (Genesys take-back:
              ``genesys_uac_refer.xml``) with the UUI escaped in the Refer-To URI, and wait for the outcome.

Run as a script (``python tests/interop/minimal_uas.py --listen udp:127.0.0.1:5080``): it prints
``READY <transport> <host> <port>`` per listening point, serves until SIGTERM/SIGINT or ``--duration``,
then prints one JSON line of counters and outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from takeback.net import loop as loops
from takeback.net.calls import Call
from takeback.net.useragent import UserAgent

#: Refer-To of the take-back: UUI as a URI header, ';' and '=' escaped (RFC 3261 §19.1.1, GENESYS.md).
REFER_TO = "<sip:+33456456456@localhost?User-to-User=00FA080019001A0A0B0C0D0E0F%3Bencoding%3Dhex>"


def answer_sdp(host: str, port: int = 40000) -> bytes:
    """A fixed PCMU/telephone-event answer (no media flows in these tests)."""
    family = "IP6" if ":" in host else "IP4"
    return (
        f"v=0\r\no=takeback 1 1 IN {family} {host}\r\ns=-\r\nc=IN {family} {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    ).encode()


class MinimalUas:
    """Installs the call handler on a started :class:`UserAgent` and keeps outcome statistics."""

    def __init__(self, ua: UserAgent, mode: str = "answer", *, refer_to: str = REFER_TO) -> None:
        if mode not in ("answer", "refer"):
            raise ValueError(f"unknown mode {mode!r}")
        self.ua = ua
        self.mode = mode
        self.refer_to = refer_to
        self.sdp = answer_sdp(ua.endpoints[0].host)
        self.outcomes: Counter[str] = Counter()
        self.calls = 0
        self.cpu_at_start = _cpu_seconds()
        ua.on_call = self.on_call_answer if mode == "answer" else self.on_call_refer

    def on_call_answer(self, call: Call) -> None:
        """Synchronous fast path: no task per call."""
        self.calls += 1
        call.respond(200, body=self.sdp, content_type="application/sdp")

    async def on_call_refer(self, call: Call) -> None:
        self.calls += 1
        await call.answer(200, self.sdp, wait_ack=True)
        outcome = await call.refer(self.refer_to, timeout=40.0)
        self.outcomes["refer-ok" if outcome.success else f"refer-failed-{outcome.status}"] += 1

    def stats(self) -> dict[str, object]:
        """Outcomes, counters, and the CPU spent since the UAS was ready (start-up excluded)."""
        return {
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "counters": self.ua.counters.snapshot(),
            "cpu_seconds": round(_cpu_seconds() - self.cpu_at_start, 3),
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(
    listen: list[str], mode: str, duration: float | None, udp_buffer: int | None = None
) -> dict[str, object]:
    options = {} if udp_buffer is None else {"udp_buffer_bytes": udp_buffer}
    async with UserAgent(listen, **options) as ua:
        uas = MinimalUas(ua, mode)
        for endpoint in ua.endpoints:
            print(f"READY {endpoint.transport} {endpoint.host} {endpoint.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
        return uas.stats()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", action="append", default=[], help="udp:HOST:PORT (repeatable)")
    parser.add_argument("--mode", choices=("answer", "refer"), default="answer")
    parser.add_argument("--loop", choices=loops.LOOP_NAMES, default="auto")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run to FILE")
    parser.add_argument("--no-gc-tuning", action="store_true", help="keep the default GC thresholds")
    parser.add_argument("--udp-buffer", type=int, default=None, help="socket buffer bytes (0: OS default)")
    args = parser.parse_args(argv)
    main_coro = serve(args.listen or ["udp:127.0.0.1:5080"], args.mode, args.duration, args.udp_buffer)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        stats = profiler.runcall(loops.run, main_coro, loop=args.loop, gc_tuning=not args.no_gc_tuning)
        profiler.dump_stats(args.profile)
    else:
        stats = loops.run(main_coro, loop=args.loop, gc_tuning=not args.no_gc_tuning)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
