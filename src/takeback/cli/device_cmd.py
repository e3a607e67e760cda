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
import os
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
    device.add_argument(
        "--workers",
        metavar="N",
        help="worker processes sharing the ports (SO_REUSEPORT), or 'auto' (one per CPU); overrides workers:",
    )
    device.add_argument("--worker", metavar="I/N", help=argparse.SUPPRESS)  # set by the supervisor
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
    from takeback.device.config import parse_host_port, parse_worker_count  # the device.yaml rules
    from takeback.device.server import DeviceServer
    from takeback.device.workers import DIGEST_KEY_ENV, parse_worker_slot
    from takeback.net import parse_listen_spec

    config = _load(args.config)
    if args.workers is not None:
        try:
            workers = parse_worker_count(args.workers)
        except ValueError as exc:
            raise ValueError(f"--workers {exc}") from None
        config = config.model_copy(update={"workers": workers})
    listen = None
    if args.listen:
        listen = [str(parse_listen_spec(spec)) for spec in args.listen]
    http: Any = True
    if args.http is not None:
        http = False if args.http.lower() in ("off", "none", "") else parse_host_port(args.http)
    worker = parse_worker_slot(args.worker) if args.worker else None
    tag = f" w{worker.index}" if worker is not None else ""
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"%(asctime)s{tag} %(levelname)s %(name)s: %(message)s",
    )
    if worker is None and config.workers > 1:
        return _supervise(args, config, listen or list(config.listen), http)
    key = os.environ.get(DIGEST_KEY_ENV) if worker is not None else None
    digest_key = bytes.fromhex(key) if key else None
    server = DeviceServer(config, listen=listen, http=http, worker=worker, digest_key=digest_key)
    return run_loop(_serve(server), gc_tuning=True)


def _supervise(args: argparse.Namespace, config: Any, listen: list[str], http: Any) -> int:
    """``workers: N`` > 1: this process only starts, watches and stops N device processes."""
    from takeback.device.preflight import preflight
    from takeback.device.records import CallRecords, RecordsError
    from takeback.device.validation import ConfigError
    from takeback.device.workers import WorkerSlot, pin_ports, run_workers

    problems = preflight(config)  # once here rather than once per worker
    if problems:
        raise ConfigError(problems)
    WorkerSlot(0, config.workers).port_slice(*config.media.port_range)  # ValueError: range too small

    try:  # create the shared schema once, before N processes race to
        CallRecords(config.records_path(), synchronous=config.records.synchronous).start().close()
    except RecordsError as exc:
        raise ValueError(f"records.path: {exc}") from None

    address = config.http if http is True else (None if http is False else http)
    if address is not None and address[1] and address[1] + config.workers > 65535:
        raise ValueError(f"http port {address[1]} + {config.workers} workers passes 65535")
    worker_args = (["-c", args.config] if args.config else []) + (["-v"] if args.verbose else [])
    digest = config.access.digest is not None and not config.access.digest.secret_key
    return run_loop(run_workers(config.workers, worker_args, pin_ports(listen), address, digest_key=digest))


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
    if server.worker is not None:  # the supervisor sums these up
        stats = server.stats
        accepted, taken = stats.get("calls_accepted", 0), stats.get("outcome_taken-back", 0)
        print(f"takeback device: drained, {accepted} calls accepted, {taken} taken back", flush=True)
    else:
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
