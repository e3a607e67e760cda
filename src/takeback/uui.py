"""UUI codec: Genesys' three UUI header types, hex/ascii, PD rules and the take-back Refer-To.

Two directions, one model (GENESYS.md §5):

* :func:`encode` writes a UUI header the way a BYOC trunk is configured to (§5.1): ``User-to-User:
  <PD><hex>;encoding=hex``, ``User-to-User: <hex>;pd=<PD>;encoding=hex`` or ``x-User-to-User:
  <hex|ascii>;encoding=…``. :func:`refer_to` embeds UUI in a Refer-To URI the RFC-correct way (§12.1).
* :func:`decode_uui` / :func:`genesys_uuidata` / :func:`parse_refer_to` answer "what would Genesys put
  in ``Call.UUIData``?" by applying every §5.2 rule: User-to-User before x-User-to-User, duplicates and
  several different values discard everything, no ``encoding`` means hex, data that does not match its
  encoding means no data, the first octet of a plain ``User-to-User`` is removed as the protocol
  discriminator (PD) but not with ``pd=`` and not for ``x-User-to-User``.

Choices where the sources are silent (each one is written down next to the code that makes it):

* **Hex case.** Output is lower-case, like the article's worked example
  (``<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>``);
  hex digits are case-insensitive on input (RFC 7433 §4.1 ``hex`` and Genesys' own upper-case sample).
* **Octets to text.** Genesys documents ASCII only, and warns that hex decoding to bytes 128–255 "can
  break decoding" while ascii encoding works for such data (RC-UUIFMT). That reads as: the octets are
  taken as UTF-8 text (SIP's own charset, RFC 3261 §7.3.1). So str input is sent as UTF-8, valid UTF-8
  decodes to itself (with a ``non-ascii`` note), and octets that are *not* UTF-8 (latin-1 "extended
  ASCII") are handled by :attr:`UuiPolicy.extended_ascii`: by default one character per octet (latin-1,
  lossless, so a test sees exactly what arrived), ``"replace"`` (U+FFFD) or ``"discard"`` (no data).
* **"First octet" in ascii encoding** is the first octet of the text, i.e. its first character when it
  is ASCII: ``User-to-User: XThis;encoding=ascii`` gives ``This``. Hence :func:`encode` refuses the
  default PD ``00`` with plain ``User-to-User`` and ascii: octet 0x00 cannot be written in a header.

Sans-IO: pure functions and frozen values only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import get_args

from ._frozen import trusted_builder
from .sip import Headers, SipParseError, SipUri, TelUri, parse_name_addr, parse_uri
from .sip.params import unquote
from .sip.uri import HEADER_SAFE, escape, unescape
from .uui_types import (
    DEFAULT_POLICY,
    Encoding,
    ExtendedAscii,
    HeadersLike,
    HeaderType,
    ReferTarget,
    Spelling,
    UuiDecode,
    UuiError,
    UuiPolicy,
    UuiWarning,
)

__all__ = [
    "DEFAULT_POLICY",
    "UUI_HEADER",
    "X_UUI_HEADER",
    "Encoding",
    "ExtendedAscii",
    "HeaderType",
    "HeadersLike",
    "ReferTarget",
    "Spelling",
    "UuiDecode",
    "UuiError",
    "UuiPolicy",
    "UuiWarning",
    "decode_uui",
    "encode",
    "genesys_uuidata",
    "parse_refer_to",
    "refer_to",
]

UUI_HEADER = "User-to-User"  # exact case Genesys expects (GENESYS.md §5.2, Kore report)
X_UUI_HEADER = "x-User-to-User"
_KINDS = {UUI_HEADER.lower(): UUI_HEADER, X_UUI_HEADER.lower(): X_UUI_HEADER}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX_DATA = re.compile(r"[0-9A-Fa-f]*")  # uui-data made of _HEX_DIGITS only, matched at C speed
_CONTROL_OCTET = re.compile(rb"[\x00-\x1f\x7f]")
_HEADER_TYPES = get_args(HeaderType)
_ENCODINGS = get_args(Encoding)
# RFC 3261 §25.1 token characters: what purpose/content parameter values may be.
_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_ASCII_FORBIDDEN = frozenset(';,"')  # ';' starts a parameter, ',' another uui-value, '"' a quoted-string
_LONG_UUI = 128  # RC-UUIOV best practice: some systems drop longer data


# Decoding runs for every INVITE, and a frozen dataclass ``__init__`` costs about a microsecond per field:
# the result is built through its slot descriptors instead (same object, field for field), and the
# warnings whose text never varies are built once (they are frozen values, so sharing them is safe).
_decode_result = trusted_builder(UuiDecode)  # fields in declaration order, as UuiDecode(...)


_NO_UUI = UuiDecode()
_MISSING_ENCODING = UuiWarning("missing-encoding", "no encoding parameter: hex assumed (§5.2)")
_NON_ASCII = UuiWarning("non-ascii", "non-ASCII data decoded as UTF-8 (INFERRED, §5.2)")
_CONTROL_CHARS = UuiWarning("control-chars", "data holds control characters (octets 0-31 or 127)")


def _extended_ascii_warning(choice: str) -> UuiWarning:
    return UuiWarning(
        "extended-ascii",
        f"octets 128-255 that are not UTF-8 ({choice}): RC-UUIFMT warns this "
        "can break Genesys' decoding; send such data with ascii encoding",
    )


_EXTENDED_ASCII = {choice: _extended_ascii_warning(choice) for choice in get_args(ExtendedAscii)}


# --------------------------------------------------------------------------------------------- encode


def encode(
    data: str | bytes | bytearray | memoryview,
    *,
    header_type: HeaderType = "User-to-User",
    encoding: Encoding = "hex",
    pd: str = "00",
    purpose: str | None = None,
    content: str | None = None,
) -> tuple[str, str]:
    """Build one UUI header as a trunk of ``header_type``/``encoding`` sends it (GENESYS.md §5.1).

    Returns ``(header name, header value)``. ``str`` data is sent as UTF-8. ``purpose``/``content``
    are the optional RFC 7433 §4.1 parameters, appended after ``encoding``. ``pd`` is ignored by
    ``x-User-to-User`` (no PD there) but still validated. Raises :class:`UuiError`.
    """
    if header_type not in _HEADER_TYPES:
        raise UuiError(f"unknown UUI header type {header_type!r}")
    if encoding not in _ENCODINGS:
        raise UuiError(f"unknown UUI encoding {encoding!r} (hex or ascii)")
    pd_hex = _check_pd(pd)
    octets = _to_octets(data)
    prefix = header_type == "User-to-User"
    if encoding == "hex":
        body = (pd_hex if prefix else "") + octets.hex()
    else:
        body = _ascii_body(octets, pd_hex if prefix else None)
    if not body:
        raise UuiError(f"{header_type} cannot carry empty data (RFC 7433 §4.1: uui-data is a token)")
    params = [f"pd={pd_hex}"] if header_type == "User-to-User;pd" else []
    params.append(f"encoding={encoding}")
    for name, param in (("purpose", purpose), ("content", content)):
        if param is not None:
            if not param or not set(param) <= _TOKEN:
                raise UuiError(f"{name} must be an RFC 3261 token, not {param!r}")
            params.append(f"{name}={param}")
    name = X_UUI_HEADER if header_type == "x-User-to-User" else UUI_HEADER
    return name, ";".join([body, *params])


def _check_pd(pd: str) -> str:
    """A PD is exactly one octet written as two hex digits (``trunk_sip_uuiPd``, GENESYS.md §3.3)."""
    if not isinstance(pd, str) or len(pd) != 2 or not set(pd) <= _HEX_DIGITS:
        raise UuiError(f"pd must be two hex digits (one octet), not {pd!r}")
    return pd.lower()


def _to_octets(data: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UuiError(f"UUI text is not encodable as UTF-8: {exc}") from exc
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"UUI data must be str or bytes, not {type(data).__name__}")


def _ascii_body(octets: bytes, pd_hex: str | None) -> str:
    """The ascii form: the text itself, which must survive as a bare header token-ish value.

    Genesys' ascii encoding is outside RFC 7433 (which only defines hex), so the domain is what a header
    can carry unquoted: printable characters, none of ``;``, ``,``, ``"``, no edge whitespace (RFC 3261
    §7.3.1 strips it). Non-ASCII letters are allowed: RC-UUIFMT advises ascii for extended characters.
    With a plain ``User-to-User`` the PD octet is the first character, so it must be printable too.
    """
    try:
        text = octets.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UuiError("ascii encoding carries text only; these octets are not UTF-8 (use hex)") from exc
    if pd_hex is not None:
        pd_char = chr(int(pd_hex, 16))
        if not _ascii_safe(pd_char) or pd_char == " ":
            raise UuiError(
                f"PD octet 0x{pd_hex} cannot be written in ascii-encoded User-to-User data; "
                "use encoding='hex' or header_type='User-to-User;pd'"
            )
        text = pd_char + text
    if not _ascii_safe(text) or text != text.strip(" \t"):
        raise UuiError(
            f"ascii encoding cannot carry {text[:40]!r}: control characters, ';', ',', '\"' "
            "and leading/trailing whitespace need encoding='hex'"
        )
    return text


def _ascii_safe(text: str) -> bool:
    return text.isprintable() and not (_ASCII_FORBIDDEN & set(text))


# ---------------------------------------------------------------------------------------- decoding


def genesys_uuidata(headers: HeadersLike, *, policy: UuiPolicy = DEFAULT_POLICY) -> str | None:
    """What Genesys exposes as ``Call.UUIData`` for these headers (GENESYS.md §5.2), ``None`` if none.

    ``headers`` may be a :class:`takeback.sip.Headers`, a mapping (values ``str`` or lists of ``str``)
    or ``(name, value)`` pairs. Never raises on odd content; see :func:`decode_uui` for the why.
    """
    return decode_uui(headers, policy=policy).text


def decode_uui(headers: HeadersLike, *, policy: UuiPolicy = DEFAULT_POLICY) -> UuiDecode:
    """Select and decode the UUI header Genesys would use, explaining every step in ``warnings``."""
    if type(headers) is list and len(headers) == 1:  # the device passes an INVITE's UUI line(s) alone
        decoded = _decode_plain_hex(headers[0], policy)
        if decoded is not None:
            return decoded
    return _decode_pairs(_header_pairs(headers), policy)


# ``<PD><data>;encoding=hex``, nothing else: what a BYOC trunk sends (GENESYS.md §5.1) and what the device
# decodes on every INVITE. Whole octets only; any other shape takes the general path.
_PLAIN_HEX_VALUE = re.compile(r"((?:[0-9A-Fa-f]{2})+);encoding=hex")


def _decode_plain_hex(line: object, policy: UuiPolicy) -> UuiDecode | None:
    """:func:`_decode_pairs` of one ``User-to-User: <hex>;encoding=hex`` line, exactly spelt, whose PD
    octet does not look like text; None for anything else (the general path then decides and words it).

    Same result as the general path, without its steps: the value has no comma (one uui-value), no quote,
    one parameter (``encoding=hex``, so no ``pd=``: the first octet is the PD, §5.2), and hex data.
    """
    if type(line) is not tuple or len(line) != 2:
        return None
    name, value = line
    if name != UUI_HEADER or type(value) is not str:
        return None
    match = _PLAIN_HEX_VALUE.fullmatch(value)
    if match is None:
        return None
    raw = bytes.fromhex(match[1])
    if 0x20 < raw[0] < 0x7F:
        return None  # the pd-looks-like-data warning: general path
    notes: list[UuiWarning] = []
    data = raw[1:]
    text = _octets_to_text(data, policy, notes)
    return _decode_result(
        UUI_HEADER, "User-to-User", value, "hex", False, f"{raw[0]:02x}", None, None, raw, data, text,
        tuple(notes),
    )  # fmt: skip


def _header_pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    if isinstance(headers, Headers):
        return headers.items_as_written()  # keeps the sender's spelling for the header-case check
    if isinstance(headers, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in headers.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs.extend((name, v) for v in values)
        return pairs
    pairs = []
    for item in headers:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"headers must be (name, value) pairs, got {item!r:.60}")
        pairs.append(item)
    return pairs


def _decode_pairs(pairs: Iterable[tuple[str, str]], policy: UuiPolicy) -> UuiDecode:
    """GENESYS.md §5.2 selection: User-to-User first, then x-User-to-User; more than one value of the
    selected kind (repeated lines or an RFC 7433 §4.1 comma list) discards them all, without falling
    back to the other kind ("all are discarded")."""
    notes: list[UuiWarning] = []
    found: dict[str, list[tuple[str, str]]] = {UUI_HEADER: [], X_UUI_HEADER: []}
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be str")
        written = name.strip()
        kind = _KINDS.get(written.lower())
        if kind is None:
            continue
        if written != kind:
            if policy.exact_header_case:
                notes.append(UuiWarning("ignored-case", f"{name!r} ignored: not spelled {kind!r} (policy)"))
                continue
            hint = f"{name!r} is not {kind!r}: a case rewrite once broke Genesys (§5.2, Kore)"
            notes.append(UuiWarning("header-case", hint))
        found[kind].extend([(written, v) for v in _split_values(value)])
    chosen = found[UUI_HEADER] or found[X_UUI_HEADER]
    if found[UUI_HEADER] and found[X_UUI_HEADER]:
        notes.append(UuiWarning("x-ignored", "User-to-User takes precedence; x-User-to-User ignored (§5.2)"))
    if not chosen:
        return UuiDecode(warnings=tuple(notes)) if notes else _NO_UUI
    if len(chosen) > 1:
        same = len({v.strip() for _n, v in chosen}) == 1
        code = "duplicate" if same else "multiple-different"
        what = "duplicate" if same else "several different"
        notes.append(UuiWarning(code, f"{len(chosen)} {what} {chosen[0][0]} values: all discarded (§5.2)"))
        return UuiDecode(header_name=chosen[0][0], warnings=tuple(notes))
    name, value = chosen[0]
    kind = UUI_HEADER if found[UUI_HEADER] else X_UUI_HEADER
    return _decode_value(kind, name, value, policy, notes)


def _split_values(value: str) -> list[str]:
    """RFC 7433 §4.1 ``UUI = "User-to-User" HCOLON uui-value *(COMMA uui-value)``."""
    if "," not in value:
        return [value]
    try:
        return _split_outside_quotes(value, ",")
    except _Discard:
        return [value]  # unterminated quote: decoded (and rejected) as one value


@dataclass(slots=True)
class _Draft:
    """What decoding learnt so far, frozen into a :class:`UuiDecode` whatever the outcome."""

    header_name: str
    value: str
    warnings: list[UuiWarning]
    header_type: HeaderType | None = None
    encoding: str | None = None
    encoding_defaulted: bool = False
    pd: str | None = None
    purpose: str | None = None
    content: str | None = None
    raw: bytes | None = None
    data: bytes | None = None

    def finish(self, text: str | None) -> UuiDecode:
        """``UuiDecode(...)`` of the draft, built from its already-checked parts (``trusted_builder``)."""
        return _decode_result(
            self.header_name, self.header_type, self.value, self.encoding, self.encoding_defaulted,
            self.pd, self.purpose, self.content, self.raw, self.data, text, tuple(self.warnings),
        )  # fmt: skip


class _Discard(Exception):
    """Internal: this UUI value yields no data (GENESYS.md §5.2 "parsing fails, no data is passed")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.warning = UuiWarning(code, message)


