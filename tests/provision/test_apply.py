"""plan / apply / apply again against the emulator's Platform API, through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator

import PureCloudPlatformClientV2 as pc
import pytest

from takeback.cloud import Org, parse_org
from takeback.provision import ApplyFailed, PlanOptions, connect, execute, plan_org
from takeback.provision.platform import Credentials, PlatformClient

from .support import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    DIGEST_PASSWORD,
    HEADER_TOKEN,
    ThreadedEmulator,
    article_org_data,
    bare_org,
)

ROUTE = "New Outbound Route to External Device"
DEFAULTS = ["Emergency", "Extension", "National", "International", "Network", "Suicide Prevention"]


@pytest.fixture
def emulator() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(bare_org()) as running:
        yield running


@pytest.fixture
def client(emulator: ThreadedEmulator) -> PlatformClient:
    return connect(emulator.url, Credentials(CLIENT_ID, CLIENT_SECRET))


def sdk(emulator: ThreadedEmulator) -> pc.TelephonyProvidersEdgeApi:
    """The SDK logged in on its own, for changes made 'by someone else' and for checks."""
    api_client = pc.api_client.ApiClient(emulator.url).get_client_credentials_token(CLIENT_ID, CLIENT_SECRET)
    return pc.TelephonyProvidersEdgeApi(api_client)


def org() -> Org:
    return parse_org(article_org_data())


def test_apply_then_apply_again(emulator: ThreadedEmulator, client: PlatformClient) -> None:
    first = plan_org(org(), client)
    assert [c.action for c in first.changes] == ["create"] * 4
    done = execute(first, client).done
    assert [line.split()[0] for line in done] == ["created", "replaced", "created"]

    api = sdk(emulator)
    site_id = emulator.state.sites.meta_of("Daly City").id
    plans = api.get_telephony_providers_edges_site_numberplans(site_id)
    assert [p.name for p in plans] == [
        "New Number Plan with E164",
        "New Number Plan with short number",
        "Existing Plan A",  # the site's own plans: kept, in their order, below the new ones
        "Existing Plan B",
        *DEFAULTS,
    ]
    routes = api.get_telephony_providers_edges_site_outboundroutes(site_id).entities
    ours = next(r for r in routes if r.name == ROUTE)
    assert ours.enabled and ours.classification_types == [
        "E164ToExternalDevice",
        "ShortNumberToExternalDevice",
    ]
    assert [t.name for t in ours.external_trunk_bases] == [DEVICE]
    # the SIP side routes with what the API now holds
    trunk = emulator.run(lambda: emulator.state.org.trunk(DEVICE))
    assert trunk.digest_password == DIGEST_PASSWORD and trunk.custom_sip_headers == {
        "CUSTOM-DEVICE-TOKEN": HEADER_TOKEN
    }
    assert trunk.take_back_and_transfer and trunk.sip_servers == ["127.0.0.1:5080"]

    version = emulator.state.version
    again = plan_org(org(), client)
    assert not again.has_changes and not again.errors
    assert execute(again, client).done == []
    assert emulator.state.version == version  # not one write


def test_plan_after_changes_made_through_the_api(emulator: ThreadedEmulator, client: PlatformClient) -> None:
    execute(plan_org(org(), client), client)
    api = sdk(emulator)
    site_id = emulator.state.sites.meta_of("Daly City").id
    trunk_id = emulator.state.trunks.meta_of(DEVICE).id
    trunk = api.get_telephony_providers_edges_trunkbasesetting(trunk_id)
    trunk.properties["trunk_transfer_takeback_enabled"]["value"]["instance"] = False
    api.put_telephony_providers_edges_trunkbasesetting(trunk_id, trunk)
    plans = api.get_telephony_providers_edges_site_numberplans(site_id)
    api.put_telephony_providers_edges_site_numberplans(site_id, [*plans[2:4], *plans[:2], *plans[4:]])

    plan = plan_org(org(), client)
    changed = {c.name: c for c in plan.changes if c.action == "update"}
    assert sorted(changed) == [DEVICE, "New Number Plan with E164", "New Number Plan with short number"]
    assert [(f.name, f.before, f.after) for f in changed[DEVICE].fields] == [
        ("trunk_transfer_takeback_enabled", False, True)
    ]
    assert [(f.name, f.before, f.after) for f in changed["New Number Plan with E164"].fields] == [
        ("position", 3, 1)
    ]
    execute(plan, client)
    assert not plan_org(org(), client).has_changes
    assert emulator.run(lambda: emulator.state.org.trunk(DEVICE).digest_password) == DIGEST_PASSWORD


def test_take_classifications_moves_them(emulator: ThreadedEmulator, client: PlatformClient) -> None:
    api = sdk(emulator)
    site_id = emulator.state.sites.meta_of("Daly City").id
    pstn_id = emulator.state.trunks.meta_of("PSTNCarrierTrunk").id
    legacy = pc.OutboundRouteBase()
    legacy.name, legacy.classification_types, legacy.enabled = "Legacy", ["E164ToExternalDevice", "X"], True
    legacy.external_trunk_bases = [pc.DomainEntityRef()]
    legacy.external_trunk_bases[0].id = pstn_id
    api.post_telephony_providers_edges_site_outboundroutes(site_id, legacy)

    refused = plan_org(org(), client)
    assert refused.errors and "'Legacy'" in refused.errors[0]
    with pytest.raises(ValueError, match="errors"):
        execute(refused, client)
    plan = plan_org(org(), client, PlanOptions(take_classifications=True))
    execute(plan, client)
    routes = {r.name: r for r in api.get_telephony_providers_edges_site_outboundroutes(site_id).entities}
    assert routes["Legacy"].classification_types == ["X"]
    assert "E164ToExternalDevice" in routes[ROUTE].classification_types


def test_a_failed_write_says_what_was_done(emulator: ThreadedEmulator, client: PlatformClient) -> None:
    plan = plan_org(org(), client)
    plan.route_steps[0].body["distribution"] = "ROUND_ROBIN"  # the API refuses it
    with pytest.raises(ApplyFailed) as info:
        execute(plan, client)
    assert len(info.value.done) == 2 and info.value.status == 400
    assert str(info.value).startswith(f"create outbound route {ROUTE!r}: 400 bad.request")
    site_id = emulator.state.sites.meta_of("Daly City").id
    routes = sdk(emulator).get_telephony_providers_edges_site_outboundroutes(site_id).entities
    assert ROUTE not in [route.name for route in routes]  # the route was not created
    assert plan_org(org(), client).count("create") == 1  # and a new plan finishes the job


def test_site_caller_id_is_planned_applied_and_then_unchanged(
    emulator: ThreadedEmulator, client: PlatformClient
) -> None:
    """GENESYS.md §3.3 Site source of the calling ID: org.yaml's site caller_id/caller_name reach the org's
    Site (callerId/callerName) with a version-checked PUT of the site as read; a second plan is quiet; a
    change made in the org is an update back to org.yaml's values."""
    data = article_org_data()
    data["sites"][0].update(caller_id="+13175550000", caller_name="Daly City Support")
    wanted = parse_org(data)
    first = plan_org(wanted, client)
    site_change = next(c for c in first.changes if c.kind == "site")
    assert (site_change.name, site_change.action) == ("Daly City", "update")
    assert [(f.name, f.before, f.after) for f in site_change.fields] == [
        ("callerId", "", "+13175550000"),
        ("callerName", "", "Daly City Support"),
    ]
    done = execute(first, client).done
    assert "updated site 'Daly City' (Caller ID / Caller Name)" in done
    site = emulator.run(lambda: emulator.state.org.site("Daly City"))
    assert (site.caller_id, site.caller_name) == ("+13175550000", "Daly City Support")
    assert [p.name for p in site.number_plans][:2] == [
        "New Number Plan with E164",
        "New Number Plan with short number",
    ]

    again = plan_org(wanted, client)
    assert not again.has_changes and ("site", "unchanged") in {(c.kind, c.action) for c in again.changes}

    api = sdk(emulator)
    site_id = emulator.state.sites.meta_of("Daly City").id
    live = api.get_telephony_providers_edges_site(site_id)
    live.caller_name = "Someone Else"
    api.put_telephony_providers_edges_site(site_id, live)
    drift = plan_org(wanted, client)
    (change,) = [c for c in drift.changes if c.action == "update"]
    assert [(f.name, f.before, f.after) for f in change.fields] == [
        ("callerName", "Someone Else", "Daly City Support")
    ]
    execute(drift, client)
    assert emulator.run(lambda: emulator.state.org.site("Daly City").caller_name) == "Daly City Support"


def test_a_site_without_caller_id_in_org_yaml_keeps_the_orgs(
    emulator: ThreadedEmulator, client: PlatformClient
) -> None:
    """A site that sets neither caller_id nor caller_name in org.yaml: the org's values are not managed."""
    api = sdk(emulator)
    site_id = emulator.state.sites.meta_of("Daly City").id
    live = api.get_telephony_providers_edges_site(site_id)
    live.caller_id = "+13175559999"
    api.put_telephony_providers_edges_site(site_id, live)
    plan = plan_org(org(), client)
    assert all(c.kind != "site" for c in plan.changes) and not plan.site_steps
    execute(plan, client)
    assert emulator.run(lambda: emulator.state.org.site("Daly City").caller_id) == "+13175559999"
