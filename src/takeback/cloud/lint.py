"""Known traps of the transfer-to-device setup, found in an org before any call is placed.

Each finding has a severity, a stable code, a message and the fix. The traps come from the article and
GENESYS.md:

* ``rlt-on-byoc-pstn``: Release Link Transfer on the BYOC PSTN trunk makes Genesys REFER the carrier
  instead of bridging the call to the device (article step 4, GENESYS.md §1 (2));
* ``plan-shadowed``: a plan whose numbers are all taken by a plan above it never matches ("plans are
  evaluated top to bottom", article step 6.3); ``device-plan-not-on-top`` when it is merely below a
  default plan;
* ``route-classification-unproduced``, ``classification-no-route``, ``route-disabled``,
  ``route-no-enabled-trunk``, ``trunk-disabled`` (§4.1, §8.2);
* ``transfer-unroutable``, ``takeback-off`` (a flow transfers to a trunk with Take Back and Transfer off,
  §6), ``uui-not-sent`` (Set UUI Data but UUI Passthrough off, §4.2), ``uui-dropped-via-api`` (§1 (7)),
  ``uui-on-gcv`` (UUI is not available on Genesys Cloud Voice, RC-UUIOV);
* ``takeback-did-unassigned``: a take-back number (from the device configuration) in no DID range, or in
  a range without a flow (§1 (5), §12 item 16);
* TLS on a port other than 5061 or to an IP literal (RC-TLS, article step 2), an allow list beyond
  150 entries (3P-JMB), UUI longer than 128 characters (RC-UUIOV), Digest credentials that are not used.

:func:`lint_config` also turns configuration errors (such as a custom header with a reserved prefix) into
error findings, so one call reports everything.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from .config import ConfigError
from .flows import SetUui, TransferToNumber, TransferViaApi
from .numberplans import DEFAULT_PLAN_NAMES, NumberPlan, classify
from .org import Org, Site, load_org
from .routing import NoRoute, find_route, route_number
from .trunk import Trunk

__all__ = ["Finding", "Severity", "lint", "lint_config"]

Severity = Literal["error", "warning", "info"]
_MAX_ACL = 150  # 3P-JMB
_LONG_UUI = 128  # RC-UUIOV best practice


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str
    message: str
    fix: str
    path: str = ""

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        return f"{self.severity}: {self.code}{where}: {self.message} Fix: {self.fix}"


def lint(org: Org, *, takeback_numbers: Iterable[str] = ()) -> list[Finding]:
    """All findings for ``org``; ``takeback_numbers`` are the Refer-To numbers the device will use."""
    findings: list[Finding] = []
    findings += _trunk_findings(org)
    for index, site in enumerate(org.sites):
        findings += _plan_findings(org, index, site)
        findings += _route_findings(org, index, site)
    findings += _flow_findings(org)
    findings += _takeback_findings(org, takeback_numbers)
    return findings


def lint_config(source: str | os.PathLike[str], *, takeback_numbers: Iterable[str] = ()) -> list[Finding]:
    """:func:`lint` of a file or YAML text; configuration errors become error findings."""
    try:
        org = load_org(source)
    except ConfigError as exc:
        return [
            Finding(
                "error", _config_code(problem.message), problem.message, "correct the value", problem.path
            )
            for problem in exc.problems
        ]
    return lint(org, takeback_numbers=takeback_numbers)


def _config_code(message: str) -> str:
    return "custom-header-forbidden-prefix" if "reserved prefix" in message else "config-error"


def _device_trunks(org: Org) -> list[Trunk]:
    return [trunk for trunk in org.trunks if trunk.kind == "byoc" and trunk.name != org.pstn.trunk]


def _trunk_findings(org: Org) -> Iterator[Finding]:
    for index, trunk in enumerate(org.trunks):
        path = f"trunks[{index}]"
        is_pstn = trunk.name == org.pstn.trunk
        if is_pstn and trunk.kind == "byoc" and trunk.release_link_transfer:
            yield Finding(
                "error",
                "rlt-on-byoc-pstn",
                f"Release Link Transfer is on for the BYOC PSTN trunk {trunk.name!r}: Genesys would send "
                "a REFER to the carrier instead of bridging the call to the device.",
                "set release_link_transfer: false on the PSTN trunk (article step 4)",
                f"{path}.release_link_transfer",
            )
        if trunk.kind == "genesys_cloud_voice" and (trunk.uui_passthrough or trunk.static_user_data):
            yield Finding(
                "warning",
                "uui-on-gcv",
                f"trunk {trunk.name!r}: UUI is not available on Genesys Cloud Voice trunks.",
                "send UUI over a BYOC trunk",
                f"{path}.uui_passthrough",
            )
        yield from _trunk_detail_findings(trunk, path)


def _trunk_detail_findings(trunk: Trunk, path: str) -> Iterator[Finding]:
    if trunk.protocol == "tls":
        for proxy in trunk.proxies:
            if proxy.port != 5061:
                yield Finding(
                    "warning",
                    "tls-port",
                    f"trunk {trunk.name!r}: TLS to {proxy} - Genesys TLS trunks use port 5061.",
                    "use port 5061 (RC-TLS)",
                    f"{path}.sip_servers",
                )
            if proxy.is_ip:
                yield Finding(
                    "warning",
                    "tls-ip-literal",
                    f"trunk {trunk.name!r}: TLS to the IP {proxy.host}; the "
                    "device needs an FQDN and a public-CA certificate.",
                    "use the device's FQDN (article step 2)",
                    f"{path}.sip_servers",
                )
    if len(trunk.sip_access_control) > _MAX_ACL:
        yield Finding(
            "warning",
            "acl-too-long",
            f"trunk {trunk.name!r}: {len(trunk.sip_access_control)} allow-list "
            f"entries; BYOC accepts up to {_MAX_ACL}.",
            "merge entries into CIDRs",
            f"{path}.sip_access_control",
        )
    if len(trunk.static_user_data) > _LONG_UUI:
        yield Finding(
            "info",
            "uui-long",
            f"trunk {trunk.name!r}: static UUI longer than {_LONG_UUI} characters may "
            "be dropped by some systems.",
            "shorten it",
            f"{path}.static_user_data",
        )
    if not trunk.digest_authentication and (trunk.digest_user_name or trunk.digest_password):
        yield Finding(
            "info",
            "digest-credentials-unused",
            f"trunk {trunk.name!r}: Digest credentials are set but digest_authentication is off.",
            "turn digest_authentication on or remove the credentials",
            f"{path}.digest_authentication",
        )
    if trunk.kind == "byoc" and trunk.inbound_site is None:
        yield Finding(
            "info",
            "inbound-site-missing",
            f"trunk {trunk.name!r}: no inbound_site; the API requires one "
            "for BYOC trunks, the default site is used.",
            "set inbound_site",
            f"{path}.inbound_site",
        )


def _sample_numbers(plan: NumberPlan) -> list[str]:
    if plan.match_type in ("e164NumberList", "numberList"):
        return sorted({n for rng in plan.numbers for n in (rng.start, rng.end)})
    return []


def _plan_findings(org: Org, s_index: int, site: Site) -> Iterator[Finding]:
    plans = org.number_plans(site)
    device_classes = _device_classifications(org, site)
    first_default = next((i for i, plan in enumerate(plans) if plan.name in DEFAULT_PLAN_NAMES), len(plans))
    for index, plan in enumerate(plans[: len(site.number_plans)]):
        path = f"sites[{s_index}].number_plans[{index}]"
        taken: dict[str, str] = {}
        for number in _sample_numbers(plan):
            winner = classify(plans, number, site.dialing, max_passes=1).plan
            if winner is not None and winner.name != plan.name:
                taken[number] = winner.name
        if taken:
            above = sorted(set(taken.values()))
            never = len(taken) == len(_sample_numbers(plan))
            yield Finding(
                "error" if never else "warning",
                "plan-shadowed",
                f"plan {plan.name!r} {'never matches' if never else 'loses numbers'}: "
                + ", ".join(f"{n} goes to {w!r}" for n, w in taken.items())
                + ".",
                f"move {plan.name!r} above {', '.join(map(repr, above))} (plans are evaluated top to bottom)",
                path,
            )
        elif plan.classification in device_classes and index > first_default:
            yield Finding(
                "warning",
                "device-plan-not-on-top",
                f"plan {plan.name!r} routes to the device but sits below the default plan "
                f"{plans[first_default].name!r}.",
                "put the device plans at the top (article step 6.3)",
                path,
            )


def _device_classifications(org: Org, site: Site) -> set[str]:
    devices = {trunk.name for trunk in _device_trunks(org)}
    return {
        name
        for route in site.outbound_routes
        if devices & set(route.external_trunks)
        for name in route.classifications
    }


def _route_findings(org: Org, s_index: int, site: Site) -> Iterator[Finding]:
    produced = {plan.classification for plan in org.number_plans(site)}
    for r_index, route in enumerate(site.outbound_routes):
        path = f"sites[{s_index}].outbound_routes[{r_index}]"
        for name in route.classifications:
            if name not in produced:
                yield Finding(
                    "warning",
                    "route-classification-unproduced",
                    f"route {route.name!r}: no number plan "
                    f"of site {site.name!r} produces classification {name!r}.",
                    f"add a number plan with classification {name!r} or fix the spelling",
                    f"{path}.classifications",
                )
        if not route.enabled:
            yield Finding(
                "warning",
                "route-disabled",
                f"route {route.name!r} is disabled: its classifications cannot be dialed.",
                "set enabled: true",
                f"{path}.enabled",
            )
            continue
        trunks = [org.trunk(name) for name in route.external_trunks]
        if not any(trunk.enabled for trunk in trunks):
            yield Finding(
                "error",
                "route-no-enabled-trunk",
                f"route {route.name!r}: every trunk is disabled.",
                "enable a trunk of the route",
                f"{path}.external_trunks",
            )
            continue
        for trunk in trunks:
            if not trunk.enabled:
                yield Finding(
                    "warning",
                    "trunk-disabled",
                    f"route {route.name!r}: trunk {trunk.name!r} is disabled and will be skipped.",
                    "enable it or remove it from the route",
                    f"{path}.external_trunks",
                )
    for index, plan in enumerate(site.number_plans):
        if plan.name not in DEFAULT_PLAN_NAMES and find_route(org, site, plan.classification)[0] is None:
            yield Finding(
                "warning",
                "classification-no-route",
                f"plan {plan.name!r}: no enabled outbound route "
                f"holds classification {plan.classification!r}.",
                "add it to an enabled outbound route",
                f"sites[{s_index}].number_plans[{index}]",
            )


def _flow_findings(org: Org) -> Iterator[Finding]:
    site = org.site_for_trunk(org.pstn.trunk)
    for f_index, flow in enumerate(org.flows):
        uui_set = False
        for a_index, action in enumerate(flow.actions):
            path = f"flows[{f_index}].actions[{a_index}]"
            if isinstance(action, SetUui):
                uui_set = True
                if len(action.data) > _LONG_UUI:
                    yield Finding(
                        "info",
                        "uui-long",
                        f"flow {flow.name!r}: UUI longer than {_LONG_UUI} characters "
                        "may be dropped by some systems.",
                        "shorten it",
                        path,
                    )
            elif isinstance(action, TransferViaApi) and uui_set:
                yield Finding(
                    "warning",
                    "uui-dropped-via-api",
                    f"flow {flow.name!r}: a transfer through the "
                    "Platform API ignores the data set with Set UUI Data.",
                    "use transfer_to_number (article: 'Do Not Transfer the call via a Platform API request')",
                    path,
                )
            elif isinstance(action, TransferToNumber) and "{" not in action.number:
                yield from _transfer_findings(org, site, flow.name, action.number, uui_set, path)


def _transfer_findings(
    org: Org, site: Site, flow: str, number: str, uui_set: bool, path: str
) -> Iterator[Finding]:
    try:
        plan = route_number(org, site, number, random.Random(0))
    except NoRoute as exc:
        yield Finding(
            "error",
            "transfer-unroutable",
            f"flow {flow!r}: transfer to {number!r} fails: {exc.message}.",
            "add a number plan and an enabled outbound route for it",
            path,
        )
        return
    for trunk in (org.trunk(name) for name in plan.route.external_trunks):
        if trunk.name == org.pstn.trunk:
            continue
        if not trunk.take_back_and_transfer:
            yield Finding(
                "warning",
                "takeback-off",
                f"flow {flow!r} transfers {number!r} to trunk {trunk.name!r}, "
                "whose Take Back and Transfer is off: the device's REFER will be rejected.",
                f"set take_back_and_transfer: true on {trunk.name!r}",
                path,
            )
        if uui_set and not trunk.uui_passthrough and not trunk.static_user_data:
            yield Finding(
                "warning",
                "uui-not-sent",
                f"flow {flow!r} sets UUI but trunk {trunk.name!r} has UUI "
                "Passthrough off: the device receives no UUI.",
                f"set uui_passthrough: true on {trunk.name!r}",
                path,
            )


def _takeback_findings(org: Org, numbers: Iterable[str]) -> Iterator[Finding]:
    for number in numbers:
        did = org.did_range_for(number)
        if did is None:
            yield Finding(
                "error",
                "takeback-did-unassigned",
                f"take-back number {number!r} is in no DID range: Genesys cannot route the REFER.",
                "add a DID range routed to an inbound call flow",
                "did_ranges",
            )
        elif did.flow is None:
            yield Finding(
                "error",
                "takeback-did-unassigned",
                f"take-back number {number!r} is in DID range "
                f"{did.start}-{did.last}, which is routed to no flow.",
                "set flow: on that DID range",
                "did_ranges",
            )
