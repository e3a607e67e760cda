"""The device's HTML status page: live and recent calls, each with its decoded UUI and SIP ladder.

``GET /`` lists the most recent calls from the records database (live ones first, marked ``live``): Call-ID,
conversation id, caller → DNIS, the UUI as received and as sent back, the Refer-To, statuses, outcome, and
the call's ladder drawn from the device's bounded in-memory :class:`~takeback.observe.SipTrace` (folded,
open for live calls). ``GET /calls/<Call-ID>`` is one call: every record field, the full ladder and every
message. No JavaScript, no external assets; the index refreshes itself every few seconds.

Everything shown is attacker-controlled (headers, UUI, Call-IDs, whole messages): every value passes
through :func:`~takeback.observe.ladder.display_text` (control and bidi characters made visible) and
:func:`html.escape` with quotes; a Call-ID only ever reaches an ``href`` percent-encoded with no safe
characters. The HTTP layer adds a ``Content-Security-Policy`` forbidding scripts as a second wall.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from takeback.observe import Ladder, SipTrace, build_ladder, display_text, render_svg
from takeback.observe.ladder import format_address

from .records import CallRecords

__all__ = ["INDEX_CALLS", "StatusPages", "call_href", "render_call_page", "render_index"]

INDEX_CALLS = 25  #: calls listed on the index page
REFRESH_SECONDS = 5

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.2em; color: #1d2330; background: #fff; }
h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
.meta { color: #556; font-size: .9em; }
table.calls { border-collapse: collapse; font-size: .85em; width: 100%; }
table.calls th, table.calls td { border: 1px solid #dde; padding: .25em .45em; vertical-align: top;
  text-align: left; }
table.calls th { background: #eef2fb; }
table.fields { border-collapse: collapse; font-size: .9em; }
table.fields th { text-align: right; padding-right: 1em; color: #556; font-weight: normal; }
code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
tr.live td:first-child { border-left: 4px solid #1e8a3a; }
.badge { display: inline-block; padding: 0 .4em; border-radius: .3em; background: #e5e8ef; }
.badge.live { background: #1e8a3a; color: #fff; } .badge.bad { background: #c0392b; color: #fff; }
.ladder { overflow-x: auto; border: 1px solid #dde; padding: 4px; margin: .3em 0 .8em; }
details.call > summary { cursor: pointer; }
ol.messages pre { background: #f6f7fa; border: 1px solid #dde; padding: .6em; overflow-x: auto;
  font-size: .85em; }
"""
_GOOD = frozenset({"taken-back", "answered", "accepted", "hangup", "peer-hangup"})


def _esc(value: object, *, multiline: bool = False) -> str:
    text = "" if value is None else str(value)
    return html.escape(display_text(text, multiline=multiline), quote=True)


def _when(epoch: object) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}"


def call_href(call_id: str) -> str:
    """The per-call page's path, the Call-ID percent-encoded with nothing left unescaped."""
    return "/calls/" + quote(call_id, safe="")


def _page(title: str, body: Iterable[str], *, refresh: int | None = None) -> str:
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
    ]
    if refresh:
        head.append(f'<meta http-equiv="refresh" content="{int(refresh)}"/>')
    head += [f"<title>{_esc(title)}</title>", f"<style>{_CSS}</style></head>", "<body>"]
    return "\n".join([*head, *body, "</body></html>"]) + "\n"


def _outcome_badge(row: Mapping[str, Any], live: bool) -> str:
    outcome = row.get("outcome") or "-"
    css = "live" if live else ("" if outcome in _GOOD else "bad")
    label = f"live · {outcome}" if live else outcome
    return f'<span class="badge {css}">{_esc(label)}</span>'


def _ladder_html(ladder: Ladder | None, *, notes: bool) -> str:
    if ladder is None or not ladder.arrows:
        return '<p class="meta">No SIP messages of this call are left in the in-memory trace.</p>'
    return f'<div class="ladder">{render_svg(ladder, notes=notes)}</div>'


def _statuses(row: Mapping[str, Any]) -> str:
    parts = [
        f"{name} {row[key]}"
        for name, key in (("INVITE", "invite_status"), ("REFER", "refer_status"), ("NOTIFY", "notify_status"))
        if row.get(key) is not None
    ]
    return " · ".join(parts) or "-"


def _index_row(row: Mapping[str, Any], live: bool) -> str:
    call_id = str(row.get("call_id", ""))
    cells = [
        _outcome_badge(row, live),
        _esc(_when(row.get("invite_at"))),
        f'<a class="mono" href="{_esc(call_href(call_id))}">{_esc(call_id)}</a>',
        f'<span class="mono">{_esc(row.get("conversation_id") or "-")}</span>',
        f"{_esc(row.get('caller') or '-')} → {_esc(row.get('dnis') or '-')}",
        f'<span class="mono">{_esc(row.get("uui_in") or "-")}</span>',
        f'<span class="mono">{_esc(row.get("uui_out") or "-")}</span>',
        f'<span class="mono">{_esc(row.get("refer_to") or "-")}</span>',
        _esc(_statuses(row)),
        _esc(row.get("access") or "-"),
    ]
    css = ' class="live"' if live else ""
    return f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


_INDEX_HEADINGS = ("Outcome", "INVITE (UTC)", "Call-ID", "Conversation", "Caller → DNIS",
                   "UUI in (decoded)", "UUI out", "Refer-To", "Statuses", "Access")  # fmt: skip


