"""An external trunk (BYOC Carrier or Genesys Cloud Voice) in the UI's vocabulary.

Field names are the snake_case of the Genesys admin UI labels (article step 5, GENESYS.md §3.3), so an
org.yaml reads like the trunk configuration page. :mod:`takeback.cloud.trunk_properties` maps every field
to its Platform API property key; this module only knows the UI side and what each value may be.

Validation follows the documented rules:

* custom SIP header names must not start with ``x-inin``, ``x-genesys``, ``x-pcv`` or ``x-gcv``
  [DOC RC-HDR]; names are SIP tokens (RFC 3261 §25.1) and unique case-insensitively (GENESYS.md §12
  item 14), and may not be a header the INVITE builder owns (a second From would break the call);
* SIP servers are ``host:port`` (INFERRED item format, §3.3) and unique (``uniqueItems``);
* a BYOC trunk needs SIP servers and an Inbound SIP Termination Identifier ("must still be configured",
  article step 5.6); Digest on needs a user name and password;
* calling name ``^[\\S ]{0,40}$`` [DOC PREM pattern]; UUI PD two hex digits [§3.3].
"""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..uui import Encoding, HeaderType
from .config import ProblemList, StrictModel
from .values import HostPort, parse_call_rate, parse_codes, parse_duration, parse_host_port, parse_network

__all__ = [
    "CODECS",
    "FORBIDDEN_HEADER_PREFIXES",
    "RESERVED_HEADERS",
    "UUI_TYPES",
    "Trunk",
    "TrunkKind",
]

TrunkKind = Literal["byoc", "genesys_cloud_voice"]
Protocol = Literal["udp", "tcp", "tls"]
OverrideMethod = Literal["Always", "Unassigned DID"]
UuiType = Literal["User-to-User", "User-to-User with pd parameter", "x-User-To-User"]
UuiEncoding = Literal["Hex", "Ascii"]
Codec = Literal["audio/opus", "audio/pcmu", "audio/pcma", "audio/g729"]
CallerSource = Literal["Source", "Trunk", "Site", "Extension"]

CODECS: tuple[str, ...] = ("audio/opus", "audio/pcmu", "audio/pcma", "audio/g729")
UUI_TYPES: tuple[str, ...] = ("User-to-User", "User-to-User with pd parameter", "x-User-To-User")
FORBIDDEN_HEADER_PREFIXES: tuple[str, ...] = ("x-inin", "x-genesys", "x-pcv", "x-gcv")  # [DOC RC-HDR]
# Headers the INVITE builder writes itself (RFC 3261 §8.1.1, §20; UUI per GENESYS.md §5.1).
RESERVED_HEADERS: frozenset[str] = frozenset(
    {
        "via",
        "from",
        "to",
        "call-id",
        "cseq",
        "contact",
        "max-forwards",
        "content-length",
        "content-type",
        "record-route",
        "route",
        "authorization",
        "proxy-authorization",
        "user-to-user",
        "x-user-to-user",
    }
)
_UUI_HEADER_TYPES: dict[str, HeaderType] = {
    "User-to-User": "User-to-User",
    "User-to-User with pd parameter": "User-to-User;pd",
    "x-User-To-User": "x-User-to-User",
}
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")  # RFC 3261 §25.1 token
_CALLING_NAME = re.compile(r"^[\S ]{0,40}$")  # [DOC PREM] trunk_outboundIdentity_callingName pattern
_PD = re.compile(r"^[0-9A-Fa-f]{2}$")
_ADDRESS = re.compile(r"^\+?\d{1,15}$")
_CASE_INSENSITIVE_CHOICES: dict[str, tuple[str, ...]] = {
    "protocol": ("udp", "tcp", "tls"),
    "address_override_method": ("Always", "Unassigned DID"),
    "name_override_method": ("Always", "Unassigned DID"),
    "uui_type": UUI_TYPES,
    "static_user_data_type": UUI_TYPES,
    "uui_encoding": ("Hex", "Ascii"),
    "static_user_data_priority": ("High", "Low"),
}


