"""The INVITE Genesys sends to a BYOC trunk, a pure function of the trunk settings (GENESYS.md §4.2, §11.4).

:func:`build_invite` turns (trunk, dial attempt, caller, conversation id, UUI data, SDP offer, policies)
into a :class:`takeback.sip.Request` ready for the SIP core (which only adds the top Via):

* **Request-URI and To** [DOC BLOG]: the normalized number is the user part of both; the host is the
  selected SIP server (INFERRED). *Called Address Omit + Prefix* drops a leading ``+``.
* **From** [DOC BLOG]: *Address Override Method* ``Unassigned DID`` keeps the caller's ANI and falls back
  to the trunk Caller ID when there is none; ``Always`` sends the trunk Caller ID (INFERRED from the
  name). A non-empty *Prioritized caller selection* replaces the legacy method (:func:`calling_identity`:
  ``Source``, ``Trunk``, ``Site``, ``Extension``). The calling name follows the same rule with its own
  method; *Suppress user name* may then drop it (:func:`user_name_suppressed`). *Calling Address Omit +
  Prefix* drops a leading ``+``.
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
from typing import Literal

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

from .org import DidRange, Site
from .policies import Policies
from .routing import Attempt
from .trunk import CallerSource, Trunk

__all__ = [
    "ALLOW",
    "CONTACT_PARAM",
    "BuiltInvite",
    "Caller",
    "CallingIdentity",
    "InviteParams",
    "LocalSignalling",
    "authorize",
    "build_invite",
    "called_user",
    "calling_identity",
    "contact_uri",
    "record_route",
    "select_calling_identity",
    "trunk_media",
    "trunk_offer",
    "user_name_suppressed",
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
    """Who is calling: the customer's ANI (E.164, "" when unknown) and display name ("" when none).

    ``extension`` / ``user_name`` are the calling Genesys *user*, for a transfer made by an agent: the
    ``Extension`` source of ``trunk_calling_id_priority`` (GENESYS.md §3.3). RC-PCS: caller ID from "a
    user profile ... would be the main work phone number in the user profile and the caller name would be
    the user name" [DOC RC-PCS]; that the ``Extension`` key names this user-profile source is INFERRED.
    The emulated call is a PSTN customer transferred by a flow, with no user: both stay "" unless a test
    or tool sets them (INFERRED), and ``Extension`` then yields nothing.
    """

    ani: str = ""
    name: str = ""
    extension: str = ""
    user_name: str = ""


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
    site: Site | None = None  # the dialing site: the ``Site`` caller-ID source (§3.3)
    did_ranges: tuple[DidRange, ...] = ()  # the org's DIDs: "DID available" (Policies.did_available)


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


#: Sources whose display name is a person's name: what *Suppress user name* drops (INFERRED, §3.3).
_USER_SOURCES: frozenset[str] = frozenset({"Source", "Extension"})


@dataclass(frozen=True, slots=True)
class CallingIdentity:
    """The From identity before omit-+: number, display name and where the name came from.

    ``name_source`` is a ``trunk_calling_id_priority`` source name (``Source``/``Trunk``/``Site``/
    ``Extension``), or "" when there is no name.
    """

    number: str
    name: str
    name_source: CallerSource | Literal[""]


def _pick(method: str, configured: str, source: str) -> tuple[str, bool]:
    """(value, taken from the source?): ``Always`` -> the trunk value (the source when none is configured,
    INFERRED); ``Unassigned DID`` -> the source (the trunk value as fallback) [DOC BLOG]."""
    if method == "Always":
        return (configured, False) if configured else (source, bool(source))
    return (source, True) if source else (configured, False)


def _caller_sources(trunk: Trunk, caller: Caller, site: Site | None) -> dict[str, tuple[str, str]]:
    """(number, name) per ``trunk_calling_id_priority`` source [DOC PREM enum; RC-PCS]:

    * ``Source``: the original caller's ANI and name (INFERRED, GENESYS.md §4.2);
    * ``Trunk``: the trunk Caller ID / Calling Name [DOC RC-PCS, BLOG];
    * ``Site``: the dialing site's Caller ID / Caller Name [DOC RC-PCS; SDK ``Site.caller_id``]; the
      dialing site is the one whose outbound route placed the call (INFERRED, §4.1 (1));
    * ``Extension``: the calling user's work number and name (:class:`Caller`, INFERRED).
    """
    return {
        "Source": (caller.ani, caller.name),
        "Trunk": (trunk.caller_id, trunk.calling_name),
        "Site": (site.caller_id, site.caller_name) if site is not None else ("", ""),
        "Extension": (caller.extension, caller.user_name),
    }


def _prioritized(trunk: Trunk, caller: Caller, site: Site | None) -> CallingIdentity:
    """``trunk_calling_id_priority`` [DOC PREM, RC-PCS]: the first source in the trunk's order that yields a
    number gives number and name (a source with a name but no number is passed over, INFERRED)."""
    sources = _caller_sources(trunk, caller, site)
    for source in trunk.prioritized_caller_selection:
        number, display = sources[source]
        if number:
            return CallingIdentity(number, display, source if display else "")
    return CallingIdentity("", "", "")


def select_calling_identity(trunk: Trunk, caller: Caller, site: Site | None = None) -> CallingIdentity:
    """The From number and name per §4.2, before *Suppress user name* and omit-+.

    A non-empty ``trunk_calling_id_priority`` replaces the legacy override methods ("legacy" / "new" in
    [DOC PREM]); otherwise *Address/Name Override Method* pick between the caller and the trunk.
    """
    if trunk.prioritized_caller_selection:
        return _prioritized(trunk, caller, site)
    number, _ = _pick(trunk.address_override_method, trunk.caller_id, caller.ani)
    name, from_source = _pick(trunk.name_override_method, trunk.calling_name, caller.name)
    source: CallerSource | Literal[""] = ("Source" if from_source else "Trunk") if name else ""
    return CallingIdentity(number, name, source)


def _is_org_did(number: str, did_ranges: tuple[DidRange, ...]) -> bool:
    return any(did.contains(number) for did in did_ranges)


def user_name_suppressed(
    trunk: Trunk, identity: CallingIdentity, did_ranges: tuple[DidRange, ...], policies: Policies
) -> bool:
    """*Suppress user name* ``trunk_outboundIdentity_suppress_username_if_did_available`` / ``_if_no_did``
    (GENESYS.md §3.3, keys [DOC PREM] "new" model): drop the From display name.

    The keys are documented, their exact semantics are not (INFERRED, made policies):

    * "DID available" (``Policies.did_available``): ``org_did`` = the From number lies in one of the
      org's DID ranges (a number Genesys owns, as an agent's assigned DID would); ``any_number`` = any
      From number at all;
    * which names are a "user name" (``Policies.suppress_user_name_scope``): ``user`` = a person's name
      (``Source`` caller name, ``Extension`` user name); ``any`` = also a configured trunk/site name;
    * the flags act in both the prioritized and the legacy model (they are separate keys, INFERRED).
    """
    if not identity.name or not (
        trunk.suppress_user_name_if_did_available or trunk.suppress_user_name_if_no_did
    ):
        return False
    if policies.suppress_user_name_scope == "user" and identity.name_source not in _USER_SOURCES:
        return False
    if policies.did_available == "any_number":
        did = bool(identity.number)
    else:
        did = _is_org_did(identity.number, did_ranges)
    return trunk.suppress_user_name_if_did_available if did else trunk.suppress_user_name_if_no_did


def calling_identity(
    trunk: Trunk,
    caller: Caller,
    *,
    site: Site | None = None,
    did_ranges: tuple[DidRange, ...] = (),
    policies: Policies | None = None,
) -> tuple[str, str]:
    """(From user, display name) per §4.2: override methods or prioritized selection, *Suppress user
    name*, then omit-+ (:func:`select_calling_identity`, :func:`user_name_suppressed`)."""
    identity = select_calling_identity(trunk, caller, site)
    name = identity.name
    if user_name_suppressed(trunk, identity, did_ranges, policies or Policies()):
        name = ""
    return _strip_plus(identity.number, trunk.calling_address_omit_plus), name


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
    from_user, display = calling_identity(
        trunk, params.caller, site=params.site, did_ranges=params.did_ranges, policies=policies
    )
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
