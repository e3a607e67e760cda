"""Does a BYOC trunk reach the device, and do the two agree? (``takeback check org.yaml device.yaml``)

One org.yaml describes the Genesys side, one device.yaml the device (DESIGN.md §1). Each is valid on its
own; this module checks them *against each other*, the way the article's steps pair up (trunk setting ↔
device setting), and returns one :class:`Check` per question with the fix when the answer is no:

* ``trunk``: in service and a BYOC trunk (GCV trunks cannot point at a device);
* ``transport`` / ``address``: the trunk's protocol has a device listener, each SIP server reaches one
  (same port; a ``0.0.0.0``/``::`` listener takes any address; a hostname cannot be resolved here);
* ``tls``: an FQDN, not an IP, and a device certificate (article step 2, GENESYS.md §7); ``tls-key``: an
  RSA key in that certificate (every RC-TLS cipher suite is RSA-authenticated); SRTP (§7, INFERRED);
* ``acl``: the device's allow list admits where Genesys sends from (``sources``; the local emulator
  sends from 127.0.0.1 when the trunk points at loopback, DESIGN.md §3; a real region's list is not in
  org.yaml, §2.3);
* ``digest``: both off, or realm / user name / password the same (a stored ``ha1`` is compared by
  hashing the trunk's password, RFC 7616 §3.4.2), MD5 offered (§4.3);
* ``token``: the device's token header is one of the trunk's custom headers, same value (names
  case-insensitive, §12 item 14);
* ``codecs`` / ``telephone-event``: a codec in common (§4.4), RFC 4733 events for DTMF;
* ``dnis``: every number the org's plans send to this trunk (plans of a classification whose enabled
  outbound route holds the trunk, and literal *Transfer to Number* targets) arrives as a user part the
  device accepts, after the trunk's *Called Address Omit + Prefix*; ``dnis-routed``: every number the
  device lists is routed by the org to this trunk;
* ``uui`` / ``uui-token``: what the flows' *Set UUI Data* becomes on this trunk decodes back to the
  same text on the device (§5), and carries the device's UUI token; the take-back Refer-To UUI matches
  the trunk's UUI type/encoding/PD (3P-JMB: a mismatch may empty ``Call.UUIData``, unverified);
* ``conversation-id``: ``x-inin-cnv`` is sent when the device's flow uses ``{conversation_id}``;
* ``takeback`` / ``takeback-did``: Take Back and Transfer on; every take-back number in a DID range
  routed to a flow (§6);
* ``lint-*``: :func:`takeback.cloud.lint` findings not already covered above.

Pure: no sockets, no DNS; only the two configurations (and the optional source addresses) are read, plus
the device certificate's public key.
The device side is read through :mod:`takeback.device` (its config model, DNIS matcher and ACL), a
sibling layer that never imports :mod:`takeback.cloud`, so that both sides judge a number or an address
with the same code the device runs.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from takeback.cloud.invite import uui_headers
from takeback.cloud.lint import Finding, lint
from takeback.cloud.org import Org
from takeback.cloud.tls_policy import RSA_ONLY
from takeback.cloud.trunk import Trunk
from takeback.cloud.values import HostPort
from takeback.device.access import DnisMatcher, IpAcl, uui_token_of
from takeback.device.config import DeviceConfig, DigestSettings, DnisSettings
from takeback.device.flow import TakeBack, walk
from takeback.net.tls import certificate_key_type
from takeback.sip.digest import compute_ha1
from takeback.uui import genesys_uuidata

from .compat_numbers import (
    flow_uui,
    routed_numbers,
    takeback_numbers,
    unrouted_numbers,
    uses_conversation_id,
    uui_survives,
)

__all__ = ["Check", "CompatReport", "Status", "TrunkSelectionError", "check_compat", "select_trunk"]

Status = Literal["pass", "fail", "warn", "info"]
EMULATOR_SOURCE = "127.0.0.1"  # DESIGN.md §3: the emulator's SIP address in the demo
_SHOWN = 5  # numbers named in one message
_STATIC = "static user data"
_REFUSAL = {"drop": "the device drops them silently", "403": "the device answers them 403"}


@dataclass(frozen=True, slots=True)
class Check:
    """One answer: ``code`` is stable, ``message`` says what was compared, ``fix`` what to change."""

    code: str
    status: Status
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class CompatReport:
    trunk: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not any(check.status == "fail" for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {
            status: sum(c.status == status for c in self.checks)
            for status in ("pass", "fail", "warn", "info")
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "trunk": self.trunk,
            "counts": self.counts(),
            "checks": [asdict(check) for check in self.checks],
        }


class TrunkSelectionError(ValueError):
    """No trunk, or several, could be meant: a usage error (``--trunk``)."""


def _pass(code: str, message: str) -> Check:
    return Check(code, "pass", message)


def _fail(code: str, message: str, fix: str) -> Check:
    return Check(code, "fail", message, fix)


def _warn(code: str, message: str, fix: str = "") -> Check:
    return Check(code, "warn", message, fix)


def _shown(items: list[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


# ------------------------------------------------------------------------------------ trunk choice


def select_trunk(org: Org, device: DeviceConfig, name: str | None = None) -> Trunk:
    """The named trunk; else the one BYOC trunk that is not the PSTN trunk; else the one of those whose
    SIP servers point at a device listener. Raises :class:`TrunkSelectionError`."""
    if name is not None:
        try:
            return org.trunk(name)
        except KeyError:
            known = ", ".join(repr(t) for t in org.trunk_names)
            raise TrunkSelectionError(f"--trunk: no trunk named {name!r} (trunks: {known})") from None
    candidates = [t for t in org.trunks if t.kind == "byoc" and t.name != org.pstn.trunk]
    if len(candidates) > 1:
        candidates = [
            t for t in candidates if any(_listener_for(device, t, p) for p in t.proxies)
        ] or candidates
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise TrunkSelectionError("the org has no BYOC trunk besides the PSTN trunk; name one with --trunk")
    names = ", ".join(repr(t.name) for t in candidates)
    raise TrunkSelectionError(f"several trunks could lead to the device ({names}); choose one with --trunk")


def check_compat(
    org: Org, device: DeviceConfig, *, trunk: str | None = None, sources: Iterable[str] | None = None
) -> CompatReport:
    """Every check of the module doc for ``trunk`` (see :func:`select_trunk`) and ``device``.

    ``sources``: addresses Genesys sends the INVITE from, for the device ACL check.
    """
    chosen = select_trunk(org, device, trunk)
    checks: list[Check] = [_trunk_state(chosen)]
    checks += _transport(chosen, device)
    checks += _tls(chosen, device)
    checks.append(_acl(chosen, device, None if sources is None else list(sources)))
    checks.append(_digest(chosen, device))
    checks.append(_token(chosen, device))
    checks += _media(chosen, device)
    checks += _dnis(org, chosen, device)
    checks += _uui(org, chosen, device)
    checks.append(_conversation_id(chosen, device))
    checks.append(_takeback(chosen))
    numbers = takeback_numbers(device)
    checks += _takeback_dids(org, numbers)
    checks += _lint(org, chosen, numbers)
    return CompatReport(chosen.name, tuple(checks))


def _trunk_state(trunk: Trunk) -> Check:
    if trunk.kind != "byoc":
        return _fail(
            "trunk",
            f"trunk {trunk.name!r} is a Genesys Cloud Voice trunk: it cannot point at a device",
            "use a BYOC Carrier trunk (kind: byoc) for the device (article step 5)",
        )
    if not trunk.enabled:
        return _fail(
            "trunk", f"trunk {trunk.name!r} is out of service", f"set enabled: true on {trunk.name!r}"
        )
    return _pass("trunk", f"trunk {trunk.name!r}: BYOC, in service")


# ---------------------------------------------------------------------------- transport, address, TLS


def _listener_for(device: DeviceConfig, trunk: Trunk, proxy: HostPort) -> str | None:
    """The device listener a SIP server entry reaches (same transport and port, matching IP)."""
    for spec in device.listen_specs:
        if spec.transport.lower() != trunk.protocol or spec.port != proxy.port:
            continue
        if _same_or_wildcard(spec.host, proxy.host):
            return str(spec)
    return None


def _same_or_wildcard(listener: str, target: str) -> bool:
    bound = ipaddress.ip_address(listener)
    if bound.is_unspecified:
        return True
    try:
        return ipaddress.ip_address(target) == bound
    except ValueError:
        return False  # a hostname: cannot be resolved here


def _transport(trunk: Trunk, device: DeviceConfig) -> list[Check]:
    listening = ", ".join(device.listen)
    if not any(spec.transport.lower() == trunk.protocol for spec in device.listen_specs):
        return [
            _fail(
                "transport",
                f"the trunk sends over {trunk.protocol}, the device listens on {listening} only",
                f"add a {trunk.protocol}: listener to device.yaml listen, or set protocol on the trunk to "
                "one the device listens on (GENESYS.md §7: both ends the same)",
            )
        ]
    checks = [_pass("transport", f"the trunk sends over {trunk.protocol}; the device listens on {listening}")]
    reached: list[str] = []
    missed: list[str] = []
    unresolved: list[str] = []
    for proxy in trunk.proxies:
        listener = _listener_for(device, trunk, proxy)
        if listener is not None:
            reached.append(f"{proxy} → {listener}")
        elif not proxy.is_ip and any(
            s.transport.lower() == trunk.protocol and s.port == proxy.port for s in device.listen_specs
        ):
            unresolved.append(str(proxy))
        else:
            missed.append(str(proxy))
    checks.append(_address_check(reached, missed, unresolved))
    return checks


def _address_check(reached: list[str], missed: list[str], unresolved: list[str]) -> Check:
    fix = (
        "make sip_servers on the trunk the device's listen address and port (article step 2.1), "
        "or add that listener to device.yaml"
    )
    if not reached and not unresolved:
        ports = ", ".join(missed)
        return _fail("address", f"no SIP server of the trunk ({ports}) reaches a device listener", fix)
    if missed:
        return _warn(
            "address",
            f"{_shown(reached + unresolved)} reach the device, but {_shown(missed)} does not "
            "(another device? Genesys fails over to it, §4.1)",
            fix,
        )
    if unresolved:
        return _warn(
            "address",
            f"{_shown(unresolved)}: a hostname on a listened port; check that it resolves to the device "
            "(no DNS lookups here)",
        )
    return _pass("address", f"SIP servers reach the device: {_shown(reached)}")


def _tls(trunk: Trunk, device: DeviceConfig) -> list[Check]:
    if trunk.protocol != "tls":
        return []
    checks: list[Check] = []
    ips = [str(proxy) for proxy in trunk.proxies if proxy.is_ip]
    if ips:
        checks.append(
            _fail(
                "tls",
                f"TLS to an IP address ({_shown(ips)}): the device needs an FQDN and a public-CA certificate "
                "for it (article step 2, GENESYS.md §7)",
                "put the device's FQDN (host:5061) in sip_servers",
            )
        )
    if device.tls is None:
        checks.append(
            _fail("tls", "the device has no certificate (tls: section)", "add tls: {certfile, keyfile}")
        )
    else:
        checks += _tls_key(device.tls.certfile)
        if not ips:
            certificate = f"a device certificate ({device.tls.certfile}; names not verified)"
            checks.append(_pass("tls", f"FQDN targets and {certificate}"))
    ports = [str(p) for p in trunk.proxies if p.port != 5061]
    if ports:
        checks.append(
            _warn("tls", f"TLS on {_shown(ports)}: Genesys TLS uses port 5061 (RC-TLS)", "use 5061")
        )
    if device.media.srtp == "off":
        checks.append(
            _warn(
                "srtp",
                "a TLS trunk sends SRTP media (GENESYS.md §7, INFERRED) but device media.srtp is off",
                "set media.srtp: optional or required",
            )
        )
    return checks


def _tls_key(certfile: str) -> list[Check]:
    """GENESYS.md §7: Genesys' eight suites are TLS_RSA_* / TLS_ECDHE_RSA_*: another key, no handshake."""
    key = certificate_key_type(certfile)
    if key is None:
        return []  # unreadable: the device's own start-up check names the file
    if key != "RSA":
        fix = "issue the device certificate with an RSA key (e.g. openssl req -newkey rsa:2048)"
        return [_fail("tls-key", f"the device certificate has an {key} key: {RSA_ONLY}", fix)]
    return [_pass("tls-key", "the device certificate has an RSA key (Genesys' suites are all RSA)")]


