"""Trunk base settings over the Platform API (GENESYS.md §3.1, §3.2, §9.2, §11 item 1).

The JSON is built from, and parsed into, the org model's :class:`Trunk` through THE property table
(:mod:`takeback.cloud.trunk_properties`), so a trunk written through the API is exactly the trunk the SIP
side dials with. Rules:

* template: ``GET …/template?trunkMetabaseId=`` gives the full property envelope of a metabase;
* POST: ``value.instance``s are merged over the template defaults; PUT merges them over the trunk's
  current values (writers send only the keys they manage, §3.2 [DOC TF]); unknown keys are kept
  (``Policies.echo_unknown_properties``); a masked password (``Policies.digest_password_in_get``) sent
  back unchanged keeps the stored one;
* ``inboundSite`` is required for a BYOC metabase and forbidden otherwise [DOC TF]; ``site`` defaults to
  the inbound site, else the org's default site ("prepopulated", [DOC TF]);
* PUT must carry the current ``version``: a stale one is 409 (``Policies.version_mismatch_status``) with
  "does not match the current version" [DOC TF ``IsVersionMismatch``];
* DELETE: the next ``deleted_reads`` GETs show ``state: "deleted"``, then 404 [DOC TF: both are seen].
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..config import ConfigError
from ..org import Org
from ..trunk import Trunk, TrunkKind
from ..trunk_properties import (
    FIXED_PROPERTIES,
    MASK,
    METABASE_IDS,
    PROPERTY_BY_FIELD,
    PROPERTY_BY_KEY,
    TRUNK_TYPE_VALUES,
    properties_to_trunk,
    template_properties,
    trunk_to_properties,
)
from .entities import TRUNKS_PATH, division_ref, entity_ref, meta_fields, site_ref
from .errors import ApiError, bad_request, check_version, from_config_error, not_found
from .params import Body, Query, listing, name_matches
from .state import Claims, OrgState, Tombstone, fields_of, rebuild

__all__ = [
    "METABASE_NAMES",
    "available_metabases",
    "create_trunk",
    "delete_trunk",
    "get_trunk",
    "list_trunks",
    "template",
    "trunk_entity",
    "update_trunk",
]

# Metabase display names [DOC PREM/DEVPROV "Generic BYOC Carrier"; DOC EXPORT "PureCloud Voice - AWS"].
METABASE_NAMES: dict[TrunkKind, str] = {
    "byoc": "Generic BYOC Carrier",
    "genesys_cloud_voice": "PureCloud Voice - AWS",
}
_KIND_BY_METABASE: dict[str, TrunkKind] = {
    METABASE_IDS["byoc"]: "byoc",
    METABASE_IDS["genesys_cloud_voice"]: "genesys_cloud_voice",
}
_PASSWORD_KEY = PROPERTY_BY_FIELD["digest_password"].key
MAX_PAGE_SIZE = 500


def _metabase_ref(kind: TrunkKind) -> dict[str, str]:
    metabase_id = METABASE_IDS[kind]
    return entity_ref(metabase_id, METABASE_NAMES[kind], f"{TRUNKS_PATH}/availablemetabases/{metabase_id}")


def _kind_of(metabase_id: str) -> TrunkKind:
    kind = _KIND_BY_METABASE.get(metabase_id)
    if kind is None:
        known = ", ".join(_KIND_BY_METABASE)
        raise ApiError(
            404,
            "not.found",
            f"trunk metabase {metabase_id!r} not found; the emulator models {known}",
            entity_id=metabase_id,
            entity_name="trunkMetabase",
        )
    return kind


def trunk_entity(state: OrgState, trunk: Trunk, *, ignore_hidden: bool = False) -> dict[str, Any]:
    """The ``TrunkBase`` JSON of a trunk: every property in its full envelope (§3.2)."""
    meta = state.trunks.meta_of(trunk.name)
    properties = trunk_to_properties(trunk, mask_password=state.policies.digest_password_in_get == "mask")
    if ignore_hidden:  # the constant protocol/network properties are the "internal" ones here
        for key in FIXED_PROPERTIES:
            properties.pop(key, None)
    site_name = trunk.site or trunk.inbound_site or state.org.site().name
    body: dict[str, Any] = {
        **meta_fields(meta),
        "division": division_ref(state),
        "trunkMetabase": _metabase_ref(trunk.kind),
        "properties": properties,
        "trunkType": "EXTERNAL",
        "managed": trunk.kind == "genesys_cloud_voice",
        "site": site_ref(state, site_name),
        "selfUri": f"{TRUNKS_PATH}/{meta.id}",
    }
    if meta.description:
        body["description"] = meta.description
    if trunk.inbound_site is not None:
        body["inboundSite"] = site_ref(state, trunk.inbound_site)
    return body


def template(metabase_id: str | None) -> dict[str, Any]:
    """``GET …/trunkbasesettings/template``: a new ``TrunkBase`` to fill in and POST [DOC PREM]."""
    if not metabase_id:
        raise bad_request("trunkMetabaseId is required", field="trunkMetabaseId")
    kind = _kind_of(metabase_id)
    return {
        "name": METABASE_NAMES[kind],
        "state": "active",
        "trunkMetabase": _metabase_ref(kind),
        "properties": template_properties(kind),
        "trunkType": "EXTERNAL",
        "managed": kind == "genesys_cloud_voice",
    }


def available_metabases(query: Query) -> dict[str, Any]:
    """``GET …/availablemetabases``: the metabases the emulator models (all ``EXTERNAL``)."""
    kind = query.choice("type", ("EXTERNAL", "PHONE", "EDGE"), "EXTERNAL")
    page_size = query.integer("pageSize", 25, low=1, high=MAX_PAGE_SIZE)
    page_number = query.integer("pageNumber", 1, low=1, high=1_000_000)
    entities = []
    if kind == "EXTERNAL":
        for each in METABASE_NAMES:
            entities.append({**_metabase_ref(each), "type": "EXTERNAL"})
    return listing(
        entities,
        page_number=page_number,
        page_size=page_size,
        path=f"{TRUNKS_PATH}/availablemetabases",
        query={"type": kind},
    )


def list_trunks(state: OrgState, query: Query) -> dict[str, Any]:
    """``GET …/trunkbasesettings``: filters ``name``, ``managed``, ``recordingEnabled``; sorted by name."""
    page_size = query.integer("pageSize", 25, low=1, high=MAX_PAGE_SIZE)
    page_number = query.integer("pageNumber", 1, low=1, high=1_000_000)
    descending = query.sort_descending()
    ignore_hidden = bool(query.boolean("ignoreHidden"))
    managed = query.boolean("managed")
    recording = query.boolean("recordingEnabled")
    name = query.text("name")
    trunks = [
        trunk
        for trunk in state.org.trunks
        if name_matches(name, trunk.name)
        and (managed is None or managed == (trunk.kind == "genesys_cloud_voice"))
        and (recording is None or recording == trunk.recording)
    ]
    trunks.sort(key=lambda trunk: trunk.name.casefold(), reverse=descending)
    return listing(
        [trunk_entity(state, trunk, ignore_hidden=ignore_hidden) for trunk in trunks],
        page_number=page_number,
        page_size=page_size,
        path=TRUNKS_PATH,
        query={key: value for key, value in (("name", name),) if value},
    )


def _current(state: OrgState, trunk_id: str) -> Trunk:
    meta = state.trunks.get(trunk_id)
    if meta is None:
        raise not_found("trunkBaseSettings", trunk_id)
    return state.org.trunk(meta.name)


def get_trunk(state: OrgState, trunk_id: str, *, ignore_hidden: bool = False) -> dict[str, Any]:
    tombstone = state.tombstones.get(trunk_id)
    if tombstone is not None and trunk_id not in state.trunks:
        if tombstone.reads_left <= 0:
            raise not_found("trunkBaseSettings", trunk_id)
        tombstone.reads_left -= 1
        return copy.deepcopy(tombstone.entity)
    return trunk_entity(state, _current(state, trunk_id), ignore_hidden=ignore_hidden)


def create_trunk(state: OrgState, data: Any) -> dict[str, Any]:
    """``POST …/trunkbasesettings``."""
    body = Body(data)
    metabase_id = body.ref_id("trunkMetabase")
    if metabase_id is None:
        raise bad_request("trunkMetabase is required", field="trunkMetabase")
    kind = _kind_of(metabase_id)
    trunk = _trunk_from_body(state, body, kind=kind, current=None)
    org = _org_with_trunk(state, trunk, replacing=None)
    state.commit(org)
    meta = state.trunks.meta_of(trunk.name)
    meta.description = body.text("description") or ""
    return trunk_entity(state, trunk)


def update_trunk(state: OrgState, trunk_id: str, data: Any) -> dict[str, Any]:
    """``PUT …/trunkbasesettings/{id}``: version-checked; properties merge over the current values."""
    current = _current(state, trunk_id)
    body = Body(data)
    meta = state.trunks.meta_of(current.name)
    check_version(
        body.integer("version"), meta.version, mismatch_status=state.policies.version_mismatch_status,
        entity_id=trunk_id, entity_name=current.name,
    )  # fmt: skip
    metabase_id = body.ref_id("trunkMetabase")
    if metabase_id is not None and metabase_id != METABASE_IDS[current.kind]:
        raise bad_request("trunkMetabase cannot change on an existing trunk", field="trunkMetabase")
    trunk = _trunk_from_body(state, body, kind=current.kind, current=current)
    org = _org_with_trunk(state, trunk, replacing=current.name)
    state.commit(org, Claims(trunks={trunk.name: trunk_id}))
    state.trunks.touch(trunk_id)
    if body.has("description"):
        meta.description = body.text("description") or ""
    return trunk_entity(state, trunk)


def delete_trunk(state: OrgState, trunk_id: str, *, deleted_reads: int) -> None:
    """``DELETE …/trunkbasesettings/{id}``: refused while a route or the PSTN side uses the trunk."""
    trunk = _current(state, trunk_id)
    org = state.org
    if org.pstn.trunk == trunk.name:
        raise bad_request(f"trunk {trunk.name!r} is the org's PSTN trunk (pstn.trunk); it cannot be deleted")
    for site in org.sites:
        for route in site.outbound_routes:
            if trunk.name in route.external_trunks:
                raise bad_request(
                    f"trunk {trunk.name!r} is used by outbound route {route.name!r} of site {site.name!r}; "
                    "remove it from the route first"
                )
    entity = trunk_entity(state, trunk)
    fields = fields_of(org)
    fields["trunks"] = [each for each in org.trunks if each.name != trunk.name]
    state.commit(state.validate(fields))
    state.tombstones[trunk_id] = Tombstone({**entity, "state": "deleted"}, deleted_reads)


# ----- building a Trunk from a TrunkBase body -----


def _writer_form(trunk: Trunk) -> dict[str, Any]:
    """A trunk's properties as a writer sends them: ``{key: {"value": {"instance": X}}}``."""
    return {
        key: {"value": {"instance": env["value"]["instance"]}}
        for key, env in trunk_to_properties(trunk).items()
    }


