"""Drawing a :class:`~takeback.observe.ladder.Ladder` in a terminal: plain text, or coloured with rich.

One layout, two outputs. :func:`layout` places characters on a grid of styled segments; :func:`render_text`
joins them into plain text (logs, files, tests, terminals without rich) and :func:`render_rich` turns them
into ``rich.text.Text`` (colours, nothing else). Message-derived text goes through
:func:`~takeback.observe.ladder.display_text` first, so a hostile message cannot move the cursor, change
colours or reorder the line on the reader's terminal; and it reaches rich as plain ``Text``, never as
markup, so ``[bold]`` in a header stays literal.

::

              caller              genesys               device
                |                    |                    |
                | INVITE (SDP) · CSe |                    |
     +0.000s    |------------------->|                    |  x-inin-cnv: 2c3b…
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from .ladder import Arrow, Ladder, display_text

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["Line", "Segment", "layout", "print_ladder", "render_rich", "render_text"]

Segment = tuple[str, str | None]  # text and a style name (None: default)
Line = list[Segment]

_TIME_WIDTH = 11
_MIN_GAP, _MAX_GAP = 16, 44
_MIN_NOTES = 24

#: Style names used by :func:`layout` and their rich styles.
STYLES: dict[str, str] = {
    "party": "bold",
    "lifeline": "dim",
    "time": "dim",
    "request": "cyan",
    "provisional": "blue",
    "success": "green",
    "redirect": "magenta",
    "failure": "red",
    "unparsed": "bold red",
    "retrans": "yellow",
    "note": "bright_black",
    "warn": "bold yellow",
}


class _Canvas:
    """One output line as characters with a style each."""

    def __init__(self, width: int) -> None:
        self.chars = [" "] * width
        self.styles: list[str | None] = [None] * width

    def put(self, x: int, text: str, style: str | None) -> None:
        for offset, char in enumerate(text):
            position = x + offset
            if 0 <= position < len(self.chars):
                self.chars[position] = char
                self.styles[position] = style

    def segments(self) -> Line:
        end = len(self.chars)
        while end and self.chars[end - 1] == " ":
            end -= 1
        line: Line = []
        for position in range(end):
            char, style = self.chars[position], self.styles[position]
            if line and line[-1][1] == style:
                line[-1] = (line[-1][0] + char, style)
            else:
                line.append((char, style))
        return line


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def layout(ladder: Ladder, *, width: int | None = None, notes: bool = True) -> list[Line]:
    """The ladder as lines of styled segments. ``width`` (a terminal's) bounds every line: the gap
    between columns shrinks to at least 16 and notes are cut to fit; ``notes=False`` leaves them out."""
    if not ladder.parties:
        return [[("(no SIP messages)", "note")]]
    count = len(ladder.parties)
    longest = max((len(display_text(arrow.caption)) for arrow in ladder.arrows), default=10)
    gap = max(_MIN_GAP, min(_MAX_GAP, longest + 4))
    if width is not None and count > 1:
        room = width - _TIME_WIDTH - (_MIN_NOTES if notes else 0)
        gap = max(_MIN_GAP, min(gap, room // count))
    xs = [_TIME_WIDTH + gap // 2 + index * gap for index in range(count)]
    notes_x = xs[-1] + gap // 2 + 2
    total = max(width, xs[-1] + 2) if width is not None else notes_x + 240
    note_room = total - notes_x
    lines: list[Line] = []

    def canvas() -> _Canvas:
        row = _Canvas(total)
        for x in xs:
            row.put(x, "|", "lifeline")
        return row

    header = _Canvas(total)
    for x, party in zip(xs, ladder.parties, strict=False):
        name = _fit(display_text(party.name), gap - 1)
        header.put(x - len(name) // 2, name, "party")
    lines += [header.segments(), canvas().segments()]
    for arrow in ladder.arrows:
        label_row, arrow_row = canvas(), canvas()
        _draw_arrow(label_row, arrow_row, arrow, xs)
        arrow_row.put(0, f"{arrow.time:+.3f}s".rjust(_TIME_WIDTH - 2), "time")
        extra: list[_Canvas] = []
        if notes and note_room > 4:
            for index, note in enumerate(arrow.notes):
                row = arrow_row if index == 0 else canvas()
                row.put(
                    notes_x,
                    _fit(display_text(note.text), note_room),
                    "warn" if note.level == "warn" else "note",
                )
                if index:
                    extra.append(row)
        lines += [label_row.segments(), arrow_row.segments()] + [row.segments() for row in extra]
    return lines


def _draw_arrow(label_row: _Canvas, arrow_row: _Canvas, arrow: Arrow, xs: list[int]) -> None:
    style = arrow.style
    caption = display_text(arrow.caption)
    a, b = xs[arrow.src], xs[arrow.dst]
    if a == b:  # a message to itself: a small loop to the right of the lifeline
        label_row.put(a + 1, "--.", style)
        label_row.put(a + 5, caption, style)
        arrow_row.put(a + 1, "<-'", style)
        return
    left, right = min(a, b), max(a, b)
    span = right - left - 1
    text = _fit(caption, span - 2)
    label_row.put(left + 1 + (span - len(text)) // 2, text, style)
    fill = "~" if arrow.retransmission else "-"
    line = fill * span
    line = line[:-1] + ">" if b > a else "<" + line[1:]
    arrow_row.put(left + 1, line, style)


def render_text(ladder: Ladder, *, width: int | None = None, notes: bool = True) -> str:
    """The ladder as plain text, one line per row, no trailing spaces, ending with a newline."""
    return "".join(
        "".join(text for text, _ in line) + "\n" for line in layout(ladder, width=width, notes=notes)
    )


def render_rich(ladder: Ladder, *, width: int | None = None, notes: bool = True) -> Text:
    """The ladder as a ``rich.text.Text`` with colours (requires rich)."""
    from rich.text import Text

    result = Text(no_wrap=True, overflow="ellipsis")
    for line in layout(ladder, width=width, notes=notes):
        for text, style in line:
            result.append(text, STYLES.get(style, "") if style else "")
        result.append("\n")
    return result


def print_ladder(
    ladder: Ladder, *, file: IO[str] | None = None, color: bool | None = None, notes: bool = True
) -> None:
    """Print the ladder: coloured through rich on a terminal (``color=None`` decides by the stream),
    plain text when rich is missing, ``color=False``, or the stream is not a terminal."""
    stream = file if file is not None else sys.stdout
    try:
        from rich.console import Console
    except ImportError:
        stream.write(render_text(ladder, notes=notes))
        return
    console = Console(file=stream, force_terminal=color, no_color=color is False, highlight=False)
    if not console.is_terminal or color is False:
        stream.write(render_text(ladder, notes=notes))
        return
    console.print(render_rich(ladder, width=console.width, notes=notes), end="", soft_wrap=True)
