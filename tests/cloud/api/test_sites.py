"""Sites, number plans and classifications through the official SDK (GENESYS.md §8.1, §9.3, §11 item 2)."""

from __future__ import annotations

from typing import Any

import PureCloudPlatformClientV2 as pc

from takeback.cloud.api.sites import DEFAULT_ROUTE_NAME
from takeback.cloud.routing import route_number

from .harness import Emulator, Sdk

DEFAULTS = ["Emergency", "Extension", "National", "International", "Network", "Suicide Prevention"]


def _plan(name: str, match_type: str, classification: str, **fields: Any) -> pc.NumberPlan:
    plan = pc.NumberPlan()
    plan.name, plan.match_type, plan.classification = name, match_type, classification
    for key, value in fields.items():
        setattr(plan, key, value)
    return plan


def _numbers(*items: str) -> list[pc.Number]:
    result = []
    for item in items:
        start, _, end = item.partition("-")
        number = pc.Number()
        number.start, number.end = start, end or start
        result.append(number)
    return result


async def test_list_and_get_sites(sdk: Sdk, emulator: Emulator) -> None:
    listing = await sdk.call(sdk.telephony.get_telephony_providers_edges_sites)
    assert [s.name for s in listing.entities] == ["Daly City"] and listing.total == 1
    site = await sdk.call(sdk.telephony.get_telephony_providers_edges_site, emulator.site_id)
    assert site.id == emulator.site_id and site.media_model == "Cloud" and site.version == 1
    status, error = await sdk.fails(sdk.telephony.get_telephony_providers_edges_site, "unknown")
    assert status == 404 and error["code"] == "not.found"


async def test_create_site_gets_default_plans_and_a_disabled_default_route(
    sdk: Sdk, emulator: Emulator
) -> None:
    body = pc.Site()
    body.name, body.media_model, body.description = "Paris", "Cloud", "second site"
    site = await sdk.call(sdk.telephony.post_telephony_providers_edges_sites, body)
    assert site.name == "Paris" and site.description == "second site"
    plans = await sdk.call(sdk.telephony.get_telephony_providers_edges_site_numberplans, site.id)
    assert [p.name for p in plans] == DEFAULTS
    routes = await sdk.call(sdk.telephony.get_telephony_providers_edges_site_outboundroutes, site.id)
    (route,) = routes.entities
    assert route.name == DEFAULT_ROUTE_NAME and route.enabled is False
    assert route.classification_types == ["National", "International"]
    assert emulator.state.org.site("Paris").outbound_routes[0].enabled is False
    duplicate = pc.Site()
    duplicate.name = "paris"
    status, error = await sdk.fails(sdk.telephony.post_telephony_providers_edges_sites, duplicate)
    assert status == 400 and "already the name" in error["message"]


async def test_number_plans_get_is_ordered_with_priorities(sdk: Sdk, emulator: Emulator) -> None:
    plans = await sdk.call(sdk.telephony.get_telephony_providers_edges_site_numberplans, emulator.site_id)
    assert [p.name for p in plans][:2] == ["New Number Plan with E164", "New Number Plan with short number"]
    assert [p.priority for p in plans] == list(range(len(plans)))
    assert plans[0].numbers[0].start == "+19999990001" and plans[0].classification == "E164ToExternalDevice"
    assert [(n.start, n.end) for n in plans[1].numbers] == [("9991", "9991"), ("9992", "9992")]
    extension = next(p for p in plans if p.name == "Extension")
    assert (extension.digit_length.start, extension.digit_length.end) == ("4", "6")
    network = next(p for p in plans if p.name == "Network")
    assert network.match == r"^([^@\:]+@)([^@ ]+)?$" and network.normalized_format == "sip:$1$2"
    one = await sdk.call(
        sdk.telephony.get_telephony_providers_edges_site_numberplan, emulator.site_id, plans[1].id
    )
    assert one.name == plans[1].name and one.priority == 1


async def test_put_replaces_the_ordered_list_and_routing_follows(sdk: Sdk, emulator: Emulator) -> None:
    api, site_id = sdk.telephony, emulator.site_id
    before = await sdk.call(api.get_telephony_providers_edges_site_numberplans, site_id)
    e164, short = before[0], before[1]
    short.name = "Short numbers"  # a rename: the id stays
    short.numbers = _numbers("9991-9993")
    new = _plan(
        "Device regex", "regex", "E164ToExternalDevice", match=r"^\+1999(\d+)$", normalized_format="+1999$1"
    )
    plans = await sdk.call(api.put_telephony_providers_edges_site_numberplans, site_id, [short, new, e164])
    names = [p.name for p in plans]
    assert names[:3] == ["Short numbers", "Device regex", "New Number Plan with E164"]
    assert names[3:] == DEFAULTS  # left out of the body: re-appended, never lost
    assert plans[0].id == short.id and plans[0].version == 2  # renamed and moved
    assert plans[2].id == e164.id and plans[2].version == 2  # moved
    assert plans[1].id not in {p.id for p in before} and plans[1].version == 1
    assert [p.priority for p in plans] == list(range(len(plans)))
    again = await sdk.call(api.get_telephony_providers_edges_site_numberplans, site_id)
    assert [p.id for p in again] == [p.id for p in plans]
    # the SIP side routes with the new list at once
    assert route_number(emulator.state.org, None, "9993").classification == "ShortNumberToExternalDevice"
    assert route_number(emulator.state.org, None, "+19995550000").plan.name == "Device regex"


async def test_put_more_than_200_plans_is_400_with_a_limit(sdk: Sdk, emulator: Emulator) -> None:
    body = [_plan(f"P{i}", "numberList", f"C{i}", numbers=_numbers(f"{1000 + i}")) for i in range(201)]
    status, error = await sdk.fails(
        sdk.telephony.put_telephony_providers_edges_site_numberplans, emulator.site_id, body
    )
    assert status == 400 and error["limit"]["value"] == 200
    assert len(emulator.state.org.site().number_plans) == 2  # nothing changed


async def test_put_invalid_plan_names_the_item(sdk: Sdk, emulator: Emulator) -> None:
    bad = _plan("Bad", "e164NumberList", "X", numbers=_numbers("19999990001"))  # no "+"
    status, error = await sdk.fails(
        sdk.telephony.put_telephony_providers_edges_site_numberplans, emulator.site_id, [bad]
    )
    assert status == 400 and error["details"][0]["fieldName"] == "body[0].numbers[0]"
    assert "E.164" in error["message"]


async def test_classifications(sdk: Sdk, emulator: Emulator) -> None:
    api = sdk.telephony
    names = await sdk.call(
        api.get_telephony_providers_edges_site_numberplans_classifications, emulator.site_id
    )
    assert names[:2] == ["E164ToExternalDevice", "ShortNumberToExternalDevice"]
    assert "National" in names
    device = await sdk.call(
        api.get_telephony_providers_edges_site_numberplans_classifications,
        emulator.site_id,
        classification="device",
    )
    assert device == ["E164ToExternalDevice", "ShortNumberToExternalDevice"]
