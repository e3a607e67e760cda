"""``takeback device``: run the external SIP device; ``takeback device records``: show its call records.

Exit codes (DESIGN.md §3): 0 after a clean drain (SIGTERM/SIGINT), 2 for a configuration problem (one line
per problem on stderr, nothing started), 1 when ``records`` finds no database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from takeback.net.loop import run as run_loop  # uvloop when installed

_EXAMPLES = """examples:
  takeback device                       # built-in demo config: udp+tcp 127.0.0.1:5080, loopback only
  takeback device -c examples/device.yaml
  takeback device -c device.yaml --listen udp:0.0.0.0:5060 --listen tcp:0.0.0.0:5060 --http 127.0.0.1:9080
  takeback device records --json -n 50
"""
_RECORD_COLUMNS = ("invite_at", "call_id", "caller", "dnis", "access", "outcome", "end_reason", "uui_out")


def register(commands: Any) -> None:
    device = commands.add_parser(
        "device",
        help="run the external SIP device (access control, app, take back with REFER)",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    device.add_argument(
        "-c", "--config", metavar="device.yaml", help="configuration (default: built-in demo)"
    )
    device.add_argument(
        "--listen",
        action="append",
        metavar="udp:HOST:PORT",
        help="listening point (udp:|tcp:|tls:HOST:PORT); repeat; replaces the configured listeners",
    )
    device.add_argument("--http", metavar="HOST:PORT", help="status/metrics listener ('off' to disable)")
    device.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    device.set_defaults(handler=_run)
    sub = device.add_subparsers(dest="device_command", metavar="ACTION")
    records = sub.add_parser("records", help="list recent call records")
    records.add_argument("-c", "--config", metavar="device.yaml", help="read records.path from this config")
    records.add_argument("--db", metavar="PATH", help="the records database (overrides -c)")
    records.add_argument("-n", type=int, default=20, help="how many calls, newest first (default 20)")
    records.add_argument("--json", action="store_true", help="print JSON")
    records.set_defaults(handler=_records)


def _load(path: str | None) -> Any:
    from takeback.device.config import load_device_config

    return load_device_config(path)


def _run(args: argparse.Namespace) -> int:
    from takeback.device.config import parse_host_port  # the same HOST:PORT rule as device.yaml
    from takeback.device.server import DeviceServer
    from takeback.net import parse_listen_spec

    config = _load(args.config)
    listen = None
    if args.listen:
        listen = [str(parse_listen_spec(spec)) for spec in args.listen]
    http: Any = True
    if args.http is not None:
        http = False if args.http.lower() in ("off", "none", "") else parse_host_port(args.http)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = DeviceServer(config, listen=listen, http=http)
    return run_loop(_serve(server), gc_tuning=True)


async def _serve(server: Any) -> int:
    try:
        await server.start()
    except OSError as exc:  # a port in use, an address not on this host: a usage error, not a crash
        raise ValueError(f"cannot open the listeners: {exc.strerror or exc}") from None
    endpoints = ", ".join(f"{e.transport.lower()}:{e.host}:{e.port}" for e in server.endpoints)
    http = f", http://{server.http.host}:{server.http.port}" if server.http is not None else ""
    print(f"takeback device: listening on {endpoints}{http}; records in {server.records_path}", flush=True)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(server.drain()))
    await server.wait_closed()
    print("takeback device: drained, bye", flush=True)
    return 0


def _records(args: argparse.Namespace) -> int:
    from takeback.device.records import RecordsError, read_recent

    path = Path(args.db) if args.db else _load(args.config).records_path()
    try:
        rows = read_recent(path, args.n)
    except RecordsError as exc:
        print(f"takeback device records: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print(f"no calls recorded in {path}")
        return 0
    print("  ".join(_RECORD_COLUMNS))
    for row in rows:
        print("  ".join(_cell(column, row.get(column)) for column in _RECORD_COLUMNS))
    return 0


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column.endswith("_at"):
        moment = datetime.fromtimestamp(float(value), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)
