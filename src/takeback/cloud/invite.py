"""The INVITE Genesys sends to a BYOC trunk, a pure function of the trunk settings (GENESYS.md §4.2, §11.4).

:func:`build_invite` turns (trunk, dial attempt, caller, conversation id, UUI data, SDP offer, policies)
into a :class:`takeback.sip.Request` ready for the SIP core (which only adds the top Via):

* **Request-URI and To** [DOC BLOG]: the normalized number is the user part of both; the host is the
  selected SIP server (INFERRED). *Called Address Omit + Prefix* drops a leading ``+``.
* **From** [DOC BLOG]: *Address Override Method* ``Unassigned DID`` keeps the caller's ANI and falls back
  to the trunk Caller ID when there is none; ``Always`` sends the trunk Caller ID (INFERRED from the
  name). A non-empty *Prioritized caller selection* replaces the legacy method (``Source`` = the ANI,
  ``Trunk`` = the Caller ID; ``Site``/``Extension`` carry nothing here). The calling name follows the same
  rule with its own method. *Calling Address Omit + Prefix* drops a leading ``+``.
* ``x-inin-cnv: <conversationId>`` iff *Conversation Headers* is on [DOC BLOG].
* Custom headers [DOC RC-HDR], names written with the exact configured case (§12 item 14).
* UUI per §5.1 via :func:`takeback.uui.encode`, with the static-data priority rules of §3.3.
* Optional ``P-Asserted-Identity`` (``Policies.invite_pai``, §4.2 UNKNOWN, default off).
* ``Record-Route`` [DOC RC-CARR] and a ``Contact`` carrying an opaque ``gcdlg`` parameter the peer must
  echo (RC-DCV, §4.2); the SDP offer in the trunk's codec order plus telephone-event (§4.4).

Nothing here does I/O or draws random numbers: Call-ID, tag and the opaque token come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from takeback.sdp import (
    TELEPHONE_EVENT,
    LocalMedia,
    SessionDescription,
    SrtpPolicy,
    VersionKeeper,
    build_offer,
)
from takeback.sip import Headers, Request
from takeback.sip.authparams import Challenge
from takeback.sip.digest import answer_challenge, parse_challenges, pick_best_challenge
from takeback.uui import HeaderType, UuiError, encode

from .policies import Policies
from .routing import Attempt
from .trunk import Trunk

__all__ = [
    "ALLOW",
    "CONTACT_PARAM",
    "BuiltInvite",
    "Caller",
    "InviteParams",
    "LocalSignalling",
    "authorize",
    "build_invite",
    "called_user",
    "calling_identity",
    "contact_uri",
    "record_route",
    "trunk_media",
    "trunk_offer",
    "uui_headers",
]

#: INFERRED Allow list of the Genesys INVITE (GENESYS.md §10 (1)).
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO"
#: The opaque Contact parameter in-dialog requests must echo (RC-DCV "unknown Contact parameter", §4.2).
CONTACT_PARAM = "gcdlg"
#: DTMF events 0-15 as in the Genesys offer of GENESYS.md §10 (1) (RFC 4733 §3.2 events 0-15).
_DTMF_EVENTS = "0-15"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the customer's ANI (E.164, "" when unknown) and display name ("" when none)."""

    ani: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class LocalSignalling:
    """Our listening point for the attempt's transport (``udp``/``tcp``/``tls``), as written in headers."""

    host: str
    port: int
    transport: str = "udp"

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def scheme(self) -> str:
        return "sips" if self.transport.lower() == "tls" else "sip"


@dataclass(frozen=True, slots=True)
class InviteParams:
    """The per-call values (module doc): everything random or stateful is chosen by the caller."""

    number: str
    caller: Caller
    conversation_id: str
    call_id: str
    from_tag: str
    contact_token: str
    offer: bytes = b""
    uui: str | None = None
    cseq: int = 1


@dataclass(frozen=True, slots=True)
class BuiltInvite:
    """The request and what went into it (``uui`` = the UUI headers written, ``warnings`` = what was not)."""

    request: Request
    uui: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = field(default=())


# ----- identities (§4.2) -----


def _strip_plus(number: str, omit: bool) -> str:
    return number[1:] if omit and number.startswith("+") else number


def called_user(trunk: Trunk, number: str) -> str:
    """R-URI/To user: the normalized number, minus ``+`` with *Called Address Omit + Prefix* [DOC BLOG]."""
    return _strip_plus(number, trunk.called_address_omit_plus)


def _pick(method: str, configured: str, source: str) -> str:
    """``Always`` -> the trunk value (the source when none is configured, INFERRED); ``Unassigned DID``
    -> the source (the trunk value as fallback) [DOC BLOG]."""
    if method == "Always":
        return configured or source
    return source or configured


