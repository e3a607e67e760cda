"""Header names and :class:`Headers`, the ordered case-insensitive multi-map of a message's fields.

RFC 3261 §7.3: names are case-insensitive, every compact form (§7.3.3 and the registry: i m f t v l c
k s e r b o u x …) is the same header as its long form, repeated headers keep their order, and the
comma-list headers (§7.3.1) are the same whether joined on one line or spread over several.

Representation (chosen for the parser's speed): each field is the ``(name, ":", raw_value)`` triple
that ``str.partition`` produced, exactly as received (leading blank of the value included). Serialising
an unmodified parsed message therefore reproduces its header lines byte for byte, except folded lines,
which are unfolded once on input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

from .errors import SipParseError
from .params import TOKEN_RE, split_comma_list

__all__ = [
    "COMMA_LIST_HEADERS",
    "COMPACT_FORMS",
    "Headers",
    "canonical_name",
    "checked_header_key",
    "header_key",
]

# RFC 3261 §7.3.3 and the IANA registry of compact forms (RFC 3515 r, RFC 3892 b, RFC 6665 o/u,
# RFC 4028 x, RFC 3841 a/j/d, RFC 8224 y; n is retired but still parsed).
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "f": "From",
    "t": "To",
    "v": "Via",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "r": "Refer-To",
    "b": "Referred-By",
    "o": "Event",
    "u": "Allow-Events",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
    "n": "Identity-Info",
}
_CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "CSeq", "Max-Forwards", "Record-Route", "Route", "Allow", "Require", "Proxy-Require",
        "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Authorization",
        "WWW-Authenticate", "Proxy-Authenticate", "Proxy-Authorization", "User-Agent", "Server",
        "Expires", "Min-Expires", "Min-SE", "Subscription-State", "Retry-After", "Warning", "Date",
        "Timestamp", "Organization", "Priority", "Reply-To", "In-Reply-To", "Alert-Info", "Call-Info",
        "Error-Info", "Content-Disposition", "Content-Language", "MIME-Version", "RSeq", "RAck",
        "Path", "Service-Route", "P-Asserted-Identity", "P-Preferred-Identity", "Privacy", "Reason",
        "Replaces", "User-to-User", "Diversion", "History-Info", "Authentication-Info",
        "Security-Client", "Security-Server", "Security-Verify", "Refer-Sub", "Target-Dialog",
    )
}  # fmt: skip
# Headers whose values may be comma-joined (RFC 3261 §7.3.1 and the extensions' ABNF, e.g. RFC 7433 §4.1
# for User-to-User). WWW-Authenticate, Authorization and their Proxy- twins are NOT lists (§7.3.1).
COMMA_LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require",
        "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Allow-Events",
        "Content-Encoding", "Content-Language", "In-Reply-To", "Path", "Service-Route", "Alert-Info",
        "Call-Info", "Error-Info", "Warning", "P-Asserted-Identity", "P-Preferred-Identity", "Reason",
        "History-Info", "Accept-Contact", "Reject-Contact", "Request-Disposition", "User-to-User",
        "Security-Client", "Security-Server", "Security-Verify",
    )
)  # fmt: skip


def _spellings() -> dict[str, str]:
    """Exact spellings seen on the wire → lookup key; a plain dict hit is cheaper than any function."""
    keys: dict[str, str] = {}
    for lname, name in _CANONICAL.items():
        for spelling in (name, lname, name.upper()):
            keys[spelling] = lname
    for short, long_name in COMPACT_FORMS.items():
        keys[short] = keys[short.upper()] = long_name.lower()
    keys.update({"Call-Id": "call-id", "Cseq": "cseq", "Www-Authenticate": "www-authenticate"})
    return keys


_KEYS = _spellings()
_KEYS_LIMIT = len(_KEYS) + 2048
# The spellings above are all tokens: checking a name against this frozen set spares the regex.
_TOKEN_NAMES = frozenset(_KEYS)


@lru_cache(maxsize=1024)
def _slow_key(name: str) -> str:
    lname = name.strip(" \t").lower()
    if len(lname) == 1:
        long_name = COMPACT_FORMS.get(lname)
        if long_name is not None:
            return long_name.lower()
    return lname


def header_key(name: str) -> str:
    """The case-insensitive lookup key of a header name: the lower-cased long form."""
    key = _KEYS.get(name)
    return key if key is not None else _slow_key(name)


def checked_header_key(name: str) -> str:
    """Like :func:`header_key` for a name read off the wire: it must be a token (RFC 3261 §7.3.1)
    optionally followed by blanks before the colon (HCOLON). Raises :class:`SipParseError`."""
    key = _KEYS.get(name)
    if key is not None:
        return key
    stripped = name.rstrip(" \t")
    if TOKEN_RE.match(stripped) is None:
        raise SipParseError(f"bad header name {name[:40]!r}")
    key = _slow_key(stripped)
    if len(_KEYS) < _KEYS_LIMIT:
        # Bounded memo of a pure function (same contract as lru_cache): custom headers such as
        # x-inin-cnv recur in every message, and a dict hit is what keeps header splitting at C speed.
        _KEYS[name] = key
    return key


known_header_key = _KEYS.get
"""The key of a name already known to be valid (``None`` otherwise): a bare dict lookup."""


def canonical_name(name: str) -> str:
    """Long, conventionally capitalised name of a header (compact forms expanded)."""
    key = header_key(name)
    return _CANONICAL.get(key, name.strip(" \t"))


def _check_field(name: str, value: str) -> None:
    """Refuse what would corrupt the message on output (header injection, RFC 3261 §7.3.1)."""
    if name not in _TOKEN_NAMES and TOKEN_RE.match(name) is None:
        raise ValueError(f"bad header name {name!r}")
    if "\n" in value or "\r" in value:
        raise ValueError(f"header value with a line break: {value[:60]!r}")


Field = tuple[str, str, str]
_new = object.__new__
_raw_value = itemgetter(2)
_field_name = itemgetter(0)


def _keys_of(fields: list[Field]) -> list[str]:
    """:func:`header_key` of every field's name: dict lookups at C speed, the slow path only for misses."""
    keys: list[str | None] = list(map(_KEYS.get, map(_field_name, fields)))
    if None in keys:
        keys = [header_key(field[0]) if key is None else key for key, field in zip(keys, fields, strict=True)]
    return cast("list[str]", keys)  # no None is left


