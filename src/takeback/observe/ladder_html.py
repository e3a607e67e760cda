"""Drawing a :class:`~takeback.observe.ladder.Ladder` as SVG, or as a self-contained HTML page.

The page has no external assets and no JavaScript: inline CSS, an inline SVG ladder, and below it every
message in a ``<details>`` element. Hovering an arrow shows the whole message (an SVG ``<title>``, the
browser's own tooltip); clicking it jumps to that message (a plain ``href="#msg-N"``; ``:target`` CSS
highlights it). Both outputs are also well-formed XML, so the standalone SVG opens in any viewer and the
HTML parses as XHTML.

Every piece of message-derived text is attacker-controlled. It passes through
:func:`~takeback.observe.ladder.display_text` (control and bidi characters made visible, characters XML
forbids removed) and then :func:`html.escape` with quotes, whether it lands in element content or in an
attribute. Nothing from a message ever becomes markup, a URL, an id or a class name.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

from .ladder import Arrow, Ladder, display_text, format_address

__all__ = ["render_html", "render_svg", "write_html", "write_svg"]

_SVG_NS = "http://www.w3.org/2000/svg"
_CHAR = 7.2  # advance of one 12px monospace character, for layout estimates
_TIME_COL = 74
_HEADER_Y = 12
_FIRST_ROW = 84
_NOTE_LINE = 15
_MAX_NOTE_CHARS = 110

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d2330; background: #fff; }
h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.meta { color: #556; font-size: .9em; } .meta code { font-size: 1em; }
.ladder { overflow-x: auto; border: 1px solid #dde; padding: 4px; }
svg.ladder text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
svg.ladder .party rect { fill: #eef2fb; stroke: #5b6b9a; }
svg.ladder .party text { font-weight: bold; text-anchor: middle; }
svg.ladder .lifeline { stroke: #9aa3bb; stroke-dasharray: 4 4; }
svg.ladder .time { fill: #778; }
svg.ladder .label { text-anchor: middle; }
svg.ladder .hit { stroke: transparent; stroke-width: 14; fill: none; }
svg.ladder .arrow line.msg, svg.ladder .arrow path.msg { stroke-width: 1.6; fill: none; }
svg.ladder .arrow:hover line.msg, svg.ladder .arrow:hover path.msg { stroke-width: 3; }
svg.ladder .note { fill: #556; } svg.ladder .note.warn { fill: #b35c00; font-weight: bold; }
svg.ladder .retrans .msg { stroke-dasharray: 6 3; }
ol.messages { padding-left: 2.5em; } ol.messages > li { margin: .2em 0; }
ol.messages > li:target { outline: 2px solid #f0a030; background: #fff8e8; }
ol.messages summary { cursor: pointer; font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: .9em; }
ol.messages pre { background: #f6f7fa; border: 1px solid #dde; padding: .6em; overflow-x: auto;
  font-size: .85em; }
ul.notes { margin: .3em 0; font-size: .9em; } ul.notes .warn { color: #b35c00; font-weight: bold; }
"""
# Per-style colours as plain rules: CSS custom properties are not understood by every SVG renderer.
_COLOURS = {
    "request": "#1f6fb2",
    "provisional": "#6a5acd",
    "success": "#1e8a3a",
    "redirect": "#8a5a1e",
    "failure": "#c0392b",
    "unparsed": "#c0392b",
    "retrans": "#b8860b",
}
_CSS += "".join(
    f"svg.ladder .{name} .msg {{ stroke: {colour}; }}\n"
    f"svg.ladder .{name} polygon, svg.ladder .{name} .label {{ fill: {colour}; }}\n"
    f"ol.messages .{name} summary b {{ color: {colour}; }}\n"
    for name, colour in _COLOURS.items()
)


def _esc(text: str, *, multiline: bool = False) -> str:
    """Display-safe (see :func:`display_text`) and HTML/XML-escaped, usable in content and attributes."""
    return html.escape(display_text(text, multiline=multiline), quote=True)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Geometry:
    """Where things go: column x positions, each arrow's y and the total size."""

    def __init__(self, ladder: Ladder, notes: bool) -> None:
        self.count = max(1, len(ladder.parties))
        longest = max((len(display_text(arrow.caption)) for arrow in ladder.arrows), default=12)
        longest_name = max((len(display_text(party.name)) for party in ladder.parties), default=8)
        self.gap = max(170.0, min(380.0, max(longest, longest_name) * _CHAR + 36))
        self.xs = [_TIME_COL + self.gap / 2 + index * self.gap for index in range(self.count)]
        self.notes_x = self.xs[-1] + self.gap / 2 + 8
        self.ys: list[float] = []
        y = float(_FIRST_ROW)
        widest_note = 0
        for arrow in ladder.arrows:
            self.ys.append(y)
            shown = arrow.notes if notes else ()
            lengths = (min(len(display_text(note.text)), _MAX_NOTE_CHARS) for note in shown)
            widest_note = max([widest_note, *lengths])
            y += max(36.0, 22.0 + _NOTE_LINE * len(shown))
        self.height = y + 10
        self.width = self.notes_x + widest_note * _CHAR + 16