def _decode_value(kind: str, name: str, value: str, policy: UuiPolicy, notes: list[UuiWarning]) -> UuiDecode:
    draft = _Draft(name, value, notes)
    try:
        data_text, params = _split_uui_value(value, draft)
        encoding, pd_param = params.get("encoding"), params.get("pd")
        draft.purpose, draft.content = params.get("purpose"), params.get("content")
        if kind == X_UUI_HEADER:
            draft.header_type = "x-User-to-User"
        else:
            draft.header_type = "User-to-User;pd" if "pd" in params else "User-to-User"
        if encoding is None:  # §5.2: no encoding parameter => hex assumed
            draft.encoding, draft.encoding_defaulted = "hex", True
            notes.append(_MISSING_ENCODING)
        else:
            draft.encoding = encoding.lower()
        draft.raw = _payload(data_text, draft.encoding)
        draft.data = _strip_pd(draft, pd_param)
        return draft.finish(_octets_to_text(draft.data, policy, notes))
    except _Discard as exc:
        notes.append(exc.warning)
        return draft.finish(None)


def _split_uui_value(value: str, draft: _Draft) -> tuple[str, dict[str, str | None]]:
    """``uui-data *(SEMI uui-param)`` with uui-data a token or quoted-string (RFC 7433 §4.1).

    Parameter names are case-insensitive; a repeated one is refused rather than guessed at.
    """
    parts = _split_outside_quotes(value, ";")
    data = parts[0].strip(" \t")
    if data.startswith('"'):
        data = unquote(data)
        draft.warnings.append(UuiWarning("quoted-data", "uui-data is a quoted-string (RFC 7433 §4.1)"))
    params: dict[str, str | None] = {}
    for part in parts[1:]:
        pname, eq, pvalue = part.partition("=")
        key = pname.strip(" \t").lower()
        if not key:
            continue
        if key in params:
            raise _Discard("duplicate-param", f"parameter {key!r} given twice")
        params[key] = unquote(pvalue.strip(" \t")) if eq else None
    return data, params


