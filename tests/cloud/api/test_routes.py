"""Site outbound routes through the official SDK (GENESYS.md §8.2, §9.4, §11 item 2)."""

from __future__ import annotations

import PureCloudPlatformClientV2 as pc
import pytest

from takeback.cloud.routing import NoRoute, route_number

from .harness import Emulator, Sdk, ref

DEVICE = "MyBYOCCloudTrunkForTransferToExternalDevice"


def _route(
    name: str, classifications: list[str], trunk_ids: list[str], **fields: object
) -> pc.OutboundRouteBase:
    route = pc.OutboundRouteBase()
    route.name, route.classification_types = name, classifications
    route.external_trunk_bases = [ref(trunk_id) for trunk_id in trunk_ids]
    for key, value in fields.items():
        setattr(route, key, value)
    return route


async def _add_plan(sdk: Sdk, emulator: Emulator, number: str, classification: str) -> None:
    plans = await sdk.call(sdk.telephony.get_telephony_providers_edges_site_numberplans, emulator.site_id)
    plan = pc.NumberPlan()
    plan.name, plan.match_type, plan.classification = classification, "numberList", classification
    rng = pc.Number()
    rng.start = rng.end = number
    plan.numbers = [rng]
    await sdk.call(
        sdk.telephony.put_telephony_providers_edges_site_numberplans, emulator.site_id, [plan, *plans]
    )


async def test_listing_shape(sdk: Sdk, emulator: Emulator) -> None:
    listing = await sdk.call(
        sdk.telephony.get_telephony_providers_edges_site_outboundroutes, emulator.site_id
    )
    assert (
        listing.total == 2
        and listing.page_size == 25
        and listing.page_number == 1
        and listing.page_count == 1
    )
    assert listing.first_uri.endswith("pageSize=25&pageNumber=1") and listing.self_uri == listing.first_uri
    device = next(r for r in listing.entities if r.name == "New Outbound Route to External Device")
    assert device.classification_types == ["E164ToExternalDevice", "ShortNumberToExternalDevice"]
    assert device.enabled is True and device.distribution == "SEQUENTIAL" and device.version == 1
    (trunk,) = device.external_trunk_bases
    assert trunk.name == DEVICE and trunk.self_uri.endswith(trunk.id)
    by_trunk = await sdk.call(
        sdk.telephony.get_telephony_providers_edges_site_outboundroutes,
        emulator.site_id,
        external_trunk_bases_ids=trunk.id,
    )
    assert [r.name for r in by_trunk.entities] == [device.name]


async def test_route_crud(sdk: Sdk, emulator: Emulator) -> None:
    api, site_id = sdk.telephony, emulator.site_id
    await _add_plan(sdk, emulator, "7777", "Lab")
    trunk_id = emulator.state.trunks.meta_of(DEVICE).id
    created = await sdk.call(
        api.post_telephony_providers_edges_site_outboundroutes,
        site_id,
        _route("Lab route", ["Lab"], [trunk_id]),
    )
    assert created.enabled is False and created.distribution == "SEQUENTIAL"  # API defaults (§8.2)
    with pytest.raises(NoRoute) as info:  # the SIP side sees the new, disabled route at once
        route_number(emulator.state.org, None, "7777")
    assert info.value.reason == "route_disabled"

    created.enabled = True
    created.distribution = "RANDOM"
    updated = await sdk.call(
        api.put_telephony_providers_edges_site_outboundroute, site_id, created.id, created
    )
    assert updated.version == 2 and updated.enabled is True and updated.distribution == "RANDOM"
    fetched = await sdk.call(api.get_telephony_providers_edges_site_outboundroute, site_id, created.id)
    assert fetched.version == 2
    assert emulator.state.org.site().outbound_routes[-1].distribution == "RANDOM"

    status, error = await sdk.fails(
        api.put_telephony_providers_edges_site_outboundroute, site_id, created.id, created
    )  # created.version is 1: stale
    assert status == 409 and error["code"] == "conflict"

    await sdk.call(api.delete_telephony_providers_edges_site_outboundroute, site_id, created.id)
    status, _ = await sdk.fails(api.get_telephony_providers_edges_site_outboundroute, site_id, created.id)
    assert status == 404
    assert [r.name for r in emulator.state.org.site().outbound_routes] == [
        "New Outbound Route to External Device",
        "PSTN",
    ]


async def test_classification_uniqueness_is_400(sdk: Sdk, emulator: Emulator) -> None:
    trunk_id = emulator.state.trunks.meta_of(DEVICE).id
    body = _route("Second device route", ["E164ToExternalDevice"], [trunk_id], enabled=True)
    status, error = await sdk.fails(
        sdk.telephony.post_telephony_providers_edges_site_outboundroutes, emulator.site_id, body
    )
    assert status == 400
    assert error["details"][0]["fieldName"] == "classificationTypes[0]"
    assert "already used by route 'New Outbound Route to External Device'" in error["message"]


async def test_unknown_trunk_and_missing_fields_are_400(sdk: Sdk, emulator: Emulator) -> None:
    api = sdk.telephony
    status, error = await sdk.fails(
        api.post_telephony_providers_edges_site_outboundroutes, emulator.site_id, _route("R", ["X"], ["nope"])
    )
    assert status == 400 and error["details"][0]["fieldName"] == "externalTrunkBases[0].id"
    status, error = await sdk.fails(
        api.post_telephony_providers_edges_site_outboundroutes, emulator.site_id, _route("R", [], [])
    )
    assert status == 400 and {d["fieldName"] for d in error["details"]} == {
        "classificationTypes",
        "externalTrunkBases",
    }
