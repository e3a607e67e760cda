"""Session timers (RFC 4028): the negotiated interval of a dialog and the 422 rule.

The core keeps the values on the dialog and turns them into one timer: at half the interval when we are
the refresher (:class:`~takeback.sip.events.SessionRefreshDue`), otherwise shortly before expiry
(:class:`~takeback.sip.events.SessionExpired`, §10: ``SE - min(32, SE/3)``). Refreshing (re-INVITE or
UPDATE) and the BYE on expiry are the TU's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .message import Message, Request, Response
from .responses import make_response

__all__ = [
    "MIN_SE_FLOOR",
    "SessionTimer",
    "interval_too_small",
    "make_422",
    "parse_session_expires",
    "session_from_2xx",
    "session_headers_for_2xx",
    "supports_timer",
]

#: RFC 4028 §4: Min-SE can never be below 90 seconds.
MIN_SE_FLOOR = 90


@dataclass(slots=True)
class SessionTimer:
    """The interval in force and who refreshes (``refresher`` is relative to the refreshing transaction)."""

    expires: int
    refresher: str
    we_refresh: bool
    min_se: int = MIN_SE_FLOOR

    def delay(self) -> float:
        """Seconds until :class:`SessionRefreshDue` (refresher) or :class:`SessionExpired` (other side)."""
        if self.we_refresh:
            return self.expires / 2
        return self.expires - min(32.0, self.expires / 3)


def parse_session_expires(message: Message) -> tuple[int, str | None] | None:
    """``Session-Expires: 1800;refresher=uac`` → ``(1800, "uac")``; ``None`` if absent or malformed."""
    value = message.param_value("Session-Expires")
    if value is None or value.delta is None:
        return None
    refresher = value.param("refresher")
    return value.delta, (refresher.lower() if refresher else None)


def supports_timer(message: Message) -> bool:
    return any(tok.strip().lower() == "timer" for tok in message.headers.get_all("Supported")) or any(
        tok.strip().lower() == "timer" for tok in message.headers.get_all("Require")
    )


def interval_too_small(request: Request, min_se: int) -> bool:
    """§8.1: a request whose Session-Expires is below our Min-SE must be rejected with 422."""
    parsed = parse_session_expires(request)
    return parsed is not None and parsed[0] < min_se


def make_422(request: Request, min_se: int, *, to_tag: str | None = None) -> Response:
    """422 Session Interval Too Small with our ``Min-SE`` (RFC 4028 §6)."""
    response = make_response(request, 422, to_tag=to_tag)
    response.headers.add("Min-SE", str(max(min_se, MIN_SE_FLOOR)))
    return response


def session_headers_for_2xx(request: Request) -> list[tuple[str, str]]:
    """What a UAS adds to its 2xx when the UAC asked for session timers and supports them (§9).

    We leave refreshing to the UAC unless it asked otherwise, so a device that never re-INVITEs still
    complies (GENESYS.md §4.4: accept refreshes, do not require timers).
    """
    if "Session-Expires" not in request.headers:  # most calls: no session timer asked for
        return []
    parsed = parse_session_expires(request)
    if parsed is None or not supports_timer(request):
        return []
    expires, refresher = parsed
    return [("Session-Expires", f"{expires};refresher={refresher or 'uac'}"), ("Require", "timer")]


def session_from_2xx(
    response: Response, *, we_sent_it: bool, request: Request | None = None
) -> SessionTimer | None:
    """The session timer a 2xx to INVITE/UPDATE puts in force; ``None`` when it carries none.

    ``request`` (the refreshing request) supplies ``Min-SE`` when it carried one.
    """
    parsed = parse_session_expires(response)
    if parsed is None:
        return None
    expires, refresher = parsed
    refresher = refresher or "uac"
    we_refresh = (refresher == "uas") if we_sent_it else (refresher == "uac")
    min_se = MIN_SE_FLOOR
    if request is not None:
        value = request.param_value("Min-SE")
        if value is not None and value.delta is not None:
            min_se = max(value.delta, MIN_SE_FLOOR)
    return SessionTimer(expires, refresher, we_refresh, min_se)