def _payload(data_text: str, encoding: str) -> bytes:
    """Octets carried by uui-data; data that does not match its encoding yields nothing (§5.2)."""
    if encoding == "hex":
        if _HEX_DATA.fullmatch(data_text) is None:
            raise _Discard("bad-hex", f"{data_text[:40]!r} is not hex data (§5.2: no data is passed)")
        if len(data_text) % 2:
            raise _Discard("odd-length-hex", f"{len(data_text)} hex digits is not a whole number of octets")
        return bytes.fromhex(data_text)
    if encoding == "ascii":
        if any(ord(ch) < 0x20 or ch == "\x7f" for ch in data_text):
            raise _Discard("bad-ascii", "control characters in ascii data (§5.2: no data is passed)")
        try:
            return data_text.encode("utf-8", "surrogateescape")  # raw wire octets, not re-interpreted
        except UnicodeEncodeError as exc:
            raise _Discard("bad-ascii", "ascii data is not text") from exc
    raise _Discard("unsupported-encoding", f"encoding={encoding!r}: Genesys knows hex and ascii (§5.2)")


def _strip_pd(draft: _Draft, pd_param: str | None) -> bytes:
    """§5.2 first-octet rule. Plain User-to-User: the first octet is the PD and always removed (even
    when the sender forgot it). ``pd=`` parameter or x-User-to-User: nothing removed."""
    raw = draft.raw or b""
    if draft.header_type == "User-to-User":
        if not raw:
            raise _Discard("no-first-octet", "User-to-User data is empty: not even the PD octet")
        draft.pd = f"{raw[0]:02x}"
        if draft.encoding == "hex" and 0x20 < raw[0] < 0x7F:
            draft.warnings.append(
                UuiWarning(
                    "pd-looks-like-data",
                    f"first octet 0x{raw[0]:02x} ({chr(raw[0])!r}) removed as PD but looks like text: "
                    "was the PD omitted? (§5.2: data truncated)",
                )
            )
        return raw[1:]
    if pd_param is not None:
        draft.pd = pd_param.lower()
        if len(pd_param) != 2 or not set(pd_param) <= _HEX_DIGITS:
            draft.warnings.append(UuiWarning("bad-pd-param", f"pd={pd_param!r} is not one hex octet"))
    if not raw:
        raise _Discard("empty-data", f"{draft.header_name} carries no data")
    return raw


