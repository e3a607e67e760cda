"""``takeback uui encode|decode``: the UUI codec from the command line (GENESYS.md §5)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import uui

_ENCODE_EXAMPLES = """examples:
  takeback uui encode "This is my data"
  takeback uui encode "This is my data" --refer-to +33456456456
  takeback uui encode "Case-12345" --type x-User-to-User --encoding ascii
"""
_DECODE_EXAMPLES = """examples:
  takeback uui decode "0054686973206973206d792064617461;encoding=hex"
  takeback uui decode "54686973;pd=00;encoding=hex"
  takeback uui decode --header x-User-to-User "Case-12345;encoding=ascii"
  takeback uui decode "<sip:+33456456456@localhost?User-to-User=0054686973%3Bencoding%3Dhex>"
"""


def register(commands: Any) -> None:
    group = commands.add_parser("uui", help="encode or decode UUI the way Genesys does")
    sub = group.add_subparsers(dest="uui_command", metavar="ACTION")
    sub.required = True

    enc = sub.add_parser(
        "encode",
        help="build a UUI header (or a Refer-To) from text",
        epilog=_ENCODE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    enc.add_argument("text", help="the data, as the Architect flow author would pass it")
    enc.add_argument(
        "--type",
        dest="header_type",
        default="User-to-User",
        choices=["User-to-User", "User-to-User;pd", "x-User-to-User"],
    )
    enc.add_argument("--encoding", default="hex", choices=["hex", "ascii"])
    enc.add_argument("--pd", default="00", help="protocol discriminator, two hex digits (default 00)")
    enc.add_argument("--refer-to", metavar="NUMBER", help="print the take-back Refer-To for this DID")
    enc.add_argument("--host", default="localhost", help="host part of the Refer-To (ignored by Genesys)")
    enc.add_argument("--json", action="store_true", help="print JSON")
    enc.set_defaults(handler=_encode)

    dec = sub.add_parser(
        "decode",
        help="say what Call.UUIData Genesys would expose for a UUI value or a Refer-To",
        epilog=_DECODE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dec.add_argument("value", help="a UUI header value, or a Refer-To value (<sip:…?User-to-User=…>)")
    dec.add_argument("--header", default="User-to-User", help="header name the value came in")
    dec.add_argument("--json", action="store_true", help="print JSON")
    dec.set_defaults(handler=_decode)


def _encode(args: argparse.Namespace) -> int:
    if args.refer_to:
        value = uui.refer_to(args.refer_to, uui=args.text, host=args.host, pd=args.pd)
        result = {"header": "Refer-To", "value": value}
    else:
        name, value = uui.encode(args.text, header_type=args.header_type, encoding=args.encoding, pd=args.pd)
        result = {"header": name, "value": value}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['header']}: {result['value']}")
    return 0


def _decode(args: argparse.Namespace) -> int:
    text = args.value.strip()
    if text.startswith("<") or text.lower().startswith(("sip:", "sips:", "tel:")):
        target = uui.parse_refer_to(text)
        decoded = target.uui
        result: dict[str, Any] = {
            "kind": "refer-to",
            "number": target.number,
            "spelling": target.spelling,
            "rfc_correct": target.rfc_correct,
            "call_uui_data": target.uui_data,
            "warnings": [w.message for w in target.all_warnings],
        }
    else:
        decoded = uui.decode_uui([(args.header, text)])
        result = {
            "kind": "header",
            "header": args.header,
            "call_uui_data": decoded.text,
            "warnings": [w.message for w in decoded.warnings],
        }
    result.update(
        encoding=decoded.encoding,
        pd=decoded.pd,
        raw_hex=decoded.raw.hex() if decoded.raw is not None else None,
    )
    if args.json:
        print(json.dumps(result))
        return 0 if result["call_uui_data"] is not None else 1
    for key, value in result.items():
        if key == "warnings":
            for warning in value:
                print(f"warning: {warning}")
        elif value is not None:
            print(f"{key}: {value}")
    if result["call_uui_data"] is None:
        print("call_uui_data: (none — Genesys would expose no Call.UUIData)")
        return 1
    return 0
