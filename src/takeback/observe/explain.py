"""One SIP message, as pasted from a trace, explained against the BYOC take-back rules (``takeback inspect``).

:func:`explain` cleans the paste up (:func:`takeback.observe.paste.normalize_paste`), parses it with
:func:`takeback.sip.parse_message` and says what Genesys would make of it: the UUI headers decoded one by
one and ``Call.UUIData`` as the GENESYS.md §5.2 selection rules give it, ``x-inin-cnv``, the Refer-To
spelling (§12.1), Digest (without secrets), the SDP, the NOTIFY's sipfrag, and one :class:`Finding` per
interop pitfall of §12 that the message shows. Pitfalls that need more than one message (the REFER's
Request-URI must be the peer's Contact) are stated as what to compare, with this message's values.

A message the parser refuses raises :class:`~takeback.sip.SipParseError` with its one-line reason. One
exception: a message whose only fault is a missing Via is explained anyway (documentation excerpts,
such as the NOTIFY of GENESYS.md §10 (5), leave it out), with a ``missing-via`` warning.

Pure: bytes in, values out. Everything returned is attacker-controlled text, unescaped: renderers must
escape it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from takeback.sdp import SdpParseError, SessionDescription, parse_sdp
from takeback.sip import NameAddr, Request, Response, SipParseError, SipUri, TelUri, parse_message
from takeback.sip.authparams import parse_auth_header
from takeback.sip.sipfrag import parse_sipfrag
from takeback.uui import (
    UUI_HEADER,
    X_UUI_HEADER,
    ReferTarget,
    UuiError,
    UuiWarning,
    decode_uui,
    parse_refer_to,
)

from .explain_model import DigestInfo, MediaInfo, NotifyInfo, Party, ReferToInfo, SdpInfo, UuiHeader
from .paste import MAX_PASTE, Finding, Level, Pasted, normalize_paste

__all__ = [
    "DigestInfo",
    "Explanation",
    "Finding",
    "Level",
    "MediaInfo",
    "NotifyInfo",
    "Party",
    "Pasted",
    "ReferToInfo",
    "SdpInfo",
    "UuiHeader",
    "explain",
    "normalize_paste",
]

_UUI_NAMES = frozenset({UUI_HEADER.lower(), X_UUI_HEADER.lower()})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_PLACEHOLDER_VIA = "Via: SIP/2.0/UDP pasted.invalid;branch=z9hG4bK-takeback-inspect"
# UUI warning codes (takeback.uui) that are only informative; every other one is a likely problem.
_UUI_INFO_CODES = frozenset({"missing-encoding", "quoted-data", "non-ascii", "long"})


def _info(code: str, message: str) -> Finding:
    return Finding("info", code, message)


def _warn(code: str, message: str) -> Finding:
    return Finding("warn", code, message)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything :func:`explain` found; :meth:`to_dict` is the ``takeback inspect --json`` shape."""

    kind: Literal["request", "response"]
    method: str
    request_uri: str | None
    status: int | None
    reason: str | None
    cseq: int
    call_id: str
    from_: Party
    to: Party
    contact: str | None
    conversation_id: str | None
    uui_headers: tuple[UuiHeader, ...]
    call_uui_data: str | None
    call_uui_source: str | None
    refer_to: ReferToInfo | None
    digest: tuple[DigestInfo, ...]
    sdp: SdpInfo | None
    notify: NotifyInfo | None
    findings: tuple[Finding, ...]
    input_notes: tuple[Finding, ...]

    @property
    def start_line(self) -> str:
        if self.kind == "request":
            return f"{self.method} {self.request_uri} SIP/2.0"
        return f"SIP/2.0 {self.status} {self.reason}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: every field (``from_`` as ``from``), plus ``ok``, ``start_line`` and
        ``warnings`` (the codes of the ``warn`` findings)."""
        fields = asdict(self)
        data: dict[str, Any] = {"ok": True, "start_line": self.start_line}
        for key, value in fields.items():
            data["from" if key == "from_" else key] = value
        data["warnings"] = [f["code"] for f in fields["findings"] if f["level"] == "warn"]
        return data


def explain(data: bytes) -> Explanation:
    """Parse a pasted message and explain it (module doc). Raises :class:`SipParseError`."""
    pasted = normalize_paste(data)
    message, parse_notes = _parse(pasted.data)
    method = message.method if isinstance(message, Request) else message.cseq.method
    refer = _refer_to(message) if isinstance(message, Request) and method == "REFER" else None
    uui_lines = _uui_headers(message)
    uui_data, uui_source, uui_findings = _call_uui_data(message, method, refer)
    findings = [
        *parse_notes,
        *uui_findings,
        *_cnv_findings(message, method),
        *_method_findings(message, method, refer),
        *_transport_findings(message),
    ]
    sdp, sdp_findings = _sdp(message)
    findings += sdp_findings
    return Explanation(
        kind="request" if isinstance(message, Request) else "response",
        method=method,
        request_uri=message.uri if isinstance(message, Request) else None,
        status=message.status if isinstance(message, Response) else None,
        reason=message.reason if isinstance(message, Response) else None,
        cseq=message.cseq.seq,
        call_id=message.call_id,
        from_=_party(message.from_),
        to=_party(message.to),
        contact=message.headers.get("Contact"),
        conversation_id=message.headers.get("x-inin-cnv"),
        uui_headers=uui_lines,
        call_uui_data=uui_data,
        call_uui_source=uui_source,
        refer_to=refer.info if refer is not None else None,
        digest=_digest(message),
        sdp=sdp,
        notify=_notify(message) if method == "NOTIFY" and isinstance(message, Request) else None,
        findings=tuple(findings),
        input_notes=pasted.notes,
    )


def _parse(data: bytes) -> tuple[Request | Response, list[Finding]]:
    try:
        return parse_message(data, max_size=MAX_PASTE), []
    except SipParseError as exc:
        if str(exc) != "missing mandatory header(s): via":
            raise
    start, _, rest = data.partition(b"\r\n")
    patched = start + b"\r\n" + _PLACEHOLDER_VIA.encode() + b"\r\n" + rest
    note = _warn(
        "missing-via",
        "no Via header: as sent this message is invalid and a UAS answers 400 (RFC 3261 §8.1.1.7); "
        "explained as if it had one",
    )
    return parse_message(patched, max_size=MAX_PASTE + 100), [note]


def _party(value: NameAddr) -> Party:
    try:
        uri = value.uri
    except SipParseError:  # validated by the parser; defensive only
        return Party("", value.display, None, value.tag)
    user = uri.user if isinstance(uri, SipUri) else uri.number if isinstance(uri, TelUri) else None
    return Party(str(uri), value.display, user, value.tag)


# ---------------------------------------------------------------------------------------------- UUI


def _from_uui_warning(warning: UuiWarning) -> Finding:
    level: Level = "info" if warning.code in _UUI_INFO_CODES else "warn"
    return Finding(level, f"uui-{warning.code}", warning.message)


def _uui_headers(message: Request | Response) -> tuple[UuiHeader, ...]:
    out: list[UuiHeader] = []
    for name, value in message.headers.items_as_written():
        if name.lower() not in _UUI_NAMES:
            continue
        decoded = decode_uui([(name, value)])
        out.append(
            UuiHeader(
                name,
                value,
                decoded.header_type,
                decoded.encoding,
                decoded.encoding_defaulted,
                decoded.pd,
                decoded.text,
                tuple(_from_uui_warning(w) for w in decoded.warnings),
            )
        )
    return tuple(out)


def _call_uui_data(
    message: Request | Response, method: str, refer: _Refer | None
) -> tuple[str | None, str | None, list[Finding]]:
    """``Call.UUIData``: from an INVITE's headers, or from a REFER's Refer-To (GENESYS.md §5.2, §6)."""
    decoded = decode_uui(message.headers)
    if isinstance(message, Request) and method == "INVITE":
        findings = [_from_uui_warning(w) for w in decoded.warnings]
        if decoded.found and decoded.text is None:
            findings.append(_warn("uui-no-data", "the UUI header yields no Call.UUIData (§5.2)"))
        source = decoded.header_name if decoded.text is not None else None
        return decoded.text, source, findings
    if isinstance(message, Request) and method == "REFER":
        findings = []
        if decoded.found:
            findings.append(
                _warn(
                    "refer-uui-header-ignored",
                    f"a separate {decoded.header_name or 'UUI'} header on a REFER does not reach "
                    "Call.UUIData: put the UUI inside the Refer-To URI "
                    "(?User-to-User=00<hex>%3Bencoding%3Dhex, §12 item 1)",
                )
            )
        target = refer.target if refer is not None else None
        if target is None or target.spelling is None:
            return None, None, findings
        findings += [_from_uui_warning(w) for w in target.uui.warnings]
        if target.uui_data is None:
            findings.append(_warn("uui-no-data", "the Refer-To UUI yields no Call.UUIData (§5.2)"))
            return None, None, findings
        return target.uui_data, "Refer-To", findings
    if decoded.found:
        kind = "request" if isinstance(message, Request) else "response"
        note = f"UUI on a {method} {kind}: Genesys reads UUI from an INVITE or a REFER's Refer-To"
        return None, None, [_info("uui-not-read", note)]
    return None, None, []


# ---------------------------------------------------------------------------------------- Refer-To


@dataclass(frozen=True, slots=True)
class _Refer:
    info: ReferToInfo
    target: ReferTarget | None  # None: the Refer-To could not be parsed (info.error says why)


def _refer_to(message: Request) -> _Refer | None:
    values = message.headers.get_all("Refer-To")
    if not values:
        return None
    value = values[0]
    bracketed = "<" in value
    try:
        target = parse_refer_to(value)
    except UuiError as exc:
        info = ReferToInfo(value, None, None, None, bracketed, None, False, None, None, None, None, str(exc))
        return _Refer(info, None)
    uui = target.uui
    has_uui = target.spelling is not None
    info = ReferToInfo(
        value,
        target.number,
        target.scheme,
        target.host,
        bracketed,
        target.spelling,
        target.rfc_correct,
        target.uui_data,
        uui.header_type if has_uui else None,
        uui.encoding if has_uui else None,
        uui.pd if has_uui else None,
    )
    return _Refer(info, target)


def _refer_findings(message: Request, refer: _Refer | None) -> list[Finding]:
    """GENESYS.md §6 and §12 items 1, 3, 4, 5 as far as one REFER shows them."""
    findings: list[Finding] = []
    count = len(message.headers.get_all("Refer-To"))
    if refer is None:
        findings.append(_warn("refer-to-missing", "REFER without Refer-To: answered 400 (RFC 3515 §2.4.1)"))
    elif refer.target is None:
        findings.append(
            _warn("refer-to-malformed", f"Refer-To unusable: {refer.info.error} (Genesys: 400, §6)")
        )
    else:
        findings += _refer_target_findings(refer.info, refer.target)
    if count > 1:
        findings.append(
            _warn("refer-to-repeated", f"{count} Refer-To headers: exactly one (RFC 3515 §2.4.1)")
        )
    if message.to.tag is None:
        findings.append(
            _warn(
                "refer-out-of-dialog",
                "no To tag: Genesys takes a call back only by an in-dialog REFER (§6)",
            )
        )
    findings.append(_dialog_target_note(message))
    return findings


def _refer_target_findings(info: ReferToInfo, target: ReferTarget) -> list[Finding]:
    findings = [_warn(f"refer-to-{w.code}", w.message) for w in target.warnings]
    if not info.bracketed and not any(f.code == "refer-to-not-bracketed" for f in findings):
        findings.append(
            _warn(
                "refer-to-unbracketed",
                "Refer-To not in <>: URI parameters would read as header parameters (§12 item 5)",
            )
        )
    if info.spelling is None and not target.is_tel:
        findings.append(
            _info("refer-to-no-uui", "no UUI in the Refer-To: Call.UUIData will be empty in the flow (§6)")
        )
    if info.number and not info.number.startswith("+"):
        findings.append(
            _info(
                "refer-to-not-e164",
                f"{info.number!r}: take-back DIDs are E.164 with '+' (§6, §12 item 16)",
            )
        )
    return findings


def _dialog_target_note(message: Request) -> Finding:
    """§12 item 3 cannot be checked from one message: say what to compare, with this message's values."""
    routes = message.headers.get_all("Route")
    route_text = (
        f"Route {', '.join(routes)}" if routes else "no Route (right only if the INVITE had no Record-Route)"
    )
    text = (
        f"cannot be checked from one message: the Request-URI {message.uri} must be the Contact of the "
        f"peer's INVITE/200 verbatim, parameters included, and the Route set its Record-Route; here: "
        f"{route_text} (§4.2, §12 item 3)"
    )
    uri = message.request_uri
    if isinstance(uri, SipUri) and not uri.params:
        text += "; this Request-URI has no parameters, while Genesys' Contact carries an opaque one to echo"
    return _info("dialog-target-unchecked", text)


