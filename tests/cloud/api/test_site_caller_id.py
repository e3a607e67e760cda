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
