"""SIP message parser benchmark: takeback vs. the other pure-Python SIP parsers on PyPI.

Each operation parses one message, reads the fields a UAS reads (top Via branch, From/To tags, Call-ID,
CSeq, x-inin-cnv, User-to-User, body; Refer-To for the REFER) and serialises it back to bytes. The
messages are a Genesys-style INVITE with a real SDP (GENESYS.md §10 (1), ~1.2 KB), its 200 OK, and the
take-back REFER (§10 (4)). Every message is pre-generated in VARIANTS copies with different Call-IDs,
branches, tags, CSeq numbers and caller numbers, more than any cache in the parsers holds, so nothing
is measured warm that would not be warm in production.

Timing: the best of many short windows (``--seconds`` per figure, spread over ``--rounds`` rounds that
interleave all parsers) on one core. The machine may be shared with other work: the best window is the
least disturbed one, windows are timed in thread CPU time (time spent descheduled does not count),
interleaving exposes every parser to the same load, and the load average is recorded.

A capability probe records, per parser, whether it understands compact header forms, folded header
lines and comma-joined Via values, and whether it can serialise; the target compares against the
fastest other parser that handles all three. Results go to ``bench/results/parser.json``.

Run: ``.venv/bin/python bench/parser.py [--seconds 3] [--variants 10000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from takeback.sip import Request, parse_message

RESULTS = Path(__file__).parent / "results" / "parser.json"
Op = Callable[[bytes], Any]

SDP = (
    b"v=0\r\n"
    b"o=- 3912345678 3912345678 IN IP4 52.129.100.7\r\n"
    b"s=Genesys Media Server\r\n"
    b"c=IN IP4 52.129.100.7\r\n"
    b"t=0 0\r\n"
    b"m=audio 20000 RTP/AVP 0 8 9 18 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:18 G729/8000\r\n"
    b"a=fmtp:18 annexb=no\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=rtcp:20001 IN IP4 52.129.100.7\r\n"
    b"a=ptime:20\r\n"
    b"a=maxptime:40\r\n"
    b"a=sendrecv\r\n"
)


def invite(i: int) -> bytes:
    """GENESYS.md §10 (1) with a fuller SDP and a P-Asserted-Identity (1.2 KB); per-variant Call-ID,
    branch, tag, CSeq, caller number and x-inin-cnv."""
    head = (
        "INVITE sip:+19999990001@203.0.113.10:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-{i:08x};rport\r\n"
        "Max-Forwards: 70\r\n"
        "Record-Route: <sip:198.51.100.20:5060;lr>\r\n"
        f'From: "+1317555{i % 10000:04d}" <sip:+1317555{i % 10000:04d}@198.51.100.20>;tag=gc-{i * 7919:x}\r\n'
        "To: <sip:+19999990001@203.0.113.10>\r\n"
        f'P-Asserted-Identity: "+1317555{i % 10000:04d}" <sip:+1317555{i % 10000:04d}@198.51.100.20>\r\n'
        f"Call-ID: {i:08x}-9a4d-4c3f-8f57-0a1b2c3d4e5f\r\n"
        f"CSeq: {1 + i % 7} INVITE\r\n"
        "Contact: <sip:198.51.100.20:5060;transport=udp;gcdlg=ab12>\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO\r\n"
        "Supported: replaces, timer\r\n"
        "Session-Expires: 1800;refresher=uac\r\n"
        "Min-SE: 90\r\n"
        "User-Agent: Genesys Cloud Edge\r\n"
        f"x-inin-cnv: {i:08x}-7d4f-4f6e-9c1a-0e2b7b6f8a11\r\n"
        "CUSTOM-DEVICE-TOKEN: 1234567\r\n"
        "User-to-User: 00436173652D3132333435;encoding=hex\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n"
        "\r\n"
    )
    return head.encode() + SDP


def ok_200(i: int) -> bytes:
    head = (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-{i:08x};rport=5060;received=198.51.100.20\r\n"
        "Record-Route: <sip:198.51.100.20:5060;lr>\r\n"
        f'From: "+1317555{i % 10000:04d}" <sip:+1317555{i % 10000:04d}@198.51.100.20>;tag=gc-{i * 7919:x}\r\n'
        f"To: <sip:+19999990001@203.0.113.10>;tag=dev-{i * 104729:x}\r\n"
        f"Call-ID: {i:08x}-9a4d-4c3f-8f57-0a1b2c3d4e5f\r\n"
        f"CSeq: {1 + i % 7} INVITE\r\n"
        "Contact: <sip:203.0.113.10:5060>\r\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY\r\n"
        "Supported: timer\r\n"
        "Session-Expires: 1800;refresher=uac\r\n"
        "Server: takeback\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n"
        "\r\n"
    )
    return head.encode() + SDP


def refer(i: int) -> bytes:
    """GENESYS.md §10 (4): the take-back REFER with UUI inside Refer-To."""
    return (
        "REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-{i:08x};rport\r\n"
        "Max-Forwards: 70\r\n"
        "Route: <sip:198.51.100.20:5060;lr>\r\n"
        f"From: <sip:+19999990001@203.0.113.10>;tag=dev-{i * 104729:x}\r\n"
        f'To: "+1317555{i % 10000:04d}" <sip:+1317555{i % 10000:04d}@198.51.100.20>;tag=gc-{i * 7919:x}\r\n'
        f"Call-ID: {i:08x}-9a4d-4c3f-8f57-0a1b2c3d4e5f\r\n"
        f"CSeq: {101 + i % 7} REFER\r\n"
        "Contact: <sip:203.0.113.10:5060>\r\n"
        f"Refer-To: <sip:+3345645{i % 10000:04d}@localhost?User-to-User="
        "0054686973206973206d792064617461%3Bencoding%3Dhex>\r\n"
        "Referred-By: <sip:+19999990001@203.0.113.10>\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
    ).encode()


# ------------------------------------------------------------------------------ the parsers


def takeback_ops() -> dict[str, Op]:
    def invite_read(data: bytes) -> Any:
        m = parse_message(data)
        h = m.headers
        return (m.top_via.branch, m.from_.tag, m.to.tag, m.call_id, m.cseq, h.get("x-inin-cnv"),
                h.get("User-to-User"), m.body)  # fmt: skip

    def invite_full(data: bytes) -> Any:
        m = parse_message(data)
        h = m.headers
        return (m.top_via.branch, m.from_.tag, m.to.tag, m.call_id, m.cseq, h.get("x-inin-cnv"),
                h.get("User-to-User"), m.body, bytes(m))  # fmt: skip

    def response(data: bytes) -> Any:
        m = parse_message(data)
        return (m.top_via.branch, m.to.tag, m.call_id, m.cseq, m.body, bytes(m))

    def refer_op(data: bytes) -> Any:
        m = parse_message(data)
        refer_to = m.refer_to
        assert isinstance(m, Request) and refer_to is not None
        return (m.top_via.branch, m.from_.tag, m.to.tag, m.call_id, m.cseq,
                refer_to.uri.headers["User-to-User"], bytes(m))  # type: ignore[union-attr]  # fmt: skip

    return {
        "invite": invite_full,
        "response": response,
        "refer": refer_op,
        "invite_parse_read": invite_read,
        "invite_parse_only": parse_message,
    }


def sipmessage_ops() -> dict[str, Op]:
    from sipmessage import Message  # type: ignore[import-untyped]

    def invite_read(data: bytes) -> Any:
        m = Message.parse(data)
        h = m.headers
        return (m.via[0].parameters.get("branch"), m.from_address.parameters.get("tag"),
                m.to_address.parameters.get("tag"), m.call_id, m.cseq, h.get("x-inin-cnv"),
                h.get("User-to-User"), m.body)  # fmt: skip

    def invite_full(data: bytes) -> Any:
        m = Message.parse(data)
        h = m.headers
        return (m.via[0].parameters.get("branch"), m.from_address.parameters.get("tag"),
                m.to_address.parameters.get("tag"), m.call_id, m.cseq, h.get("x-inin-cnv"),
                h.get("User-to-User"), m.body, bytes(m))  # fmt: skip

    def response(data: bytes) -> Any:
        m = Message.parse(data)
        return (m.via[0].parameters.get("branch"), m.to_address.parameters.get("tag"), m.call_id, m.cseq,
                m.body, bytes(m))  # fmt: skip

    def refer_op(data: bytes) -> Any:
        m = Message.parse(data)
        refer_to = m.headers.get("Refer-To")
        return (m.via[0].parameters.get("branch"), m.from_address.parameters.get("tag"),
                m.to_address.parameters.get("tag"), m.call_id, m.cseq, refer_to, bytes(m))  # fmt: skip

    return {"invite": invite_full, "response": response, "refer": refer_op,
            "invite_parse_read": invite_read, "invite_parse_only": Message.parse}  # fmt: skip


def pyvoip_ops() -> dict[str, Op]:
    import pyVoIP.VoIP  # type: ignore[import-untyped]  # noqa: F401  (breaks pyVoIP.SIP's import cycle)
    from pyVoIP.SIP import SIPMessage  # type: ignore[import-untyped]

    # pyVoIP keeps the raw bytes but has no serialiser: its figures are parse + read only.
    def invite_read(data: bytes) -> Any:
        m = SIPMessage(data)
        h = m.headers
        return (h["Via"][0]["branch"], h["From"]["tag"], h["To"]["tag"], h["Call-ID"], h["CSeq"],
                h.get("x-inin-cnv"), h.get("User-to-User"), m.body)  # fmt: skip

    def response(data: bytes) -> Any:
        m = SIPMessage(data)
        h = m.headers
        return (h["Via"][0]["branch"], h["To"]["tag"], h["Call-ID"], h["CSeq"], m.body)

    def refer_op(data: bytes) -> Any:
        m = SIPMessage(data)
        h = m.headers
        return (
            h["Via"][0]["branch"],
            h["From"]["tag"],
            h["To"]["tag"],
            h["Call-ID"],
            h["CSeq"],
            h["Refer-To"],
        )

    return {"invite": invite_read, "response": response, "refer": refer_op,
            "invite_parse_read": invite_read, "invite_parse_only": SIPMessage}  # fmt: skip


# --------------------------------------------------------------------------- capability probe


def probe_message(via: str, from_: str, extra: str = "", compact: bool = False) -> bytes:
    """A small INVITE for the capability probe, in long or compact header forms."""
    names = ("t", "i", "l") if compact else ("To", "Call-ID", "Content-Length")
    return (
        "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
        f"{via}{from_}"
        f"{names[0]}: <sip:bob@192.0.2.4>\r\n"
        f"{names[1]}: probe-1\r\n"
        "CSeq: 1 INVITE\r\n"
        f"{extra}"
        f"{names[2]}: 0\r\n"
        "\r\n"
    ).encode()


def probes() -> dict[str, bytes]:
    via = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-a\r\n"
    from_ = "From: <sip:alice@192.0.2.1>;tag=ta\r\n"
    return {
        "compact_forms": probe_message("v" + via[3:], "f" + from_[4:], compact=True),
        "folding": probe_message(
            via, "From: <sip:alice@192.0.2.1>\r\n ;tag=ta\r\n", "Subject: folded\r\n   subject\r\n"
        ),
        "comma_joined_vias": probe_message(
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-a, SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-b\r\n", from_
        ),
    }


def probe_takeback(kind: str, data: bytes) -> bool:
    m = parse_message(data)
    ok = m.call_id == "probe-1" and m.from_.tag == "ta" and m.top_via.branch == "z9hG4bK-a"
    if kind == "folding":
        ok = ok and m.headers.get("Subject") == "folded subject"
    if kind == "comma_joined_vias":
        ok = ok and [v.branch for v in m.vias] == ["z9hG4bK-a", "z9hG4bK-b"]
    return ok


def probe_sipmessage(kind: str, data: bytes) -> bool:
    from sipmessage import Message

    m = Message.parse(data)
    ok = (m.call_id == "probe-1" and m.from_address.parameters.get("tag") == "ta"
          and m.via[0].parameters.get("branch") == "z9hG4bK-a")  # fmt: skip
    if kind == "folding":
        ok = ok and m.headers.get("Subject") == "folded subject"
    if kind == "comma_joined_vias":
        ok = ok and [v.parameters.get("branch") for v in m.via] == ["z9hG4bK-a", "z9hG4bK-b"]
    return bool(ok)


def probe_pyvoip(kind: str, data: bytes) -> bool:
    import pyVoIP.VoIP  # noqa: F401
    from pyVoIP.SIP import SIPMessage

    m = SIPMessage(data)
    h = m.headers
    ok = h.get("Call-ID") == "probe-1" and h["From"]["tag"] == "ta" and h["Via"][0]["branch"] == "z9hG4bK-a"
    if kind == "folding":
        ok = ok and h.get("Subject") == "folded subject"
    if kind == "comma_joined_vias":
        ok = ok and [v.get("branch") for v in h["Via"]] == ["z9hG4bK-a", "z9hG4bK-b"]
    return bool(ok)


def capabilities(probe: Callable[[str, bytes], bool]) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for kind, data in probes().items():
        try:
            found[kind] = probe(kind, data)
        except Exception:  # a probe that crashes means "not handled"
            found[kind] = False
    return found


# ----------------------------------------------------------------------------------- timing


def best_seconds_per_op(op: Op, corpus: list[bytes], seconds: float, start: int, window: int = 200) -> float:
    """Seconds per operation in the least disturbed window of ``window`` operations."""
    best = float("inf")
    clock = time.thread_time  # CPU time of this thread: time spent descheduled does not count
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        chunk = corpus[start : start + window]
        start = (start + window) % len(corpus)
        t0 = clock()
        for data in chunk:
            op(data)
        best = min(best, (clock() - t0) / len(chunk))
    return best


CONTENDERS: list[tuple[str, Callable[[], dict[str, Op]], Callable[[str, bytes], bool], bool]] = [
    ("takeback", takeback_ops, probe_takeback, True),
    ("sipmessage", sipmessage_ops, probe_sipmessage, True),
    ("pyVoIP", pyvoip_ops, probe_pyvoip, False),
]


def run_contenders(
    corpora: dict[str, list[bytes]], seconds: float, rounds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Measure every (parser, operation) in ``rounds`` interleaved rounds, keeping each one's best
    window: on a machine whose load drifts, every figure then samples the same stretch of time."""
    results: dict[str, Any] = {}
    caps: dict[str, Any] = {}
    jobs: list[tuple[str, str, Op, list[bytes]]] = []
    for name, make_ops, probe, serializes in CONTENDERS:
        try:
            ops = make_ops()
        except ImportError as exc:
            results[name] = {"error": f"not installed: {exc}"}
            continue
        caps[name] = {**capabilities(probe), "serializes": serializes}
        results[name] = {}
        for kind, op in ops.items():
            corpus = corpora["invite" if kind.startswith("invite") else kind]
            try:
                for data in corpus[:200]:
                    op(data)
            except Exception as exc:  # a parser that cannot parse this message at all
                results[name][f"{kind}_per_s"] = None
                results[name].setdefault("errors", {})[kind] = f"{type(exc).__name__}: {exc}"[:200]
                continue
            jobs.append((name, kind, op, corpus))
    best: dict[tuple[str, str], float] = {}
    for round_no in range(rounds):
        for name, kind, op, corpus in jobs:
            spent = best_seconds_per_op(op, corpus, seconds / rounds, start=(round_no * 1000) % len(corpus))
            best[name, kind] = min(best.get((name, kind), float("inf")), spent)
    for (name, kind), spent in best.items():
        results[name][f"{kind}_per_s"] = round(1.0 / spent)
        print(f"  {name:12s} {kind:18s} {results[name][f'{kind}_per_s']:>9,}/s")
    return results, caps