def _prioritized(trunk: Trunk, caller: Caller) -> tuple[str, str]:
    """``trunk_calling_id_priority`` [DOC PREM, RC-PCS]: the first source that yields a number."""
    sources = {"Source": (caller.ani, caller.name), "Trunk": (trunk.caller_id, trunk.calling_name)}
    for name in trunk.prioritized_caller_selection:
        number, display = sources.get(name, ("", ""))
        if number:
            return number, display
    return "", ""


def calling_identity(trunk: Trunk, caller: Caller) -> tuple[str, str]:
    """(From user, display name) per §4.2: override methods or prioritized selection, then omit-+."""
    if trunk.prioritized_caller_selection:
        number, name = _prioritized(trunk, caller)
    else:
        number = _pick(trunk.address_override_method, trunk.caller_id, caller.ani)
        name = _pick(trunk.name_override_method, trunk.calling_name, caller.name)
    return _strip_plus(number, trunk.calling_address_omit_plus), name


def _quoted(display: str) -> str:
    """RFC 3261 §25.1 quoted-string: escape backslash and double quote."""
    escaped = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _from_value(user: str, display: str, host: str, tag: str) -> str:
    if not user:  # nothing to send: RFC 3323 §4.1.1.3 anonymous From
        return f'"Anonymous" <sip:anonymous@anonymous.invalid>;tag={tag}'
    name = f"{_quoted(display)} " if display else ""
    return f"{name}<sip:{user}@{host}>;tag={tag}"


# ----- routing headers (§4.2 Record-Route / Contact) -----


def record_route(local: LocalSignalling) -> str:
    """``<sip:HOST:PORT;lr>`` [DOC RC-CARR]: in-dialog requests come back through us (RFC 3261 §16.6)."""
    transport = "" if local.transport.lower() == "udp" else f";transport={local.transport.lower()}"
    return f"<{local.scheme}:{local.hostport}{transport};lr>"


def contact_uri(local: LocalSignalling, token: str) -> str:
    """Our Contact URI with the opaque ``gcdlg`` parameter (§10 (1) layout; RC-DCV: must be echoed)."""
    return f"{local.scheme}:{local.hostport};transport={local.transport.lower()};{CONTACT_PARAM}={token}"


def _request_uri(trunk: Trunk, attempt: Attempt, user: str) -> tuple[str, str]:
    """(Request-URI, To value): host = the selected SIP server (INFERRED, §4.2)."""
    scheme = "sips" if trunk.protocol == "tls" else "sip"
    if attempt.proxy is None:
        raise ValueError(f"trunk {trunk.name!r} has no SIP server to send an INVITE to")
    proxy = attempt.proxy
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    transport = ";transport=tcp" if trunk.protocol == "tcp" else ""
    return f"{scheme}:{user}@{host}:{proxy.port}{transport}", f"<{scheme}:{user}@{host}>"


# ----- UUI (§5.1, §3.3) -----


def _encode_one(
    data: str, header_type: HeaderType, trunk: Trunk, policies: Policies, warnings: list[str], what: str
) -> tuple[str, str] | None:
    isdn = "isdn-uui" if policies.uui_purpose_content_params else None  # §5.1 UNKNOWN, policy
    try:
        return encode(
            data,
            header_type=header_type,
            encoding=trunk.uui_encoding_name,
            pd=trunk.uui_pd,
            purpose=isdn,
            content=isdn,
        )
    except UuiError as exc:
        warnings.append(f"{what} UUI not sent: {exc}")
        return None


def uui_headers(
    trunk: Trunk, dynamic: str | None, policies: Policies, warnings: list[str] | None = None
) -> list[tuple[str, str]]:
    """The UUI headers of the INVITE (GENESYS.md §5.1, static-data rules of §3.3 [DOC RC-UUIEN]).

    Dynamic data (Set UUI Data) only with *UUI Passthrough*; never on a Genesys Cloud Voice trunk
    [DOC RC-UUIOV]. Static User Data with the same header name as the dynamic one: priority ``Low`` sends
    the dynamic data, ``High`` the static; different header names send both.
    """
    notes = warnings if warnings is not None else []
    if trunk.kind != "byoc":
        return []
    dyn = None
    if trunk.uui_passthrough and dynamic:
        dyn = _encode_one(dynamic, trunk.uui_header_type, trunk, policies, notes, "dynamic")
    static = None
    if trunk.static_user_data:
        static = _encode_one(
            trunk.static_user_data, trunk.static_uui_header_type, trunk, policies, notes, "static"
        )
    if dyn is not None and static is not None and dyn[0].lower() == static[0].lower():
        return [static] if trunk.static_user_data_priority == "High" else [dyn]
    return [header for header in (dyn, static) if header is not None]


