"""Building responses from requests (RFC 3261 §8.2.6) and the standard reason phrases (§21)."""

from __future__ import annotations

from .message import Headers, Request, Response

__all__ = ["DIALOG_CREATING", "REASONS", "make_response", "reason_phrase"]

#: Methods whose 101-299 responses establish a dialog (RFC 3261 §12.1, RFC 6665 §4.1.2, RFC 3515).
DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})

REASONS: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy",
    380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable", 500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}  # fmt: skip

_COPIED = ("Via", "From", "Call-ID", "CSeq")
#: Lookup key → name written, for the lines §8.2.6.2 copies, in the order they are written.
_COPIED_LINES = (("via", "Via"), ("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq"))
_COPIED_KEY_LIST = tuple(key for key, _name in _COPIED_LINES)
_COPIED_KEYS = frozenset(_COPIED_KEY_LIST)


def reason_phrase(status: int) -> str:
    return REASONS.get(status) or REASONS.get(status // 100 * 100, "Unknown")


def make_response(request: Request, status: int, reason: str = "", *, to_tag: str | None = None) -> Response:
    """A response carrying the request's Via (all, in order), From, Call-ID, CSeq and To (§8.2.6.2).

    ``to_tag`` is added to To unless the request's To already has one (in-dialog) or the status is 100.
    For dialog-creating responses the Record-Route set is copied (§12.1.1); 100 Trying echoes Timestamp
    (§8.2.6.1). The values are copied as written, so the peer gets its own Via back byte for byte.
    """
    src = request.headers
    first = src.index()  # also notes whether some name is repeated (src._dups)
    general = src._dups or not first.keys() >= _COPIED_KEYS
    if general:
        src.get_raw("To")[0]  # a request without To fails here (IndexError), as it always did
    wants_tag = to_tag is not None and status != 100
    may_create = 100 < status < 300 and request.method in DIALOG_CREATING
    untagged = request.to.tag is None if wants_tag or may_create else True
    tag = to_tag if wants_tag and untagged else None
    if tag is not None and ("\r" in tag or "\n" in tag):
        raise ValueError(f"header value with a line break: {tag[:60]!r}")
    dialog_creating = may_create and untagged
    if general:
        return _make_response_general(request, status, reason, tag, dialog_creating)
    # The common case, every name once: the lines are copied from the request's index, already known
    # well formed, into a header list built in one go (no per-line validation or re-indexing).
    to_value = first["to"].strip(" \t")
    if tag is not None:
        to_value = f"{to_value};tag={tag}"
    fields = [
        ("Via", ":", " " + first["via"].strip(" \t")),
        ("From", ":", " " + first["from"].strip(" \t")),
        ("To", ":", " " + to_value),
        ("Call-ID", ":", " " + first["call-id"].strip(" \t")),
        ("CSeq", ":", " " + first["cseq"].strip(" \t")),
    ]
    keys = list(_COPIED_KEY_LIST)
    extra = "record-route" if dialog_creating else "timestamp" if status == 100 else None
    if extra is not None:
        raw = first.get(extra)
        if raw is not None:
            fields.append(("Record-Route" if dialog_creating else "Timestamp", ":", " " + raw.strip(" \t")))
            keys.append(extra)
    return Response(status, reason or reason_phrase(status), Headers._trusted(fields, keys))


def _make_response_general(
    request: Request, status: int, reason: str, tag: str | None, dialog_creating: bool
) -> Response:
    """:func:`make_response` for a request with repeated header names (several Via lines …)."""
    src = request.headers
    fields: list[tuple[str, str]] = []
    for name in _COPIED:
        fields.extend((name, value) for value in src.get_raw(name))
    to_value = src.get_raw("To")[0]
    if tag is not None:
        to_value = f"{to_value};tag={tag}"
    fields.insert(len(fields) - 2, ("To", to_value))
    if dialog_creating:
        fields.extend(("Record-Route", value) for value in src.get_raw("Record-Route"))
    if status == 100:
        fields.extend(("Timestamp", value) for value in src.get_raw("Timestamp"))
    return Response(status, reason or reason_phrase(status), Headers(fields))
