"""Sites over the Platform API: list, get, create (GENESYS.md §8, §9.1, §11 item 2).

A site created through the API is a :class:`Site` of the org model with the default number plans (the
org model appends them, ``Policies.default_number_plans``) and, when ``default_outbound_route`` is on, a
default outbound route: "New sites come with a default outbound route" [DOC PREM, IBM]. Its content is
INFERRED: name "Default Outbound Route", classifications National and International, the org's PSTN
trunk (the org model needs one trunk per route), and **disabled**, so a new site routes nothing until
the route is edited or replaced, which is what Genesys' samples do.

The org model keeps what routing needs (country code and dialing prefixes, default NANP) and the site's
outbound Caller ID / Caller Name (``callerId`` / ``callerName`` [DOC SDK ``Site``], the ``Site`` source of
``trunk_calling_id_priority``, GENESYS.md §3.3); the API's location, edges and media regions are not
modelled: a site is ``mediaModel: "Cloud"``.

``PUT …/sites/{siteId}`` [DOC SDK ``put_telephony_providers_edges_site``] is version-checked like trunks
and routes and updates ``description``, ``callerId`` and ``callerName`` (what provisioning writes); an
absent member keeps its value, an empty string clears it. Renaming a site is not emulated (400): the org
model names sites in trunks and ``default_site``.
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, validate_model
from ..org import OutboundRoute, Site
from .entities import SITES_PATH, division_ref, meta_fields
from .errors import bad_request, check_version, from_config_error
from .params import Body, Query, listing, name_matches
from .state import OrgState, fields_of, rebuild

__all__ = ["DEFAULT_ROUTE_NAME", "create_site", "get_site", "list_sites", "site_entity", "update_site"]

DEFAULT_ROUTE_NAME = "Default Outbound Route"
MAX_PAGE_SIZE = 500


def site_entity(state: OrgState, site: Site) -> dict[str, Any]:
    """The ``Site`` JSON."""
    meta = state.sites.meta_of(site.name)
    body: dict[str, Any] = {
        **meta_fields(meta),
        "division": division_ref(state),
        "primarySites": [],
        "secondarySites": [],
        "managed": False,
        "mediaModel": "Cloud",
        "coreSite": False,
        "selfUri": f"{SITES_PATH}/{meta.id}",
    }
    if site.description:
        body["description"] = site.description
    if site.caller_id:
        body["callerId"] = site.caller_id
    if site.caller_name:
        body["callerName"] = site.caller_name
    return body


def list_sites(state: OrgState, query: Query) -> dict[str, Any]:
    """``GET …/sites``: filters ``name`` (``*`` wildcard) and ``managed`` (no site is managed)."""
    page_size = query.integer("pageSize", 25, low=1, high=MAX_PAGE_SIZE)
    page_number = query.integer("pageNumber", 1, low=1, high=1_000_000)
    descending = query.sort_descending()
    managed = query.boolean("managed")
    name = query.text("name")
    sites = [site for site in state.org.sites if name_matches(name, site.name) and managed is not True]
    sites.sort(key=lambda site: site.name.casefold(), reverse=descending)
    return listing(
        [site_entity(state, site) for site in sites],
        page_number=page_number,
        page_size=page_size,
        path=SITES_PATH,
        query={key: value for key, value in (("name", name),) if value},
    )


def get_site(state: OrgState, site_id: str) -> dict[str, Any]:
    return site_entity(state, state.require_site(site_id))


def create_site(state: OrgState, data: Any, *, default_outbound_route: bool) -> dict[str, Any]:
    """``POST …/sites``: ``name`` required; ``description``, ``callerId``, ``callerName`` kept; the rest of
    ``Site`` is accepted."""
    body = Body(data)
    name = body.required_text("name")
    media_model = body.text("mediaModel")
    if media_model is not None and media_model != "Cloud":
        raise bad_request("mediaModel must be Cloud: the emulator has cloud media only", field="mediaModel")
    routes = []
    if default_outbound_route:
        routes.append(
            OutboundRoute(
                name=DEFAULT_ROUTE_NAME,
                classifications=["National", "International"],
                external_trunks=[state.org.pstn.trunk],
                enabled=False,
                description="created with the site (INFERRED default, GENESYS.md §8.2)",
            )
        )
    try:
        requested: dict[str, Any] = {
            "name": name,
            "description": body.text("description") or "",
            "caller_id": body.text("callerId") or "",
            "caller_name": body.text("callerName") or "",
            "outbound_routes": routes,
        }
        site = validate_model(Site, requested)
    except ConfigError as exc:
        raise from_config_error(exc) from None
    org = state.org
    fields = fields_of(org)
    fields["sites"] = [*org.sites, site]
    state.commit(state.validate(fields, rename=((f"sites[{len(org.sites)}]", "body"),)))
    return site_entity(state, site)


def update_site(state: OrgState, site_id: str, data: Any) -> dict[str, Any]:
    """``PUT …/sites/{siteId}``: version-checked; ``description``, ``callerId``, ``callerName``."""
    current = state.require_site(site_id)
    body = Body(data)
    meta = state.sites.meta_of(current.name)
    check_version(
        body.integer("version"), meta.version, mismatch_status=state.policies.version_mismatch_status,
        entity_id=site_id, entity_name=current.name,
    )  # fmt: skip
    name = body.required_text("name")
    if name != current.name:
        raise bad_request(
            f"renaming site {current.name!r} is not supported by the emulator; send name {current.name!r}",
            field="name",
        )
    media_model = body.text("mediaModel")
    if media_model is not None and media_model != "Cloud":
        raise bad_request("mediaModel must be Cloud: the emulator has cloud media only", field="mediaModel")
    changes = {
        field: body.text(member, default=getattr(current, field)) or ""
        for field, member in (
            ("description", "description"),
            ("caller_id", "callerId"),
            ("caller_name", "callerName"),
        )
    }
    try:
        site = rebuild(current, **changes)
    except ConfigError as exc:
        raise from_config_error(
            exc, rename=(("caller_id", "callerId"), ("caller_name", "callerName"))
        ) from None
    org = state.org
    fields = fields_of(org)
    fields["sites"] = [site if each.name == current.name else each for each in org.sites]
    state.commit(state.validate(fields))
    state.sites.touch(site_id)
    return site_entity(state, site)