# ----- media (§4.4) -----


def trunk_media(
    trunk: Trunk,
    address: str,
    port: int,
    *,
    policies: Policies | None = None,
    key_source: Callable[[int], bytes] | None = None,
) -> LocalMedia:
    """Our media for the trunk: ``trunk_media_codec`` order (INFERRED), telephone-event at
    ``trunk_media_dtmf_payload`` (101, [DOC EXPORT]); SDES SRTP on a TLS trunk (§7, policy)."""
    event = TELEPHONE_EVENT.with_payload_type(trunk.dtmf_payload).with_fmtp(_DTMF_EVENTS)
    srtp = SrtpPolicy.OFF
    if trunk.protocol == "tls" and (policies is None or policies.require_srtp_on_tls):
        srtp = SrtpPolicy.REQUIRED
    return LocalMedia(
        address,
        port,
        codecs=tuple(trunk.preferred_codec_list),
        telephone_event=event,
        srtp=srtp,
        crypto_suites=tuple(trunk.srtp_cipher_suites),
        key_source=key_source,
    )


def trunk_offer(
    trunk: Trunk,
    address: str,
    port: int,
    *,
    session_id: int,
    policies: Policies | None = None,
    key_source: Callable[[int], bytes] | None = None,
) -> SessionDescription:
    """The SDP offer of GENESYS.md §10 (1): ``o=- <id> <id>``, codecs in trunk order, 101, ptime 20."""
    local = trunk_media(trunk, address, port, policies=policies, key_source=key_source)
    return build_offer(local, keeper=VersionKeeper(session_id))


# ----- the request -----


def build_invite(
    trunk: Trunk,
    attempt: Attempt,
    params: InviteParams,
    local: LocalSignalling,
    policies: Policies,
) -> BuiltInvite:
    """The INVITE for one dial attempt (module doc). Raises ``ValueError`` for a trunk without servers."""
    ruri, to_value = _request_uri(trunk, attempt, called_user(trunk, params.number))
    from_user, display = calling_identity(trunk, params.caller)
    fields: list[tuple[str, str]] = [
        ("Max-Forwards", "70"),
        ("Record-Route", record_route(local)),
        ("From", _from_value(from_user, display, local.host, params.from_tag)),
        ("To", to_value),
        ("Call-ID", params.call_id),
        ("CSeq", f"{params.cseq} INVITE"),
        ("Contact", f"<{contact_uri(local, params.contact_token)}>"),
        ("Allow", ALLOW),
    ]
    if policies.invite_pai and from_user:
        fields.append(("P-Asserted-Identity", f"<sip:{from_user}@{local.host}>"))
    if trunk.conversation_headers:
        fields.append(("x-inin-cnv", params.conversation_id))  # [DOC BLOG] lower-case name
    fields.extend(trunk.custom_sip_headers.items())  # exact configured case [§12 item 14]
    warnings: list[str] = []
    uui = uui_headers(trunk, params.uui, policies, warnings)
    fields.extend(uui)
    if params.offer:
        fields.append(("Content-Type", "application/sdp"))
    request = Request("INVITE", ruri, Headers(fields), params.offer)
    return BuiltInvite(request, tuple(uui), tuple(warnings))


def authorize(
    request: Request,
    challenge_values: list[str],
    trunk: Trunk,
    *,
    proxy: bool,
    cnonce: str,
) -> Request | None:
    """The INVITE re-sent with credentials after a 401/407 (GENESYS.md §4.3, RFC 3261 §22.2).

    Same Call-ID and From tag, CSeq + 1, no Via (a new transaction), ``Authorization`` (401) or
    ``Proxy-Authorization`` (407) from the trunk's user name and password. ``None`` when Digest is off,
    no challenge is answerable, or its realm differs from the configured one (INFERRED: call failure).
    """
    if not trunk.digest_authentication:
        return None
    challenge = pick_best_challenge(parse_challenges(challenge_values))
    if challenge is None or not _realm_ok(challenge, trunk):
        return None
    credentials = answer_challenge(
        challenge,
        request.method,
        request.uri,
        trunk.digest_user_name,
        trunk.digest_password,
        cnonce=cnonce,
        body=request.body,
    )
    headers = Headers(
        [
            (name, value)
            for name, value in request.headers.items_as_written()
            if name.lower() not in ("via", "v", "authorization", "proxy-authorization")
        ]
    )
    headers.set("CSeq", f"{request.cseq.seq + 1} {request.method}")
    headers.add("Proxy-Authorization" if proxy else "Authorization", str(credentials))
    return Request(request.method, request.uri, headers, request.body)


def _realm_ok(challenge: Challenge, trunk: Trunk) -> bool:
    return not trunk.digest_realm or challenge.realm == trunk.digest_realm