def render_svg(ladder: Ladder, *, notes: bool = True, links: bool = False, title: str | None = None) -> str:
    """The ladder as one ``<svg>`` element with its own ``<style>`` (a standalone document when written
    to a ``.svg`` file). ``links`` wraps each arrow in ``<a href="#msg-N">`` (the HTML message list)."""
    return _svg(ladder, notes=notes, links=links, title=title, style=True)


def _svg(ladder: Ladder, *, notes: bool, links: bool, title: str | None, style: bool) -> str:
    geometry = _Geometry(ladder, notes)
    width, height = _fmt(geometry.width), _fmt(geometry.height)
    parts = [
        f'<svg xmlns="{_SVG_NS}" class="ladder" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}">'
    ]
    if title is not None:
        parts.append(f"<title>{_esc(title)}</title>")
    if style:
        parts.append(f"<style>{_CSS}</style>")
    parts += _parties_svg(ladder, geometry)
    for arrow, y in zip(ladder.arrows, geometry.ys, strict=True):
        parts.append(_arrow_svg(ladder, arrow, y, geometry, notes=notes, links=links))
    parts.append("</svg>")
    return "\n".join(parts)


def _parties_svg(ladder: Ladder, geometry: _Geometry) -> list[str]:
    parts = []
    box = geometry.gap - 24
    for x, party in zip(geometry.xs, ladder.parties, strict=False):
        addresses = ", ".join(format_address(address) for address in party.addresses)
        name = _clip(display_text(party.name), int(box / _CHAR))
        parts.append(
            f'<g class="party"><title>{_esc(party.name)}: {_esc(addresses)}</title>'
            f'<rect x="{_fmt(x - box / 2)}" y="{_HEADER_Y}" width="{_fmt(box)}" height="28" rx="4"/>'
            f'<text x="{_fmt(x)}" y="{_HEADER_Y + 19}">{html.escape(name, quote=True)}</text></g>'
        )
        parts.append(
            f'<line class="lifeline" x1="{_fmt(x)}" y1="{_HEADER_Y + 28}" x2="{_fmt(x)}"'
            f' y2="{_fmt(geometry.height - 4)}"/>'
        )
    return parts


def _arrow_svg(
    ladder: Ladder, arrow: Arrow, y: float, geometry: _Geometry, *, notes: bool, links: bool
) -> str:
    style = arrow.style
    x1, x2 = geometry.xs[arrow.src], geometry.xs[arrow.dst]
    inner = [f"<title>{_esc(_tooltip(ladder, arrow), multiline=True)}</title>"]
    if x1 == x2:  # message to itself: a loop on the right of the lifeline
        loop = f"M{_fmt(x1)},{_fmt(y - 12)} h30 v12 h-26"
        inner.append(f'<path class="hit" d="{loop}"/><path class="msg" d="{loop}"/>')
        inner.append(_head(x1, y, -1))
        label_x, anchor = x1 + 36, ' style="text-anchor: start"'
    else:
        inner.append(f'<line class="hit" x1="{_fmt(x1)}" y1="{_fmt(y)}" x2="{_fmt(x2)}" y2="{_fmt(y)}"/>')
        tip = x2 - 1 if x2 > x1 else x2 + 1
        inner.append(f'<line class="msg" x1="{_fmt(x1)}" y1="{_fmt(y)}" x2="{_fmt(tip)}" y2="{_fmt(y)}"/>')
        inner.append(_head(x2, y, 1 if x2 > x1 else -1))
        label_x, anchor = (x1 + x2) / 2, ""
    room = int((abs(x2 - x1) or geometry.gap) / _CHAR) - 2
    caption = html.escape(_clip(display_text(arrow.caption), max(room, 8)), quote=True)
    inner.append(f'<text class="label" x="{_fmt(label_x)}" y="{_fmt(y - 6)}"{anchor}>{caption}</text>')
    inner.append(f'<text class="time" x="6" y="{_fmt(y + 4)}">{arrow.time:+.3f}s</text>')
    if notes:
        for index, note in enumerate(arrow.notes):
            text = html.escape(_clip(display_text(note.text), _MAX_NOTE_CHARS), quote=True)
            level = " warn" if note.level == "warn" else ""
            note_y = y - 6 + index * _NOTE_LINE
            inner.append(
                f'<text class="note{level}" x="{_fmt(geometry.notes_x)}" y="{_fmt(note_y)}">{text}</text>'
            )
    body = "".join(inner)
    if links:
        body = f'<a href="#msg-{arrow.number}">{body}</a>'
    return f'<g class="arrow {style}" id="arrow-{arrow.number}">{body}</g>'


