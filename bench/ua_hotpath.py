"""CPU per call of the UAS hot path without a network peer: INVITE → 200, ACK, BYE → 200 fed straight
into the UDP endpoint of a real :class:`UserAgent` (responses really sent, to a socket nobody reads).

It isolates our per-call cost from SIPp's and from scheduling noise, and splits it between the parser,
the SIP core and the runtime with cProfile (``--profile``). Not a test; prints one JSON line.

    .venv/bin/python bench/ua_hotpath.py --calls 20000 --loop uvloop
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "interop"))

from minimal_uas import MinimalUas  # noqa: E402

from takeback.net import loop as loops  # noqa: E402
from takeback.net.useragent import UserAgent  # noqa: E402

SDP = (
    "v=0\r\no=genesys 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)


def messages(n: int, port: int, peer_port: int) -> tuple[bytes, bytes, bytes]:
    """SIPp-like INVITE, ACK and BYE of call ``n`` (the To tag is patched in after the 200)."""
    common = (
        f"From: sipp <sip:sipp@127.0.0.1:{peer_port}>;tag={n}SIPpTag00\r\n"
        f"Call-ID: {n}-bench@127.0.0.1\r\nMax-Forwards: 70\r\n"
        f"Contact: sip:sipp@127.0.0.1:{peer_port}\r\n"
    )
    invite = (
        f"INVITE sip:service@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch=z9hG4bK-{n}-0\r\n{common}"
        f"To: <sip:service@127.0.0.1:{port}>\r\nCSeq: 1 INVITE\r\nSubject: Performance Test\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}"
    )
    ack = (
        f"ACK sip:service@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch=z9hG4bK-{n}-5\r\n{common}"
        f"To: <sip:service@127.0.0.1:{port}>;tag=TOTAG\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    )
    bye = (
        f"BYE sip:service@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch=z9hG4bK-{n}-7\r\n{common}"
        f"To: <sip:service@127.0.0.1:{port}>;tag=TOTAG\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    )
    return invite.encode(), ack.encode(), bye.encode()


async def run(calls: int, profile: str | None) -> dict[str, object]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer_port = peer.getsockname()[1]
        async with UserAgent(["udp:127.0.0.1:0"]) as ua:
            MinimalUas(ua, "answer")
            port = ua.endpoint("UDP").port
            endpoint = ua.transport._udp[0]
            addr = ("127.0.0.1", peer_port)
            batch = [messages(n, port, peer_port) for n in range(calls)]
            profiler = cProfile.Profile() if profile else None
            gc.collect()
            started = time.process_time()
            if profiler:
                profiler.enable()
            for invite, ack, bye in batch:
                endpoint.datagram_received(invite, addr)
                tag = _last_to_tag(ua)
                endpoint.datagram_received(ack.replace(b"TOTAG", tag), addr)
                endpoint.datagram_received(bye.replace(b"TOTAG", tag), addr)
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
            cpu = time.process_time() - started
            result = {
                "calls": calls,
                "cpu_seconds": round(cpu, 3),
                "us_per_call": round(cpu / calls * 1e6, 1),
                "max_cps_one_core": round(calls / cpu),
                "dialogs_left": ua.core.dialog_count,
                "internal_errors": ua.counters.internal_errors,
                "datagrams_out": ua.counters.datagrams_out,
            }
    return result


def _last_to_tag(ua: UserAgent) -> bytes:
    """The To tag of the dialog just created (what SIPp would copy from the 200)."""
    dialogs = ua.core.dialog_layer.dialogs
    last = next(reversed(dialogs.values()))
    return last.local_tag.encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--loop", choices=loops.LOOP_NAMES, default="auto")
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--gc-tuning", action="store_true", help="apply takeback.net.loop.tune_gc()")
    args = parser.parse_args()
    result = loops.run(run(args.calls, args.profile), loop=args.loop, gc_tuning=args.gc_tuning)
    result["gc_tuning"] = args.gc_tuning
    result["loop"] = loops.loop_factory(args.loop)[0]
    print(json.dumps(result))
    if args.profile:
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