def _acl(trunk: Trunk, device: DeviceConfig, sources: list[str] | None) -> Check:
    acl = device.access.ip_acl
    if acl is None:
        return _pass("acl", "the device has no ip_acl: every source is admitted")
    if sources is None:
        if not trunk.proxies or not all(_is_loopback(p.host) for p in trunk.proxies):
            return _warn(
                "acl",
                "cannot check the device ip_acl: Genesys sends from the region's public SIP proxy "
                "addresses, which org.yaml does not list (GENESYS.md §2.3)",
                "pass --source ADDRESS for each of them (RC 'BYOC Cloud public SIP IP addresses')",
            )
        sources = [EMULATOR_SOURCE]
    matcher = IpAcl(acl)
    refused = [source for source in sources if not matcher.allows(source)]
    if refused:
        return _fail(
            "acl",
            f"the device ip_acl ({', '.join(acl)}) refuses {_shown(refused)}, where Genesys sends from "
            f"({_REFUSAL[device.access.acl_action]})",
            f"add {refused[0]} (or its network) to access.ip_acl in device.yaml",
        )
    return _pass("acl", f"the device ip_acl admits {_shown(sources)}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# ------------------------------------------------------------------------------------ Digest, token


def _digest(trunk: Trunk, device: DeviceConfig) -> Check:
    """GENESYS.md §4.3: Genesys answers the device's challenge with the trunk's realm/user/password."""
    settings = device.access.digest
    if settings is None:
        if not trunk.digest_authentication:
            return _pass("digest", "Digest off on both sides")
        return _warn(
            "digest",
            "the trunk has Digest credentials, the device does not challenge: INVITEs are not authenticated",
            "add access.digest (realm, username, password) to device.yaml",
        )
    if not trunk.digest_authentication:
        return _fail(
            "digest",
            f"the device challenges (realm {settings.realm!r}) but the trunk's Digest Authentication is off: "
            "every INVITE ends with 401",
            "on the trunk set digest_authentication: true, digest_realm, digest_user_name, digest_password",
        )
    problems = []
    if trunk.digest_realm and trunk.digest_realm != settings.realm:
        problems.append(f"realm: trunk {trunk.digest_realm!r}, device {settings.realm!r}")
    if trunk.digest_user_name != settings.username:
        problems.append(f"user name: trunk {trunk.digest_user_name!r}, device {settings.username!r}")
    if not _same_password(trunk, settings):
        problems.append("the passwords differ")
    if problems:
        return _fail(
            "digest",
            "Digest credentials disagree: " + "; ".join(problems),
            "use the same realm, user name and password on the trunk and in access.digest",
        )
    if not any(a.removesuffix("-sess") == "MD5" for a in settings.algorithms):
        return _warn(
            "digest",
            f"the device offers {', '.join(settings.algorithms)}; Genesys is only known to answer MD5 (§4.3)",
            "add MD5 to access.digest.algorithms",
        )
    realm = settings.realm if trunk.digest_realm else f"{settings.realm} (trunk realm empty: any)"
    return _pass("digest", f"Digest credentials agree (realm {realm}, user {settings.username})")


def _same_password(trunk: Trunk, settings: DigestSettings) -> bool:
    """Compare without printing; a stored ha1 is compared with H(user:realm:password) of the trunk."""
    if settings.password is not None:
        return hmac.compare_digest(trunk.digest_password.encode(), settings.password.encode())
    ha1 = compute_ha1(settings.algorithms[0], settings.username, settings.realm, trunk.digest_password)
    return hmac.compare_digest(ha1.lower().encode(), str(settings.ha1).lower().encode())


def _token(trunk: Trunk, device: DeviceConfig) -> Check:
    """The trunk's static custom header vs the device's token check (GENESYS.md §4.2, RC-HDR)."""
    token = device.access.token
    if token is None:
        return _pass("token", "the device checks no token header")
    sent = {name.lower(): (name, value) for name, value in trunk.custom_sip_headers.items()}
    match = sent.get(token.header.lower())
    fix = f"custom_sip_headers: {{{token.header}: <the device's access.token.value>}} on the trunk"
    if match is None:
        return _fail(
            "token",
            f"the device requires header {token.header!r}, which the trunk does not send "
            f"(custom headers: {', '.join(trunk.custom_sip_headers) or 'none'}): every INVITE gets 403",
            fix,
        )
    name, value = match
    if not hmac.compare_digest(value.encode(), token.value.encode()):
        return _fail(
            "token",
            f"header {name!r}: the trunk's value and access.token.value differ: every INVITE gets 403",
            f"set the same value in custom_sip_headers.{name} and access.token.value",
        )
    case = "" if name == token.header else f" (spelt {name!r} on the trunk: names are case-insensitive)"
    return _pass("token", f"header {token.header!r} sent with the expected value{case}")


# -------------------------------------------------------------------------------------------- media


def _media(trunk: Trunk, device: DeviceConfig) -> list[Check]:
    """GENESYS.md §4.4: Genesys offers the Preferred Codec List; the device answers from its codecs."""
    offered = [codec.removeprefix("audio/") for codec in trunk.preferred_codec_list]
    supported = list(device.media.codecs)
    common = [codec for codec in offered if codec in supported]
    if not common:
        codec_check = _fail(
            "codecs",
            f"no codec in common: the trunk offers {', '.join(offered)}, the device takes "
            f"{', '.join(supported)} (the device answers 488)",
            "add a common codec to preferred_codec_list on the trunk or to media.codecs in device.yaml",
        )
    else:
        codec_check = _pass("codecs", f"in common: {', '.join(common)} (trunk offers {', '.join(offered)})")
    if not device.media.telephone_event:
        event = _warn(
            "telephone-event",
            f"the trunk sends DTMF as RTP events (payload {trunk.dtmf_payload}) but media.telephone_event "
            "is off: the caller's digits will not reach the device",
            "set media.telephone_event: true",
        )
    else:
        event = _pass(
            "telephone-event", f"RFC 4733 events on both sides (trunk payload {trunk.dtmf_payload})"
        )
    return [codec_check, event]


# --------------------------------------------------------------------------------------------- DNIS


def _dnis(org: Org, trunk: Trunk, device: DeviceConfig) -> list[Check]:
    settings = device.access.dnis
    routed, open_plans = routed_numbers(org, trunk)
    if settings is None:
        return [_pass("dnis", "the device accepts any DNIS (no access.dnis)")]
    matcher = DnisMatcher(settings)
    refused = [
        f"{number} (arrives as {user})" if user != number else number
        for number, user in routed.items()
        if not matcher.matches(user)
    ]
    checks: list[Check] = []
    if refused:
        omit = (
            " (the trunk's called_address_omit_plus strips the '+')" if trunk.called_address_omit_plus else ""
        )
        checks.append(
            _fail(
                "dnis",
                f"the org routes {_shown(refused)} to the trunk but the device's DNIS lists refuse it"
                f"{omit}: 404",
                "add the number to access.dnis (e164/numbers/regex, or ignore_plus: true) in device.yaml",
            )
        )
    elif routed:
        checks.append(_pass("dnis", f"every number the org routes here is accepted: {_shown(list(routed))}"))
    elif not open_plans:
        checks.append(
            _fail(
                "dnis",
                "no number plan sends any number to this trunk: the org can never reach the device",
                "add a number plan and an enabled outbound route holding the trunk (article step 6)",
            )
        )
    if open_plans:
        checks.append(
            _warn("dnis", f"plans {_shown(open_plans)} route numbers here that cannot be listed; not checked")
        )
    checks.append(_dnis_routed(org, trunk, settings))
    return checks


def _dnis_routed(org: Org, trunk: Trunk, settings: DnisSettings) -> Check:
    """The other way round: does the org route every number the device expects to this trunk?"""
    listed, missing = unrouted_numbers(org, trunk, settings)
    regex = f"; {len(settings.regex)} regex entr(ies) not checked" if settings.regex else ""
    if missing:
        return _fail(
            "dnis-routed",
            f"the device expects {_shown(missing)}, which the org does not route to this trunk{regex}",
            "add a number plan whose classification is on the trunk's outbound route (article step 6), "
            "or remove the number from access.dnis",
        )
    return _pass("dnis-routed", f"the org routes every listed device number here ({_shown(listed)}){regex}")


# ---------------------------------------------------------------------------------------------- UUI


def _uui(org: Org, trunk: Trunk, device: DeviceConfig) -> list[Check]:
    """GENESYS.md §5: the INVITE's UUI as this trunk writes it, read back the way Genesys/the device does."""
    sends = trunk.kind == "byoc" and (trunk.uui_passthrough or bool(trunk.static_user_data))
    texts = [(flow, data) for flow, data in flow_uui(org, trunk) if trunk.uui_passthrough]
    broken = [
        f"{origin}: {problem}" for origin, data in texts if (problem := uui_survives(trunk, data, False))
    ]
    if trunk.static_user_data and (problem := uui_survives(trunk, trunk.static_user_data, True)):
        broken.append(f"{_STATIC}: {problem}")
    setting = f"{trunk.uui_type}, {trunk.uui_encoding}, PD {trunk.uui_pd}"
    checks: list[Check] = []
    if broken:
        checks.append(
            _fail("uui", f"UUI does not survive this trunk ({setting}): {_shown(broken)}", _UUI_FIX)
        )
    elif sends:
        checks.append(_pass("uui", f"the trunk sends UUI as {setting}; the device decodes it (§5.2)"))
    else:
        checks.append(_pass("uui", "the trunk sends no UUI (UUI Passthrough off, no static user data)"))
    if trunk.static_user_data:
        texts.append((_STATIC, trunk.static_user_data))
    checks += _uui_token(org, trunk, device, texts, sends)
    refer = _refer_uui(trunk, device)
    if refer is not None:
        checks.append(refer)
    return checks


_UUI_FIX = "use uui_encoding: Hex, or uui_type: User-to-User with pd parameter (GENESYS.md §5.1)"


def _uui_token(
    org: Org, trunk: Trunk, device: DeviceConfig, texts: list[tuple[str, str]], sends: bool
) -> list[Check]:
    settings = device.access.uui_token
    if settings is None:
        return []
    if not sends:
        return [
            _fail(
                "uui-token",
                "the device requires a token in the UUI but the trunk sends no UUI: every INVITE gets 403",
                f"set uui_passthrough: true on {trunk.name!r} and Set UUI Data before the transfer",
            )
        ]
    wrong = []
    for origin, data in texts:
        dynamic = None if origin == _STATIC else data  # static data rides on every INVITE by itself
        decoded = genesys_uuidata(uui_headers(trunk, dynamic, org.policies))
        token = uui_token_of(decoded, settings)
        if token is None or not hmac.compare_digest(token.encode(), settings.value.encode()):
            where = f"field {settings.field!r}" if settings.field is not None else "the whole UUI"
            wrong.append(f"{origin} sends {data!r} ({where} is {token!r}, not the token)")
    if wrong:
        return [
            _fail(
                "uui-token",
                f"UUI token check refuses: {_shown(wrong)}",
                "make Set UUI Data carry the token in the configured field (access.uui_token)",
            )
        ]
    if not texts:
        return [
            _warn("uui-token", "the device checks a UUI token; no literal Set UUI Data found to check it")
        ]
    return [_pass("uui-token", f"the flows' UUI carries the device's token ({len(texts)} checked)")]


def _refer_uui(trunk: Trunk, device: DeviceConfig) -> Check | None:
    """3P-JMB (unverified): a Refer-To UUI whose type/encoding/PD differ from the trunk's may yield no
    ``Call.UUIData``. The device always sends ``User-to-User``, hex, PD ``take_back.pd`` (§12.1)."""
    steps = [step for _, step in walk(device.app.flow or []) if isinstance(step, TakeBack)]
    if device.app.flow is not None and not any(step.uui for step in steps):
        return None
    differ = []
    if trunk.uui_type != "User-to-User":
        differ.append(f"type {trunk.uui_type!r}")
    if trunk.uui_encoding != "Hex":
        differ.append(f"encoding {trunk.uui_encoding!r}")
    if trunk.uui_pd.lower() != device.take_back.pd:
        differ.append(f"PD {trunk.uui_pd} (device take_back.pd {device.take_back.pd})")
    if not differ:
        return _pass(
            "takeback-uui", "the take-back Refer-To UUI (User-to-User, hex) matches the trunk's UUI settings"
        )
    return _warn(
        "takeback-uui",
        f"the device's Refer-To UUI is User-to-User/hex/PD {device.take_back.pd}, the trunk has "
        f"{', '.join(differ)}: Call.UUIData may stay empty (3P-JMB, unverified)",
        "align take_back.pd and the trunk's uui_type / uui_encoding / uui_pd",
    )


def _conversation_id(trunk: Trunk, device: DeviceConfig) -> Check:
    """``x-inin-cnv`` is only sent with Conversation Headers on (GENESYS.md §4.2, §12 item 15)."""
    if trunk.conversation_headers:
        return _pass("conversation-id", "Conversation Headers on: the INVITE carries x-inin-cnv")
    if uses_conversation_id(device):
        return _warn(
            "conversation-id",
            "the device's flow uses {conversation_id}, but the trunk's Conversation Headers are off: "
            "x-inin-cnv is not sent and it will be empty",
            f"set conversation_headers: true on {trunk.name!r}",
        )
    return _pass("conversation-id", "Conversation Headers off; the device's flow does not need x-inin-cnv")


# ----------------------------------------------------------------------------------------- take back


def _takeback(trunk: Trunk) -> Check:
    if not trunk.take_back_and_transfer:
        return _fail(
            "takeback",
            f"Take Back and Transfer is off on {trunk.name!r}: the device's REFER is refused (§6)",
            f"set take_back_and_transfer: true on {trunk.name!r} (article step 5.13)",
        )
    return _pass("takeback", "Take Back and Transfer on: the device may REFER the call back")


def _takeback_dids(org: Org, numbers: list[str]) -> list[Check]:
    """Each take-back number must be a DID routed to an inbound call flow (GENESYS.md §1 (5), §6)."""
    checks = []
    for number in numbers:
        did = org.did_range_for(number)
        if did is None or did.flow is None:
            why = (
                "is in no DID range"
                if did is None
                else f"is in DID range {did.start}-{did.last}, routed to no flow"
            )
            checks.append(
                _fail(
                    "takeback-did",
                    f"take-back number {number} {why}: Genesys cannot route the REFER",
                    "add a did_ranges entry with flow: <inbound call flow> (Admin › Routing › Call Routing)",
                )
            )
        else:
            checks.append(_pass("takeback-did", f"take-back number {number} → flow {did.flow!r}"))
    return checks


# --------------------------------------------------------------------------------------------- lint


_SEVERITY: dict[str, Status] = {"error": "fail", "warning": "warn", "info": "info"}


def _lint(org: Org, trunk: Trunk, numbers: list[str]) -> list[Check]:
    """:func:`lint` findings, minus those this module already answered for the chosen trunk."""
    index = org.trunk_names.index(trunk.name)
    return [
        Check(f"lint-{finding.code}", _SEVERITY[finding.severity], finding.message, finding.fix)
        for finding in lint(org, takeback_numbers=numbers)
        if not _covered(finding, trunk, index)
    ]


def _covered(finding: Finding, trunk: Trunk, index: int) -> bool:
    if finding.code == "takeback-did-unassigned":
        return True
    if finding.code in ("tls-port", "tls-ip-literal"):
        return finding.path.startswith(f"trunks[{index}]")
    if finding.code == "takeback-off":
        return f"trunk {trunk.name!r}" in finding.message
    return False
