"""Pasted SIP text back into the message that was on the wire (the first step of ``takeback inspect``).

A message copied from a terminal, a wiki or ``tshark -z follow`` has bare LF line ends, blank lines
around it, a few lines of tool output before the start line, the same indentation on every line,
trailing blanks (sngrep pads its panels), a literal ``\\r\\n`` at line ends (Wireshark's text export)
and often a Content-Length that no longer matches (the line ends changed; GENESYS.md §10 even writes
``Content-Length: ...``). :func:`normalize_paste` undoes each of these and reports it as a
:class:`Finding`, so the reader knows what was assumed. Pure: bytes in, bytes and notes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from takeback.sip import SipParseError

__all__ = ["MAX_PASTE", "Finding", "Level", "Pasted", "normalize_paste"]

Level = Literal["info", "warn"]
MAX_PASTE = 1024 * 1024  # a pasted message bigger than this is not a SIP message
_REQUEST_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9.!%*_+`'~-]* \S+ SIP/2\.0$", re.IGNORECASE)
STATUS_LINE = re.compile(r"^SIP/2\.0 [1-6]\d\d(?: .*)?$", re.IGNORECASE)
_TREE_LINE = re.compile(r"^\s*(?:Request-Line|Status-Line): ")
_FOOTER = re.compile(r"^=+$")
_BYTE_COUNT = re.compile(r"^\d+$")  # tshark follow: the byte count before each message
_CONTENT_LENGTH = re.compile(r"^(content-length|l)[ \t]*:(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing worth knowing: ``code`` is stable (tests and scripts match on it), ``message`` explains
    and names the GENESYS.md section or RFC. ``warn``: a likely interop problem; ``info``: context."""

    level: Level
    code: str
    message: str


def _info(code: str, message: str) -> Finding:
    return Finding("info", code, message)


def _warn(code: str, message: str) -> Finding:
    return Finding("warn", code, message)


# ------------------------------------------------------------------------------------ paste clean-up


@dataclass(frozen=True, slots=True)
class Pasted:
    """The message bytes to parse (CRLF line ends) and the notes on what was repaired."""

    data: bytes
    notes: tuple[Finding, ...]


def normalize_paste(data: bytes) -> Pasted:
    """Undo the usual copy artefacts (module doc). Text that has no start line is returned as it came,
    so that the parser gives its own reason for refusing it."""
    if len(data) > MAX_PASTE:
        raise SipParseError(f"{len(data)} bytes is too large for one SIP message", 513)
    text = data.decode("utf-8", "surrogateescape")
    lines = [_clean_line(line) for line in text.split("\n")]
    start = next((i for i, line in enumerate(lines) if _is_start_line(line.strip())), None)
    if start is None:
        if any(_TREE_LINE.match(line) for line in lines):
            raise SipParseError(
                "this is tshark/Wireshark's decoded packet tree, not the message; copy the raw message "
                "(tshark -z follow,udp,ascii,N, sngrep's raw view, or Wireshark's 'Follow UDP Stream')"
            )
        return Pasted(data, ())
    notes: list[Finding] = []
    if any(line.strip() for line in lines[:start]):
        notes.append(_info("paste-preamble", f"ignored {start} line(s) before the start line"))
    head, body_lines, more = _split(lines[start:])
    head, body, indented = _dedent(head, body_lines)
    if indented:
        notes.append(_info("paste-indent", "removed the indentation common to every line"))
    if more:
        notes.append(_warn("paste-several", "more than one message pasted: explaining the first one"))
    if "\r\n" not in text:
        notes.append(_info("paste-line-ends", "bare LF line ends: read as CRLF (RFC 3261 §7)"))
    head, length_note = _fix_content_length(head, body)
    if length_note is not None:
        notes.append(length_note)
    message = "\r\n".join(head) + "\r\n\r\n" + body
    return Pasted(message.encode("utf-8", "surrogateescape"), tuple(notes))


def _clean_line(line: str) -> str:
    line = line.removesuffix("\r")
    if line.endswith("\\r\\n"):  # Wireshark's text export writes the line end out
        line = line[:-4]
    return line.rstrip(" \t\r")


def _is_start_line(line: str) -> bool:
    return bool(_REQUEST_LINE.match(line) or STATUS_LINE.match(line))


def _split(lines: list[str]) -> tuple[list[str], list[str], bool]:
    """Header lines, body lines, and whether another message followed (tshark follow output)."""
    blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    head, rest = lines[:blank], lines[blank + 1 :]
    sipfrag = any(
        line.strip().lower().startswith(("content-type:", "c:")) and "sipfrag" in line.lower()
        for line in head
    )
    body: list[str] = []
    more = False
    for index, line in enumerate(rest):
        stripped = line.strip()
        if _FOOTER.match(stripped):
            more = any(_is_start_line(later.strip()) for later in rest[index + 1 :])
            break
        follows = index + 1 < len(rest) and _is_start_line(rest[index + 1].strip())
        if not sipfrag and follows and (not stripped or _BYTE_COUNT.match(stripped)):
            more = True
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    return head, body, more


def _dedent(head: list[str], body: list[str]) -> tuple[list[str], str, bool]:
    """Remove the indentation every header line shares (a folded line keeps what it has beyond it);
    body lines lose as much of it as they have. Returns the header lines, the body text (CRLF line
    ends) and whether anything was removed."""
    start, fields = head[0], head[1:]
    widths = [_indent(line) for line in fields if line.strip()]
    common = min(widths) if widths else _indent(start)
    if common == 0 and _indent(start) == 0:
        return head, "".join(line + "\r\n" for line in body), False
    fields = [line[common:] for line in fields]
    body = [line[min(common, _indent(line)) :] for line in body]
    return [start.lstrip(" \t"), *fields], "".join(line + "\r\n" for line in body), True


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _fix_content_length(head: list[str], body: str) -> tuple[list[str], Finding | None]:
    """Set Content-Length to the pasted body's length; say so when the paste declared another one."""
    actual = len(body.encode("utf-8", "surrogateescape"))
    lf_length = actual - body.count("\r\n")
    for index, line in enumerate(head):
        match = _CONTENT_LENGTH.match(line)
        if match is None:
            continue
        declared = match.group(2).strip()
        fixed = [*head[:index], f"{match.group(1)}: {actual}", *head[index + 1 :]]
        if declared in (str(actual), str(lf_length)):
            return fixed, None
        what = f"Content-Length {declared[:20]!r}" if not declared.isdigit() else f"Content-Length {declared}"
        return fixed, _info(
            "paste-content-length",
            f"{what} but the pasted body has {actual} bytes (CRLF line ends): used {actual}",
        )
    return head, None