def _octets_to_text(octets: bytes, policy: UuiPolicy, notes: list[UuiWarning]) -> str | None:
    """Octets → ``Call.UUIData``: ASCII as documented; UTF-8 (INFERRED); else the extended-ASCII policy."""
    if octets.isascii():  # the documented case, told without raising
        text = octets.decode("ascii")
    else:
        try:
            text = octets.decode("utf-8")
            notes.append(_NON_ASCII)
        except UnicodeDecodeError:
            choice = policy.extended_ascii
            notes.append(_EXTENDED_ASCII.get(choice) or _extended_ascii_warning(choice))
            if policy.extended_ascii == "discard":
                return None
            text = octets.decode("latin-1" if policy.extended_ascii == "latin-1" else "utf-8", "replace")
    if _CONTROL_OCTET.search(octets) is not None:
        notes.append(_CONTROL_CHARS)
    if len(text) > _LONG_UUI:
        notes.append(UuiWarning("long", f"{len(text)} characters: best practice is <= {_LONG_UUI}"))
    return text


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:  # no quoted-string: every separator splits (the loop below would agree)
        return text.split(sep)
    parts: list[str] = []
    start, i, in_quote = 0, 0, False
    while i < len(text):
        ch = text[i]
        if in_quote and ch == "\\":
            i += 1
        elif ch == '"':
            in_quote = not in_quote
        elif ch == sep and not in_quote:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if in_quote:
        raise _Discard("bad-quoting", f"unterminated quoted string in {text[:40]!r}")
    parts.append(text[start:])
    return parts


