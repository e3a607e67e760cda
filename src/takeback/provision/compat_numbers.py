"""The routing and UUI facts :mod:`takeback.provision.compat` judges: which numbers reach a trunk, what the
device's DNIS lists expect, what Set UUI Data becomes on the wire, which take-back numbers the device uses.

Pure look-ups over an :class:`~takeback.cloud.Org` and a device configuration; no verdicts here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from takeback.cloud.flows import SetUui, TransferToNumber
from takeback.cloud.invite import called_user
from takeback.cloud.numberplans import NumberPlan
from takeback.cloud.org import Org, Site
from takeback.cloud.routing import NoRoute, find_route, route_number
from takeback.cloud.trunk import Trunk
from takeback.device.config import DeviceConfig, DnisSettings
from takeback.device.flow import Collect, Play, Record, TakeBack, walk
from takeback.uui import UuiError, encode, genesys_uuidata

__all__ = [
    "flow_uui",
    "range_numbers",
    "routed_numbers",
    "routes_to",
    "sites_for",
    "takeback_numbers",
    "unrouted_numbers",
    "uses_conversation_id",
    "uui_survives",
]

MAX_RANGE = 50  # a longer number range is checked at its two ends only
_LISTED_PLAN_TYPES = ("e164NumberList", "numberList")


def sites_for(org: Org, trunk: Trunk) -> list[Site]:
    """Sites with an enabled outbound route holding the trunk (where numbers are classified for it)."""
    sites = [
        site
        for site in org.sites
        if any(route.enabled and trunk.name in route.external_trunks for route in site.outbound_routes)
    ]
    return sites or [org.site()]


def routes_to(org: Org, site: Site, number: str, trunk: Trunk) -> bool:
    try:
        plan = route_number(org, site, number, random.Random(0))
    except NoRoute:
        return False
    return trunk in plan.trunks


def range_numbers(start: str, end: str) -> list[str]:
    """Every number of a range (same length), or its two ends when it is long."""
    plus = "+" if start.startswith("+") else ""
    low, high = int(start.lstrip("+")), int(end.lstrip("+"))
    width = len(start.lstrip("+"))
    if high - low >= MAX_RANGE:
        return [start, end]
    return [f"{plus}{value:0{width}d}" for value in range(low, high + 1)]


def plans_to_trunk(org: Org, site: Site, trunk: Trunk) -> Iterator[NumberPlan]:
    for plan in org.number_plans(site):
        route, _ = find_route(org, site, plan.classification)
        if route is not None and trunk.name in route.external_trunks:
            yield plan


def routed_numbers(org: Org, trunk: Trunk) -> tuple[dict[str, str], list[str]]:
    """Dialed number → the user part the device receives, for numbers the org sends to the trunk; and
    the names of plans whose numbers cannot be listed (regex, digit length, country codes)."""
    routed: dict[str, str] = {}
    open_plans: list[str] = []
    for site in sites_for(org, trunk):
        candidates: list[str] = []
        for plan in plans_to_trunk(org, site, trunk):
            if plan.match_type not in _LISTED_PLAN_TYPES:
                open_plans.append(f"{plan.name} ({plan.match_type})")
                continue
            for item in plan.numbers:
                candidates += range_numbers(item.start, item.end)
        candidates += [
            action.number
            for flow in org.flows
            for action in flow.actions
            if isinstance(action, TransferToNumber) and "{" not in action.number
        ]
        for number in candidates:
            try:
                dial = route_number(org, site, number, random.Random(0))
            except NoRoute:
                continue
            if trunk in dial.trunks:
                routed.setdefault(number, called_user(trunk, dial.number))
    return routed, list(dict.fromkeys(open_plans))


def _ends(item: str) -> tuple[str, str]:
    start, _, end = item.partition("-")
    return start, end or start


def unrouted_numbers(org: Org, trunk: Trunk, settings: DnisSettings) -> tuple[list[str], list[str]]:
    """The numbers the device's DNIS lists name (ranges expanded) and those the org does not route to the
    trunk. With *Called Address Omit + Prefix* on, ``19999990001`` is reached by dialing ``+19999990001``."""
    sites = sites_for(org, trunk)
    listed = [n for item in [*settings.e164, *settings.numbers] for n in range_numbers(*_ends(item))]
    missing = []
    for number in listed:
        dialable = [number, f"+{number}"] if number.isdigit() and trunk.called_address_omit_plus else [number]
        if not any(routes_to(org, site, d, trunk) for site in sites for d in dialable):
            missing.append(number)
    return listed, missing


def flow_uui(org: Org, trunk: Trunk) -> list[tuple[str, str]]:
    """(flow name, literal UUI text) for every Set UUI Data followed by a transfer that reaches the trunk."""
    site = org.site_for_trunk(org.pstn.trunk)
    out: list[tuple[str, str]] = []
    for flow in org.flows:
        data: str | None = None
        for action in flow.actions:
            if isinstance(action, SetUui):
                data = action.data
            elif (
                isinstance(action, TransferToNumber)
                and data is not None
                and "{" not in data
                and routes_to(org, site, action.number, trunk)
            ):
                out.append((flow.name, data))
    return out


def uui_survives(trunk: Trunk, data: str, static: bool) -> str | None:
    """Why ``data`` would not come out of the device's decoder as sent (None: it does)."""
    header_type = trunk.static_uui_header_type if static else trunk.uui_header_type
    try:
        header = encode(data, header_type=header_type, encoding=trunk.uui_encoding_name, pd=trunk.uui_pd)
    except UuiError as exc:
        return f"not sent ({exc})"
    decoded = genesys_uuidata([header])
    return None if decoded == data else f"read back as {decoded!r}"


def takeback_numbers(device: DeviceConfig) -> list[str]:
    """The Refer-To numbers the device will use: ``take_back.number`` and literal flow numbers."""
    numbers = [device.take_back.number]
    for _, step in walk(device.app.flow or []):
        if isinstance(step, TakeBack) and step.number and "{" not in step.number:
            numbers.append(step.number)
    return list(dict.fromkeys(numbers))


def uses_conversation_id(device: DeviceConfig) -> bool:
    """Does the device's built-in flow use ``{conversation_id}`` (which comes from ``x-inin-cnv``)?"""
    return any(
        "{conversation_id}" in text
        for _, step in walk(device.app.flow or [])
        for text in _template_texts(step)
    )


def _template_texts(step: Any) -> list[str]:
    if isinstance(step, TakeBack):
        return [step.number or "", step.uui or ""]
    if isinstance(step, Play | Collect):
        return [step.prompt or ""]
    if isinstance(step, Record):
        return [step.path]
    return []
