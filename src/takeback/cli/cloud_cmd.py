"""``takeback cloud``: run the Genesys Cloud emulator (SIP side + Platform API subset) on one org.yaml.

Exit codes (DESIGN.md §3): 0 after SIGTERM/SIGINT, 2 for a configuration or usage problem (nothing is
started). Without ``-c`` the built-in ``examples/org.yaml`` (the article's org) is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from takeback.net.loop import run as run_loop  # uvloop when installed

_EXAMPLES = """examples:
  takeback cloud                                  # built-in org: SIP udp+tcp 127.0.0.1:5070, API :8070
  takeback cloud -c examples/org.yaml --api off   # SIP only
  takeback cloud -c org.yaml --sip udp:127.0.0.1:5070 --api 127.0.0.1:8070 --call +18005550100
  takeback cloud -c org.yaml --sip udp:127.0.0.1:5070 --sip tls:127.0.0.1:5061 \\
      --tls-cert genesys.pem --tls-key genesys.key --tls-ca device-ca.pem   # TLS 1.2, one-way, RSA suites
"""
_DEFAULT_SIP = ("udp:127.0.0.1:5070", "tcp:127.0.0.1:5070")
_DEFAULT_API = "127.0.0.1:8070"


def register(commands: Any) -> None:
    cloud = commands.add_parser(
        "cloud",
        help="run the Genesys Cloud emulator (BYOC trunks, flows, take-back REFER, Platform API)",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cloud.add_argument("-c", "--config", metavar="org.yaml", help="the org (default: built-in example)")
    cloud.add_argument(
        "--sip",
        action="append",
        metavar="udp:HOST:PORT",
        help="SIP listening point (udp:|tcp:|tls:HOST:PORT); repeat; replaces emulator.sip "
        "(default: udp+tcp 127.0.0.1:5070)",
    )
    cloud.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="our certificate chain (PEM) for tls: listeners (emulator.tls.certfile)",
    )
    cloud.add_argument(
        "--tls-key", metavar="FILE", help="its private key, unless in --tls-cert (emulator.tls.keyfile)"
    )
    cloud.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="CA bundle trusted for device certificates on protocol: tls trunks (emulator.tls.cafile; "
        "default: the system store)",
    )
    cloud.add_argument(
        "--tls-ciphers",
        choices=("genesys", "default"),
        help="TLS 1.2 suites, both roles: genesys = the 8 RSA suites of GENESYS.md §7, ECDHE on secp384r1 "
        "(a device with an ECDSA certificate fails, as with Genesys); default = Python's "
        "(emulator.tls.ciphers; default: genesys)",
    )
    cloud.add_argument("--api", metavar="HOST:PORT", help=f"REST listener or 'off' (default {_DEFAULT_API})")
    cloud.add_argument("--media-address", metavar="IP", help="RTP address (default: the SIP address)")
    cloud.add_argument("--rtp-ports", metavar="MIN-MAX", default="16384-32767", help="RTP port range")
    cloud.add_argument(
        "--call", metavar="DID", help="once started, place one simulated PSTN call to this DID"
    )
    cloud.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    cloud.set_defaults(handler=_run)


def _listeners(specs: list[str] | None, configured: list[str] | None) -> list[str]:
    from takeback.net import parse_listen_spec

    return [str(parse_listen_spec(spec)) for spec in (specs or configured or _DEFAULT_SIP)]


def _load(path: str | None) -> tuple[Any, Any]:
    """(org, emulator settings) from org.yaml (its ``emulator:`` section, :attr:`Org.emulator`), or the
    built-in org with default settings. Relative TLS file names are taken from the org.yaml's folder."""
    from takeback.cloud import load_builtin_org, load_org
    from takeback.cloud.config import EmulatorSettings

    org = load_builtin_org() if path is None else load_org(Path(path))
    return org, org.emulator or EmulatorSettings()