# ------------------------------------------------------------------------------------------ Refer-To


_UUI_HNAME = escape(UUI_HEADER, HEADER_SAFE)
_UUI_HEX_SUFFIX = escape(";encoding=hex", HEADER_SAFE)


def refer_to(
    number: str,
    *,
    uui: str | bytes | bytearray | memoryview | None = None,
    host: str = "localhost",
    pd: str = "00",
) -> str:
    """The take-back Refer-To value, RFC-correct (GENESYS.md §6, §12 items 1/4/5, §12.1).

    ``<sip:NUMBER@HOST?User-to-User=<PD><hex>%3Bencoding%3Dhex>``: a ``sip:`` URI in angle brackets,
    the number exactly as given (``+`` kept, never a ``tel:``), the UUI as a URI header whose ``;`` and
    ``=`` are escaped once (RFC 3261 §19.1.1 hvalue). The host is not checked by Genesys.
    """
    if not isinstance(number, str) or not number:
        raise UuiError("the take-back number must be a non-empty string")
    pd_hex = _check_pd(pd)
    bare_host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if uui is None:
        base = _checked_sip_uri(number, bare_host, False)
        if base is not None:
            return f"<{base}>"
        return _refer_to_checked(number, host, bare_host, {})
    # What encode(uui, header_type="User-to-User", encoding="hex", pd=pd_hex) returns, written as a URI
    # header (RFC 3261 §19.1.1): escaping works character by character and hex digits are safe, so only
    # the constant ";encoding=hex" needs it (done once, by sip.uri, in _UUI_HEX_SUFFIX).
    hex_data = pd_hex + _to_octets(uui).hex()
    base = _checked_sip_uri(number, bare_host, True)
    if base is not None:
        return f"<{base}?{_UUI_HNAME}={hex_data}{_UUI_HEX_SUFFIX}>"
    return _refer_to_checked(number, host, bare_host, {UUI_HEADER: hex_data + ";encoding=hex"})