# --------------------------------------------------------------------------------- per-method rules


def _method_findings(message: Request | Response, method: str, refer: _Refer | None) -> list[Finding]:
    if isinstance(message, Response):
        return _response_findings(message, method)
    if method == "REFER":
        return _refer_findings(message, refer)
    if method == "NOTIFY":
        return _notify_findings(message)
    if method == "INVITE":
        return _invite_findings(message)
    return []


def _invite_findings(message: Request) -> list[Finding]:
    findings: list[Finding] = []
    uri = message.request_uri
    if isinstance(uri, TelUri):
        findings.append(_warn("tel-request-uri", "tel: Request-URI: BYOC trunks use sip: URIs (§12 item 4)"))
    ruri_user = uri.user if isinstance(uri, SipUri) else uri.number if isinstance(uri, TelUri) else None
    to_user = _party(message.to).user
    if ruri_user and to_user and ruri_user.partition(";")[0] != to_user.partition(";")[0]:
        findings.append(
            _warn(
                "ruri-to-mismatch",
                f"Request-URI user {ruri_user!r} differs from To user {to_user!r}: Genesys puts the "
                "dialed number in both (§4.2)",
            )
        )
    if ruri_user and ruri_user.isdigit() and len(ruri_user) > 6:
        findings.append(
            _info(
                "no-plus",
                f"{ruri_user!r} has no '+': the trunk's Called Address Omit + Prefix is on (§12 item 16)",
            )
        )
    if not message.body:
        findings.append(_info("no-sdp", "INVITE without SDP: a delayed offer, the 200 OK carries the offer"))
    findings += _session_timer_findings(message)
    if message.headers.get("Authorization") or message.headers.get("Proxy-Authorization"):
        findings.append(_info("digest-credentials", "the INVITE answers a Digest challenge (§4.3, §10 (2))"))
    return findings


