"""Trunk base settings through the official SDK (GENESYS.md §3, §9.2, §11 item 1)."""

from __future__ import annotations

from typing import Any

import PureCloudPlatformClientV2 as pc

from takeback.cloud.trunk_properties import MASK

from .harness import BYOC, Emulator, Sdk, instance, ref, set_instance

DEVICE = "MyBYOCCloudTrunkForTransferToExternalDevice"


async def _new_trunk(sdk: Sdk, emulator: Emulator, name: str = "SecondDevice") -> Any:
    """The PREM flow: template, set name and instances, POST (GENESYS.md §3.2)."""
    body = await sdk.call(sdk.telephony.get_telephony_providers_edges_trunkbasesettings_template, BYOC)
    body.name = name
    body.inbound_site = ref(emulator.site_id)
    set_instance(body, "trunk_transport_serverProxyList", ["127.0.0.1:5081"])
    set_instance(body, "trunk_sip_termination_uri", "seconddevice")
    set_instance(body, "trunk_transfer_takeback_enabled", True)
    set_instance(body, "trunk_sip_authentication_credentials_password", "s3cret")
    set_instance(body, "trunk_vendor_somethingNew", {"a": [1, 2]})  # unknown key: kept verbatim
    return await sdk.call(sdk.telephony.post_telephony_providers_edges_trunkbasesettings, body)


async def test_template_is_the_full_byoc_envelope(sdk: Sdk) -> None:
    template = await sdk.call(sdk.telephony.get_telephony_providers_edges_trunkbasesettings_template, BYOC)
    assert template.trunk_metabase.id == BYOC
    assert template.trunk_type == "EXTERNAL"
    assert template.id is None
    proxies = template.properties["trunk_transport_serverProxyList"]
    assert proxies["type"] == "array" and proxies["uniqueItems"] is True and proxies["required"] is True
    assert proxies["value"] == {"default": [], "instance": []}
    assert instance(template, "trunk_type") == "external.pcv.byoc.carrier"


async def test_unknown_metabase_is_404(sdk: Sdk) -> None:
    status, error = await sdk.fails(
        sdk.telephony.get_telephony_providers_edges_trunkbasesettings_template, "tie_direct.json"
    )
    assert status == 404 and error["code"] == "not.found"


async def test_available_metabases(sdk: Sdk) -> None:
    listing = await sdk.call(sdk.telephony.get_telephony_providers_edges_trunkbasesettings_availablemetabases)
    assert [m.id for m in listing.entities] == [BYOC, "external_sip_pcv_aws.json"]
    assert listing.entities[0].name == "Generic BYOC Carrier"
    phone = await sdk.call(
        sdk.telephony.get_telephony_providers_edges_trunkbasesettings_availablemetabases, type="PHONE"
    )
    assert phone.entities == [] and phone.total == 0


async def test_create_get_update_delete_lifecycle(sdk: Sdk, emulator: Emulator) -> None:
    api = sdk.telephony
    created = await _new_trunk(sdk, emulator)
    assert created.version == 1 and created.state == "active"
    assert created.site.id == emulator.site_id and created.inbound_site.id == emulator.site_id
    assert created.properties["trunk_vendor_somethingNew"]["value"]["instance"] == {"a": [1, 2]}
    # the SIP side's org has the trunk, in the UI vocabulary
    trunk = emulator.state.org.trunk("SecondDevice")
    assert trunk.sip_servers == ["127.0.0.1:5081"] and trunk.take_back_and_transfer
    assert trunk.extra_properties == {"trunk_vendor_somethingNew": {"a": [1, 2]}}

    fetched = await sdk.call(
        api.get_telephony_providers_edges_trunkbasesetting, created.id, ignore_hidden=True
    )
    assert "trunk_protocol" not in fetched.properties
    assert instance(fetched, "trunk_sip_authentication_credentials_password") == MASK  # policy: mask

    # PUT the GET result back with one change: the masked password stays what it was
    set_instance(fetched, "trunk_transport_serverProxyList", ["127.0.0.1:5082", "127.0.0.1:5083"])
    updated = await sdk.call(api.put_telephony_providers_edges_trunkbasesetting, created.id, fetched)
    assert updated.version == 2
    trunk = emulator.state.org.trunk("SecondDevice")
    assert trunk.sip_servers == ["127.0.0.1:5082", "127.0.0.1:5083"]
    assert trunk.digest_password == "s3cret"

    fetched.version = 1  # stale
    status, error = await sdk.fails(api.put_telephony_providers_edges_trunkbasesetting, created.id, fetched)
    assert status == 409 and "does not match the current version" in error["message"]

    await sdk.call(api.delete_telephony_providers_edges_trunkbasesetting, created.id)
    assert "SecondDevice" not in emulator.state.org.trunk_names
    gone = await sdk.call(api.get_telephony_providers_edges_trunkbasesetting, created.id)
    assert gone.state == "deleted"
    status, error = await sdk.fails(api.get_telephony_providers_edges_trunkbasesetting, created.id)
    assert status == 404 and error["code"] == "not.found"


