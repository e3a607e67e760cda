"""THE table: each trunk setting (UI name, snake_case) -> Platform API property key, schema and source.

Provisioning writes ``properties.<key>.value.instance`` from it; the REST emulator builds the template
and GET envelopes ``{"type": …, "value": {"default": …, "instance": …}}`` from it (GENESYS.md §3.2).

Column ``status``:

* ``DOC``: the key was read in Genesys material (PREM sample, DEVPROV, a real CX-as-Code EXPORT);
* ``3P``: seen only in third-party code (3P-MAP);
* ``UNKNOWN``: **the key is emulator-chosen.** GENESYS.md §9.2 says the keys for custom SIP headers,
  static UUI, outbound FQDN/TGRP/DNIS, the inbound termination header and the Digest toggle are not
  known; discover them with ``GET …/trunkbasesettings/template?trunkMetabaseId=
  external_sip_pcv_byoc_carrier.json`` on a real org before provisioning them. The emulator stores any
  key (§3.2), so these placeholders round-trip locally; provisioning must treat them as unverified.

``default`` and ``enum`` are read from :class:`takeback.cloud.trunk.Trunk` so the model and the table
cannot drift apart.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .config import ConfigError, Problem, validate_model
from .trunk import Trunk, TrunkKind

__all__ = [
    "FIXED_PROPERTIES",
    "METABASE_IDS",
    "PROPERTY_BY_FIELD",
    "PROPERTY_BY_KEY",
    "TRUNK_PROPERTIES",
    "TRUNK_TYPE_VALUES",
    "PropertySpec",
    "PropertyStatus",
    "envelope",
    "properties_to_trunk",
    "template_properties",
    "trunk_to_properties",
]

PropertyStatus = Literal["DOC", "3P", "UNKNOWN"]
JsonType = Literal["string", "boolean", "integer", "array", "object"]
MASK = "********"

# trunkMetabase.id per kind [DOC PREM/DEVPROV; GCV: DOC EXPORT "PureCloud Voice - AWS"].
METABASE_IDS: dict[str, str] = {
    "byoc": "external_sip_pcv_byoc_carrier.json",
    "genesys_cloud_voice": "external_sip_pcv_aws.json",
}
# properties.trunk_type instance per kind [DOC PREM for BYOC]; the GCV value is UNKNOWN (emulator-chosen).
TRUNK_TYPE_VALUES: dict[str, str] = {
    "byoc": "external.pcv.byoc.carrier",
    "genesys_cloud_voice": "external.pcv.aws",
}
# Constant properties seen on every exported SIP trunk [DOC EXPORT]; not settings.
FIXED_PROPERTIES: dict[str, str] = {"trunk_protocol": "SIP", "trunk_networkType": "IP"}


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One row: Trunk field <-> API key, with the JSON-schema hints the template carries (§3.2)."""

    field: str
    key: str
    ui: str
    status: PropertyStatus
    source: str
    json_type: JsonType
    default: Any
    enum: tuple[Any, ...] | None = None
    item_enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    required: bool = False
    unique_items: bool = False


def _row(
    field: str,
    key: str,
    ui: str,
    source: str,
    *,
    pattern: str | None = None,
    required: bool = False,
    unique: bool = False,
) -> PropertySpec:
    info = Trunk.model_fields[field]
    annotation = info.annotation
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    json_type, enum, item_enum = _schema_of(annotation)
    if field == "kind":  # the API value differs from the org.yaml value
        default, enum = TRUNK_TYPE_VALUES[str(default)], tuple(TRUNK_TYPE_VALUES.values())
    status: PropertyStatus = (
        "UNKNOWN" if source.startswith("UNKNOWN") else "3P" if source.startswith("3P") else "DOC"
    )
    return PropertySpec(
        field, key, ui, status, source, json_type, default, enum, item_enum, pattern, required, unique
    )


def _schema_of(annotation: Any) -> tuple[JsonType, tuple[Any, ...] | None, tuple[Any, ...] | None]:
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        (item,) = get_args(annotation)
        return "array", None, get_args(item) or None
    if origin is dict:
        return "object", None, None
    if annotation is bool:
        return "boolean", None, None
    if annotation is int:
        return "integer", None, None
    literal_values = get_args(annotation)
    if literal_values and all(isinstance(v, str) for v in literal_values):
        return "string", literal_values, None
    return "string", None, None


_UNK = "UNKNOWN (emulator-chosen key, GENESYS.md §9.2)"