def target(results: dict[str, Any], caps: dict[str, Any]) -> dict[str, Any]:
    """The goals: 60k INVITE parse+read/s, and 2x the fastest parser that handles compact forms,
    folding and comma-joined Vias (there may be none: then the speed-up against any parser is given)."""
    handles_all = [n for n, c in caps.items() if n != "takeback" and all(c[k] for k in probes())]
    ours = results["takeback"]["invite_per_s"]
    best_other = max((results[n]["invite_per_s"] or 0 for n in handles_all), default=0)
    others = [n for n in caps if n != "takeback"]
    fastest = max(others, key=lambda n: results[n].get("invite_per_s") or 0, default=None)
    fastest_rate = results[fastest].get("invite_per_s") if fastest else None
    return {
        "invite_parse_read_per_s_goal": 60_000,
        "invite_parse_read_per_s": results["takeback"]["invite_parse_read_per_s"],
        "others_handling_compact_folding_comma_vias": handles_all,
        "speedup_vs_best_such_parser": round(ours / best_other, 2) if best_other else None,
        "speedup_goal": 2.0,
        "fastest_other_parser_any_capabilities": fastest,
        "invite_speedup_vs_fastest_other": round(ours / fastest_rate, 2) if fastest_rate else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    parser.add_argument("--variants", type=int, default=10_000, help="distinct messages per kind")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over all figures")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    corpora = {
        "invite": [invite(i) for i in range(args.variants)],
        "response": [ok_200(i) for i in range(args.variants)],
        "refer": [refer(i) for i in range(args.variants)],
    }
    load_before = os.getloadavg()
    results, caps = run_contenders(corpora, args.seconds, max(1, args.rounds))
    report = {
        "results": results,
        "capabilities": caps,
        "target": target(results, caps),
        "method": {
            "operation": "parse + read UAS fields + bytes() (pyVoIP: no serialiser, parse + read only); "
            "invite_parse_read = parse + read (the 60k/s goal); invite_parse_only = parse alone",
            "variants_per_kind": args.variants,
            "seconds_per_figure": args.seconds,
            "rounds": args.rounds,
            "timing": "best 200-operation window over interleaved rounds, thread CPU time, one process",
            "message_bytes": {kind: len(corpus[0]) for kind, corpus in corpora.items()},
        },
        "environment": {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.uname().machine,
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["target"], indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
