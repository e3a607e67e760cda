"""The ladder (sequence) diagram model: parties as columns, messages as arrows, with call-outs.

:func:`build_ladder` turns trace entries into a :class:`Ladder` that the renderers draw
(:mod:`~takeback.observe.ladder_text` for terminals, :mod:`~takeback.observe.ladder_html` for SVG/HTML).
Everything a renderer needs is decided here, once, so the two drawings cannot disagree:

* **Columns.** An address is named by the ``names`` map (``{(host, port): "genesys"}``); failing that
  by the party that recorded traffic on it (an ``"out"`` entry's ``src`` and an ``"in"`` entry's ``dst``
  are the recorder's own addresses); failing that it gets its own column called ``host:port``. Several
  addresses with one name (UDP and TCP listeners, ephemeral TCP ports) share the column.
* **Once per transmission.** When both ends recorded a message, the receiver's copy is dropped
  (:class:`~takeback.observe.trace.MirrorFilter`).
* **Retransmissions** (RFC 3261 §17: the same request or response sent again by a transaction or a
  2xx-retransmitting UAS, §13.3.1.4) are marked: same addresses, start line, top Via branch, CSeq,
  Call-ID and tags as an earlier arrow.

The text of a message is attacker-controlled. The model keeps it raw; :func:`display_text` is the one
place that makes it safe to show (control characters, bidirectional overrides), and the HTML renderer
escapes on top of that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from typing import Literal, TypeVar

from takeback.sip import Request, Response, SipParseError, parse_message

from .annotate import Note, annotate, body_kind
from .trace import Address, MirrorFilter, TraceEntry

__all__ = ["Arrow", "ArrowKind", "Ladder", "Party", "build_ladder", "display_text", "format_address"]

ArrowKind = Literal["request", "response", "unparsed"]
_T = TypeVar("_T")

# C0/C1 controls (but tab and newline), DEL, and the bidirectional embedding/override/isolate characters
# that can make a terminal or a browser show text in an order other than the bytes' (CVE-2021-42574).
# Surrogates (undecodable bytes) and U+FFFE/U+FFFF are not allowed in XML at all.
_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def display_text(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character shown as ``\\xNN``/``\\uNNNN``; CRLF becomes LF when
    ``multiline``, otherwise line breaks are shown escaped too."""
    if multiline:
        text = text.replace("\r\n", "\n")
    else:
        text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE_RE.sub(escape, text)


def format_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _normalise(address: Address) -> Address:
    """One spelling per address: IPv6 compressed and lower-case, IPv4-mapped IPv6 as IPv4."""
    host, port = address
    try:
        parsed = ip_address(host.strip("[]"))
    except ValueError:
        return host.lower(), port
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped), port
    return str(parsed), port


@dataclass(frozen=True, slots=True)
class Party:
    """A column: a name and the addresses seen for it (in order of appearance)."""

    name: str
    addresses: tuple[Address, ...] = ()


