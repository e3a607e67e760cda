"""THE table UI setting -> Platform API property key (GENESYS.md §3.2, §3.3, §9.2) and its round trips."""

from __future__ import annotations

import json

import pytest

from takeback.cloud import ConfigError, Trunk, load_builtin_org, properties_to_trunk, trunk_to_properties
from takeback.cloud.config import validate_model
from takeback.cloud.trunk_properties import (
    ENTITY_FIELDS,
    METABASE_IDS,
    PROPERTY_BY_FIELD,
    PROPERTY_BY_KEY,
    TRUNK_PROPERTIES,
    template_properties,
)

# Keys GENESYS.md §3.3 / §9.2 documents, by UI setting.
DOCUMENTED = {
    "name": "trunk_label",
    "kind": "trunk_type",
    "enabled": "trunk_enabled",
    "protocol": "trunk_transport_protocolVariant",
    "inbound_sip_termination_identifier": "trunk_sip_termination_uri",
    "sip_servers": "trunk_transport_serverProxyList",
    "digest_realm": "trunk_sip_authentication_credentials_realm",
    "digest_user_name": "trunk_sip_authentication_credentials_username",
    "digest_password": "trunk_sip_authentication_credentials_password",
    "address_override_method": "trunk_outboundIdentity_callingAddress_overrideMethod",
    "caller_id": "trunk_outboundIdentity_callingAddress",
    "calling_name": "trunk_outboundIdentity_callingName",
    "sip_access_control": "trunk_access_acl_allowList",
    "calling_address_omit_plus": "trunk_outboundIdentity_callingAddress_omitPlusPrefix",
    "called_address_omit_plus": "trunk_outboundIdentity_calledAddress_omitPlusPrefix",
    "preferred_codec_list": "trunk_media_codec",
    "dtmf_method": "trunk_media_dtmf_method",
    "dtmf_payload": "trunk_media_dtmf_payload",
    "max_dial_timeout": "trunk_maxDialTimeout",
    "retryable_reason_codes": "trunk_transport_retryableReasonCodes",
    "conversation_headers": "trunk_sip_conversationHeader",
    "uui_passthrough": "trunk_sip_uuiEnabled",
    "uui_type": "trunk_sip_uuiHeader",
    "uui_encoding": "trunk_sip_uuiEncoding",
    "uui_pd": "trunk_sip_uuiPd",
    "take_back_and_transfer": "trunk_transfer_takeback_enabled",
    "release_link_transfer": "trunk_rlt_enabled",
}
UNKNOWN = {
    "custom_sip_headers",
    "static_user_data",
    "static_user_data_priority",
    "static_user_data_type",
    "digest_authentication",
    "outbound_sip_termination_fqdn",
    "outbound_sip_tgrp",
    "outbound_sip_dnis",
    "inbound_sip_termination_header",
}


def _device_trunk() -> Trunk:
    return load_builtin_org().trunk("MyBYOCCloudTrunkForTransferToExternalDevice")


def test_every_trunk_setting_has_exactly_one_row() -> None:
    settings = set(Trunk.model_fields) - set(ENTITY_FIELDS) - {"extra_properties"}
    assert {spec.field for spec in TRUNK_PROPERTIES} == settings
    assert len(PROPERTY_BY_KEY) == len(TRUNK_PROPERTIES) == len(PROPERTY_BY_FIELD)


@pytest.mark.parametrize(("field", "key"), sorted(DOCUMENTED.items()))
def test_documented_keys_s3_3(field: str, key: str) -> None:
    spec = PROPERTY_BY_FIELD[field]
    assert spec.key == key
    assert spec.status in ("DOC", "3P")


@pytest.mark.parametrize("field", sorted(UNKNOWN))
def test_unknown_keys_are_marked_emulator_chosen_s9_2(field: str) -> None:
    spec = PROPERTY_BY_FIELD[field]
    assert spec.status == "UNKNOWN"
    assert spec.source.startswith("UNKNOWN (emulator-chosen")
    assert spec.key.startswith("trunk_")


def test_custom_headers_placeholder_key() -> None:
    assert PROPERTY_BY_FIELD["custom_sip_headers"].key == "trunk_sip_customHeaders"