def _default_codecs() -> list[Codec]:
    """BYOC default UNKNOWN (GENESYS.md §3.3); the CDM SIP phone trunk export has opus, pcmu, pcma."""
    return ["audio/opus", "audio/pcmu", "audio/pcma"]


def _canonical(value: Any, choices: tuple[str, ...]) -> Any:
    """Accept the UI spelling in any case (``UDP``, ``hex``, ``audio/PCMU``) and store the canonical one."""
    if isinstance(value, str):
        for choice in choices:
            if value.strip().lower() == choice.lower():
                return choice
    return value


class Trunk(StrictModel):
    """One external trunk; see :data:`takeback.cloud.trunk_properties.TRUNK_PROPERTIES` for the API keys."""

    # --- identity (entity fields and trunk_label / trunk_type) ---
    name: str = Field(min_length=1, max_length=200, description="External Trunk Name")
    kind: TrunkKind = Field(
        default="byoc", description="Type: BYOC Carrier › Generic BYOC Carrier, or Genesys Cloud Voice"
    )
    enabled: bool = Field(default=True, description="Trunk State (In-Service)")
    inbound_site: str | None = Field(
        default=None, description="Inbound › Number Plan Site (entity inboundSite)"
    )
    site: str | None = Field(
        default=None, description="Media site (entity site); defaults to the inbound site"
    )
    # --- protocol / inbound ---
    protocol: Protocol = "udp"
    inbound_sip_termination_identifier: str = ""
    inbound_sip_termination_header: str = ""
    dnis_replacement_routing: bool = False
    outbound_higher_capacity: bool = False
    # --- outbound ---
    outbound_sip_termination_fqdn: str = ""
    outbound_sip_tgrp: str = ""
    outbound_sip_dnis: str = ""
    sip_servers: list[str] = Field(default_factory=list, description="SIP Servers or Proxies, host:port")
    digest_authentication: bool = False
    digest_realm: str = ""
    digest_user_name: str = ""
    digest_password: str = ""
    address_override_method: OverrideMethod = "Always"
    caller_id: str = Field(default="", description="Calling › Address (Caller ID), E.164")
    calling_name: str = ""
    name_override_method: OverrideMethod = "Always"
    suppress_user_name_if_did_available: bool = False
    suppress_user_name_if_no_did: bool = False
    prioritized_caller_selection: list[CallerSource] = Field(
        default_factory=list, description="empty = the legacy Address Override Method applies"
    )
    # --- SIP access control / identity ---
    sip_access_control: list[str] = Field(default_factory=list, description="allow list of IPs / CIDRs")
    calling_address_omit_plus: bool = False
    called_address_omit_plus: bool = False
    # --- media ---
    preferred_codec_list: list[Codec] = Field(default_factory=_default_codecs)
    dtmf_method: Literal["RTP Events"] = "RTP Events"
    dtmf_payload: int = Field(default=101, ge=96, le=127)
    srtp_cipher_suites: list[str] = Field(default_factory=lambda: ["AES_CM_128_HMAC_SHA1_80"])
    disconnect_on_idle_rtp: bool = True
    media_dscp: int = Field(default=46, ge=0, le=63)
    sip_dscp: int = Field(default=24, ge=0, le=63)
    max_dial_timeout: str = "2m"
    max_call_rate: str = Field(
        default="", description="Max Call Rate 'N/Ts' (calls per seconds); '' = no limit"
    )
    retryable_reason_codes: str = "500-599"
    retryable_cause_codes: str = ""
    language: str = "en-US"
    # --- protocol › headers ---
    conversation_headers: bool = False
    custom_sip_headers: dict[str, str] = Field(default_factory=dict)
    # --- protocol › user to user information ---
    uui_passthrough: bool = False
    uui_type: UuiType = "User-to-User"
    uui_encoding: UuiEncoding = "Hex"
    uui_pd: str = "00"
    static_user_data: str = ""
    static_user_data_type: UuiType = "User-to-User"
    static_user_data_priority: Literal["High", "Low"] = "Low"
    # --- protocol › transfer ---
    take_back_and_transfer: bool = False
    release_link_transfer: bool = False
    # --- recording (no effect on the wire) ---
    recording: bool = False
    consult_recording: bool = False
    recording_audio_format: str = "audio/opus"
    recording_level_control: bool = False
    record_external_transfers: bool = False
    dual_channel_recording: bool = False
    # --- anything else, by raw API key (e.g. trunk_fax_*), echoed to the API verbatim (§3.2) ---
    extra_properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator(*_CASE_INSENSITIVE_CHOICES, mode="before")
    @classmethod
    def _case_insensitive(cls, value: Any, info: ValidationInfo) -> Any:
        return _canonical(value, _CASE_INSENSITIVE_CHOICES[str(info.field_name)])

    @field_validator("preferred_codec_list", mode="before")
    @classmethod
    def _codecs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [item for item in value.split(",") if item.strip()]
        return [_canonical(item, CODECS) for item in value] if isinstance(value, list) else value

    @field_validator("preferred_codec_list", "sip_servers", "sip_access_control")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for item in value:
            if item.lower() in seen:
                raise ValueError(f"{item!r} is listed twice; each entry must be unique")
            seen.add(item.lower())
        return value

    @field_validator("sip_servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        problems = []
        for index, item in enumerate(value):
            try:
                parse_host_port(item)
            except ValueError as exc:
                problems.append(((index,), str(exc)))
        if problems:
            raise ProblemList(problems)
        return value

    @field_validator("sip_access_control")
    @classmethod
    def _acl(cls, value: list[str]) -> list[str]:
        problems = []
        for index, item in enumerate(value):
            try:
                parse_network(item)
            except ValueError as exc:
                problems.append(((index,), str(exc)))
        if problems:
            raise ProblemList(problems)
        return value

    @field_validator("custom_sip_headers")
    @classmethod
    def _custom_headers(cls, value: dict[str, str]) -> dict[str, str]:
        problems = [
            ((name,), msg) for name, text in value.items() if (msg := _custom_header_problem(name, text))
        ]
        lowered = [name.lower() for name in value]
        problems += [
            ((name,), "is listed twice (header names are case-insensitive)")
            for name in value
            if lowered.count(name.lower()) > 1
        ]
        if problems:
            raise ProblemList(problems)
        return value

    @field_validator("calling_name")
    @classmethod
    def _calling_name(cls, value: str) -> str:
        if not _CALLING_NAME.match(value):
            raise ValueError(f"{value!r} is not valid; at most 40 characters, no tabs or line breaks")
        return value

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str) -> str:
        if value and not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not a phone number; write E.164 like '+19999990000'")
        return value

    @field_validator("uui_pd")
    @classmethod
    def _pd(cls, value: str) -> str:
        if not _PD.match(value):
            raise ValueError(
                f"{value!r} is not valid; the protocol discriminator is two hex digits like '00'"
            )
        return value

    @field_validator("max_dial_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("max_call_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value:
            parse_call_rate(value)
        return value

    @field_validator("retryable_reason_codes")
    @classmethod
    def _reason_codes(cls, value: str) -> str:
        parse_codes(value, low=100, high=699)
        return value

    @field_validator("retryable_cause_codes")
    @classmethod
    def _cause_codes(cls, value: str) -> str:
        parse_codes(value, low=1, high=127)  # ITU-T Q.850 cause values
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> Trunk:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.kind == "byoc":
            if not self.sip_servers:
                problems.append((("sip_servers",), "a BYOC trunk needs at least one SIP server (host:port)"))
            if not self.inbound_sip_termination_identifier:
                problems.append(
                    (
                        ("inbound_sip_termination_identifier",),
                        "is required for a BYOC trunk (article step 5.6)",
                    )
                )
        if self.digest_authentication:
            for name in ("digest_user_name", "digest_password"):
                if not getattr(self, name):
                    problems.append(((name,), "is required when digest_authentication is on"))
        if problems:
            raise ProblemList(problems)
        return self

    # ----- derived views used by routing and the SIP side -----

    @cached_property
    def proxies(self) -> tuple[HostPort, ...]:
        """SIP servers in list order (failover order, GENESYS.md §3.3 INFERRED); TLS defaults to 5061."""
        default_port = 5061 if self.protocol == "tls" else 5060
        return tuple(parse_host_port(item, default_port=default_port) for item in self.sip_servers)

    @cached_property
    def retryable_reasons(self) -> frozenset[int]:
        return parse_codes(self.retryable_reason_codes, low=100, high=699)

    def is_retryable(self, status: int) -> bool:
        """Is this SIP final status a reason to fail over to the next proxy/trunk (§4.1 (5), INFERRED)?"""
        return status in self.retryable_reasons

    @property
    def max_dial_timeout_s(self) -> float:
        return parse_duration(self.max_dial_timeout)

    @cached_property
    def call_rate(self) -> tuple[int, float] | None:
        """Max Call Rate ``trunk_maxCallRate`` as (calls, seconds), None = no limit (GENESYS.md §3.3).

        "The average number of calls permitted per second" [DOC RC "Configure maximum call settings"];
        the ``"40/5s"`` form is [DOC EXPORT]. Empty (the BYOC template has no value, §3.3) and a count of 0
        mean no limit: INFERRED from Max Calls, where 0 means unlimited [DOC same RC article].
        """
        if not self.max_call_rate:
            return None
        calls, seconds = parse_call_rate(self.max_call_rate)
        return (calls, seconds) if calls > 0 else None

    @cached_property
    def acl_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Allow list plus the SIP servers' IP literals, which Genesys adds automatically [DOC RC-ACL]."""
        networks = [parse_network(item) for item in self.sip_access_control]
        networks += [ipaddress.ip_network(proxy.host) for proxy in self.proxies if proxy.is_ip]
        return tuple(networks)

    def acl_allows(self, source_ip: str) -> bool:
        """Is a request from ``source_ip`` admitted? BYOC Cloud has an allow list only [DOC RC-ACL]."""
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in network for network in self.acl_networks)

    @property
    def uui_header_type(self) -> HeaderType:
        """The :func:`takeback.uui.encode` header type for the UI's UUI Type (GENESYS.md §5.1)."""
        return _UUI_HEADER_TYPES[self.uui_type]

    @property
    def static_uui_header_type(self) -> HeaderType:
        return _UUI_HEADER_TYPES[self.static_user_data_type]

    @property
    def uui_encoding_name(self) -> Encoding:
        return "hex" if self.uui_encoding == "Hex" else "ascii"

    @property
    def digest_enabled(self) -> bool:
        return self.digest_authentication


def _custom_header_problem(name: str, value: str) -> str | None:
    lowered = name.lower()
    for prefix in FORBIDDEN_HEADER_PREFIXES:
        if lowered.startswith(prefix):
            return (
                f"header name {name!r} starts with the reserved prefix {prefix!r}; Genesys forbids names "
                f"starting with {', '.join(FORBIDDEN_HEADER_PREFIXES)} (RC-HDR) - choose another name"
            )
    if not _TOKEN.match(name):
        return f"header name {name!r} is not a SIP token (letters, digits and -.!%*_+`'~ only)"
    if lowered in RESERVED_HEADERS:
        return f"header name {name!r} is written by the INVITE builder itself; choose another name"
    if any(char in value for char in "\r\n\0"):
        return "header value must be one line"
    return None
