"""The small grammar pieces every header shares: comma lists, quoted strings, ``;name=value`` params.

RFC 3261 §7.3.1 (comma-separated values), §25.1 (quoted-string, quoted-pair, generic-param, LWS around
SEMI/EQUAL). Parameters are kept *verbatim* (quotes included) and in order: a UA that normalises a
peer's parameter it does not understand breaks interop (GENESYS.md §4.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import SipParseError

__all__ = [
    "Params",
    "format_params",
    "lookup_param",
    "parse_params",
    "quote",
    "split_comma_list",
    "unquote",
]

Params = Mapping[str, str | None]

# RFC 3261 §25.1 token.
TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+\Z")
# Names that occur in nearly every message; checking them against a set skips the token regex.
_COMMON_PARAM_NAMES = frozenset(
    ("tag", "branch", "rport", "received", "lr", "transport", "expires", "q", "maddr", "ttl", "user",
     "id", "reason", "refresher", "encoding", "purpose", "retry-after", "method", "charset", "version",
     "ob", "+sip.instance", "reg-id", "gr", "pd", "phone-context")
)  # fmt: skip
_BACKSLASH_RE = re.compile(r"\\(.)", re.S)


def split_comma_list(value: str) -> list[str]:
    """Split a comma-joined header value, never inside a quoted string or ``<…>`` (RFC 3261 §7.3.1).

    Empty elements (``a,,b``) are dropped. Raises :class:`SipParseError` for an unterminated quote.
    """
    if "," not in value:
        value = value.strip(" \t")
        return [value] if value else []
    if '"' not in value and "<" not in value:
        return [part for part in (p.strip(" \t") for p in value.split(",")) if part]
    parts: list[str] = []
    in_angle = False
    in_quote = False
    start = 0
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == "," and not in_angle:
            part = value[start:i].strip(" \t")
            if part:
                parts.append(part)
            start = i + 1
        i += 1
    if in_quote:
        raise SipParseError(f"unterminated quoted string in {value[:60]!r}")
    tail = value[start:].strip(" \t")
    if tail:
        parts.append(tail)
    return parts


def unquote(text: str) -> str:
    """Strip the quotes of a quoted-string and resolve its ``\\`` escapes (RFC 3261 §25.1 quoted-pair).

    Text that is not a quoted string is returned unchanged.
    """
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    return _BACKSLASH_RE.sub(r"\1", inner)


def quote(text: str) -> str:
    """Make a quoted-string of ``text``: ``"`` and ``\\`` become quoted-pairs (RFC 3261 §25.1)."""
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def closing_quote(text: str, start: int = 0) -> int:
    """Index of the ``"`` that closes the quoted string opening at ``text[start]``."""
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i
        i += 1
    raise SipParseError(f"unterminated quoted string in {text[:60]!r}")


def _split_params(text: str) -> list[str]:
    """Split on ``;`` outside quoted strings."""
    parts: list[str] = []
    start = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = closing_quote(text, i)
        elif ch == ";":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def parse_params(text: str) -> Params:
    """``;a=b;flag;c="x;y"`` → ordered mapping; flags map to ``None``.

    Names must be tokens; whitespace around ``;`` and ``=`` is allowed (SEMI/EQUAL of RFC 3261 §25.1);
    values are kept verbatim, quotes included. Raises :class:`SipParseError`. The mapping is a fresh
    dict typed read-only: callers own it, nothing else holds it.
    """
    if '"' in text or " " in text or "\t" in text:
        return _parse_params_general(text)
    if text.count(";") == 1:  # the usual ";tag=…": no list, no loop
        name, eq, value = text.partition("=")
        name = name[1:]
        if not text.startswith(";") or (name not in _COMMON_PARAM_NAMES and TOKEN_RE.match(name) is None):
            raise SipParseError(f"bad parameter in {text[:60]!r}")
        return {name: value if eq else None}
    items = text.split(";")
    if items[0]:
        raise SipParseError(f"junk before parameters: {text[:60]!r}")
    params: dict[str, str | None] = {}
    for item in items[1:]:
        name, eq, value = item.partition("=")
        if name not in _COMMON_PARAM_NAMES and TOKEN_RE.match(name) is None:
            raise SipParseError(f"bad parameter name {name[:40]!r} in {text[:60]!r}")
        params[name] = value if eq else None
    return params


def _parse_params_general(text: str) -> Params:
    text = text.strip(" \t")
    if not text:
        return {}
    if text[0] != ";":
        raise SipParseError(f"junk before parameters: {text[:60]!r}")
    items = _split_params(text[1:]) if '"' in text else text[1:].split(";")
    params: dict[str, str | None] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip(" \t")
        if TOKEN_RE.match(name) is None:
            raise SipParseError(f"bad parameter name {name[:40]!r} in {text[:60]!r}")
        if eq:
            value = value.strip(" \t")
            if value and value[0] == '"' and closing_quote(value) != len(value) - 1:
                raise SipParseError(f"junk after quoted parameter value in {text[:60]!r}")
            params[name] = value
        else:
            params[name] = None
    return params


def format_params(params: Params) -> str:
    """The inverse of :func:`parse_params`: ``;name=value`` / ``;flag`` in order."""
    if not params:
        return ""
    return "".join([f";{k}" if v is None else f";{k}={v}" for k, v in params.items()])


def lookup_param(params: Params, name: str) -> str | None:
    """Case-insensitive parameter lookup (RFC 3261 §7.3.1: parameter names are case-insensitive)."""
    value = params.get(name)
    if value is not None or name in params:
        return value
    lname = name.lower()
    if lname not in map(str.lower, params):
        return None  # the usual miss (``maddr``, ``received``): one C-level scan, no Python loop
    for key, val in params.items():
        if key.lower() == lname:
            return val
    return None


def has_param(params: Params, name: str) -> bool:
    if name in params:
        return True
    return name.lower() in map(str.lower, params)