def test_defaults_and_enums_come_from_the_model() -> None:
    assert PROPERTY_BY_FIELD["max_dial_timeout"].default == "2m"
    assert PROPERTY_BY_FIELD["dtmf_payload"].default == 101
    assert PROPERTY_BY_FIELD["uui_pd"].default == "00"
    assert PROPERTY_BY_FIELD["take_back_and_transfer"].default is False
    assert PROPERTY_BY_FIELD["protocol"].enum == ("udp", "tcp", "tls")
    assert PROPERTY_BY_FIELD["address_override_method"].enum == ("Always", "Unassigned DID")
    assert PROPERTY_BY_FIELD["uui_type"].enum == (
        "User-to-User",
        "User-to-User with pd parameter",
        "x-User-To-User",
    )
    assert PROPERTY_BY_FIELD["uui_encoding"].enum == ("Hex", "Ascii")
    assert PROPERTY_BY_FIELD["preferred_codec_list"].item_enum == (
        "audio/opus",
        "audio/pcmu",
        "audio/pcma",
        "audio/g729",
    )
    assert PROPERTY_BY_FIELD["kind"].default == "external.pcv.byoc.carrier"


def test_envelope_shape_s3_2() -> None:
    props = trunk_to_properties(_device_trunk())
    servers = props["trunk_transport_serverProxyList"]
    assert servers == {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
        "required": True,
        "value": {"default": [], "instance": ["127.0.0.1:5080"]},
    }
    assert props["trunk_transfer_takeback_enabled"] == {
        "type": "boolean",
        "value": {"default": False, "instance": True},
    }
    assert props["trunk_transport_protocolVariant"]["enum"] == ["udp", "tcp", "tls"]
    assert props["trunk_outboundIdentity_callingName"]["pattern"] == r"^[\S ]{0,40}$"
    assert props["trunk_type"]["value"]["instance"] == "external.pcv.byoc.carrier"
    assert props["trunk_label"]["value"]["instance"] == "MyBYOCCloudTrunkForTransferToExternalDevice"
    assert props["trunk_sip_customHeaders"]["value"]["instance"] == {"CUSTOM-DEVICE-TOKEN": "1234567"}
    assert props["trunk_protocol"]["value"]["instance"] == "SIP"
    json.dumps(props)  # serializable as is


def test_round_trip_article_trunk() -> None:
    trunk = _device_trunk()
    back = properties_to_trunk(trunk_to_properties(trunk), inbound_site=trunk.inbound_site)
    assert back == trunk


def test_round_trip_every_setting_changed() -> None:
    trunk = validate_model(
        Trunk,
        {
            "name": "T2",
            "kind": "byoc",
            "enabled": False,
            "protocol": "tls",
            "inbound_sip_termination_identifier": "t2",
            "inbound_sip_termination_header": "X-Term",
            "dnis_replacement_routing": True,
            "outbound_higher_capacity": True,
            "outbound_sip_termination_fqdn": "fqdn.example",
            "outbound_sip_tgrp": "tg1",
            "outbound_sip_dnis": "5",
            "sip_servers": ["a.example.com:5061", "b.example.com:5061"],
            "digest_authentication": True,
            "digest_realm": "r",
            "digest_user_name": "u",
            "digest_password": "p",
            "address_override_method": "Unassigned DID",
            "caller_id": "+19999990000",
            "calling_name": "Acme",
            "name_override_method": "Unassigned DID",
            "suppress_user_name_if_did_available": True,
            "suppress_user_name_if_no_did": True,
            "prioritized_caller_selection": ["Source", "Trunk"],
            "sip_access_control": ["203.0.113.0/24"],
            "calling_address_omit_plus": True,
            "called_address_omit_plus": True,
            "preferred_codec_list": ["audio/g729"],
            "dtmf_payload": 96,
            "srtp_cipher_suites": ["AES_CM_128_HMAC_SHA1_32"],
            "disconnect_on_idle_rtp": False,
            "media_dscp": 0,
            "sip_dscp": 0,
            "max_dial_timeout": "1m",
            "max_call_rate": "40/5s",
            "retryable_reason_codes": "503",
            "retryable_cause_codes": "1-5,25",
            "language": "fr-FR",
            "conversation_headers": True,
            "custom_sip_headers": {"A": "1", "B": "2"},
            "uui_passthrough": True,
            "uui_type": "x-User-To-User",
            "uui_encoding": "Ascii",
            "uui_pd": "04",
            "static_user_data": "static",
            "static_user_data_type": "User-to-User with pd parameter",
            "static_user_data_priority": "High",
            "take_back_and_transfer": True,
            "release_link_transfer": True,
            "recording": True,
            "consult_recording": True,
            "recording_audio_format": "audio/PCMU",
            "recording_level_control": True,
            "record_external_transfers": True,
            "dual_channel_recording": True,
            "extra_properties": {"trunk_fax_enabled": True},
        },
    )
    changed = [spec.field for spec in TRUNK_PROPERTIES if getattr(trunk, spec.field) != spec.default]
    assert len(changed) == len(TRUNK_PROPERTIES) - 1  # all but dtmf_method (one allowed value)
    assert properties_to_trunk(trunk_to_properties(trunk)) == trunk


