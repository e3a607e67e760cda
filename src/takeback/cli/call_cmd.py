"""``takeback call``: place one simulated PSTN call through a running emulator and follow it to the end.

It talks to the emulator's REST side only (``POST /emulator/v1/calls``, then ``GET`` on the call until it
ended; :mod:`takeback.cloud.calls_api`; those endpoints need no token). The timeline tells which flows ran
with which ``Call.UUIData``, the SIP legs with their Call-IDs, the REFERs, and - when the emulator records
a SIP trace, as ``takeback cloud`` does - the ladder, printed at the end.

Exit codes (DESIGN.md §3): 0 the call completed (and, when the device took it back, the flow reached by
the take-back saw UUI), 1 the call failed or did not end in time, 2 usage (emulator unreachable, bad
number).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["CallOutcome", "judge", "register"]

_EXAMPLES = """examples:
  takeback call --to +18005550100                       # the built-in org's main DID
  takeback call --to +18005550100 --dtmf 1234 --json    # press 1234 once bridged to the device
  takeback call --to +18005550100 --from +13175551234 --uui 'hello' --api http://127.0.0.1:8070
"""
_DEFAULT_API = "http://127.0.0.1:8070"
_CALLS_PATH = "/emulator/v1/calls"
_POLL_INTERVAL = 0.2
_HTTP_TIMEOUT = 10.0
#: After the conversation ended, the device leg's BYE may still be on its way (GENESYS.md §6 BYE policy).
_SETTLE = 0.5


def register(commands: Any) -> None:
    call = commands.add_parser(
        "call",
        help="place a call through a running emulator and show how it went (flows, UUI, SIP ladder)",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("--to", required=True, metavar="NUMBER", help="the DID to call (E.164)")
    call.add_argument("--from", dest="ani", metavar="ANI", help="the caller's number")
    call.add_argument("--uui", metavar="TEXT", help="UUI the caller's network sends (Call.UUIData)")
    call.add_argument("--dtmf", metavar="DIGITS", help="digits the caller presses once bridged to the device")
    call.add_argument(
        "--api", metavar="URL", default=_DEFAULT_API, help=f"emulator REST (default {_DEFAULT_API})"
    )
    call.add_argument("--timeout", type=float, default=60.0, metavar="S", help="give up after S seconds (60)")
    call.add_argument("--json", action="store_true", help="print the outcome and timeline as JSON")
    call.set_defaults(handler=_run)


class CallOutcome:
    """What the timeline says: did the call complete, was it taken back, what UUI did that flow see."""

    def __init__(self, timeline: dict[str, Any], finished: bool) -> None:
        self.timeline = timeline
        refers = timeline.get("refers", [])
        flows = timeline.get("flows", [])
        self.taken_back = any(refer.get("response") == 202 for refer in refers)
        self.uui_data: str | None = flows[-1].get("uui_data") if self.taken_back and len(flows) > 1 else None
        self.problems: list[str] = list(timeline.get("failures", []))
        if not finished:
            self.problems.append("the call did not end in time")
        if self.taken_back and self.uui_data is None:
            self.problems.append("taken back, but the flow it reached saw no Call.UUIData")

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": "completed" if self.ok else "failed",
            "taken_back": self.taken_back,
            "uui_data": self.uui_data,
            "problems": self.problems,
            "conversation": self.timeline,
        }


def judge(timeline: dict[str, Any], finished: bool = True) -> CallOutcome:
    return CallOutcome(timeline, finished)


def _base_url(text: str) -> str:
    url = text if "://" in text else f"http://{text}"
    return url.rstrip("/")


def _request(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One JSON request; API errors and unreachable emulators become ValueError (exit 2)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise ValueError(f"the emulator refused the call: {exc.code} {_error_message(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ValueError(
            f"cannot reach the emulator at {url} ({reason}); is `takeback cloud` running?"
        ) from None


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("message", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)


class _Progress:
    """Status lines for what is new in the timeline since the last poll (rich, not markup)."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        self.console = Console(highlight=False) if enabled else None
        self.started = time.monotonic()
        self.seen: dict[str, int] = {"flows": 0, "legs": 0, "refers": 0}

    def line(self, text: str, style: str = "") -> None:
        if self.console is None:
            return
        from rich.text import Text

        stamp = Text(f"[{time.monotonic() - self.started:5.2f}s] ", style="dim")
        self.console.print(stamp + Text(text, style=style), soft_wrap=True)

    def update(self, timeline: dict[str, Any]) -> None:
        for item in self._new(timeline, "legs"):
            self.line(f"{item['party']} leg, Call-ID {item['call_id']}")
        for item in self._new(timeline, "flows"):
            self.line(f"flow {item['flow']!r} on {item['did']}: Call.UUIData = {item['uui_data']!r}", "cyan")
        for item in self._new(timeline, "refers"):
            self.line(f"REFER {item['refer_to']} -> {item['response']}", "yellow")

    def _new(self, timeline: dict[str, Any], key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = timeline.get(key, [])
        fresh = items[self.seen[key] :]
        self.seen[key] = len(items)
        return fresh


def follow(
    fetch: Callable[[], dict[str, Any]], timeout: float, progress: _Progress
) -> tuple[dict[str, Any], bool]:
    """Poll until the conversation ended or ``timeout``; bounded in time and in count."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / _POLL_INTERVAL) + 1):
        timeline = fetch()
        progress.update(timeline)
        if timeline.get("ended"):
            time.sleep(_SETTLE)
            return fetch(), True
        if time.monotonic() >= deadline:
            break
        time.sleep(_POLL_INTERVAL)
    return fetch(), False


def _run(args: argparse.Namespace) -> int:
    base = _base_url(args.api)
    body = {"to": args.to, "from": args.ani, "uui": args.uui, "dtmf": args.dtmf}
    progress = _Progress(not args.json)
    progress.line(f"calling {args.to} through {base}")
    created = _request("POST", base + _CALLS_PATH, {k: v for k, v in body.items() if v is not None})
    progress.line(f"conversation {created['conversationId']}, customer Call-ID {created['customerCallId']}")
    timeline, finished = follow(lambda: _request("GET", base + created["selfUri"]), args.timeout, progress)
    outcome = judge(timeline, finished)
    if args.json:
        print(json.dumps(outcome.as_json(), indent=2))
    else:
        _print_outcome(outcome, progress)
    return 0 if outcome.ok else 1


def _print_outcome(outcome: CallOutcome, progress: _Progress) -> None:
    ladder = outcome.timeline.get("ladder")
    if ladder:
        print()
        print(ladder, end="")
    if outcome.ok:
        taken = f"; taken back, Call.UUIData = {outcome.uui_data!r}" if outcome.taken_back else ""
        progress.line(f"call completed{taken}", "green")
    else:
        progress.line("call failed: " + "; ".join(outcome.problems), "red")
