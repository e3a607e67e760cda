"""The value objects of :mod:`takeback.observe.explain` (what ``takeback inspect`` reports)."""

from __future__ import annotations

from dataclasses import dataclass

from .paste import Finding


@dataclass(frozen=True, slots=True)
class Party:
    """From or To: the URI as written, the display name, the user part and the dialog tag."""

    uri: str
    display: str | None
    user: str | None
    tag: str | None


@dataclass(frozen=True, slots=True)
class UuiHeader:
    """One UUI header line decoded on its own (``data``: what it alone would give as ``Call.UUIData``)."""

    name: str
    value: str
    header_type: str | None
    encoding: str | None
    encoding_defaulted: bool
    pd: str | None
    data: str | None
    warnings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class ReferToInfo:
    """The take-back target (GENESYS.md §6, §12.1); ``call_uui_data`` is what the flow would see."""

    value: str
    number: str | None
    scheme: str | None
    host: str | None
    bracketed: bool
    spelling: str | None
    rfc_correct: bool
    call_uui_data: str | None
    uui_header_type: str | None
    uui_encoding: str | None
    uui_pd: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DigestInfo:
    """A Digest challenge or credentials, minus the secrets (no nonce, no response hash)."""

    header: str
    scheme: str
    realm: str | None
    username: str | None
    algorithm: str | None
    qop: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    media: str
    port: int
    proto: str
    address: str | None
    direction: str
    codecs: tuple[str, ...]
    telephone_event: int | None
    srtp: bool


@dataclass(frozen=True, slots=True)
class SdpInfo:
    address: str | None
    media: tuple[MediaInfo, ...]
    hold: bool


@dataclass(frozen=True, slots=True)
class NotifyInfo:
    event: str | None
    subscription_state: str | None
    content_type: str | None
    sipfrag: str | None
