"""Sans-IO SIP core throughput: complete calls between two in-memory cores, no sockets, no event loop.

Each call is INVITE (with SDP and x-inin-cnv) / 200 (SDP) / ACK / BYE / 200, parsed from and serialized
to bytes on both sides, exactly what the runtime feeds the core. Both cores run in this one process, so
the per-side rate (what one device process on one core could sustain before asyncio and socket costs)
is twice the pair rate. ``--refer`` adds the take-back leg: REFER / 202 / NOTIFY 100 / 200 / NOTIFY 200
/ 200 before the BYE. Timers run as they come due, and the tables must be empty at the end (checked).
Results: ``bench/results/sip_core.json`` (``sip_core_refer.json`` with ``--refer``).

    .venv/bin/python bench/sip_core.py [--calls 5000] [--refer]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from takeback.sip.core import CoreConfig, LocalEndpoint, Peer, SipCore  # noqa: E402
from takeback.sip.events import ReferCompleted, ReferReceived, RequestReceived  # noqa: E402

A = Peer("UDP", "127.0.0.1", 5070)
B = Peer("UDP", "127.0.0.1", 5080)
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)
REFER_TO = "<sip:+33456456456@localhost?User-to-User=0054686973%3Bencoding%3Dhex>"


def make_core(port: int, seed: int) -> SipCore:
    return SipCore(CoreConfig(endpoints=(LocalEndpoint("UDP", "127.0.0.1", port),)), random.Random(seed))


def move(src: SipCore, dst: SipCore, src_peer: Peer, now: float) -> int:
    out = src.data_to_send()
    for data, _peer in out:
        dst.receive_datagram(data, src_peer, now)
    return len(out)


def settle(a: SipCore, b: SipCore, now: float) -> list[object]:
    """Shuttle packets until quiet; return b's events then a's."""
    events: list[object] = []
    for _ in range(50):
        if not (move(a, b, A, now) + move(b, a, B, now)):
            break
    for core in (b, a):
        while (event := core.next_event()) is not None:
            events.append(event)
    return events


def one_call(a: SipCore, b: SipCore, now: float, refer: bool) -> None:
    req = a.make_request(
        "INVITE",
        "sip:+13175550100@127.0.0.1:5080",
        from_="<sip:+15551234567@example.com>",
        to="<sip:+13175550100@example.com>",
        headers=[("x-inin-cnv", "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11")],
        body=SDP,
        content_type="application/sdp",
    )
    tx = a.send_request(req, B, now)
    incoming = next(e for e in settle(a, b, now) if isinstance(e, RequestReceived))
    b.respond(incoming.tx, 200, now=now, body=SDP, content_type="application/sdp")
    settle(a, b, now)
    if refer:  # the device (b, UAS) takes the call back: REFER until the terminal NOTIFY
        b.refer(incoming.tx.dialog, REFER_TO, now)
        received = next(e for e in settle(a, b, now) if isinstance(e, ReferReceived))
        a.accept_refer(received.notifier, now)
        a.notify_refer(received.notifier, 200, "OK", now)
        assert any(isinstance(e, ReferCompleted) for e in settle(a, b, now))
    a.bye(tx.dialog, now)
    settle(a, b, now)


def run(calls: int, refer: bool) -> dict[str, object]:
    a, b = make_core(5070, 1), make_core(5080, 2)
    now = 0.0
    start = time.perf_counter()
    for i in range(calls):
        now += 0.0005
        one_call(a, b, now, refer)
        if i % 100 == 0:
            a.handle_timer(now)
            b.handle_timer(now)
    elapsed = time.perf_counter() - start
    a.handle_timer(now + 3600)
    b.handle_timer(now + 3600)
    leftovers = [c.transaction_count + c.dialog_count + c.timer_count for c in (a, b)]
    assert leftovers == [0, 0], leftovers
    return {
        "calls": calls,
        "refer": refer,
        "seconds": round(elapsed, 3),
        "pair_calls_per_s": round(calls / elapsed),
        "per_side_calls_per_s": round(2 * calls / elapsed),
        "us_per_call_per_side": round(elapsed / calls / 2 * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--refer", action="store_true")
    args = parser.parse_args()
    result = run(args.calls, args.refer)
    result["python"] = platform.python_version()
    print(json.dumps(result))
    out = ROOT / "bench" / "results" / ("sip_core_refer.json" if args.refer else "sip_core.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