@lru_cache(maxsize=256)
def _checked_sip_uri(number: str, bare_host: str, with_uui: bool) -> str | None:
    """``sip:NUMBER@HOST`` as sip.uri writes it, or None when it does not read back as that user and host.

    A pure function of per-configuration values (the take-back number and host), so it is memoised: the
    Refer-To of every call then costs no URI build and no re-parse. The check is made with a URI header
    part like the real one when ``with_uui`` (its hex digits cannot change how user and host parse);
    on None the caller takes the general path, which raises the precise error.
    """
    text = str(SipUri("sip", number, None, bare_host, None, {}, {}))
    probe = f"{text}?{_UUI_HNAME}=00{_UUI_HEX_SUFFIX}" if with_uui else text
    try:
        back = parse_uri(probe)
    except SipParseError:
        return None
    if not isinstance(back, SipUri) or back.user != number or back.host != bare_host:
        return None
    return text


def _refer_to_checked(number: str, host: str, bare_host: str, headers: dict[str, str]) -> str:
    """The general path of :func:`refer_to`: build the URI, then check that it reads back as meant."""
    uri = SipUri("sip", number, None, bare_host, None, {}, headers)
    text = str(uri)
    # Escaping is sip.uri's job; this guard makes sure what we emit reads back as what we meant.
    try:
        back = parse_uri(text)
    except SipParseError as exc:
        raise UuiError(f"cannot build a Refer-To for {number!r}@{host!r}: {exc}") from exc
    if not isinstance(back, SipUri) or back.user != number or back.host != bare_host:
        raise UuiError(f"{number!r}@{host!r} does not survive as a SIP URI user/host")
    return f"<{text}>"


