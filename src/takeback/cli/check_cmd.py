"""``takeback check org.yaml device.yaml``: does the trunk reach the device, and do they agree?

Exit codes (DESIGN.md §3): 0 when every check passes (warnings allowed), 1 when one fails, 2 for a
configuration or usage error: one line per problem on stderr, naming the file and the field
(``device.yaml: access.token.header: ...``). The checks are :func:`takeback.provision.compat.check_compat`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

    from takeback.provision.compat import Check, CompatReport

_EXAMPLES = """examples:
  takeback check examples/org.yaml examples/device.yaml
  takeback check org.yaml device.yaml --trunk MyDeviceTrunk --json
  takeback check org.yaml device.yaml --source 52.129.96.10 --source 52.129.96.11
"""
_MARKS: dict[str, tuple[str, str]] = {
    "pass": ("✓", "green"),
    "fail": ("✗", "bold red"),
    "warn": ("⚠", "yellow"),
    "info": ("ℹ", "cyan"),
}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="check that an org's device trunk and a device.yaml agree (transport, digest, codecs, DNIS…)",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("org", metavar="org.yaml", help="the Genesys side")
    parser.add_argument("device", metavar="device.yaml", help="the device")
    parser.add_argument("--trunk", metavar="NAME", help="the trunk to the device (default: guessed)")
    parser.add_argument(
        "--source",
        action="append",
        metavar="IP",
        help="an address Genesys sends from, for the device ACL check; repeat "
        "(default: 127.0.0.1 when the trunk points at loopback, the local emulator)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from takeback.provision.compat import TrunkSelectionError, check_compat

    loaded = _load(args.org, args.device)
    if isinstance(loaded, list):
        return _config_errors(loaded, args.json)
    org, device = loaded
    try:
        sources = [_source(text) for text in args.source] if args.source else None
        report = check_compat(org, device, trunk=args.trunk, sources=sources)
    except (TrunkSelectionError, ValueError) as exc:
        return _config_errors([str(exc)], args.json)
    if args.json:
        print(json.dumps({**report.to_dict(), "org": args.org, "device": args.device}, indent=2))
    else:
        _print(report, args.org, args.device)
    return 0 if report.ok else 1


def _load(org_path: str, device_path: str) -> tuple[Any, Any] | list[str]:
    """Both files, or every configuration problem of both as ``file: path: message`` lines."""
    from takeback.cloud import ConfigError as OrgConfigError
    from takeback.cloud import load_org
    from takeback.device.config import load_device_config
    from takeback.device.validation import ConfigError as DeviceConfigError

    errors: list[str] = []
    org = device = None
    try:
        org = load_org(org_path)
    except OrgConfigError as exc:
        errors += [_located(org_path, str(problem)) for problem in exc.problems]
    try:
        device = load_device_config(device_path)
    except DeviceConfigError as exc:
        errors += [_located(device_path, str(problem)) for problem in exc.problems]
    if errors:
        return errors
    return org, device


def _located(path: str, problem: str) -> str:
    return problem if problem.startswith(path) else f"{path}: {problem}"


def _source(text: str) -> str:
    import ipaddress

    try:
        return ipaddress.ip_address(text.strip()).compressed
    except ValueError:
        raise ValueError(f"--source: {text!r} is not an IP address") from None


def _config_errors(lines: list[str], as_json: bool) -> int:
    from takeback.observe.ladder import display_text

    for line in lines:
        print(f"takeback check: {display_text(line)}", file=sys.stderr)
    if as_json:
        print(json.dumps({"ok": False, "config_errors": lines}))
    return 2


# ----------------------------------------------------------------------------------------- rendering


def _print(report: CompatReport, org_path: str, device_path: str) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for line in render(report, org_path, device_path):
        console.print(line)


def render(report: CompatReport, org_path: str, device_path: str) -> list[Text]:
    """The report as rich ``Text`` lines: one per check, its fix under it when it did not pass."""
    from rich.text import Text

    lines = [Text(f"trunk {report.trunk!r} ({org_path}) ↔ device ({device_path})", style="bold")]
    for check in report.checks:
        lines += _check_lines(check)
    counts = report.counts()
    verdict = Text("OK" if report.ok else "FAILED", style="bold green" if report.ok else "bold red")
    summary = f": {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings"
    lines.append(verdict + Text(summary + (f", {counts['info']} notes" if counts["info"] else "")))
    return lines


def _check_lines(check: Check) -> list[Text]:
    from rich.text import Text

    from takeback.observe.ladder import display_text

    mark, style = _MARKS[check.status]
    line = Text(f"{mark} ", style=style)
    line.append(check.code, style=style)
    line.append(": " + display_text(check.message))
    lines = [line]
    if check.fix and check.status != "pass":
        lines.append(Text("    fix: ", style="dim") + Text(display_text(check.fix)))
    return lines