def _merged_properties(state: OrgState, body: Body, kind: TrunkKind, current: Trunk | None) -> dict[str, Any]:
    incoming = body.mapping("properties")
    merged: dict[str, Any] = _writer_form(current) if current is not None else {}
    for key, entry in incoming.items():
        if (
            key not in PROPERTY_BY_KEY
            and key not in FIXED_PROPERTIES
            and not state.policies.echo_unknown_properties
        ):
            continue
        merged[key] = entry
    password = _instance(merged.get(_PASSWORD_KEY))
    if password == MASK:  # the masked GET value sent back: keep what is stored
        merged[_PASSWORD_KEY] = {"value": {"instance": current.digest_password if current else None}}
    type_value = _instance(incoming.get("trunk_type"))
    if type_value is not None and type_value != TRUNK_TYPE_VALUES[kind]:
        raise bad_request(
            f"properties.trunk_type {type_value!r} does not match the metabase (expected "
            f"{TRUNK_TYPE_VALUES[kind]!r})",
            field="properties.trunk_type.value.instance",
        )
    merged["trunk_type"] = {"value": {"instance": TRUNK_TYPE_VALUES[kind]}}
    return merged


def _instance(entry: Any) -> Any:
    if isinstance(entry, Mapping) and isinstance(entry.get("value"), Mapping):
        return entry["value"].get("instance")
    return None