def render_index(
    status: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    live: Iterable[str],
    ladders: Mapping[str, Ladder | None],
) -> str:
    """The index page: state, the calls table, then one folded ladder per call (open when live)."""
    live_ids = set(live)
    listen = ", ".join(str(item) for item in status.get("listen", [])) or "-"
    body = [
        "<h1>takeback device</h1>",
        f'<p class="meta">State <b>{_esc(status.get("state", "?"))}</b> · listening on {_esc(listen)} · '
        f"<b>{len(live_ids)}</b> live call(s) · pid {_esc(status.get('pid', '?'))} · "
        '<a href="/metrics">metrics</a> · <a href="/status">status JSON</a> · '
        '<a href="/calls">calls JSON</a></p>',
        f"<h2>Live and recent calls ({len(rows)})</h2>",
    ]
    if not rows:
        body.append('<p class="meta">No calls yet.</p>')
        return _page("takeback device", body, refresh=REFRESH_SECONDS)
    body.append('<table class="calls"><thead><tr>')
    body.append("".join(f"<th>{_esc(name)}</th>" for name in _INDEX_HEADINGS) + "</tr></thead><tbody>")
    body += [_index_row(row, str(row.get("call_id")) in live_ids) for row in rows]
    body.append("</tbody></table>")
    body.append("<h2>Ladders</h2>")
    for row in rows:
        call_id = str(row.get("call_id", ""))
        opened = " open" if call_id in live_ids else ""
        body.append(
            f'<details class="call"{opened}><summary>{_outcome_badge(row, call_id in live_ids)} '
            f'<span class="mono">{_esc(call_id)}</span> '
            f'<a href="{_esc(call_href(call_id))}">details</a></summary>'
            f"{_ladder_html(ladders.get(call_id), notes=False)}</details>"
        )
    return _page("takeback device", body, refresh=REFRESH_SECONDS)


def render_call_page(
    call_id: str, rows: Sequence[Mapping[str, Any]], ladder: Ladder | None, *, live: bool
) -> str:
    """One call: every record field (one table per From tag), the ladder with notes, every message."""
    body = [
        f'<h1>Call <span class="mono">{_esc(call_id)}</span></h1>',
        '<p class="meta"><a href="/">← all calls</a></p>',
    ]
    for row in rows:
        body.append(f"<p>{_outcome_badge(row, live)}</p>")
        body.append('<table class="fields">')
        body += [
            f'<tr><th>{_esc(key)}</th><td class="mono">{_esc(_field(key, value), multiline=True)}</td></tr>'
            for key, value in row.items()
            if key != "id"
        ]
        body.append("</table>")
    if not rows:
        body.append('<p class="meta">No record of this Call-ID (yet).</p>')
    body.append("<h2>SIP ladder</h2>")
    body.append(_ladder_html(ladder, notes=True))
    if ladder is not None and ladder.arrows:
        body.append('<h2>Messages</h2><ol class="messages">')
        body += [_message(ladder, arrow) for arrow in ladder.arrows]
        body.append("</ol>")
    return _page(f"takeback call {display_text(call_id)}", body)


def _field(key: str, value: object) -> object:
    if key.endswith("_at") and isinstance(value, int | float):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)) + f".{int(value % 1 * 1000):03d} UTC"
    return "-" if value is None else value


def _message(ladder: Ladder, arrow: Any) -> str:
    src, dst = ladder.parties[arrow.src].name, ladder.parties[arrow.dst].name
    entry = arrow.entry
    summary = (
        f"{arrow.time:+.3f}s {_esc(src)} → {_esc(dst)} <b>{_esc(arrow.caption)}</b> "
        f"<small>{_esc(entry.transport)} {_esc(format_address(entry.src))} → "
        f"{_esc(format_address(entry.dst))}</small>"
    )
    return (
        f"<li><details><summary>{summary}</summary>"
        f"<pre>{_esc(arrow.text, multiline=True)}</pre></details></li>"
    )


class StatusPages:
    """What the HTTP server calls for ``/`` and ``/calls/<Call-ID>`` (reads run in a worker thread).

    ``live`` returns the Call-IDs of the calls in progress; live calls not among the newest rows are
    fetched by Call-ID so a long call never drops off the page.
    """

    def __init__(
        self,
        records: CallRecords,
        trace: SipTrace,
        *,
        live: Callable[[], set[str]],
        status: Callable[[], dict[str, Any]],
        calls: int = INDEX_CALLS,
    ) -> None:
        self.records = records
        self.trace = trace
        self.live = live
        self.status = status
        self.calls = calls

    def ladder(self, call_id: str) -> Ladder | None:
        entries = self.trace.call(call_id)
        return build_ladder(entries) if entries else None

    async def index(self) -> str:
        """The index page; SQLite reads run in a worker thread, live state is read on the loop."""
        live, status = self.live(), self.status()
        rows = await asyncio.to_thread(self._rows, live)
        ladders = {str(row["call_id"]): self.ladder(str(row["call_id"])) for row in rows}
        return render_index(status, rows, live, ladders)

    def _rows(self, live: set[str]) -> list[dict[str, Any]]:
        rows = self.records.list_recent(self.calls)
        shown = {str(row["call_id"]) for row in rows}
        missing = [row for call_id in sorted(live - shown) for row in self.records.get(call_id)]
        return sorted(missing + rows, key=lambda row: (row["call_id"] not in live, -(row.get("id") or 0)))

    async def call(self, call_id: str) -> str | None:
        """One call's page; None when neither the records nor the trace know the Call-ID."""
        live = call_id in self.live()
        rows = await asyncio.to_thread(self.records.get, call_id)
        ladder = self.ladder(call_id)
        if not rows and ladder is None:
            return None
        return render_call_page(call_id, rows, ladder, live=live)