TRUNK_PROPERTIES: tuple[PropertySpec, ...] = (
    _row("name", "trunk_label", "External Trunk Name", "DOC PREM/DEVPROV (also entity name)"),
    _row("kind", "trunk_type", "Type › sub-type", "DOC PREM (BYOC); GCV value UNKNOWN"),
    _row("enabled", "trunk_enabled", "Trunk State (In-Service)", "DOC PREM template"),
    _row("protocol", "trunk_transport_protocolVariant", "Protocol", "DOC PREM"),
    _row(
        "inbound_sip_termination_identifier",
        "trunk_sip_termination_uri",
        "Inbound / Termination › Inbound SIP Termination Identifier",
        "DOC PREM",
    ),
    _row(
        "inbound_sip_termination_header",
        "trunk_sip_termination_header",
        "Inbound / Termination › Inbound SIP Termination Header",
        _UNK,
    ),
    _row(
        "dnis_replacement_routing", "trunk_routing_inbound_dnis_enabled", "DNIS Replacement Routing", "3P-MAP"
    ),
    _row(
        "outbound_higher_capacity",
        "trunk_routing_outbound_higher_capacity",
        "Dynamic Cloud Voice (higher capacity)",
        "3P-MAP",
    ),
    _row(
        "outbound_sip_termination_fqdn",
        "trunk_sip_outbound_termination_fqdn",
        "Outbound › Outbound SIP Termination FQDN",
        _UNK,
    ),
    _row("outbound_sip_tgrp", "trunk_sip_outbound_tgrp", "Outbound › TGRP", _UNK),
    _row("outbound_sip_dnis", "trunk_sip_outbound_dnis", "Outbound › DNIS", _UNK),
    _row(
        "sip_servers",
        "trunk_transport_serverProxyList",
        "Outbound › SIP Servers or Proxies",
        "DOC PREM/DEVPROV/EXPORT",
        required=True,
        unique=True,
    ),
    _row(
        "digest_authentication", "trunk_sip_authentication_enabled", "Outbound › Digest Authentication", _UNK
    ),
    _row(
        "digest_realm", "trunk_sip_authentication_credentials_realm", "Outbound › Digest › Realm", "DOC PREM"
    ),
    _row(
        "digest_user_name",
        "trunk_sip_authentication_credentials_username",
        "Outbound › Digest › User Name",
        "DOC PREM",
    ),
    _row(
        "digest_password",
        "trunk_sip_authentication_credentials_password",
        "Outbound › Digest › Password",
        "DOC PREM",
    ),
    _row(
        "address_override_method",
        "trunk_outboundIdentity_callingAddress_overrideMethod",
        "Outbound › Calling › Address Override Method",
        "DOC PREM enum",
    ),
    _row(
        "caller_id",
        "trunk_outboundIdentity_callingAddress",
        "Outbound › Calling › Address (Caller ID)",
        "DOC PREM",
    ),
    _row(
        "calling_name",
        "trunk_outboundIdentity_callingName",
        "Outbound › Calling › Name",
        "DOC PREM",
        pattern=r"^[\S ]{0,40}$",
    ),
    _row(
        "name_override_method",
        "trunk_outboundIdentity_callingName_overrideMethod",
        "Outbound › Calling › Name Override Method",
        "DOC PREM enum",
    ),
    _row(
        "suppress_user_name_if_did_available",
        "trunk_outboundIdentity_suppress_username_if_did_available",
        "Outbound › Calling › Suppress user name if DID available",
        "DOC PREM",
    ),
    _row(
        "suppress_user_name_if_no_did",
        "trunk_outboundIdentity_suppress_username_if_no_did",
        "Outbound › Calling › Suppress user name if no DID",
        "DOC PREM",
    ),
    _row(
        "prioritized_caller_selection",
        "trunk_calling_id_priority",
        "Outbound › Prioritized caller selection",
        "DOC PREM/EXPORT",
    ),
    _row(
        "sip_access_control",
        "trunk_access_acl_allowList",
        "SIP Access Control › allow list",
        "DOC RC-ACL/DEVPROV",
        unique=True,
    ),
    _row(
        "calling_address_omit_plus",
        "trunk_outboundIdentity_callingAddress_omitPlusPrefix",
        "Identity › Calling › Address Omit + Prefix",
        "DOC BLOG/DEVPROV",
    ),
    _row(
        "called_address_omit_plus",
        "trunk_outboundIdentity_calledAddress_omitPlusPrefix",
        "Identity › Called › Address Omit + Prefix",
        "DOC BLOG/DEVPROV",
    ),
    _row(
        "preferred_codec_list",
        "trunk_media_codec",
        "Media › Preferred Codec List",
        "DOC EXPORT/TF",
        unique=True,
    ),
    _row("dtmf_method", "trunk_media_dtmf_method", "Media › DTMF method", "DOC EXPORT"),
    _row("dtmf_payload", "trunk_media_dtmf_payload", "Media › DTMF payload", "DOC EXPORT"),
    _row("srtp_cipher_suites", "trunk_media_srtpCipherSuites", "Media › SRTP Cipher Suites", "DOC EXPORT"),
    _row(
        "disconnect_on_idle_rtp",
        "trunk_media_disconnectOnIdleRTP",
        "Media › Disconnect on idle RTP",
        "DOC EXPORT",
    ),
    _row("media_dscp", "trunk_media_dscpValue", "Media › DSCP value", "DOC EXPORT"),
    _row("sip_dscp", "trunk_transport_sipDscpValue", "Protocol › SIP DSCP value", "DOC EXPORT"),
    _row("max_dial_timeout", "trunk_maxDialTimeout", "Max Dial Timeout", "DOC EXPORT"),
    _row("max_call_rate", "trunk_maxCallRate", "Max Call Rate", "DOC EXPORT"),
    _row(
        "retryable_reason_codes",
        "trunk_transport_retryableReasonCodes",
        "Protocol › Retryable reason codes",
        "DOC EXPORT",
    ),
    _row(
        "retryable_cause_codes",
        "trunk_transport_retryableCauseCodes",
        "Protocol › Retryable cause codes",
        "DOC EXPORT",
    ),
    _row("language", "trunk_language", "Language", "DOC EXPORT"),
    _row(
        "conversation_headers",
        "trunk_sip_conversationHeader",
        "Protocol › Conversation Headers",
        "DOC BLOG/DEVPROV",
    ),
    _row("custom_sip_headers", "trunk_sip_customHeaders", "Protocol › Outbound › Custom SIP headers", _UNK),
    _row("uui_passthrough", "trunk_sip_uuiEnabled", "Protocol › UUI › UUI Passthrough", "DOC DEVPROV"),
    _row(
        "uui_type",
        "trunk_sip_uuiHeader",
        "Protocol › UUI › Header Type",
        "DOC DEVPROV ('User-to-User' seen; the other two API values UNKNOWN)",
    ),
    _row(
        "uui_encoding",
        "trunk_sip_uuiEncoding",
        "Protocol › UUI › Encoding Format",
        "DOC DEVPROV ('Hex' seen; 'Ascii' INFERRED)",
    ),
    _row("uui_pd", "trunk_sip_uuiPd", "Protocol › UUI › Protocol Discriminator", "DOC DEVPROV"),
    _row("static_user_data", "trunk_sip_uuiStaticData", "Protocol › UUI › Static User Data", _UNK),
    _row(
        "static_user_data_type", "trunk_sip_uuiStaticHeader", "Protocol › UUI › Static User Data header", _UNK
    ),
    _row("static_user_data_priority", "trunk_sip_uuiStaticPriority", "Protocol › UUI › Priority", _UNK),
    _row(
        "take_back_and_transfer",
        "trunk_transfer_takeback_enabled",
        "Protocol › Take Back and Transfer",
        "DOC BLOG/DEVPROV",
    ),
    _row(
        "release_link_transfer", "trunk_rlt_enabled", "Protocol › Release Link Transfer", "DOC BLOG/DEVPROV"
    ),
    _row("recording", "trunk_recording_enabled", "Recording › Enabled", "DOC EXPORT"),
    _row("consult_recording", "trunk_consult_recording_enabled", "Recording › Consult calls", "DOC EXPORT"),
    _row("recording_audio_format", "trunk_recording_audioFormat", "Recording › Audio format", "DOC EXPORT"),
    _row(
        "recording_level_control",
        "trunk_recording_levelControlEnabled",
        "Recording › Level control",
        "DOC EXPORT",
    ),
    _row(
        "record_external_transfers",
        "trunk_recording_externalTransfersEnabled",
        "Recording › External transfers",
        "DOC EXPORT",
    ),
    _row("dual_channel_recording", "trunk_recording_dualChannel", "Recording › Dual channel", "DOC EXPORT"),
)