def _tls(args: argparse.Namespace, settings: Any, sip: list[str], source: str | None) -> Any:
    """The TLS settings, each option over its org.yaml field; problems name whichever was used."""
    from takeback.cloud.server import emulator_tls
    from takeback.net.tls import TlsFileError, check_files

    configured = settings.tls
    chosen = {
        "certfile": ("--tls-cert", args.tls_cert, configured.certfile),
        "keyfile": ("--tls-key", args.tls_key, configured.keyfile),
        "cafile": ("--tls-ca", args.tls_ca, configured.cafile),
    }
    values = {field: option if option else value for field, (_, option, value) in chosen.items()}
    ciphers = args.tls_ciphers or configured.ciphers
    tls = emulator_tls(**values, max_version=configured.max_version, ciphers=ciphers)
    listens = any(spec.lower().startswith("tls:") for spec in sip)
    try:
        check_files(tls, listen=listens)
    except TlsFileError as exc:
        raise ValueError(_tls_problem(exc, chosen, source)) from None
    return tls


def _tls_problem(exc: Any, chosen: dict[str, tuple[str, str | None, str | None]], source: str | None) -> str:
    option, given, _ = chosen.get(exc.field, ("", None, None))
    field = f"emulator.tls.{exc.field}"
    if exc.field == "certfile" and not chosen["certfile"][1] and not chosen["certfile"][2]:
        where = f"{field} in {source}" if source else f"{field} in org.yaml"
        return f"a tls: listener needs {option} FILE (or {where}): our certificate chain, PEM"
    if given:
        return f"{option}: {exc.problem}"
    return f"{source}: {field}: {exc.problem}" if source else f"{field}: {exc.problem}"


def _check_trunks(org: Any, sip: list[str], source: str | None) -> None:
    from takeback.cloud.server import tls_trunks_without_listener

    for index in tls_trunks_without_listener(org, sip):
        where = f"{source}: " if source else ""
        name = org.trunks[index].name
        raise ValueError(
            f"{where}trunks[{index}].protocol: trunk {name!r} uses tls but no tls: listener is configured; "
            "add --sip tls:HOST:5061 (or a tls: entry in emulator.sip)"
        )


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{what} must be HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def _port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or not 1 <= int(low) <= int(high) <= 65535:
        raise ValueError(f"--rtp-ports must be MIN-MAX like 16384-32767, not {text!r}")
    return int(low), int(high)


def _run(args: argparse.Namespace) -> int:
    from takeback.cloud.server import CloudServer
    from takeback.observe import SipTrace

    org, settings = _load(args.config)
    sip = _listeners(args.sip, settings.sip)
    tls = _tls(args, settings, sip, args.config)
    _check_trunks(org, sip, args.config)
    api_text = args.api if args.api is not None else (settings.api or _DEFAULT_API)
    api = None if api_text.lower() in ("off", "none", "") else _host_port(api_text, "--api")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = CloudServer(
        org,
        sip=sip,
        api=api,
        tls=tls,
        media_address=args.media_address,
        media_ports=_port_range(args.rtp_ports),
        trace=SipTrace(),  # bounded; GET /emulator/v1/calls/{id} draws its ladder (`takeback call`)
    )
    return run_loop(_serve(server, args.call), gc_tuning=True)


async def _serve(server: Any, call: str | None) -> int:
    try:
        await server.start()
    except OSError as exc:  # a port in use, an address not on this host: a usage error, not a crash
        raise ValueError(f"cannot open the listeners: {exc.strerror or exc}") from None
    endpoints = ", ".join(f"{e.transport.lower()}:{e.host}:{e.port}" for e in server.endpoints)
    api = f"; Platform API {server.api.base_url}" if server.api is not None else "; Platform API off"
    print(f"takeback cloud: SIP on {endpoints}{api}; org {server.org.name!r}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        if call:
            record = await server.call(call)
            print(f"takeback cloud: calling {call}: conversation {record.conversation_id}", flush=True)
        await stop.wait()
    finally:
        await server.close()
    print("takeback cloud: stopped", flush=True)
    return 0
