"""The ``takeback`` command (DESIGN.md §3).

Exit codes are a contract: 0 success, 1 the thing checked failed, 2 usage or configuration error. User
errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (
    call_cmd,
    check_cmd,
    cloud_cmd,
    correlate_cmd,
    demo_cmd,
    device_cmd,
    inspect_cmd,
    provision_cmd,
    uui_cmd,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="takeback",
        description="Genesys Cloud BYOC transfer to an external SIP device, and take back with SIP REFER.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `takeback COMMAND --help` for the examples of each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo_cmd.register(commands)
    device_cmd.register(commands)
    cloud_cmd.register(commands)
    call_cmd.register(commands)
    provision_cmd.register(commands)
    correlate_cmd.register(commands)
    check_cmd.register(commands)
    inspect_cmd.register(commands)
    uui_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except (UsageError, ValueError) as exc:
        print(f"takeback {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
