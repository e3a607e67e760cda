"""device.yaml: everything the external SIP device needs, validated before anything starts.

Top level (every key optional; see ``examples/device.yaml`` for the commented reference)::

    listen: [udp:127.0.0.1:5080, tcp:127.0.0.1:5080]    # udp:|tcp:|tls:HOST:PORT
    tls: {certfile: device.pem, keyfile: device.key, min_version: "1.2"}
    access: {ip_acl: [...], acl_action: drop, token: {...}, digest: {...}, dnis: {...}, uui_token: {...}}
    media: {address: 127.0.0.1, port_range: 16384-32767, codecs: [pcmu, pcma], telephone_event: true}
    session_timer: {enabled: true, session_expires: 1800, min_se: 90, refresher: uac}
    app: {flow: [...]}   |   app: {module: "mypackage.app:handle"}
    take_back: {number: "+33456456456", timeout: 32s, bye_grace: 2s, credentials: {username: u, password: p}}
    records: {path: takeback-device.sqlite}
    http: 127.0.0.1:8080

Errors are :class:`~takeback.device.validation.ConfigError`: one line per problem naming the field path, the
bad value and what is valid. :func:`load_device_config` never returns a half-valid configuration; the
checks that need the outside world (certificates that load, an app module that imports, libopus present)
are in :mod:`takeback.device.preflight` and run before any socket is opened.

Relative file paths (``tls.certfile``, ``records.path``, ``app.flow`` recordings) are taken relative to the
directory of device.yaml; without ``records.path`` the database goes under the working directory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from takeback.net.listen import ListenSpec, parse_listen_spec
from takeback.sip.digest import SUPPORTED_ALGORITHMS, canonical_algorithm
from takeback.uui import UuiError, refer_to

from .flow import Step, check_references
from .validation import (
    ConfigError,
    Problem,
    StrictModel,
    format_path,
    parse_duration,
    read_yaml,
    validate_model,
)

__all__ = [
    "DEFAULT_RECORDS_FILE",
    "AccessSettings",
    "AppSettings",
    "DeviceConfig",
    "DigestSettings",
    "DnisSettings",
    "MediaSettings",
    "SessionTimerSettings",
    "TakeBackCredentials",
    "TakeBackSettings",
    "TlsSettings",
    "TokenSettings",
    "UuiTokenSettings",
    "builtin_device_config",
    "load_device_config",
    "parse_device_config",
    "parse_host_port",
]

DEFAULT_RECORDS_FILE = "takeback-device.sqlite"
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SHORT = re.compile(r"^[0-9*#]{1,15}$")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-.!%*_+`'~")  # RFC 3261 §25.1 token
_MODULE_FUNC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_CODEC_NAMES = {"pcmu": "PCMU", "pcma": "PCMA", "opus": "opus"}
_HA1_LENGTHS = {"MD5": 32, "SHA-256": 64, "SHA-512-256": 64}

Seconds = Annotated[float, BeforeValidator(parse_duration)]


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def _resolve(path: str, info: ValidationInfo) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else _base_dir(info) / candidate


# ------------------------------------------------------------------------------------------ transport


class TlsSettings(StrictModel):
    """Our certificate for ``tls:`` listeners (GENESYS.md §7: one-way TLS; Genesys speaks TLS 1.2 only, so
    ``min_version`` is fixed at 1.2 and written down for the reader)."""

    certfile: str
    keyfile: str | None = None
    cafile: str | None = None
    min_version: Literal["1.2"] = "1.2"

    @field_validator("certfile", "keyfile", "cafile")
    @classmethod
    def _exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if not path.is_file():
            raise ValueError(f"{value!r} is not a readable file (looked for {path})")
        return str(path)

    @field_validator("min_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# ---------------------------------------------------------------------------------------------- access


class TokenSettings(StrictModel):
    """The trunk's static custom header (article: ``CUSTOM-DEVICE-TOKEN: 1234567``, GENESYS.md §4.2)."""

    header: str = Field(min_length=1)
    value: str = Field(min_length=1)

    @field_validator("header")
    @classmethod
    def _token(cls, value: str) -> str:
        bad = sorted({ch for ch in value if ch not in _TOKEN_CHARS})
        if bad:
            raise ValueError(f"{value!r} is not a SIP header name; it contains {''.join(bad)!r}")
        return value


