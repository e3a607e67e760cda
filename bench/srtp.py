"""SRTP benchmark: our pure-Python RFC 3711 transform vs. libsrtp (through pylibsrtp), same run, same packets.

One operation protects (or unprotects) one 172-byte PCMU packet: a 12-byte RTP header and 160 octets of
G.711, what every 20 ms call sends in each direction, with AES_CM_128_HMAC_SHA1_80 (the suite Genesys
offers, GENESYS.md §7). Packets carry consecutive sequence numbers from a random start, so the sequence
wraps and the ROC moves during the run.

Timing: the best of many short windows (``--seconds`` per figure, spread over ``--rounds`` interleaved
rounds), in thread CPU time, like ``bench/parser.py``. Every window gets fresh contexts (not timed), so
neither engine ever sees a replay. ``ratio`` is our time per protect+unprotect over libsrtp's: above 1,
libsrtp is that many times faster. Results go to ``bench/results/srtp.json``.

Run: ``.venv/bin/python bench/srtp.py [--seconds 2] [--suite AES_CM_128_HMAC_SHA1_32]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import struct
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from takeback.rtp.srtp import SrtpContext

RESULTS = Path(__file__).parent / "results" / "srtp.json"
Transform = Callable[[bytes], bytes]
Factory = Callable[[str, bytes], tuple[Transform, Transform]]  # -> (protect, unprotect)


def corpus(count: int, seed: int = 3711) -> list[bytes]:
    """``count`` PCMU packets with consecutive sequence numbers and random payloads."""
    rng = random.Random(seed)
    start, timestamp, ssrc = rng.randrange(65536), rng.randrange(1 << 32), rng.randrange(1 << 32)
    return [
        struct.pack("!BBHII", 0x80, 0, (start + i) & 0xFFFF, (timestamp + 160 * i) & 0xFFFFFFFF, ssrc)
        + rng.randbytes(160)
        for i in range(count)
    ]


def takeback_engine(suite: str, master: bytes) -> tuple[Transform, Transform]:
    return SrtpContext(suite, master).protect, SrtpContext(suite, master).unprotect


def pylibsrtp_engine(suite: str, master: bytes) -> tuple[Transform, Transform]:
    import pylibsrtp

    policy = pylibsrtp.Policy
    profile = {
        "AES_CM_128_HMAC_SHA1_80": policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        "AES_CM_128_HMAC_SHA1_32": policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    }[suite]
    outbound = pylibsrtp.Session(policy(key=master, ssrc_type=policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    inbound = pylibsrtp.Session(policy(key=master, ssrc_type=policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    return outbound.protect, inbound.unprotect


ENGINES: dict[str, Factory] = {"takeback": takeback_engine, "pylibsrtp": pylibsrtp_engine}


def best_windows(
    factory: Factory, suite: str, packets: list[bytes], seconds: float, window: int
) -> tuple[float, float]:
    """Seconds per protect and per unprotect in the least disturbed window of each."""
    clock = time.thread_time  # CPU time of this thread: time spent descheduled does not count
    best_protect = best_unprotect = float("inf")
    deadline = time.perf_counter() + seconds
    start = 0
    rounds = 0
    while time.perf_counter() < deadline and rounds < 100_000:
        rounds += 1
        protect, unprotect = factory(suite, os.urandom(30))
        chunk = packets[start : start + window]
        start = (start + window) % (len(packets) - window)
        t0 = clock()
        protected = [protect(packet) for packet in chunk]
        t1 = clock()
        for packet in protected:
            unprotect(packet)
        t2 = clock()
        best_protect = min(best_protect, (t1 - t0) / len(chunk))
        best_unprotect = min(best_unprotect, (t2 - t1) / len(chunk))
    return best_protect, best_unprotect


def check_interop(suite: str, packets: list[bytes]) -> bool:
    """Both engines produce the same bytes and read each other's packets (else the race is void)."""
    master = os.urandom(30)
    ours_protect, ours_unprotect = takeback_engine(suite, master)
    lib_protect, lib_unprotect = pylibsrtp_engine(suite, master)
    for packet in packets[:200]:
        protected = ours_protect(packet)
        if protected != lib_protect(packet) or lib_unprotect(protected) != packet:
            return False
        if ours_unprotect(protected) != packet:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over both engines")
    parser.add_argument("--window", type=int, default=500, help="packets per timed window")
    parser.add_argument("--suite", default="AES_CM_128_HMAC_SHA1_80")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    packets = corpus(max(20_000, args.window * 4))
    load_before = os.getloadavg()
    engines = dict(ENGINES)
    results: dict[str, Any] = {}
    try:
        import pylibsrtp  # noqa: F401
    except ImportError as exc:
        engines.pop("pylibsrtp")
        results["pylibsrtp"] = {"error": f"not installed: {exc}"}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(max(1, args.rounds)):
        for name, factory in engines.items():
            protect, unprotect = best_windows(
                factory, args.suite, packets, args.seconds / args.rounds, args.window
            )
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], protect), min(old[1], unprotect))
    for name, (protect, unprotect) in best.items():
        results[name] = {"protect_per_s": round(1 / protect), "unprotect_per_s": round(1 / unprotect)}
        print(f"  {name:10s} protect {results[name]['protect_per_s']:>9,}/s  "
              f"unprotect {results[name]['unprotect_per_s']:>9,}/s")  # fmt: skip
    ratio = None
    if "pylibsrtp" in best:
        ours, theirs = best["takeback"], best["pylibsrtp"]
        ratio = round((ours[0] + ours[1]) / (theirs[0] + theirs[1]), 2)
    report = {
        "results": results,
        "ratio": ratio,
        "method": {
            "operation": f"protect / unprotect of one 172-byte PCMU RTP packet, {args.suite}",
            "ratio": "takeback seconds per protect+unprotect / pylibsrtp's (>1: libsrtp faster)",
            "interop_checked": check_interop(args.suite, packets) if "pylibsrtp" in best else None,
            "seconds_per_figure": args.seconds,
            "rounds": args.rounds,
            "timing": f"best {args.window}-packet window over interleaved rounds, thread CPU time",
        },
        "environment": {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"ratio {ratio}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