def _site_name(state: OrgState, site_id: str, field: str) -> str:
    name = state.site_name(site_id)
    if name is None:
        raise bad_request(f"{field}.id {site_id!r} is not a site of this org", field=f"{field}.id")
    return name


def _trunk_from_body(state: OrgState, body: Body, *, kind: TrunkKind, current: Trunk | None) -> Trunk:
    name = body.required_text("name")
    trunk_type = body.text("trunkType")
    if trunk_type is not None and trunk_type != "EXTERNAL":
        raise bad_request(
            f"trunkType {trunk_type!r} is not supported; the emulator has EXTERNAL trunks", field="trunkType"
        )
    inbound_id, site_id = body.ref_id("inboundSite"), body.ref_id("site")
    inbound = _site_name(state, inbound_id, "inboundSite") if inbound_id else None
    site = _site_name(state, site_id, "site") if site_id else None
    if current is not None:
        inbound = inbound or current.inbound_site
        site = site or current.site
    if kind == "byoc" and inbound is None:
        raise bad_request(
            "inboundSite is required for a BYOC trunk (external_sip_pcv_byoc_*)", field="inboundSite"
        )
    if kind != "byoc" and inbound is not None:
        raise bad_request("inboundSite is only allowed on BYOC trunks", field="inboundSite")
    properties = _merged_properties(state, body, kind, current)
    try:
        return properties_to_trunk(properties, name=name, inbound_site=inbound, site=site)
    except ConfigError as exc:
        raise from_config_error(exc) from None


def _org_with_trunk(state: OrgState, trunk: Trunk, *, replacing: str | None) -> Org:
    """The org with ``trunk`` added, or put in place of ``replacing`` (renames follow into routes/PSTN)."""
    org = state.org
    fields = fields_of(org)
    if replacing is None:
        fields["trunks"] = [*org.trunks, trunk]
        index = len(org.trunks)
    else:
        fields["trunks"] = [trunk if each.name == replacing else each for each in org.trunks]
        index = org.trunk_names.index(replacing)
        if trunk.name != replacing:
            fields.update(_renamed_references(org, replacing, trunk.name))
    return state.validate(fields, rename=((f"trunks[{index}]", "body"),))


def _renamed_references(org: Org, old: str, new: str) -> dict[str, Any]:
    def renamed(names: list[str]) -> list[str]:
        return [new if name == old else name for name in names]

    try:
        sites = [
            rebuild(
                site,
                outbound_routes=[
                    rebuild(route, external_trunks=renamed(route.external_trunks))
                    for route in site.outbound_routes
                ],
            )
            for site in org.sites
        ]
        pstn = rebuild(org.pstn, trunk=new if org.pstn.trunk == old else org.pstn.trunk)
    except ConfigError as exc:
        raise from_config_error(exc) from None
    return {"sites": sites, "pstn": pstn}