class Headers:
    """Ordered, case-insensitive multi-map of header fields.

    Repeated headers keep their order; names are stored as written (so ``bytes()`` of a parsed message
    keeps the peer's spelling, compact or not) and looked up by their long form in any case. Values are
    returned without the blanks that surround them. Every mutation drops the typed values that
    :class:`~takeback.sip.message.Message` cached from the lines of the header it touched (see
    :meth:`_forget`), so they can never go stale.
    """

    __slots__ = ("_dups", "_fields", "_first", "_keys", "typed")

    def __init__(self, fields: Iterable[tuple[str, str]] | None = None) -> None:
        self._fields: list[Field] = []
        self._keys: list[str] | None = []
        self._first: dict[str, str] | None = None
        self._dups = False
        self.typed: dict[str, Any] = {}
        if fields is not None:
            lines = self._fields
            for name, value in fields:
                _check_field(name, value)
                lines.append((name, ":", " " + value))
            self._keys = _keys_of(lines)

    @classmethod
    def _trusted(cls, fields: list[Field], keys: list[str]) -> Headers:
        """Internal construction without checks: ``(name, ":", " " + value)`` triples whose names are
        tokens and whose values hold no line break (copied from a parsed message or built by the core),
        with their lookup keys. The index is built on first lookup."""
        headers = _new(cls)
        headers._fields = fields
        headers._keys = keys
        headers._first = None
        headers._dups = False
        headers.typed = {}
        return headers

    @classmethod
    def from_fields(cls, fields: list[Field], first: dict[str, str] | None = None) -> Headers:
        """Adopt parser output: ``(name, ":", raw value)`` triples of validated names, and optionally
        their index (key → raw value of the first line with that key)."""
        headers = _new(cls)
        headers._fields = fields
        headers._keys = None
        headers._first = first
        headers._dups = first is not None and len(first) != len(fields)
        headers.typed = {}
        return headers

    # ---------------------------------------------------------------------------------- lookups

    @property
    def keys(self) -> list[str]:
        """The lookup key of every line, in order (computed on demand: parsing does not need it)."""
        keys = self._keys
        if keys is None:
            keys = self._keys = _keys_of(self._fields)
        return keys

    def index(self) -> dict[str, str]:
        """Key → raw value of its first line (built once, C-speed; also notes repeated names)."""
        first = self._first
        if first is None:
            keys = self.keys
            # Later pairs win in dict(), so feeding them reversed keeps the first occurrence.
            first = dict(zip(reversed(keys), map(_raw_value, reversed(self._fields)), strict=True))
            self._dups = len(first) != len(keys)
            self._first = first
        return first

    @property
    def has_repeats(self) -> bool:
        """Whether some header name occurs on more than one line."""
        self.index()
        return self._dups

    def _raw_values(self, key: str) -> list[str]:
        first = self.index()
        if not self._dups:
            raw = first.get(key)
            return [] if raw is None else [raw]
        return [f[2] for k, f in zip(self.keys, self._fields, strict=True) if k == key]

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` (for comma-list headers, the first element)."""
        key = _KEYS.get(name) or _slow_key(name)
        first = self._first
        raw = (first if first is not None else self.index()).get(key)
        if raw is None:
            return default
        value = raw.strip(" \t")
        if key in COMMA_LIST_HEADERS and ("," in value or not value):
            elements = split_comma_list(value)
            return elements[0] if elements else default
        return value

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order; comma-joined list headers are split into elements."""
        key = header_key(name)
        raws = self._raw_values(key)
        if key in COMMA_LIST_HEADERS:
            out: list[str] = []
            for raw in raws:
                out.extend(split_comma_list(raw))
            return out
        return [raw.strip(" \t") for raw in raws]

    def get_raw(self, name: str) -> list[str]:
        """The field values exactly as the header lines carried them (no comma splitting)."""
        return [raw.strip(" \t") for raw in self._raw_values(header_key(name))]

    def count(self, name: str) -> int:
        """How many header lines carry ``name`` (any spelling)."""
        return self.keys.count(header_key(name))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        first = self._first
        return (_KEYS.get(name) or _slow_key(name)) in (first if first is not None else self.index())

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if not self.remove(name):
            raise KeyError(name)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """Yield ``(long canonical name, value)`` per header line, in order."""
        for key, (name, _sep, raw) in zip(self.keys, self._fields, strict=True):
            yield _CANONICAL.get(key, name.strip(" \t")), raw.strip(" \t")

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self.keys == other.keys and [f[2].strip(" \t") for f in self._fields] == [
            f[2].strip(" \t") for f in other._fields
        ]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items_as_written()!r})"

    def items_as_written(self) -> list[tuple[str, str]]:
        """``(name as written, value)`` per line: compact forms and the peer's case kept."""
        return [(name.strip(" \t"), raw.strip(" \t")) for name, _sep, raw in self._fields]

    # -------------------------------------------------------------------------------- mutation

    def _changed(self, key: str) -> None:
        self._first = None
        if self.typed:
            self._forget(key)

    def _forget(self, key: str) -> None:
        """Drop the typed values read from the lines of header ``key``: their cache keys are the header
        key, optionally behind a ``kind:`` prefix (``cseq``, ``top:via``, ``name-addrs:contact`` …). The
        values of other headers stay valid, so adding Refer-To to a request keeps its parsed CSeq."""
        typed = self.typed
        if key not in "\n".join(typed):
            return  # no cached name even contains the key (one C-level scan): nothing can be stale
        for stale in [name for name in typed if name.rpartition(":")[2] == key]:
            del typed[stale]

    def add(self, name: str, value: str) -> None:
        """Append a header line (after any existing ones of the same name)."""
        _check_field(name, value)
        self._append(name, " " + value, _KEYS.get(name) or _slow_key(name))

    def _add_trusted(self, name: str, value: str) -> None:
        """:meth:`add` for a field the core built itself from checked parts (no validation)."""
        self._append(name, " " + value, _KEYS.get(name) or _slow_key(name))

    def _append(self, name: str, raw: str, key: str) -> None:
        # The index stays valid (an appended line is never the first of its name if one exists), so a
        # response built line by line is indexed once, not once per line.
        keys = self._keys
        if keys is None:
            keys = self.keys
        self._fields.append((name, ":", raw))
        keys.append(key)
        first = self._first
        if first is not None:
            if key in first:
                self._dups = True
            else:
                first[key] = raw
        if self.typed:
            self._forget(key)

    def replace_first(self, name: str, value: str) -> None:
        """:meth:`pop_first` then :meth:`add_first`: a new first element of ``name`` (the top Via
        stamped with ``received``/``rport``, RFC 3261 §18.2.1), the lines ending up exactly as those two
        calls leave them."""
        key = header_key(name)
        fields = self._fields
        first = self._first
        # Fast path for every request a UA receives: the header is the first line, alone (no name is
        # repeated) and holds one element. pop_first() deletes that line and add_first(), finding no
        # line of that name left, appends the new one; the index and the other typed values stay valid.
        if first is not None and not self._dups and fields and _KEYS.get(fields[0][0]) == key:
            raw = fields[0][2]
            if "," not in raw and raw.strip(" \t"):
                _check_field(name, value)
                del fields[0]
                raw = " " + value
                fields.append((name, ":", raw))
                keys = self._keys
                if keys is not None:
                    del keys[0]
                    keys.append(key)
                first[key] = raw
                if self.typed:
                    self._forget(key)
                return
        self.pop_first(name)
        self.add_first(name, value)

    def add_first(self, name: str, value: str) -> None:
        """Insert a header line before every other line of the same name (e.g. a new top Via); a name
        not present yet is appended."""
        _check_field(name, value)
        key = header_key(name)
        keys = self.keys
        raw = " " + value
        first = self._first
        if key in keys:
            at = keys.index(key)
            self._dups = True
        else:
            at = len(keys)
        self._fields.insert(at, (name, ":", raw))
        keys.insert(at, key)
        if first is not None:
            first[key] = raw
        if self.typed:
            self._forget(key)

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one, at the position of the first (or at the end)."""
        _check_field(name, value)
        key = header_key(name)
        keys = self.keys
        if key not in keys:
            self.add(name, value)
            return
        at = keys.index(key)
        self._drop(key, keep=at)
        self._fields[at] = (self._fields[at][0], ":", " " + value)
        self._changed(key)

    def _drop(self, key: str, keep: int = -1) -> int:
        pairs = enumerate(zip(self.keys, self._fields, strict=True))
        kept = [(k, f) for i, (k, f) in pairs if k != key or i == keep]
        removed = len(self._fields) - len(kept)
        if removed:
            self._keys = [k for k, _f in kept]
            self._fields = [f for _k, f in kept]
        return removed

    def remove(self, name: str) -> int:
        """Drop every line of ``name``; returns how many were removed."""
        key = header_key(name)
        removed = self._drop(key)
        if removed:
            self._changed(key)
        return removed

    def pop_first(self, name: str) -> str | None:
        """Remove the first *element* of a list header (the top Via of a comma-joined line too)."""
        key = header_key(name)
        keys = self.keys
        if key not in keys:
            return None
        at = keys.index(key)
        field_name, _sep, raw = self._fields[at]
        elements = split_comma_list(raw) if key in COMMA_LIST_HEADERS else [raw.strip(" \t")]
        first = self._first
        if len(elements) > 1:
            rest = " " + ", ".join(elements[1:])
            self._fields[at] = (field_name, ":", rest)
            if first is not None:
                first[key] = rest
        else:
            del self._fields[at]
            del keys[at]
            if first is not None and not self._dups:
                del first[key]  # it was the only line of that name: the index stays valid
            else:
                self._first = None
        if self.typed:
            self._forget(key)
        return elements[0] if elements else None

    def copy(self) -> Headers:
        headers = Headers.from_fields(list(self._fields))
        if self._keys is not None:
            headers._keys = list(self._keys)
        return headers

    # ----------------------------------------------------------------------------- serialising

    def lines(self) -> list[str]:
        """The header lines (without CRLF) as they will be written."""
        return list(map("".join, self._fields))

    def lines_with_length(self, content_length: int) -> list[str]:
        """:meth:`lines` with exactly one, true Content-Length (RFC 3261 §20.14), added if missing."""
        lines = list(map("".join, self._fields))
        raw = self.index().get("content-length")
        if raw is None:
            lines.append(f"Content-Length: {content_length}")
            return lines
        if not self._dups and raw.strip(" \t") == str(content_length):
            return lines  # the common case: a parsed message written back unchanged
        keys = self.keys
        at = keys.index("content-length")
        name = self._fields[at][0].strip(" \t")
        lines[at] = f"{name}: {content_length}"
        if keys.count("content-length") > 1:
            lines = [line for i, line in enumerate(lines) if i == at or keys[i] != "content-length"]
        return lines

    def text_with_length(self, content_length: int) -> str:
        """``"\\r\\n".join(self.lines_with_length(content_length))``, what ``bytes()`` of a message
        writes; the common cases (Content-Length true already, or missing from a message we built) skip
        the intermediate list."""
        fields = self._fields
        first = self._first
        raw = (first if first is not None else self.index()).get("content-length")
        if fields and not self._dups:
            if raw is None:
                return "\r\n".join(map("".join, fields)) + f"\r\nContent-Length: {content_length}"
            if raw.strip(" \t") == str(content_length):
                return "\r\n".join(map("".join, fields))
        return "\r\n".join(self.lines_with_length(content_length))

    def serialize_into(self, out: list[str], content_length: int) -> None:
        """Append ``Name: value\\r\\n`` lines, writing the true Content-Length (added if missing)."""
        out.extend(line + "\r\n" for line in self.lines_with_length(content_length))