PROPERTY_BY_FIELD: dict[str, PropertySpec] = {spec.field: spec for spec in TRUNK_PROPERTIES}
PROPERTY_BY_KEY: dict[str, PropertySpec] = {spec.key: spec for spec in TRUNK_PROPERTIES}
# Trunk fields that are entity members, not properties (GENESYS.md §3.1).
ENTITY_FIELDS: dict[str, str] = {"inbound_site": "inboundSite", "site": "site"}


def envelope(spec: PropertySpec, instance: Any) -> dict[str, Any]:
    """The GET/template shape of one property (GENESYS.md §3.2)."""
    body: dict[str, Any] = {"type": spec.json_type}
    if spec.enum is not None:
        body["enum"] = list(spec.enum)
    if spec.json_type == "array":
        items: dict[str, Any] = {"type": "string"}
        if spec.item_enum is not None:
            items["enum"] = list(spec.item_enum)
        body["items"] = items
        if spec.unique_items:
            body["uniqueItems"] = True
    if spec.pattern is not None:
        body["pattern"] = spec.pattern
    if spec.required:
        body["required"] = True
    body["value"] = {"default": copy.deepcopy(spec.default), "instance": copy.deepcopy(instance)}
    return body


def _guess_envelope(instance: Any) -> dict[str, Any]:
    kinds: list[tuple[type, JsonType]] = [
        (bool, "boolean"),
        (int, "integer"),
        (list, "array"),
        (dict, "object"),
    ]
    json_type = next((name for kind, name in kinds if isinstance(instance, kind)), "string")
    return {"type": json_type, "value": {"default": None, "instance": copy.deepcopy(instance)}}