async def test_writer_style_put_merges_over_current_values(sdk: Sdk, emulator: Emulator) -> None:
    """CX-as-Code sends only the keys it manages (GENESYS.md §3.2): the others keep their values."""
    created = await _new_trunk(sdk, emulator)
    body = pc.TrunkBase()
    body.name = "RenamedDevice"
    body.version = created.version
    body.trunk_metabase = ref(BYOC)
    body.properties = {"trunk_media_codec": {"value": {"instance": ["audio/pcma"]}}}
    updated = await sdk.call(sdk.telephony.put_telephony_providers_edges_trunkbasesetting, created.id, body)
    assert updated.id == created.id and updated.name == "RenamedDevice"
    trunk = emulator.state.org.trunk("RenamedDevice")
    assert trunk.preferred_codec_list == ["audio/pcma"]
    assert trunk.sip_servers == ["127.0.0.1:5081"] and trunk.inbound_site == "Daly City"
    assert instance(updated, "trunk_label") == "RenamedDevice"


async def test_rename_follows_into_routes(sdk: Sdk, emulator: Emulator) -> None:
    trunk_id = emulator.state.trunks.meta_of(DEVICE).id
    current = await sdk.call(sdk.telephony.get_telephony_providers_edges_trunkbasesetting, trunk_id)
    current.name = "Device"
    await sdk.call(sdk.telephony.put_telephony_providers_edges_trunkbasesetting, trunk_id, current)
    route = emulator.state.org.site().outbound_routes[0]
    assert route.external_trunks == ["Device"]
    assert emulator.state.trunks.meta_of("Device").id == trunk_id


async def test_list_paging_and_name_filter(sdk: Sdk, emulator: Emulator) -> None:
    await _new_trunk(sdk, emulator, "Zeta")
    api = sdk.telephony
    first = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings, page_size=2, page_number=1)
    assert first.total == 3 and first.page_count == 2 and len(first.entities) == 2
    assert [t.name for t in first.entities] == [DEVICE, "PSTNCarrierTrunk"]
    assert first.next_uri is not None and "pageNumber=2" in first.next_uri
    second = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings, page_size=2, page_number=2)
    assert [t.name for t in second.entities] == ["Zeta"] and second.next_uri is None
    named = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings, name="pstncarriertrunk")
    assert [t.name for t in named.entities] == ["PSTNCarrierTrunk"]
    wildcard = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings, name="My*")
    assert [t.name for t in wildcard.entities] == [DEVICE]
    unmanaged = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings, managed=False)
    assert unmanaged.total == 3


async def test_create_rules(sdk: Sdk, emulator: Emulator) -> None:
    api = sdk.telephony
    body = await sdk.call(api.get_telephony_providers_edges_trunkbasesettings_template, BYOC)
    body.name = "NoSite"
    status, error = await sdk.fails(api.post_telephony_providers_edges_trunkbasesettings, body)
    assert status == 400 and "inboundSite" in error["message"]
    body.inbound_site = ref(emulator.site_id)
    status, error = await sdk.fails(api.post_telephony_providers_edges_trunkbasesettings, body)
    assert status == 400
    fields = {detail["fieldName"] for detail in error["details"]}
    assert "properties.trunk_transport_serverProxyList.value.instance" in fields  # a BYOC trunk needs one
    body.name = DEVICE
    set_instance(body, "trunk_transport_serverProxyList", ["127.0.0.1:5081"])
    set_instance(body, "trunk_sip_termination_uri", "x")
    status, error = await sdk.fails(api.post_telephony_providers_edges_trunkbasesettings, body)
    assert status == 400 and "already the name" in error["message"]


async def test_delete_refused_while_a_route_uses_the_trunk(sdk: Sdk, emulator: Emulator) -> None:
    trunk_id = emulator.state.trunks.meta_of(DEVICE).id
    status, error = await sdk.fails(sdk.telephony.delete_telephony_providers_edges_trunkbasesetting, trunk_id)
    assert status == 400 and "New Outbound Route to External Device" in error["message"]
    assert DEVICE in emulator.state.org.trunk_names


async def test_unknown_trunk_is_404(sdk: Sdk) -> None:
    status, error = await sdk.fails(sdk.telephony.get_telephony_providers_edges_trunkbasesetting, "nope")
    assert status == 404 and error["entityId"] == "nope"


async def test_genesys_cloud_voice_trunk_has_no_inbound_site(sdk: Sdk, emulator: Emulator) -> None:
    api = sdk.telephony
    body = await sdk.call(
        api.get_telephony_providers_edges_trunkbasesettings_template, "external_sip_pcv_aws.json"
    )
    body.name = "GCV"
    body.inbound_site = ref(emulator.site_id)
    status, error = await sdk.fails(api.post_telephony_providers_edges_trunkbasesettings, body)
    assert status == 400 and error["details"][0]["fieldName"] == "inboundSite"
    body.inbound_site = None
    created = await sdk.call(api.post_telephony_providers_edges_trunkbasesettings, body)
    assert created.managed is True and created.inbound_site is None
    assert created.site.id == emulator.site_id  # prepopulated with the default site
    assert emulator.state.org.trunk("GCV").kind == "genesys_cloud_voice"