def test_gcv_kind_round_trip() -> None:
    trunk = validate_model(Trunk, {"name": "GCV", "kind": "genesys_cloud_voice"})
    props = trunk_to_properties(trunk)
    assert props["trunk_type"]["value"]["instance"] == "external.pcv.aws"
    assert properties_to_trunk(props) == trunk


def test_writer_style_instances_and_defaults_s3_2() -> None:
    """Writers send only value.instance (PREM, TF); missing keys and null instances take defaults."""
    props = {
        "trunk_label": {"value": {"instance": "DeviceTrunk"}},
        "trunk_sip_termination_uri": {"value": {"instance": "myexternaldevicetrunk"}},
        "trunk_transport_serverProxyList": {"value": {"instance": ["203.0.113.10:5060"]}},
        "trunk_transfer_takeback_enabled": {"value": {"instance": True}},
        "trunk_media_codec": {"value": {"instance": None}},
    }
    trunk = properties_to_trunk(props)
    assert trunk.name == "DeviceTrunk" and trunk.take_back_and_transfer
    assert trunk.preferred_codec_list == ["audio/opus", "audio/pcmu", "audio/pcma"]


def test_unknown_keys_kept_in_extra_properties_and_echoed_s3_2() -> None:
    props = template_properties()
    props["trunk_label"]["value"]["instance"] = "T"
    props["trunk_sip_termination_uri"]["value"]["instance"] = "t"
    props["trunk_transport_serverProxyList"]["value"]["instance"] = ["127.0.0.1:5080"]
    props["trunk_fax_enabled"] = {"type": "boolean", "value": {"default": False, "instance": True}}
    trunk = properties_to_trunk(props)
    assert trunk.extra_properties == {"trunk_fax_enabled": True}
    assert trunk_to_properties(trunk)["trunk_fax_enabled"]["value"]["instance"] is True


def test_property_errors_name_the_key_path() -> None:
    props = trunk_to_properties(_device_trunk())
    props["trunk_transport_protocolVariant"]["value"]["instance"] = "sctp"
    props["trunk_transport_serverProxyList"]["value"]["instance"] = ["bad host"]
    with pytest.raises(ConfigError) as info:
        properties_to_trunk(props)
    assert [str(p) for p in info.value.problems] == [
        "properties.trunk_transport_protocolVariant.value.instance: 'sctp' is not valid; "
        "use one of udp, tcp, tls",
        "properties.trunk_transport_serverProxyList.value.instance[0]: 'bad host' is not host:port; "
        "write e.g. '203.0.113.10:5060' or 'sip.example.com:5061'",
    ]


def test_malformed_envelope() -> None:
    with pytest.raises(ConfigError, match=r"properties\.trunk_enabled: expected"):
        properties_to_trunk({"trunk_enabled": True})


def test_forbidden_header_through_properties() -> None:
    props = trunk_to_properties(_device_trunk())
    props["trunk_sip_customHeaders"]["value"]["instance"] = {"x-inin-foo": "1"}
    with pytest.raises(
        ConfigError, match=r"properties\.trunk_sip_customHeaders\.value\.instance\.x-inin-foo: "
    ):
        properties_to_trunk(props)


def test_password_mask_policy_s9_2() -> None:
    trunk = validate_model(Trunk, {"name": "T", "kind": "genesys_cloud_voice", "digest_password": "s3cret"})
    assert (
        trunk_to_properties(trunk)["trunk_sip_authentication_credentials_password"]["value"]["instance"]
        == "s3cret"
    )
    masked = trunk_to_properties(trunk, mask_password=True)
    assert masked["trunk_sip_authentication_credentials_password"]["value"]["instance"] == "********"


def test_template_is_all_defaults_for_byoc_carrier_s9_2() -> None:
    template = template_properties("byoc")
    assert template["trunk_type"]["value"] == {
        "default": "external.pcv.byoc.carrier",
        "instance": "external.pcv.byoc.carrier",
    }
    assert template["trunk_label"]["value"]["default"] == "Generic BYOC Carrier"
    assert template["trunk_maxDialTimeout"]["value"] == {"default": "2m", "instance": "2m"}
    assert METABASE_IDS["byoc"] == "external_sip_pcv_byoc_carrier.json"
    template["trunk_media_codec"]["value"]["instance"].append("audio/g729")
    assert template_properties()["trunk_media_codec"]["value"]["instance"] == [
        "audio/opus",
        "audio/pcmu",
        "audio/pcma",
    ]