@dataclass(frozen=True, slots=True)
class Arrow:
    """One message in the ladder. ``src``/``dst`` are column indexes into :attr:`Ladder.parties`;
    ``time`` is seconds since the ladder's first message; ``text`` is the raw message as text."""

    number: int
    entry: TraceEntry
    time: float
    src: int
    dst: int
    kind: ArrowKind
    label: str
    method: str | None
    status: int | None
    cseq: str | None
    call_id: str | None
    body: str | None
    notes: tuple[Note, ...]
    retransmission: bool
    text: str

    @property
    def caption(self) -> str:
        """The arrow's label: ``INVITE (SDP) · CSeq 1``, ``200 OK (SDP) · CSeq 1 INVITE``, retransmissions
        prefixed ``[retrans]``. Not yet display-safe (see :func:`display_text`)."""
        text = self.label
        if self.body is not None:
            text += f" ({self.body})"
        if self.cseq is not None:
            cseq = self.cseq
            if self.kind == "request" and self.method is not None and cseq.endswith(" " + self.method):
                cseq = cseq[: -len(self.method) - 1]
            text += f" · CSeq {cseq}"
        return ("[retrans] " if self.retransmission else "") + text

    @property
    def style(self) -> str:
        """What colour to draw: ``retrans``, ``request``, ``unparsed`` or the response class
        (``provisional``, ``success``, ``redirect``, ``failure``)."""
        if self.retransmission:
            return "retrans"
        if self.kind != "response" or self.status is None:
            return "request" if self.kind == "request" else "unparsed"
        if self.status >= 400:
            return "failure"
        return ("provisional", "success", "redirect")[self.status // 100 - 1]


@dataclass(frozen=True, slots=True)
class Ladder:
    """Columns and arrows, ready to draw. ``start`` is the wall-clock time of the first arrow."""

    parties: tuple[Party, ...]
    arrows: tuple[Arrow, ...]
    start: float | None = None

    @property
    def call_ids(self) -> list[str]:
        """Call-IDs in order of first appearance."""
        return list(dict.fromkeys(arrow.call_id for arrow in self.arrows if arrow.call_id is not None))

    def party_names(self) -> list[str]:
        return [party.name for party in self.parties]


def build_ladder(
    entries: Iterable[TraceEntry],
    names: Mapping[Address, str] | None = None,
    *,
    columns: Sequence[str] = (),
    call_ids: Iterable[str] | None = None,
    dedupe: bool = True,
) -> Ladder:
    """Build the ladder of ``entries`` (a trace, a list), optionally only those of ``call_ids``.

    ``columns`` puts the named parties first, in that order (shown even with no traffic); the others
    follow in order of appearance. Keep-alives are left out; entries are ordered by timestamp.
    """
    wanted = set(call_ids) if call_ids is not None else None
    selected = [
        entry for entry in entries if not entry.is_keepalive and (wanted is None or entry.call_id in wanted)
    ]
    selected.sort(key=lambda entry: entry.timestamp)
    if dedupe:
        mirrors = MirrorFilter()
        selected = [entry for entry in selected if not mirrors.is_mirror(entry)]
    naming = _Naming(names or {}, selected)
    for name in columns:
        naming.column(name)
    start = selected[0].timestamp if selected else None
    seen: set[tuple[object, ...]] = set()
    arrows = []
    for number, entry in enumerate(selected, 1):
        src, dst = naming.column_of(entry.src), naming.column_of(entry.dst)
        arrows.append(_arrow(number, entry, entry.timestamp - (start or 0.0), src, dst, seen))
    return Ladder(naming.parties(), tuple(arrows), start)


class _Naming:
    """Address → column name → column index, columns created in order of first use."""

    def __init__(self, names: Mapping[Address, str], entries: list[TraceEntry]) -> None:
        self._names = {_normalise(address): name for address, name in names.items()}
        self._learned: dict[Address, str] = {}
        for entry in entries:
            if entry.party is not None:
                self._learned.setdefault(_normalise(entry.local), entry.party)
        self._columns: dict[str, int] = {}
        self._addresses: list[list[Address]] = []

    def column(self, name: str) -> int:
        index = self._columns.get(name)
        if index is None:
            index = self._columns[name] = len(self._addresses)
            self._addresses.append([])
        return index

    def column_of(self, address: Address) -> int:
        key = _normalise(address)
        name = self._names.get(key) or self._learned.get(key) or format_address(key)
        index = self.column(name)
        if address not in self._addresses[index]:
            self._addresses[index].append(address)
        return index

    def parties(self) -> tuple[Party, ...]:
        return tuple(Party(name, tuple(self._addresses[index])) for name, index in self._columns.items())


def _arrow(
    number: int, entry: TraceEntry, time: float, src: int, dst: int, seen: set[tuple[object, ...]]
) -> Arrow:
    text = entry.data.decode("utf-8", "replace")
    try:
        message = parse_message(entry.data, max_size=max(65535, len(entry.data)))
    except SipParseError as exc:
        return _unparsed_arrow(number, entry, time, src, dst, seen, text, exc)
    key = _retransmission_key(entry, message)
    retransmission = key in seen
    seen.add(key)
    cseq = _safe(lambda: str(message.cseq))
    kind: ArrowKind
    method: str | None
    if isinstance(message, Request):
        kind, label, method, status = "request", message.method, message.method, None
    else:
        kind, label = "response", f"{message.status} {message.reason}".strip()
        method, status = _safe(lambda: message.cseq.method), message.status
    return Arrow(number, entry, time, src, dst, kind, label, method, status, cseq, entry.call_id,
                 body_kind(message), _notes(message), retransmission, text)  # fmt: skip


def _unparsed_arrow(
    number: int,
    entry: TraceEntry,
    time: float,
    src: int,
    dst: int,
    seen: set[tuple[object, ...]],
    text: str,
    error: SipParseError,
) -> Arrow:
    """Garbage still gets an arrow: a ladder must show what was on the wire, not what parsed."""
    key: tuple[object, ...] = (entry.transport, entry.src, entry.dst, entry.data)
    retransmission = key in seen
    seen.add(key)
    label = text.split("\n", 1)[0].strip()[:40] or "(empty)"
    notes = (Note("error", f"unparseable: {error}", "warn"),)
    return Arrow(number, entry, time, src, dst, "unparsed", label, None, None, None, entry.call_id, None,
                 notes, retransmission, text)  # fmt: skip


def _notes(message: Request | Response) -> tuple[Note, ...]:
    try:
        return tuple(annotate(message))
    except Exception as exc:  # a hostile header must cost a note, never the whole ladder
        return (Note("error", f"could not annotate: {exc!r}", "warn"),)


def _retransmission_key(entry: TraceEntry, message: Request | Response) -> tuple[object, ...]:
    """What makes two sends the same message (RFC 3261 §17.1.3/§17.2.3 matching, plus tags)."""
    return (
        entry.transport,
        _normalise(entry.src),
        _normalise(entry.dst),
        message.start_line(),
        _safe(lambda: message.top_via.branch),
        _safe(lambda: str(message.cseq)),
        entry.call_id,
        _safe(lambda: message.from_.tag),
        _safe(lambda: message.to.tag),
    )


def _safe(build: Callable[[], _T]) -> _T | None:
    """A typed accessor's value, or None when that header is missing or malformed."""
    try:
        return build()
    except ValueError:
        return None
