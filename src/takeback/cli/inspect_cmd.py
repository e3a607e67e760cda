"""``takeback inspect FILE|-``: explain one SIP message, as pasted from a trace, against the BYOC rules.

Exit codes (DESIGN.md §3): 0 when the message parsed (warnings do not change it), 1 when it cannot be
parsed (the parser's reason, one line on stderr), 2 for usage errors (an unreadable FILE).

The message is attacker-controlled text. Everything taken from it is shown through
:func:`takeback.observe.ladder.display_text` (control characters become ``\\xNN``, so an ANSI sequence
cannot recolour or move anything) and reaches rich as plain ``Text``, never as markup (``[bold]`` stays
literal). ``--json`` output is :meth:`takeback.observe.explain.Explanation.to_dict`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

    from takeback.observe.explain import (
        DigestInfo,
        Explanation,
        Finding,
        NotifyInfo,
        Party,
        ReferToInfo,
        SdpInfo,
    )

_EXAMPLES = """examples:
  takeback inspect invite.txt                 # a message copied from sngrep, tshark or a log
  pbpaste | takeback inspect -                # from the clipboard
  takeback inspect refer.txt --json | jq .refer_to
"""
_LEVEL_MARK = {"warn": ("⚠", "yellow"), "info": ("ℹ", "cyan")}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "inspect",
        help="explain one SIP message: UUI, Call.UUIData, x-inin-cnv, Refer-To, Digest, SDP, pitfalls",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the message (text as pasted), or - for stdin")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {name}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from takeback.observe.explain import explain
    from takeback.observe.ladder import display_text
    from takeback.sip import SipParseError

    data = _read(args.file)
    try:
        explanation = explain(data)
    except SipParseError as exc:
        reason = display_text(str(exc))
        print(f"takeback inspect: unparseable message: {reason}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc), "status": exc.status}))
        return 1
    if args.json:
        print(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print(explanation)
    return 0


# ----------------------------------------------------------------------------------------- rendering


def _print(explanation: Explanation) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for line in render(explanation):
        console.print(line)


def render(explanation: Explanation) -> list[Text]:
    """The human report as ``rich.text.Text`` lines (message text escaped, never markup)."""
    lines = [_line((explanation.start_line, "bold"))]
    lines += _section_dialog(explanation)
    lines += _section_uui(explanation)
    if explanation.refer_to is not None:
        lines += _section_refer(explanation.refer_to)
    lines += _section_digest(explanation.digest)
    if explanation.sdp is not None:
        lines += _section_sdp(explanation.sdp)
    if explanation.notify is not None:
        lines += _section_notify(explanation.notify)
    lines += _section_findings("Findings", explanation.findings)
    lines += _section_findings("Input", explanation.input_notes)
    return lines


def _line(*parts: tuple[str, str | None] | str) -> Text:
    """A Text from (text, style) parts; plain strings are message text and get escaped."""
    from rich.text import Text

    from takeback.observe.ladder import display_text

    text = Text()
    for part in parts:
        if isinstance(part, str):
            text.append(display_text(part))
        else:
            text.append(display_text(part[0]), style=part[1])
    return text


def _field(name: str, value: str | None, note: str = "") -> Text:
    shown = value if value is not None else "(none)"
    return _line((f"  {name:<14}", "dim"), shown, (f"  {note}" if note else "", "dim"))


def _party_text(party: Party) -> str:
    display = f'"{party.display}" ' if party.display else ""
    tag = f";tag={party.tag}" if party.tag else ""
    return f"{display}<{party.uri}>{tag}"


def _section_dialog(explanation: Explanation) -> list[Text]:
    to_note = "" if explanation.to.tag else "no tag: outside a dialog / initial request"
    cnv_note = "conversationId" if explanation.conversation_id else ""
    if explanation.conversation_id is None and explanation.method == "INVITE":
        cnv_note = "Conversation Headers off?"
    return [
        _field("Call-ID", explanation.call_id),
        _field("CSeq", f"{explanation.cseq} {explanation.method}"),
        _field("From", _party_text(explanation.from_)),
        _field("To", _party_text(explanation.to), to_note),
        _field("Contact", explanation.contact),
        _field("x-inin-cnv", explanation.conversation_id, cnv_note),
    ]


def _section_uui(explanation: Explanation) -> list[Text]:
    lines = [_line(("UUI", "bold"))]
    if not explanation.uui_headers:
        lines.append(_line(("  no UUI header", "dim")))
    for header in explanation.uui_headers:
        lines.append(_line("  ", f"{header.name}: {header.value}"))
        default = " (defaulted)" if header.encoding_defaulted else ""
        details = (
            f"type {header.header_type or '?'}, encoding {header.encoding or '?'}{default}, "
            f"PD {header.pd or '-'}"
        )
        result = repr(header.data) if header.data is not None else "no data"
        lines.append(_line(("    ", None), details, (" → ", "dim"), result))
        for warning in header.warnings:
            lines.append(_finding_line(warning, indent="    "))
    value = repr(explanation.call_uui_data) if explanation.call_uui_data is not None else None
    source = f"from {explanation.call_uui_source}" if explanation.call_uui_source else ""
    lines.append(_field("Call.UUIData", value, source))
    return lines


def _section_refer(refer: ReferToInfo) -> list[Text]:
    lines = [_line(("Refer-To", "bold")), _line("  ", refer.value)]
    if refer.error is not None:
        lines.append(_line(("  unusable: ", "red"), refer.error))
        return lines
    verdict = ("RFC-correct ✓", "green") if refer.rfc_correct else ("NOT RFC-correct ✗", "red")
    spelling = refer.spelling or "no UUI"
    bracket = "in <>" if refer.bracketed else "not in <>"
    lines.append(_field("number", refer.number, f"scheme {refer.scheme}, host {refer.host} (not checked)"))
    lines.append(_line((f"  {'spelling':<14}", "dim"), f"{spelling}, {bracket}  ", verdict))
    if refer.spelling is not None:
        uui = f"type {refer.uui_header_type}, encoding {refer.uui_encoding}, PD {refer.uui_pd or '-'}"
        lines.append(_field("UUI", uui))
    value = repr(refer.call_uui_data) if refer.call_uui_data is not None else None
    lines.append(_field("Call.UUIData", value, "in the take-back flow"))
    return lines


def _section_digest(items: Sequence[DigestInfo]) -> list[Text]:
    lines = [_line(("Digest", "bold"))]
    if not items:
        lines.append(_line(("  no Authorization or challenge", "dim")))
    for item in items:
        if item.error is not None:
            lines.append(_line("  ", f"{item.header}: malformed ({item.error})"))
            continue
        params = [
            f"{name}={value}"
            for name, value in (
                ("username", item.username),
                ("realm", item.realm),
                ("algorithm", item.algorithm),
                ("qop", item.qop),
            )
            if value is not None
        ]
        lines.append(_line("  ", f"{item.header}: {item.scheme} {', '.join(params)}"))
    return lines


def _section_sdp(sdp: SdpInfo) -> list[Text]:
    lines = [_line(("SDP", "bold"))]
    for media in sdp.media:
        event = f", telephone-event {media.telephone_event}" if media.telephone_event is not None else ""
        srtp = ", SRTP" if media.srtp else ""
        head = f"{media.media} {media.address or '?'}:{media.port} {media.proto} {media.direction}{srtp}"
        lines.append(_line("  ", head))
        lines.append(_line("    ", f"{', '.join(media.codecs) or 'no codec'}{event}"))
    if sdp.hold:
        lines.append(_line(("  hold", "yellow")))
    return lines


def _section_notify(notify: NotifyInfo) -> list[Text]:
    return [
        _line(("NOTIFY", "bold")),
        _field("Event", notify.event),
        _field("Subscription", notify.subscription_state),
        _field("Content-Type", notify.content_type),
        _field("sipfrag", notify.sipfrag),
    ]


def _section_findings(title: str, findings: Sequence[Finding]) -> list[Text]:
    if not findings:
        return []
    return [_line((title, "bold")), *(_finding_line(finding) for finding in findings)]


def _finding_line(finding: Finding, indent: str = "  ") -> Text:
    mark, style = _LEVEL_MARK.get(finding.level, ("·", "dim"))
    return _line((f"{indent}{mark} ", style), (finding.code, style), ": ", finding.message)