def parse_refer_to(value: str, *, policy: UuiPolicy = DEFAULT_POLICY) -> ReferTarget:
    """Parse a Refer-To value the way the emulator must (GENESYS.md §5.2 emulator rule, §12.1).

    Accepts the three documented spellings and flags the two that are not RFC 3261:
    ``?User-to-User=00…%3Bencoding%3Dhex`` (``rfc``), ``?User-to-User%3D00…%3Bencoding%3Dhex``
    (``escaped-equals``) and ``?User-to-User=00…;encoding=hex`` (``unescaped-semicolon``). The header
    part is percent-decoded exactly once (§12 item 5). Raises :class:`UuiError` when there is no
    routable number (not a URI, no user part, an unsupported scheme).
    """
    if not isinstance(value, str):
        raise TypeError("Refer-To value must be str")
    text = value.strip()
    raw_uri, bracketed = _raw_uri_text(text)
    notes: list[UuiWarning] = []
    try:
        uri = parse_name_addr(text).uri if bracketed or "?" not in text else parse_uri(text)
    except SipParseError as exc:
        raise UuiError(f"malformed Refer-To: {exc}") from exc
    if isinstance(uri, TelUri):
        notes.append(UuiWarning("tel-uri", "tel: Refer-To carries no UUI; send a sip: URI (§12 item 4)"))
        return ReferTarget(uri.number, None, scheme="tel", uri=uri, warnings=tuple(notes))
    if not isinstance(uri, SipUri):
        raise UuiError(f"Refer-To must be a sip: URI, not {uri.scheme}:")
    if not uri.user:
        raise UuiError("Refer-To has no user part: nothing to route the take-back on (§6)")
    rfc_correct = True
    if not bracketed and "?" in text:
        rfc_correct = False
        notes.append(UuiWarning("not-bracketed", "a URI with headers must be inside <> (RFC 3261 §20)"))
    items = [_uri_header_item(raw) for raw in _raw_header_part(raw_uri).split("&") if raw]
    uui_items = [item for item in items if item.name.strip().lower() in _KINDS]
    spelling: Spelling | None = uui_items[0].spelling if uui_items else None
    for item in uui_items:
        if not item.rfc_correct:
            rfc_correct = False
            notes.append(UuiWarning(f"spelling-{item.spelling}", item.note))
    uui = _decode_pairs(((i.name, i.value) for i in uui_items), policy)
    return ReferTarget(
        uri.user, uui.text, spelling, rfc_correct, uri.scheme, uri.host, uri, uui, tuple(notes)
    )


def _raw_uri_text(text: str) -> tuple[str, bool]:
    """The URI exactly as written (still escaped) and whether it sat in ``<>``; mirrors
    :func:`takeback.sip.parse_name_addr`, which checks the grammar."""
    start = 0
    if text.startswith('"'):
        i = 1
        while i < len(text) and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        start = i + 1
    lt = text.find("<", start)
    if lt == -1:
        return text, False
    gt = text.find(">", lt)
    if gt == -1:
        raise UuiError(f"unterminated <URI> in Refer-To {text[:60]!r}")
    return text[lt + 1 : gt], True


def _raw_header_part(raw_uri: str) -> str:
    """Text after the ``?`` that starts the URI headers, found as :func:`takeback.sip.parse_uri` does."""
    rest = raw_uri.partition(":")[2]
    at, query = rest.find("@"), rest.find("?")
    if at != -1 and (query == -1 or at < query):
        rest = rest[at + 1 :]
    return rest.partition("?")[2]


@dataclass(frozen=True, slots=True)
class _UriHeader:
    name: str
    value: str
    spelling: Spelling
    rfc_correct: bool
    note: str


def _uri_header_item(raw: str) -> _UriHeader:
    """One ``hname=hvalue`` (RFC 3261 §19.1.1), split on the first ``=`` or ``%3D`` (GENESYS.md §5.2
    emulator rule step 2), each side unescaped once."""
    eq, escaped_eq = raw.find("="), raw.upper().find("%3D")
    if escaped_eq != -1 and (eq == -1 or escaped_eq < eq):
        raw_name, raw_value = raw[:escaped_eq], raw[escaped_eq + 3 :]
        spelling: Spelling = "escaped-equals"
        note = "'=' after the header name is escaped (%3D): blog form, not RFC 3261 (§12.1)"
    else:
        raw_name, _, raw_value = raw.partition("=")
        spelling = "unescaped-semicolon" if ";" in raw_value else "rfc"
        note = "';' inside the URI header value is not escaped (%3B): blog form, not RFC 3261 (§12.1)"
    correct = spelling == "rfc" and _escaped_ok(raw_name, HEADER_SAFE) and _escaped_ok(raw_value, HEADER_SAFE)
    if spelling == "rfc" and not correct:
        note = f"characters in {raw[:60]!r} should be %-escaped (RFC 3261 §19.1.1)"
    return _UriHeader(unescape(raw_name), unescape(raw_value), spelling, correct, note)


def _escaped_ok(text: str, safe: frozenset[str]) -> bool:
    """Every character is safe or part of a well-formed ``%XX`` escape."""
    i = 0
    while i < len(text):
        if text[i] == "%":
            if not set(text[i + 1 : i + 3]) <= _HEX_DIGITS or len(text[i + 1 : i + 3]) != 2:
                return False
            i += 3
        elif text[i] in safe:
            i += 1
        else:
            return False
    return True
