"""``takeback demo [--json]``: the main job on an embedded default, on 127.0.0.1 only (DESIGN.md §3)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..observe import SipTrace, build_ladder, print_ladder, write_html, write_pcap
from .demo import DemoPorts, DemoResult, run

_EXAMPLES = """examples:
  takeback demo                 # run the article's call, print the ladder and the outcome
  takeback demo --json          # the outcome as JSON (ok, conversation_id, uui_sent, call_uui_data, legs, …)
  takeback demo --out /tmp/tb   # where the pcap, the HTML ladder and the device records go
  takeback demo --ports 0       # any free ports instead of 5070/8070/5080/8080

exit status: 0 when the take-back flow saw the expected Call.UUIData, 1 when it did not.
"""


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run the article's transfer-and-take-back call locally and show the wire",
        description="Emulator + device on 127.0.0.1: PSTN call → flow → Set UUI → Transfer to 9991 → "
        "device (TTS greeting, DTMF 1234) → REFER → +33456456456 with Call.UUIData.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    demo.add_argument("--json", action="store_true", help="print the outcome as JSON")
    demo.add_argument("--out", type=Path, default=Path("takeback-out"), help="output folder")
    demo.add_argument(
        "--ports", choices=["default", "0"], default="default",
        help="'default' = 5070/8070 (emulator SIP/API), 5080/8080 (device SIP/HTTP); '0' = any free",
    )  # fmt: skip
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    ports = DemoPorts() if args.ports == "default" else DemoPorts(0, 0, 0, 0)
    args.out.mkdir(parents=True, exist_ok=True)
    trace = SipTrace()
    started = time.monotonic()

    def progress(line: str) -> None:
        if not args.json:
            print(f"[{time.monotonic() - started:5.2f}s] ▸ {line}", flush=True)

    try:
        result = run(args.out, ports, trace, progress)
    except OSError as exc:
        message = f"cannot start the demo ({exc}); is another takeback running? try --ports 0"
        raise ValueError(message) from exc
    entries = trace.entries()
    pcap_path = (args.out / "demo.pcap").resolve()
    report_path = (args.out / "demo-ladder.html").resolve()
    write_pcap(pcap_path, entries)
    ladder = build_ladder(entries, result.parties, columns=("genesys", "device"))
    write_html(report_path, ladder, title="takeback demo: transfer to the external device and take back")
    summary = _summary(result, pcap_path, report_path, time.monotonic() - started)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print()
        print_ladder(ladder)
        _print_outcome(result, summary)
    return 0 if result.ok else 1


def _summary(result: DemoResult, pcap: Path, report: Path, seconds: float) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "conversation_id": result.conversation_id,
        "uui_sent": result.uui_sent,
        "call_uui_data": result.call_uui_data,
        "legs": result.legs,
        "analytics_legs": result.analytics_legs,
        "refer_to": result.refer_to,
        "refer_to_spelling": result.refer_spelling,
        "notify_sipfrag": result.notify,
        "flows": result.flows,
        "failures": result.failures,
        "pcap": str(pcap),
        "report": str(report),
        "seconds": round(seconds, 2),
    }


def _print_outcome(result: DemoResult, summary: dict[str, Any]) -> None:
    print()
    for flow in result.flows:
        print(f"  flow    {flow}")
    print(f"  REFER   Refer-To: {result.refer_to}  ({result.refer_spelling}), NOTIFY sipfrag {result.notify}")
    print(f"  UUI sent by the device:        {result.uui_sent!r}")
    print(f"  Call.UUIData in the flow:      {result.call_uui_data!r}")
    print(f"  conversationId {result.conversation_id} ↔ SIP Call-IDs (analytics API):")
    for leg in result.analytics_legs:
        print(f"    {leg['party']:<9} {leg['call_id']}")
    for failure in result.failures:
        print(f"  failure: {failure}", file=sys.stderr)
    print(f"  pcap    {summary['pcap']}")
    print(f"  report  {summary['report']}")
    verdict = "OK — taken back with the expected Call.UUIData" if result.ok else "FAILED"
    print(f"{verdict} in {summary['seconds']} s")