def _head(x: float, y: float, direction: int) -> str:
    """A filled arrowhead whose tip is at ``x`` pointing right (1) or left (-1)."""
    back = x - 9 * direction
    points = f"{_fmt(x)},{_fmt(y)} {_fmt(back)},{_fmt(y - 4.5)} {_fmt(back)},{_fmt(y + 4.5)}"
    return f'<polygon points="{points}"/>'


def _tooltip(ladder: Ladder, arrow: Arrow) -> str:
    src, dst = ladder.parties[arrow.src].name, ladder.parties[arrow.dst].name
    entry = arrow.entry
    head = (
        f"#{arrow.number} {arrow.time:+.3f}s {src} → {dst} ({entry.transport} "
        f"{format_address(entry.src)} → {format_address(entry.dst)})"
    )
    notes = "".join(f"\n• {note.text}" for note in arrow.notes)
    return f"{head}{notes}\n\n{arrow.text}"


def render_html(
    ladder: Ladder, *, title: str = "SIP ladder", notes: bool = True, generated: float | None = None
) -> str:
    """A self-contained HTML page: summary, the SVG ladder, and every message in full."""
    when = time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime(generated if generated is not None else time.time())
    )
    parts = [
        "<!DOCTYPE html>",
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
        '<head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
        _summary_html(ladder, when),
        f'<div class="ladder">{_svg(ladder, notes=notes, links=True, title=None, style=False)}</div>',
        "<h2>Messages</h2>",
        '<ol class="messages">',
        *(_message_html(ladder, arrow) for arrow in ladder.arrows),
        "</ol>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _summary_html(ladder: Ladder, when: str) -> str:
    started = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ladder.start))
        + f".{int(ladder.start % 1 * 1000):03d} UTC"
        if ladder.start is not None
        else "-"
    )
    retrans = sum(arrow.retransmission for arrow in ladder.arrows)
    parties = "; ".join(
        f"<b>{_esc(party.name)}</b> {_esc(', '.join(format_address(a) for a in party.addresses))}"
        for party in ladder.parties
    )
    call_ids = ", ".join(f"<code>{_esc(call_id)}</code>" for call_id in ladder.call_ids) or "-"
    return (
        f'<p class="meta">{len(ladder.arrows)} messages ({retrans} retransmissions), first at {started};'
        f" generated {when}.<br/>Parties: {parties or '-'}<br/>Call-IDs: {call_ids}</p>"
    )


def _message_html(ladder: Ladder, arrow: Arrow) -> str:
    src, dst = ladder.parties[arrow.src].name, ladder.parties[arrow.dst].name
    entry = arrow.entry
    summary = (
        f"{arrow.time:+.3f}s {_esc(src)} → {_esc(dst)} <b>{_esc(arrow.caption)}</b>"
        f" <small>{_esc(entry.transport)} {_esc(format_address(entry.src))}"
        f" → {_esc(format_address(entry.dst))}</small>"
    )
    notes = "".join(
        f'<li class="{"warn" if note.level == "warn" else "info"}">{_esc(note.text)}</li>'
        for note in arrow.notes
    )
    notes_html = f'<ul class="notes">{notes}</ul>' if notes else ""
    return (
        f'<li id="msg-{arrow.number}" class="{arrow.style}"><details><summary>{summary}</summary>'
        f"{notes_html}<pre>{_esc(arrow.text, multiline=True)}</pre></details></li>"
    )


def write_html(path: str | os.PathLike[str], ladder: Ladder, **options: object) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.write_text(render_html(ladder, **options), encoding="utf-8")  # type: ignore[arg-type]
    return target


def write_svg(
    path: str | os.PathLike[str], ladder: Ladder, *, notes: bool = True, title: str | None = None
) -> Path:
    """Write a standalone SVG document (XML declaration included) to ``path``."""
    target = Path(path)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + render_svg(ladder, notes=notes, title=title) + "\n"
    )
    target.write_text(document, encoding="utf-8")
    return target
