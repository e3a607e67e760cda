"""Shared pieces of telephony entity JSON: paths, ``DomainEntityRef``, id/version/dates (GENESYS.md §9)."""

from __future__ import annotations

from typing import Any

from ..conversations import format_time
from .state import EntityMeta, OrgState

__all__ = [
    "EDGES",
    "SITES_PATH",
    "TRUNKS_PATH",
    "division_ref",
    "entity_ref",
    "meta_fields",
    "route_path",
    "site_ref",
    "trunk_ref",
]

EDGES = "/api/v2/telephony/providers/edges"
TRUNKS_PATH = f"{EDGES}/trunkbasesettings"
SITES_PATH = f"{EDGES}/sites"


def route_path(site_id: str) -> str:
    return f"{SITES_PATH}/{site_id}/outboundroutes"


def entity_ref(entity_id: str, name: str, self_uri: str) -> dict[str, str]:
    """``DomainEntityRef {id, name, selfUri}``."""
    return {"id": entity_id, "name": name, "selfUri": self_uri}


def division_ref(state: OrgState) -> dict[str, str]:
    """Every entity lives in the org's "Home" division (the emulator has one)."""
    return entity_ref(state.division_id, "Home", f"/api/v2/authorization/divisions/{state.division_id}")


def site_ref(state: OrgState, site_name: str) -> dict[str, str]:
    meta = state.sites.meta_of(site_name)
    return entity_ref(meta.id, meta.name, f"{SITES_PATH}/{meta.id}")


def trunk_ref(state: OrgState, trunk_name: str) -> dict[str, str]:
    meta = state.trunks.meta_of(trunk_name)
    return entity_ref(meta.id, meta.name, f"{TRUNKS_PATH}/{meta.id}")


def meta_fields(meta: EntityMeta) -> dict[str, Any]:
    """``id, name, version, dateCreated, dateModified, state`` of an entity that exists."""
    return {
        "id": meta.id,
        "name": meta.name,
        "version": meta.version,
        "dateCreated": format_time(meta.created),
        "dateModified": format_time(meta.modified),
        "state": "active",
    }