def _session_timer_findings(message: Request) -> list[Finding]:
    try:
        expires, min_se = message.session_expires, message.min_se
    except SipParseError as exc:
        return [_warn("session-timer-malformed", f"Session-Expires/Min-SE unreadable: {exc}")]
    if expires is None:
        return []
    floor = max(90, min_se or 90)
    if expires.seconds < floor:
        return [
            _warn(
                "session-expires-too-small",
                f"Session-Expires {expires.seconds} is below {floor}: answered 422 "
                "(RFC 4028 §6, §12 item 11)",
            )
        ]
    return [
        _info("session-timer", f"session timer {expires.seconds}s, refresher {expires.refresher or 'unset'}")
    ]


def _notify_findings(message: Request) -> list[Finding]:
    """GENESYS.md §12 item 7: Event, Subscription-State and a sipfrag body (RFC 6665 §8.2, RFC 3515)."""
    lenient = " (receivers should still accept it, §12 item 7)"
    findings: list[Finding] = []
    event = message.headers.get("Event")
    if event is None:
        findings.append(_warn("notify-no-event", "NOTIFY without Event (RFC 6665 §8.2.1)" + lenient))
    elif event.split(";")[0].strip().lower() != "refer":
        findings.append(
            _info("notify-not-refer", f"Event {event!r}: not the refer subscription of a take-back")
        )
    if message.headers.get("Subscription-State") is None:
        findings.append(
            _warn(
                "notify-no-subscription-state",
                "NOTIFY without Subscription-State (RFC 6665 §8.2.3)" + lenient,
            )
        )
    content_type = (message.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "message/sipfrag":
        findings.append(
            _warn(
                "notify-not-sipfrag",
                f"body type {content_type or 'none'!r}: a refer NOTIFY carries "
                "message/sipfrag (RFC 3515 §2.4.5)",
            )
        )
        return findings
    status = _sipfrag_status(message.body)
    if status is None:
        findings.append(_warn("sipfrag-unreadable", "the sipfrag body has no SIP status line (RFC 3420)"))
    elif status >= 300:
        findings.append(
            _warn("refer-failed", f"sipfrag {status}: the take-back failed; the call stays up (§6)")
        )
    elif status >= 200:
        findings.append(_info("refer-succeeded", f"sipfrag {status}: the take-back succeeded (§6 step 3)"))
    else:
        findings.append(
            _info("refer-progress", f"sipfrag {status}: in progress; wait for the terminal NOTIFY")
        )
    return findings


def _sipfrag_status(body: bytes) -> int | None:
    try:
        fragment = parse_sipfrag(body.strip())
    except SipParseError:
        return None
    return fragment.status if isinstance(fragment, Response) else None


def _response_findings(message: Response, method: str) -> list[Finding]:
    status = message.status
    if method == "REFER":
        if status == 202 or 200 <= status < 300:
            return [
                _info(
                    "refer-accepted",
                    f"{status} only accepts the REFER; the outcome is the terminal "
                    "NOTIFY's sipfrag (§12 item 6)",
                )
            ]
        if status >= 300:
            hint = " (is Take Back and Transfer on for the trunk? §6)" if status in (403, 405, 501) else ""
            return [_warn("refer-rejected", f"the REFER was refused with {status}{hint}")]
    if method == "OPTIONS" and status == 501:
        return [
            _warn(
                "options-501", "501 to OPTIONS makes dispatchers mark the node down: answer 200 (§12 item 17)"
            )
        ]
    if method == "OPTIONS" and status == 503:
        return [_info("options-503", "503 to OPTIONS: the node is draining (§12 item 17)")]
    if status in (401, 407):
        return [
            _info("digest-challenge", f"{status}: Genesys answers with the trunk's Digest credentials (§4.3)")
        ]
    return []


def _cnv_findings(message: Request | Response, method: str) -> list[Finding]:
    """``x-inin-cnv`` (GENESYS.md §4.2, §12 item 15)."""
    values = message.headers.get_all("x-inin-cnv")
    if not values:
        if isinstance(message, Request) and method == "INVITE":
            return [
                _info(
                    "no-cnv",
                    "no x-inin-cnv (Conversation Headers off?): correlate by Call-ID through "
                    "analytics protocolCallId (§9.5, §12 item 15)",
                )
            ]
        return []
    findings: list[Finding] = []
    if len(values) > 1:
        findings.append(_warn("cnv-repeated", f"{len(values)} x-inin-cnv headers"))
    if not _UUID.match(values[0].strip()):
        findings.append(_warn("cnv-not-uuid", "x-inin-cnv is not a conversationId (a UUID, §4.2)"))
    return findings


def _transport_findings(message: Request | Response) -> list[Finding]:
    """§12 item 9: over TLS the Contact must be a sips: URI; a dialog-creating request needs a Contact."""
    if not isinstance(message, Request) or message.method not in ("INVITE", "REFER", "SUBSCRIBE"):
        return []
    try:
        contact = message.contact
        transport = message.top_via.transport.upper()
    except SipParseError as exc:
        return [_warn("contact-malformed", f"Contact unreadable: {exc}")]
    if contact is None:
        return [_warn("contact-missing", f"{message.method} without Contact (RFC 3261 §8.1.1.8)")]
    scheme = getattr(contact.uri, "scheme", "")
    if transport == "TLS" and scheme != "sips":
        return [_warn("contact-not-sips", "over TLS the Contact should be a sips: URI (§12 item 9)")]
    return []


# ------------------------------------------------------------------------------ Digest, SDP, NOTIFY


def _digest(message: Request | Response) -> tuple[DigestInfo, ...]:
    names = (
        ("WWW-Authenticate", "Proxy-Authenticate")
        if isinstance(message, Response)
        else ("Authorization", "Proxy-Authorization")
    )
    out: list[DigestInfo] = []
    for name in names:
        for value in message.headers.get_all(name):
            try:
                parsed = parse_auth_header(value)
            except ValueError as exc:
                out.append(DigestInfo(name, "", None, None, None, None, str(exc)))
                continue
            get = parsed.get
            out.append(
                DigestInfo(name, parsed.scheme, get("realm"), get("username"), get("algorithm"), get("qop"))
            )
    return tuple(out)


def _sdp(message: Request | Response) -> tuple[SdpInfo | None, list[Finding]]:
    content_type = (message.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not message.body or (content_type != "application/sdp" and not message.body.startswith(b"v=0")):
        return None, []
    try:
        sdp = parse_sdp(message.body)
    except SdpParseError as exc:
        return None, [_warn("sdp-malformed", f"SDP unreadable: {exc}")]
    info = _sdp_info(sdp)
    findings: list[Finding] = []
    audio = [m for m in info.media if m.media == "audio" and m.port]
    if audio and all(m.telephone_event is None for m in audio):
        findings.append(
            _info("no-telephone-event", "no telephone-event: DTMF will not travel as RFC 4733 events")
        )
    if info.hold:
        findings.append(
            _info(
                "sdp-hold", "a hold offer: answer with the mirrored direction, keep the call up (§12 item 10)"
            )
        )
    return info, findings


def _sdp_info(sdp: SessionDescription) -> SdpInfo:
    media: list[MediaInfo] = []
    hold = False
    for section in sdp.media:
        connection = sdp.media_connection(section)
        direction = sdp.media_direction(section)
        hold = (
            hold
            or (connection is not None and connection.is_hold)
            or direction.value in ("sendonly", "inactive")
        )
        codecs = section.codecs
        event = next((c.payload_type for c in codecs if c.is_telephone_event), None)
        media.append(
            MediaInfo(
                section.media,
                section.port,
                section.proto,
                connection.address if connection is not None else None,
                direction.value,
                tuple(f"{c.rtpmap} ({c.payload_type})" for c in codecs if not c.is_telephone_event),
                event,
                section.is_srtp,
            )
        )
    address = sdp.connection.address if sdp.connection is not None else None
    return SdpInfo(address, tuple(media), hold)


def _notify(message: Request) -> NotifyInfo:
    headers = message.headers
    body = message.body.decode("utf-8", "replace").strip()
    return NotifyInfo(
        headers.get("Event"),
        headers.get("Subscription-State"),
        headers.get("Content-Type"),
        body.split("\n", 1)[0].strip() if body else None,
    )
