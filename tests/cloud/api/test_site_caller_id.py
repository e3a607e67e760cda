"""Site Caller ID / Caller Name over the Platform API (SDK ``Site.caller_id``/``caller_name``, API
``callerId``/``callerName``): the ``Site`` source of ``trunk_calling_id_priority`` (GENESYS.md §3.3)."""

from __future__ import annotations

import PureCloudPlatformClientV2 as pc

from .harness import Emulator, Sdk


async def test_site_caller_id_round_trips_through_the_sdk(sdk: Sdk, emulator: Emulator) -> None:
    """§3.3 Site source: POST a site with callerId/callerName, read them back, find them in the org."""
    body = pc.Site()
    body.name, body.media_model = "Paris", "Cloud"
    body.caller_id, body.caller_name = "+33456456400", "Paris Support"
    created = await sdk.call(sdk.telephony.post_telephony_providers_edges_sites, body)
    assert (created.caller_id, created.caller_name) == ("+33456456400", "Paris Support")
    fetched = await sdk.call(sdk.telephony.get_telephony_providers_edges_site, created.id)
    assert (fetched.caller_id, fetched.caller_name) == ("+33456456400", "Paris Support")
    site = emulator.state.org.site("Paris")
    assert (site.caller_id, site.caller_name) == ("+33456456400", "Paris Support")


async def test_site_without_caller_id_has_no_caller_fields(sdk: Sdk, emulator: Emulator) -> None:
    """§3.3: an unset site Caller ID is absent from the Site JSON (as the SDK's optional members)."""
    site = await sdk.call(sdk.telephony.get_telephony_providers_edges_site, emulator.site_id)
    assert site.caller_id is None and site.caller_name is None


async def test_site_caller_id_must_be_e164(sdk: Sdk, emulator: Emulator) -> None:
    """§3.3 Site source: a Caller ID that is not E.164 is a 400."""
    body = pc.Site()
    body.name, body.caller_id = "Lyon", "0456456400"
    status, error = await sdk.fails(sdk.telephony.post_telephony_providers_edges_sites, body)
    assert status == 400 and "E.164" in error["message"]


async def test_put_site_sets_and_clears_the_caller_id(sdk: Sdk, emulator: Emulator) -> None:
    """§3.3 Site source, written the way provisioning does: GET the site, set callerId/callerName, PUT it
    back whole with its version (SDK ``put_telephony_providers_edges_site``); the version goes up."""
    site = await sdk.call(sdk.telephony.get_telephony_providers_edges_site, emulator.site_id)
    site.caller_id, site.caller_name = "+13175550000", "Daly City Support"
    updated = await sdk.call(sdk.telephony.put_telephony_providers_edges_site, emulator.site_id, site)
    assert (updated.caller_id, updated.caller_name, updated.version) == (
        "+13175550000",
        "Daly City Support",
        2,
    )
    model = emulator.state.org.site("Daly City")
    assert (model.caller_id, model.caller_name) == ("+13175550000", "Daly City Support")
    assert model.number_plans  # the rest of the site is untouched
    updated.caller_id, updated.caller_name = "", ""
    cleared = await sdk.call(sdk.telephony.put_telephony_providers_edges_site, emulator.site_id, updated)
    assert cleared.caller_id is None and cleared.version == 3


async def test_put_site_errors(sdk: Sdk, emulator: Emulator) -> None:
    """Version-checked like trunks and routes (§3.1: 409); a non-E.164 Caller ID is a 400 naming callerId;
    a rename is refused (not emulated); an unknown site is 404."""
    site = await sdk.call(sdk.telephony.get_telephony_providers_edges_site, emulator.site_id)
    put = sdk.telephony.put_telephony_providers_edges_site
    site.version = 7
    status, error = await sdk.fails(put, emulator.site_id, site)
    assert status == 409 and "does not match the current version (1)" in error["message"]
    site.version, site.caller_id = 1, "0456456400"
    status, error = await sdk.fails(put, emulator.site_id, site)
    assert status == 400 and error["message"].startswith("callerId:") and "E.164" in error["message"]
    site.caller_id, site.name = None, "Daly"
    status, error = await sdk.fails(put, emulator.site_id, site)
    assert status == 400 and "renaming site 'Daly City'" in error["message"]
    status, _ = await sdk.fails(put, "unknown", site)
    assert status == 404


def test_openapi_document_describes_the_site_caller_fields() -> None:
    """The OpenAPI document (schemathesis holds the server to it) names callerId/callerName and PUT site."""
    from takeback.cloud.api.openapi import openapi_document

    document = openapi_document()
    schemas = document["components"]["schemas"]
    for name in ("Site", "SiteRequest"):
        assert {"callerId", "callerName"} <= set(schemas[name]["properties"]), name
    site_path = next(path for path in document["paths"] if path.endswith("/sites/{siteId}"))
    assert document["paths"][site_path]["put"]["operationId"] == "putSite"