def template_properties(kind: TrunkKind = "byoc") -> dict[str, dict[str, Any]]:
    """What ``GET …/trunkbasesettings/template?trunkMetabaseId=…`` returns as ``properties``."""
    result = {spec.key: envelope(spec, spec.default) for spec in TRUNK_PROPERTIES}
    result["trunk_type"]["value"]["instance"] = TRUNK_TYPE_VALUES[kind]
    result["trunk_type"]["value"]["default"] = TRUNK_TYPE_VALUES[kind]
    result["trunk_label"]["value"]["default"] = (
        "Generic BYOC Carrier" if kind == "byoc" else "Genesys Cloud Voice"
    )
    for key, value in FIXED_PROPERTIES.items():
        result[key] = {"type": "string", "value": {"default": value, "instance": value}}
    return result


def trunk_to_properties(trunk: Trunk, *, mask_password: bool = False) -> dict[str, dict[str, Any]]:
    """Every property of ``trunk`` as an API envelope; ``extra_properties`` are echoed verbatim (§3.2)."""
    result: dict[str, dict[str, Any]] = {}
    for spec in TRUNK_PROPERTIES:
        value = getattr(trunk, spec.field)
        if spec.field == "kind":
            value = TRUNK_TYPE_VALUES[value]
        elif spec.field == "digest_password" and mask_password and value:
            value = MASK  # Policies.digest_password_in_get (§9.2 UNKNOWN)
        result[spec.key] = envelope(spec, value)
    result["trunk_type"]["value"]["default"] = TRUNK_TYPE_VALUES[trunk.kind]
    for key, value in FIXED_PROPERTIES.items():
        result[key] = {"type": "string", "value": {"default": value, "instance": value}}
    for key, value in trunk.extra_properties.items():
        result[key] = _guess_envelope(value)
    return result


def properties_to_trunk(
    properties: Mapping[str, Any],
    *,
    name: str | None = None,
    inbound_site: str | None = None,
    site: str | None = None,
) -> Trunk:
    """A :class:`Trunk` from API properties (full envelopes or writer-style ``{"value": {"instance": X}}``).

    A missing key or a null instance takes the default. Keys not in the table land in
    ``extra_properties``. ``name`` defaults to ``trunk_label``. Errors name the property key path.
    """
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, entry in properties.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), Mapping):
            problems.append(Problem(f"properties.{key}", "expected {'value': {'instance': …}}"))
            continue
        instance = entry["value"].get("instance")
        if instance is None or key in FIXED_PROPERTIES:
            continue
        spec = PROPERTY_BY_KEY.get(key)
        if spec is None:
            extra[key] = copy.deepcopy(instance)
        elif spec.field == "kind":
            kinds = {value: kind for kind, value in TRUNK_TYPE_VALUES.items()}
            fields["kind"] = kinds.get(instance, instance)
        else:
            fields[spec.field] = copy.deepcopy(instance)
    if problems:
        raise ConfigError(problems)
    if name is not None:
        fields["name"] = name
    fields.update({k: v for k, v in (("inbound_site", inbound_site), ("site", site)) if v is not None})
    fields["extra_properties"] = extra
    try:
        return validate_model(Trunk, fields)
    except ConfigError as exc:
        raise ConfigError([_to_key_path(problem) for problem in exc.problems]) from None


def _to_key_path(problem: Problem) -> Problem:
    """``protocol`` -> ``properties.trunk_transport_protocolVariant.value.instance``."""
    head, _, rest = problem.path.partition(".")
    field, bracket, index = head.partition("[")
    spec = PROPERTY_BY_FIELD.get(field)
    if spec is None:
        return problem
    path = (
        f"properties.{spec.key}.value.instance"
        + (f"[{index}" if bracket else "")
        + (f".{rest}" if rest else "")
    )
    return Problem(path, problem.message)
