"""Read the part of a live org that org.yaml speaks about: one pass of GETs, before anything is compared.

Why a snapshot: planning is then a pure function of (org.yaml, snapshot) (:mod:`.planner`), testable
without a server, and ``plan`` is guaranteed to make no write. Sites are found by name (org.yaml names
them; takeback never creates sites); trunks by name among the org's trunk base settings, then read one by
one with ``ignoreHidden=true`` as CX-as-Code does (§3.2), because a listing need not carry every property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cloud import Org
from .desired import managed_routes, managed_site_caller, managed_trunks
from .platform import BYOC_METABASE, PlatformClient

__all__ = ["Snapshot", "needed_sites", "read_snapshot"]

Json = dict[str, Any]


@dataclass(slots=True)
class Snapshot:
    """The live org as JSON. Names are keyed case-folded, like the org model compares them."""

    host: str
    template: Json | None = None
    trunks: dict[str, Json] = field(default_factory=dict)  # name -> full TrunkBase (managed + referenced)
    trunk_names: dict[str, str] = field(default_factory=dict)  # every trunk: id -> name
    sites: dict[str, Json] = field(default_factory=dict)  # name -> Site (the needed ones that exist)
    plans: dict[str, list[Json]] = field(default_factory=dict)  # site id -> number plans, in order
    routes: dict[str, list[Json]] = field(default_factory=dict)  # site id -> outbound routes

    def trunk(self, name: str) -> Json | None:
        return self.trunks.get(name.casefold())

    def site(self, name: str) -> Json | None:
        return self.sites.get(name.casefold())

    def trunk_id(self, name: str) -> str | None:
        found = self.trunk(name)
        if found is not None:
            return str(found["id"])
        wanted = name.casefold()
        return next((tid for tid, each in self.trunk_names.items() if each.casefold() == wanted), None)


def needed_sites(org: Org) -> list[str]:
    """Sites provisioning touches or points at: plans/managed routes/Caller ID, and managed trunks' sites."""
    names: list[str] = []
    for site in org.sites:
        if site.number_plans or managed_routes(org, site) or managed_site_caller(site) is not None:
            names.append(site.name)
    for trunk in managed_trunks(org):
        names.append(org.site_for_trunk(trunk.name).name)
        if trunk.site is not None:
            names.append(trunk.site)
    return list(dict.fromkeys(names))


def _referenced_trunks(org: Org) -> list[str]:
    names = [trunk.name for trunk in managed_trunks(org)] + [org.pstn.trunk]
    for site in org.sites:
        for route in managed_routes(org, site):
            names += route.external_trunks
    return list(dict.fromkeys(names))


def read_snapshot(client: PlatformClient, org: Org) -> Snapshot:
    """GET everything :func:`takeback.provision.planner.make_plan` needs (no writes)."""
    snapshot = Snapshot(host=client.host)
    if managed_trunks(org):
        snapshot.template = client.trunk_template(BYOC_METABASE)
    listed = client.list_trunks()
    snapshot.trunk_names = {str(each["id"]): str(each.get("name", "")) for each in listed if each.get("id")}
    wanted = {name.casefold() for name in _referenced_trunks(org)}
    for each in listed:
        name = str(each.get("name", ""))
        if name.casefold() in wanted and each.get("state", "active") != "deleted":
            snapshot.trunks[name.casefold()] = client.get_trunk(str(each["id"]))
    needed = {name.casefold() for name in needed_sites(org)}
    for site in client.list_sites():
        name = str(site.get("name", ""))
        if name.casefold() in needed and name.casefold() not in snapshot.sites:
            snapshot.sites[name.casefold()] = site
    for site in snapshot.sites.values():
        site_id, site_name = str(site["id"]), str(site["name"])
        snapshot.plans[site_id] = client.number_plans(site_id, site_name)
        snapshot.routes[site_id] = client.outbound_routes(site_id, site_name)
    return snapshot
