"""The values of the UUI codec (:mod:`takeback.uui`): header types, policy, warnings, decode results.

Kept apart from the codec's functions so that each module stays one job: :mod:`takeback.uui` re-exports
every name here, which is where callers import them from. Sans-IO: frozen values only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .sip import Headers, SipUri, TelUri

__all__ = [
    "DEFAULT_POLICY",
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
]

HeaderType = Literal["User-to-User", "User-to-User;pd", "x-User-to-User"]
Encoding = Literal["hex", "ascii"]
Spelling = Literal["rfc", "escaped-equals", "unescaped-semicolon"]
ExtendedAscii = Literal["latin-1", "replace", "discard"]
HeadersLike = Headers | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


class UuiError(ValueError):
    """Bad input to the codec: data a header type cannot carry, a malformed Refer-To, a bad PD."""


@dataclass(frozen=True, slots=True)
class UuiWarning:
    """Something a human should know about decoded UUI. ``code`` is stable, ``message`` explains."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class UuiPolicy:
    """Emulator choices Genesys does not document (DESIGN.md §4: named, configurable, RFC default).

    ``extended_ascii``: what octets that are not UTF-8 become (RC-UUIFMT only says they "can break
    decoding"). ``exact_header_case``: ignore UUI headers not spelled exactly ``User-to-User`` /
    ``x-User-to-User``, as one gateway saw (GENESYS.md §5.2, Kore); RFC 3261 §7.3.5 says names are
    case-insensitive, so that is the default.
    """

    extended_ascii: ExtendedAscii = "latin-1"
    exact_header_case: bool = False


DEFAULT_POLICY = UuiPolicy()


@dataclass(frozen=True, slots=True)
class UuiDecode:
    """Everything :func:`decode_uui` learnt. ``text`` is ``Call.UUIData`` (``None``: no data passed).

    ``raw`` holds every octet the header carried, ``data`` what is left once the PD is removed, ``pd``
    the PD as two lower-case hex digits (the stripped octet, or the ``pd=`` parameter as written).
    """

    header_name: str | None = None
    header_type: HeaderType | None = None
    value: str | None = None
    encoding: str | None = None
    encoding_defaulted: bool = False
    pd: str | None = None
    purpose: str | None = None
    content: str | None = None
    raw: bytes | None = None
    data: bytes | None = None
    text: str | None = None
    warnings: tuple[UuiWarning, ...] = ()

    @property
    def found(self) -> bool:
        """Was any UUI header present (usable or not)?"""
        return self.header_name is not None or any(w.code in _SELECTION_CODES for w in self.warnings)

    @property
    def ok(self) -> bool:
        return self.text is not None

    def has_warning(self, code: str) -> bool:
        return any(w.code == code for w in self.warnings)


_SELECTION_CODES = frozenset({"duplicate", "multiple-different", "ignored-case"})


@dataclass(frozen=True, slots=True)
class ReferTarget:
    """A parsed take-back Refer-To (GENESYS.md §6, §12.1).

    ``number`` is the user part as given (the emulator routes on it), ``uui_data`` what Genesys would
    put in ``Call.UUIData``. ``spelling`` names the way the UUI URI header was written (``None``
    without UUI); ``rfc_correct`` is False for the two non-RFC spellings, an unbracketed URI with ``?``
    and unescaped characters. ``uui`` has the decoding details, ``warnings`` the Refer-To level ones.
    """

    number: str
    uui_data: str | None
    spelling: Spelling | None = None
    rfc_correct: bool = True
    scheme: str = "sip"
    host: str | None = None
    uri: SipUri | TelUri | None = None
    uui: UuiDecode = field(default_factory=UuiDecode)
    warnings: tuple[UuiWarning, ...] = ()

    @property
    def is_tel(self) -> bool:
        """A ``tel:`` target: routable by number but unable to carry UUI (GENESYS.md §12 item 4)."""
        return self.scheme == "tel"

    @property
    def all_warnings(self) -> tuple[UuiWarning, ...]:
        return self.warnings + self.uui.warnings
