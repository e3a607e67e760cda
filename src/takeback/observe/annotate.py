"""The headers worth calling out next to a ladder arrow, decoded the way the BYOC rules read them.

A take-back goes wrong in a handful of known places (GENESYS.md §5, §6, §12): the UUI header Genesys
reads, the Refer-To spelling, the terminal NOTIFY sipfrag, Digest, the conversation id. Each note says
what Genesys would make of the header, not merely that it is there: ``Call.UUIData`` as
:func:`takeback.uui.decode_uui` computes it, the Refer-To target as :func:`takeback.uui.parse_refer_to`
routes it. Secrets stay out: Digest notes show realm/user/algorithm, never the response hash.

Every function here takes attacker-controlled input and must not raise; renderers escape the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from takeback.sip import Request, Response
from takeback.sip.authparams import parse_auth_header
from takeback.uui import UuiError, decode_uui, parse_refer_to

__all__ = ["Note", "NoteLevel", "annotate", "body_kind"]

NoteLevel = Literal["info", "warn"]
_MAX_VALUE = 120


@dataclass(frozen=True, slots=True)
class Note:
    """One call-out: ``kind`` is stable (``cnv``, ``uui``, ``refer-to``, ``sipfrag``, ``digest``,
    ``sdp``, ``reason``), ``text`` is for humans, ``level`` ``"warn"`` flags a likely problem."""

    kind: str
    text: str
    level: NoteLevel = "info"


def _clip(text: str, limit: int = _MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotate(message: Request | Response) -> list[Note]:
    """The notes for one parsed message, in a fixed order."""
    notes: list[Note] = []
    headers = message.headers
    conversation = headers.get("x-inin-cnv")
    if conversation is not None:
        notes.append(Note("cnv", f"x-inin-cnv: {_clip(conversation)}"))
    notes += _uui_notes(message)
    if isinstance(message, Request) and message.method == "REFER":
        notes += _refer_notes(message)
    if isinstance(message, Request) and message.method == "NOTIFY":
        notes += _notify_notes(message)
    notes += _digest_notes(message)
    sdp = _sdp_summary(message)
    if sdp is not None:
        notes.append(Note("sdp", sdp))
    reason = headers.get("Reason")
    if reason is not None:
        notes.append(Note("reason", f"Reason: {_clip(reason)}"))
    return notes


def _uui_notes(message: Request | Response) -> list[Note]:
    try:
        decoded = decode_uui(message.headers)
    except Exception as exc:  # the codec promises not to raise; a note is no place to crash anyway
        return [Note("uui", f"UUI undecodable: {exc}", "warn")]
    if not decoded.found:
        return []
    warnings = "; ".join(warning.code for warning in decoded.warnings)
    if decoded.text is None:
        text = f"UUI {decoded.header_name or ''}: no Call.UUIData ({warnings or 'unusable'})"
        return [Note("uui", _clip(text, 200), "warn")]
    text = f"UUI {decoded.header_name}: Call.UUIData={_clip(decoded.text)!r}"
    if decoded.pd is not None:
        text += f" pd={decoded.pd}"
    if warnings:
        text += f" [{warnings}]"
    return [Note("uui", text)]


def _refer_notes(message: Request) -> list[Note]:
    value = message.headers.get("Refer-To")
    if value is None:
        return [Note("refer-to", "REFER without Refer-To (RFC 3515 §2.4.1: 400)", "warn")]
    try:
        target = parse_refer_to(value)
    except UuiError as exc:
        return [Note("refer-to", _clip(f"Refer-To unusable: {exc}", 200), "warn")]
    parts = [f"Refer-To → {target.number}"]
    if target.uui_data is not None:
        parts.append(f"UUI={_clip(target.uui_data)!r}")
    elif target.spelling is not None:
        parts.append("UUI present but no Call.UUIData")
    if target.spelling is not None:
        parts.append(f"spelling={target.spelling}")
    parts.append("RFC-correct" if target.rfc_correct else "NOT RFC-correct")
    warnings = [warning.code for warning in target.all_warnings]
    if warnings:
        parts.append("[" + "; ".join(warnings) + "]")
    lost_uui = target.spelling is not None and target.uui_data is None
    level: NoteLevel = "warn" if not target.rfc_correct or lost_uui else "info"
    return [Note("refer-to", ", ".join(parts), level)]


def _notify_notes(message: Request) -> list[Note]:
    headers = message.headers
    event = headers.get("Event") or "(no Event)"
    state = headers.get("Subscription-State") or "(no Subscription-State)"
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "message/sipfrag":
        return [Note("sipfrag", _clip(f"NOTIFY {event}; {state}; no sipfrag body"), "warn")]
    first_line = message.body.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    status_text = first_line.removeprefix("SIP/2.0 ").strip()
    terminal = status_text[:1] in ("2", "3", "4", "5", "6")
    success = status_text[:1] == "2"
    level: NoteLevel = "warn" if terminal and not success else "info"
    return [
        Note("sipfrag", _clip(f"sipfrag: {status_text or '(empty)'}; Event: {event}; {state}", 200), level)
    ]


def _digest_notes(message: Request | Response) -> list[Note]:
    notes: list[Note] = []
    names = (
        ("WWW-Authenticate", "Proxy-Authenticate")
        if isinstance(message, Response)
        else ("Authorization", "Proxy-Authorization")
    )
    for name in names:
        for value in message.headers.get_all(name):
            notes.append(Note("digest", _auth_summary(name, value)))
    return notes


def _auth_summary(name: str, value: str) -> str:
    challenge = name.endswith("Authenticate")
    what = "challenge" if challenge else "credentials"
    try:
        parsed = parse_auth_header(value)
    except ValueError:
        return f"{name}: malformed {what}"
    keys = ("realm", "algorithm", "qop") if challenge else ("username", "realm", "algorithm", "qop", "nc")
    details = ", ".join(f"{key}={parsed.get(key)}" for key in keys if parsed.get(key) is not None)
    return _clip(f"{parsed.scheme} {what} ({name}){': ' + details if details else ''}", 200)


def body_kind(message: Request | Response) -> str | None:
    """``"SDP"``, ``"sipfrag"`` or the media type of a non-empty body; ``None`` without a body."""
    if not message.body:
        return None
    media = (message.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    return {"application/sdp": "SDP", "message/sipfrag": "sipfrag"}.get(media, media or "body")


def _sdp_summary(message: Request | Response) -> str | None:
    """``SDP c=127.0.0.1 audio 40000 RTP/AVP 0 101 sendrecv``: where media goes and whether it is held."""
    if body_kind(message) != "SDP":
        return None
    connection = ""
    media: list[str] = []
    direction = "sendrecv"  # RFC 3264 §5.1 default
    for raw in message.body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("c=") and not connection:
            connection = line[2:].split()[-1] if line[2:].split() else ""
        elif line.startswith("m="):
            media.append(line[2:])
        elif line in ("a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv"):
            direction = line[2:]
    hold = connection in ("0.0.0.0", "::") or direction in ("sendonly", "inactive")
    text = f"SDP c={connection or '?'} {' | '.join(media) or '(no m= line)'} {direction}"
    return _clip(text + (" (hold)" if hold else ""), 200)