class DigestSettings(StrictModel):
    """Digest challenge of the INVITE (GENESYS.md §4.3, RFC 3261 §22.4, RFC 7616).

    ``password`` or ``ha1`` (hex of H(user:realm:password) for the one configured algorithm).
    ``secret_key`` signs the stateless nonces; share it between processes behind one dispatcher so that
    any of them can verify (default: random per process).
    """

    realm: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: str | None = None
    ha1: str | None = None
    nonce_lifetime: Seconds = 300.0
    algorithms: tuple[str, ...] = ("MD5",)
    qop: tuple[Literal["auth", "auth-int"], ...] = ("auth",)
    status: Literal[401, 407] = 401
    secret_key: str | None = Field(default=None, min_length=16)

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"list at least one algorithm: {', '.join(SUPPORTED_ALGORITHMS)}")
        out = []
        for name in value:
            canonical = canonical_algorithm(name)
            if canonical not in SUPPORTED_ALGORITHMS:
                raise ValueError(f"{name!r} is not valid; use one of {', '.join(SUPPORTED_ALGORITHMS)}")
            out.append(canonical)
        return tuple(out)

    @field_validator("status", mode="before")
    @classmethod
    def _status_int(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @model_validator(mode="after")
    def _secret(self) -> DigestSettings:
        if (self.password is None) == (self.ha1 is None):
            raise ValueError("give exactly one of password or ha1")
        if self.nonce_lifetime <= 0:
            raise ValueError(f"nonce_lifetime: {self.nonce_lifetime!r} must be above 0 seconds")
        if self.ha1 is not None:
            bases = {a.removesuffix("-sess") for a in self.algorithms}
            if len(bases) != 1:
                raise ValueError("an ha1 is tied to one hash: list algorithms of one family only")
            expected = _HA1_LENGTHS[bases.pop()]
            if not re.fullmatch(rf"[0-9a-fA-F]{{{expected}}}", self.ha1):
                raise ValueError(f"ha1: must be {expected} hex digits for {self.algorithms[0]}")
        return self


def _split_list(value: Any) -> Any:
    """``"9991, 9992"`` (the admin UI spelling) -> ``["9991", "9992"]``; a lone scalar -> a list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    return value


def _range_items(value: list[str], pattern: re.Pattern[str], kind: str, example: str) -> list[str]:
    """Check ``start`` / ``start-end`` items (both ends the same length, start <= end) and normalize."""
    out = []
    for item in value:
        parts = [part.strip() for part in item.split("-")]
        if len(parts) > 2 or not all(pattern.match(part) for part in parts):
            raise ValueError(f"{item!r} is not valid; write {kind} numbers or ranges like {example}")
        if len(parts) == 2 and (len(parts[0]) != len(parts[1]) or parts[0] > parts[1]):
            raise ValueError(f"{item!r} is not a valid range; start <= end, both the same length")
        out.append("-".join(parts))
    return out


class DnisSettings(StrictModel):
    """Which Request-URI user parts the device answers (the article's "Expected DNIS"; no match: 404).

    ``e164``: ``+19999990001`` or ranges ``+19999990001-+19999990009`` (E.164 Number List);
    ``numbers``: short numbers ``9991``, ranges ``1000-1005`` (Number List); ``regex``: patterns matched
    against the whole user part. ``ignore_plus``: compare without a leading ``+`` (a trunk with
    "Address Omit + Prefix" on strips it, GENESYS.md §3.3).
    """

    e164: Annotated[list[str], BeforeValidator(_split_list)] = Field(default_factory=list)
    numbers: Annotated[list[str], BeforeValidator(_split_list)] = Field(default_factory=list)
    regex: Annotated[list[str], BeforeValidator(_split_list)] = Field(default_factory=list)
    ignore_plus: bool = False

    @field_validator("e164")
    @classmethod
    def _e164(cls, value: list[str]) -> list[str]:
        return _range_items(value, _E164, "E.164", "+19999990001 or +19999990001-+19999990009")

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        return _range_items(value, _SHORT, "short", "9991 or 1000-1005")

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regex: {exc}") from None
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> DnisSettings:
        if not (self.e164 or self.numbers or self.regex):
            raise ValueError("list at least one of e164, numbers, regex (or remove dnis to accept any)")
        return self


class UuiTokenSettings(StrictModel):
    """A token carried in the inbound UUI (article: "Token in UUI data"); absent or wrong: 403.

    The UUI is what Genesys would expose as ``Call.UUIData`` for the INVITE's headers (GENESYS.md §5.2).
    ``field`` picks the token: ``null`` = the whole text, an integer = that ``separator``-split field
    (0-based), a name = the field written ``name=value``.
    """

    value: str = Field(min_length=1)
    separator: str = Field(default="|", min_length=1)
    field: int | str | None = None
    key_separator: str = Field(default="=", min_length=1)

    @field_validator("field", mode="before")
    @classmethod
    def _field(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"{value!r} is not valid; a field index counts from 0")
        return value


def _network(text: str) -> str:
    try:
        return ipaddress.ip_network(text.strip(), strict=True).compressed
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address or CIDR (e.g. 203.0.113.10 or 52.129.96.0/20)"
        ) from None
    raise ValueError(f"{text!r} has host bits set; did you mean {loose.compressed!r}?")


class AccessSettings(StrictModel):
    """Access control, checked in this order (article "Controlling access to your SIP device")."""

    ip_acl: list[Annotated[str, AfterValidator(_network)]] | None = None
    acl_action: Literal["drop", "403"] = "drop"
    token: TokenSettings | None = None
    digest: DigestSettings | None = None
    dnis: DnisSettings | None = None
    uui_token: UuiTokenSettings | None = None
    log_interval: Seconds = 60.0

    @field_validator("acl_action", mode="before")
    @classmethod
    def _action_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("ip_acl", mode="before")
    @classmethod
    def _acl_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


# ----------------------------------------------------------------------------------------------- media


def _port_range(value: Any) -> Any:
    if isinstance(value, str):
        low, sep, high = value.partition("-")
        if not sep or not low.strip().isdigit() or not high.strip().isdigit():
            raise ValueError(f"{value!r} is not a port range; write e.g. 16384-32767")
        return (int(low), int(high))
    return value


def _srtp_mode(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as false: ``srtp: off`` must still mean "off"."""
    return "off" if value is False else value


class MediaSettings(StrictModel):
    """RTP side (GENESYS.md §4.4): codec preference, RFC 4733 telephone-event, ports, SRTP policy."""

    address: str | None = None
    port_range: Annotated[tuple[int, int], BeforeValidator(_port_range)] = (16384, 32767)
    codecs: Annotated[tuple[str, ...], BeforeValidator(_split_list)] = ("pcmu", "pcma")
    telephone_event: bool = True
    telephone_event_payload: int = Field(default=101, ge=96, le=127)
    ptime: Literal[10, 20, 30, 40, 60] = 20
    rtp_timeout: Seconds = 60.0
    send_silence: bool = True  # RTP silence between prompts: keeps NAT and the peer's idle-RTP timer happy
    srtp: Annotated[Literal["off", "optional", "required"], BeforeValidator(_srtp_mode)] = "optional"
    """SDES SRTP (GENESYS.md §7, :mod:`takeback.device.srtp_policy`): ``optional`` answers an RTP/SAVP offer
    with SRTP and a plain one with RTP; ``required`` refuses plain offers with 488 (TLS-only trunks);
    ``off`` refuses RTP/SAVP offers."""
    voice: str = "en"
    tts_cache: str | None = None

    @field_validator("tts_cache")
    @classmethod
    def _cache_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else str(_resolve(value, info))

    @field_validator("address")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None
        if address.is_unspecified:
            raise ValueError(f"{value!r} cannot be advertised in SDP; give the address peers reach")
        return address.compressed

    @field_validator("port_range")
    @classmethod
    def _ports(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not (1024 <= low < high <= 65535):
            raise ValueError(f"{low}-{high} is not valid; need 1024 <= low < high <= 65535")
        if high - low < 3:
            raise ValueError(f"{low}-{high} is too small; a call needs an RTP/RTCP pair")
        return value

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one codec: pcmu, pcma, opus")
        names = []
        for item in value:
            key = item.strip().lower().removeprefix("audio/")
            if key not in _CODEC_NAMES:
                raise ValueError(f"{item!r} is not valid; use pcmu, pcma or opus")
            if key in names:
                raise ValueError(f"{item!r} is listed twice")
            names.append(key)
        return tuple(names)

    @property
    def sdp_codecs(self) -> tuple[str, ...]:
        """Codec names as :class:`takeback.sdp.LocalMedia` takes them."""
        return tuple(_CODEC_NAMES[name] for name in self.codecs)


class OverloadSettings(StrictModel):
    """Load shedding (:mod:`takeback.device.overload`): while more than ``shed_above_kb`` wait in the kernel
    receive queues (a UDP listener, or the TCP/TLS connections together), new INVITEs get ``503`` with
    ``Retry-After`` (the trunk fails over on 5xx, GENESYS.md §3.3); calls already accepted carry on.
    ``shed_above_kb: 0`` turns it off."""

    shed_above_kb: int = Field(default=768, ge=0)
    resume_below_kb: int = Field(default=384, ge=0)
    hold: Seconds = 0.1
    interval: Seconds = 0.02
    retry_after: int = Field(default=2, ge=0)

    @model_validator(mode="after")
    def _watermarks(self) -> OverloadSettings:
        if self.shed_above_kb and self.resume_below_kb > self.shed_above_kb:
            raise ValueError(
                f"resume_below_kb ({self.resume_below_kb}) must not exceed "
                f"shed_above_kb ({self.shed_above_kb})"
            )
        return self


class SessionTimerSettings(StrictModel):
    """RFC 4028 session timers: ``min_se`` (422 below it), our preferred interval and refresher."""

    enabled: bool = True
    session_expires: int = Field(default=1800, ge=90)
    min_se: int = Field(default=90, ge=90)  # RFC 4028 §5: MUST NOT be less than 90 seconds
    refresher: Literal["uac", "uas"] = "uac"

    @model_validator(mode="after")
    def _order(self) -> SessionTimerSettings:
        if self.session_expires < self.min_se:
            raise ValueError(f"session_expires ({self.session_expires}) must be >= min_se ({self.min_se})")
        return self


# ------------------------------------------------------------------------------------------ app, rest


class AppSettings(StrictModel):
    """The call logic: a Python coroutine ``module:function`` taking a ``Call``, or a built-in flow."""

    module: str | None = None
    flow: list[Step] | None = None

    @field_validator("module")
    @classmethod
    def _module(cls, value: str | None) -> str | None:
        if value is not None and not _MODULE_FUNC.match(value):
            raise ValueError(f"{value!r} is not valid; write package.module:function")
        return value

    @model_validator(mode="after")
    def _one(self) -> AppSettings:
        if (self.module is None) == (self.flow is None):
            raise ValueError("give exactly one of module or flow")
        if self.flow is not None and not self.flow:
            raise ValueError("flow: list at least one step")
        return self


def _default_flow() -> AppSettings:
    steps: list[dict[str, Any]] = [
        {"action": "answer"},
        {
            "action": "play",
            "prompt": "Welcome to the take back device. Please enter your four digit code.",
            "barge_in": True,
        },
        {"action": "collect", "max_digits": 4, "timeout": 10, "terminator": "#", "into": "digits"},
        {"action": "take_back", "uui": "{conversation_id}|{digits}"},
    ]
    return AppSettings.model_validate({"flow": steps})


class TakeBackCredentials(StrictModel):
    """What we answer when Genesys challenges our take-back REFER with 401/407 (GENESYS.md §12 item 12,
    drachtio-srf#67; RFC 3261 §22.2/§22.3). ``realm``: answer only a challenge for this realm (default:
    whatever realm the challenge names)."""

    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    realm: str | None = Field(default=None, min_length=1)


class TakeBackSettings(StrictModel):
    """Take-back defaults (GENESYS.md §6): the DID, the Refer-To host (ignored by Genesys), the UUI
    protocol discriminator, how long to wait for the terminal NOTIFY, the BYE grace after success, and the
    Digest credentials for a challenged REFER or BYE (GENESYS.md §12 item 12; none: a challenged REFER is a
    failure, ``refer-auth``, and a challenged BYE ends the call locally with ``bye_status`` 401/407)."""

    number: str = "+33456456456"
    host: str = "localhost"
    pd: str = "00"
    timeout: Seconds = 32.0
    bye_grace: Seconds = 2.0
    credentials: TakeBackCredentials | None = None

    @field_validator("pd")
    @classmethod
    def _pd(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{2}", value):
            raise ValueError(
                f"{value!r} is not valid; the protocol discriminator is two hex digits, e.g. '00'"
            )
        return value.lower()

    @model_validator(mode="after")
    def _refer_to(self) -> TakeBackSettings:
        try:
            refer_to(self.number, host=self.host, pd=self.pd)
        except UuiError as exc:
            raise ValueError(f"number/host do not make a Refer-To: {exc}") from None
        if self.timeout <= 0:
            raise ValueError(f"timeout: {self.timeout!r} must be above 0 seconds")
        return self


class RecordsSettings(StrictModel):
    """The call records database (SQLite, WAL). ``synchronous: full`` also survives power loss."""

    path: str | None = None
    synchronous: Literal["normal", "full"] = "normal"

    @field_validator("path")
    @classmethod
    def _resolve_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else str(_resolve(value, info))


def parse_host_port(value: Any) -> Any:
    """``127.0.0.1:8080`` / ``[::1]:8080`` -> ``(host, port)``; other values pass through (None = off)."""
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r} is not HOST:PORT with an IP host (e.g. 127.0.0.1:8080)") from None
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{value!r} is not HOST:PORT; the port must be 0..65535")
    return (host, int(port))


MAX_WORKERS = 64


def parse_worker_count(value: object) -> int:
    """``workers:`` / ``--workers``: 1..64, or ``auto`` (one per CPU)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return os.cpu_count() or 1
    text = str(value).strip()
    count = int(text) if text.isdigit() else 0
    if isinstance(value, bool) or not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"{value!r}: give 1..{MAX_WORKERS} or 'auto'")
    return count


class DeviceConfig(StrictModel):
    """The whole device.yaml."""

    listen: list[str] = Field(default_factory=lambda: ["udp:127.0.0.1:5080", "tcp:127.0.0.1:5080"])
    tls: TlsSettings | None = None
    user_agent: str = "takeback-device"
    access: AccessSettings = Field(default_factory=AccessSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    session_timer: SessionTimerSettings = Field(default_factory=SessionTimerSettings)
    app: AppSettings = Field(default_factory=_default_flow)
    take_back: TakeBackSettings = Field(default_factory=TakeBackSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    http: Annotated[tuple[str, int] | None, BeforeValidator(parse_host_port)] = ("127.0.0.1", 8080)
    drain_timeout: Seconds = 30.0
    max_calls: int = Field(default=0, ge=0)
    overload: OverloadSettings = Field(default_factory=OverloadSettings)
    #: Worker processes sharing the listening ports (SO_REUSEPORT; ``takeback.device.workers``): ``auto``
    #: is one per CPU. ``max_calls`` and ``overload`` apply to each worker.
    workers: Annotated[int, BeforeValidator(parse_worker_count)] = 1

    @field_validator("listen", mode="before")
    @classmethod
    def _listen_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("listen")
    @classmethod
    def _specs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one listener, e.g. udp:127.0.0.1:5080")
        specs = [str(parse_listen_spec(item)) for item in value]
        for spec in specs:
            if specs.count(spec) > 1:
                raise ValueError(f"{spec!r} is listed twice")
        return specs

    @model_validator(mode="after")
    def _cross_checks(self) -> DeviceConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if any(spec.transport == "TLS" for spec in self.listen_specs) and self.tls is None:
            problems.append((("tls",), "is required by the tls: listener (certfile, keyfile)"))
        if self.media_address is None:
            problems.append(
                (("media", "address"), "is required when every listener binds a wildcard address")
            )
        if self.app.flow is not None:
            problems.extend((("app", "flow", *loc), msg) for loc, msg in check_references(self.app.flow))
        if problems:
            raise ValueError("\n".join(f"{format_path(loc)}: {msg}" for loc, msg in problems))
        return self

    @property
    def listen_specs(self) -> list[ListenSpec]:
        return [parse_listen_spec(item) for item in self.listen]

    @property
    def media_address(self) -> str | None:
        """The RTP address: ``media.address``, else the first listener's non-wildcard host."""
        return self.media_address_for(self.listen_specs)

    def media_address_for(self, listeners: list[ListenSpec]) -> str | None:
        """The RTP address with these listeners (the CLI's ``--listen`` replaces the configured ones)."""
        if self.media.address is not None:
            return self.media.address
        for spec in listeners:
            if not ipaddress.ip_address(spec.host).is_unspecified:
                return spec.host
        return None

    def tts_cache_dir(self) -> Path:
        """Where spoken prompts are cached: ``media.tts_cache``, else ``~/.cache/takeback/tts``."""
        if self.media.tts_cache is not None:
            return Path(self.media.tts_cache)
        return Path.home() / ".cache" / "takeback" / "tts"

    def records_path(self, cwd: Path | None = None) -> Path:
        """The SQLite file: ``records.path``, else ``takeback-device.sqlite`` in the working directory."""
        if self.records.path is not None:
            return Path(self.records.path)
        return (cwd or Path.cwd()) / DEFAULT_RECORDS_FILE


def parse_device_config(
    text: str, *, source: str | None = None, base_dir: Path | None = None
) -> DeviceConfig:
    """Validate device.yaml text; raises :class:`ConfigError` listing every problem."""
    data = read_yaml(text, source=source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "device.yaml must be a mapping of settings")], source=source)
    context = {"base_dir": base_dir or Path.cwd()}
    try:
        return validate_model(DeviceConfig, data, source=source, context=context)
    except ConfigError as exc:
        raise ConfigError(_split_cross_checks(exc.problems), source=source) from None


def _split_cross_checks(problems: tuple[Problem, ...]) -> list[Problem]:
    """The top-level cross check reports several ``path: message`` lines in one; give each its own."""
    out: list[Problem] = []
    for problem in problems:
        if problem.path:
            out.append(problem)
            continue
        for line in problem.message.splitlines():
            path, sep, message = line.partition(": ")
            out.append(Problem(path, message) if sep else Problem("", line))
    return out


def load_device_config(path: str | Path | None) -> DeviceConfig:
    """Load a device.yaml, or the built-in demo configuration when ``path`` is None."""
    if path is None:
        return builtin_device_config()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read {file}: {exc.strerror or exc}")]) from None
    return parse_device_config(text, source=str(file), base_dir=file.resolve().parent)


def builtin_device_config() -> DeviceConfig:
    """The demo configuration (``src/takeback/data/device.yaml``): loopback sources only."""
    text = resources.files("takeback").joinpath("data/device.yaml").read_text(encoding="utf-8")
    return parse_device_config(text, source="built-in device.yaml")
