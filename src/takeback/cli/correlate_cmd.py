"""``takeback correlate --call-id X | --conversation-id Y``: SIP Call-ID <-> Genesys conversationId.

Genesys side through the official SDK (analytics details and the details query, GENESYS.md §9.5), against
a real org (``--region``, credentials from the environment) or the emulator (``--api URL``); device side
from its SQLite call records (``--records``), which hold each call's Call-ID and ``x-inin-cnv``. With
``--no-api`` the records alone answer.

Exit codes: 0 found (and the two sides agree), 1 not found, a device record whose ``x-inin-cnv`` names
another conversation, or an API failure; 2 usage (both or neither id, an unreadable records file, no
credentials).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from takeback.provision import Correlation, PlatformClient

_EXAMPLES = """examples:
  takeback correlate --call-id 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f --api http://127.0.0.1:8070
  takeback correlate --conversation-id 2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11 --region eu-west-1
  takeback correlate --call-id 5f1b0c2e-… --records device-records.sqlite --json
  takeback correlate --conversation-id 2c3b5a1e-… --records device-records.sqlite --no-api
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "correlate",
        help="SIP Call-ID <-> conversationId (analytics, joined with the device's call records)",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    wanted = parser.add_mutually_exclusive_group(required=True)
    wanted.add_argument("--call-id", metavar="CALL-ID", help="a SIP Call-ID (protocolCallId)")
    wanted.add_argument("--conversation-id", metavar="ID", help="a Genesys conversationId (x-inin-cnv)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--api", metavar="URL", help="Platform API base URL (the emulator: http://HOST:PORT)")
    target.add_argument("--region", metavar="REGION", help="AWS region of the org (default us-east-1)")
    target.add_argument("--no-api", action="store_true", help="use the device records only")
    parser.add_argument("--records", metavar="device.sqlite", help="the device's call records database")
    parser.add_argument("--days", type=int, default=31, help="how far back the Call-ID query looks (1-31)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_run)


def _fail(line: str, code: int) -> int:
    print(f"takeback correlate: {line}", file=sys.stderr)
    return code


def _client(args: argparse.Namespace) -> PlatformClient | None:
    from takeback.provision import Credentials, Redactor, connect, resolve_host

    if args.no_api:
        return None
    host, explicit = resolve_host(region=args.region, api=args.api)
    credentials = Credentials.from_env(os.environ, emulator=explicit)
    return connect(host, credentials, redact=Redactor([credentials.client_secret]))


def _run(args: argparse.Namespace) -> int:
    from takeback.device.records import RecordsError
    from takeback.provision import ApiFailure, ProvisionUsageError, by_call_id, by_conversation_id

    if args.no_api and not args.records:
        return _fail("--no-api needs --records (the device's call records)", 2)
    if not 1 <= args.days <= 31:
        return _fail("--days must be 1-31", 2)
    try:
        client = _client(args)
        if args.call_id:
            result = by_call_id(
                client, args.call_id, now=datetime.now(UTC), days=args.days, records=args.records
            )
        else:
            result = by_conversation_id(client, args.conversation_id, records=args.records)
    except (ProvisionUsageError, RecordsError) as exc:
        return _fail(str(exc), 2)
    except ApiFailure as exc:
        return _fail(str(exc), 1)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        for line in render(result):
            print(line)
    return 0 if result.ok else 1


def render(result: Correlation) -> list[str]:
    """The text report: each conversation and its legs, the device's view under the leg it joins."""
    asked = result.call_id or result.conversation_id
    lines: list[str] = []
    if not result.found:
        lines.append(f"nothing found for {asked}")
    for conversation in result.conversations:
        lines.append(f"conversation {conversation.conversation_id} (start {conversation.start})")
        for leg in conversation.legs:
            mark = "   <= asked" if result.call_id and leg.call_id == result.call_id else ""
            call = f"Call-ID {leg.call_id}" if leg.call_id else "(no SIP leg)"
            route = f"  {leg.ani or ''} -> {leg.dnis or ''}" if leg.ani or leg.dnis else ""
            lines.append(
                f"  {leg.purpose or '?':<9} {leg.direction or '':<8} {call}{route}  {leg.name or ''}{mark}"
            )
            lines += [f"      device: {_device_line(row)}" for row in leg.device]
    if result.device_records:
        lines.append("device records" + (" (joined to no leg):" if result.conversations else ":"))
        lines += [f"  Call-ID {row['call_id']}: {_device_line(row)}" for row in result.device_records]
    lines += [f"mismatch: {line}" for line in result.mismatches]
    lines += [f"warning: {line}" for line in result.warnings]
    return lines


def _device_line(row: dict[str, Any]) -> str:
    parts = [f"x-inin-cnv {row.get('conversation_id') or '(none)'}", f"outcome {row.get('outcome') or '?'}"]
    if row.get("take_back_number"):
        parts.append(f"taken back to {row['take_back_number']}")
    if row.get("uui_in"):
        parts.append(f"UUI in {row['uui_in']!r}")
    if row.get("uui_out"):
        parts.append(f"UUI out {row['uui_out']!r}")
    return ", ".join(parts)
