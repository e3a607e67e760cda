"""Site outbound routes over the Platform API (GENESYS.md §8.2, §9.4, §11 item 2).

An ``OutboundRouteBase`` is the org model's :class:`OutboundRoute` with ids: ``classificationTypes`` are
its classifications, ``externalTrunkBases`` its trunks (by id). API defaults differ from org.yaml ones:
``enabled`` is false unless sent (§8.2: "TF default false!"), ``distribution`` is ``SEQUENTIAL``, and an
empty ``distribution`` follows ``Policies.empty_distribution`` (§9.4 UNKNOWN). A classification held by
another route of the site is 400 (``Policies.classification_uniqueness``, §4.1 (4) INFERRED); that rule,
like every other, is the org model's own validation. PUT is version-checked like trunks; members it leaves
out keep their current values.
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, validate_model
from ..org import Org, OutboundRoute, Site
from .entities import meta_fields, route_path, trunk_ref
from .errors import bad_request, check_version, from_config_error, not_found
from .params import Body, Query, listing, name_matches
from .state import Claims, OrgState, fields_of, rebuild

__all__ = ["create_route", "delete_route", "get_route", "list_routes", "route_entity", "update_route"]

MAX_PAGE_SIZE = 500
_API_FIELDS = (("classifications", "classificationTypes"), ("external_trunks", "externalTrunkBases"))


def route_entity(state: OrgState, site_id: str, route: OutboundRoute) -> dict[str, Any]:
    """The ``OutboundRouteBase`` JSON."""
    meta = state.route_registry(site_id).meta_of(route.name)
    body: dict[str, Any] = {
        **meta_fields(meta),
        "classificationTypes": list(route.classifications),
        "enabled": route.enabled,
        "distribution": route.distribution,
        "externalTrunkBases": [trunk_ref(state, name) for name in route.external_trunks],
        "managed": False,
        "selfUri": f"{route_path(site_id)}/{meta.id}",
    }
    if route.description:
        body["description"] = route.description
    return body


def list_routes(state: OrgState, site_id: str, query: Query) -> dict[str, Any]:
    """``GET …/outboundroutes``: filters ``name`` and ``externalTrunkBases.ids`` (any of them)."""
    site = state.require_site(site_id)
    page_size = query.integer("pageSize", 25, low=1, high=MAX_PAGE_SIZE)
    page_number = query.integer("pageNumber", 1, low=1, high=1_000_000)
    name = query.text("name")
    trunk_ids = set(query.strings("externalTrunkBases.ids"))
    routes = [
        route
        for route in site.outbound_routes
        if name_matches(name, route.name)
        and (not trunk_ids or trunk_ids & {state.trunks.meta_of(t).id for t in route.external_trunks})
    ]
    routes.sort(key=lambda route: route.name.casefold())
    return listing(
        [route_entity(state, site_id, route) for route in routes],
        page_number=page_number,
        page_size=page_size,
        path=route_path(site_id),
        query={key: value for key, value in (("name", name),) if value},
    )


def _current(state: OrgState, site: Site, site_id: str, route_id: str) -> OutboundRoute:
    meta = state.route_registry(site_id).get(route_id)
    if meta is None:
        raise not_found("outboundRoute", route_id)
    return next(route for route in site.outbound_routes if route.name == meta.name)


def get_route(state: OrgState, site_id: str, route_id: str) -> dict[str, Any]:
    site = state.require_site(site_id)
    return route_entity(state, site_id, _current(state, site, site_id, route_id))


def create_route(state: OrgState, site_id: str, data: Any) -> dict[str, Any]:
    """``POST …/outboundroutes``."""
    site = state.require_site(site_id)
    route = _route_from_body(state, Body(data), current=None)
    routes = [*site.outbound_routes, route]
    org = _org_with_routes(state, site, routes, index=len(routes) - 1)
    state.commit(org)
    return route_entity(state, site_id, route)


def update_route(state: OrgState, site_id: str, route_id: str, data: Any) -> dict[str, Any]:
    """``PUT …/outboundroutes/{id}``: version-checked."""
    site = state.require_site(site_id)
    current = _current(state, site, site_id, route_id)
    body = Body(data)
    registry = state.route_registry(site_id)
    meta = registry.meta_of(current.name)
    check_version(
        body.integer("version"), meta.version, mismatch_status=state.policies.version_mismatch_status,
        entity_id=route_id, entity_name=current.name,
    )  # fmt: skip
    route = _route_from_body(state, body, current=current)
    index = site.outbound_routes.index(current)
    routes = [route if each is current else each for each in site.outbound_routes]
    org = _org_with_routes(state, site, routes, index=index)
    state.commit(org, Claims(routes={site_id: {route.name: route_id}}))
    registry.touch(route_id)
    return route_entity(state, site_id, route)


def delete_route(state: OrgState, site_id: str, route_id: str) -> None:
    site = state.require_site(site_id)
    current = _current(state, site, site_id, route_id)
    routes = [each for each in site.outbound_routes if each is not current]
    state.commit(_org_with_routes(state, site, routes, index=None))


def _route_from_body(state: OrgState, body: Body, *, current: OutboundRoute | None) -> OutboundRoute:
    distribution = body.text("distribution")
    if distribution is not None and not distribution.strip():
        if state.policies.empty_distribution == "reject":
            raise bad_request("distribution must be SEQUENTIAL or RANDOM", field="distribution")
        distribution = "SEQUENTIAL"
    trunk_names = []
    for index, trunk_id in enumerate(body.ref_ids("externalTrunkBases")):
        meta = state.trunks.get(trunk_id)
        if meta is None:
            field = f"externalTrunkBases[{index}].id"
            raise bad_request(f"{field} {trunk_id!r} is not a trunk of this org", field=field)
        trunk_names.append(meta.name)
    data: dict[str, Any] = {
        "name": body.required_text("name"),
        "classifications": body.strings("classificationTypes", required=current is None),
        "external_trunks": trunk_names,
        "enabled": body.boolean("enabled", current.enabled if current else False),
        "distribution": distribution or (current.distribution if current else "SEQUENTIAL"),
        "description": body.text("description", default=current.description if current else "") or "",
    }
    if current is not None:
        if not body.has("classificationTypes"):
            data["classifications"] = current.classifications
        if not body.has("externalTrunkBases"):
            data["external_trunks"] = current.external_trunks
    try:
        return validate_model(OutboundRoute, data)
    except ConfigError as exc:
        raise from_config_error(exc, rename=_API_FIELDS) from None


def _org_with_routes(state: OrgState, site: Site, routes: list[OutboundRoute], *, index: int | None) -> Org:
    org = state.org
    try:
        new_site = rebuild(site, outbound_routes=routes)
    except ConfigError as exc:
        raise from_config_error(exc) from None
    fields = fields_of(org)
    fields["sites"] = [new_site if each.name == site.name else each for each in org.sites]
    at = f"sites[{org.site_names.index(site.name)}].outbound_routes[{index}]"
    rename = (
        (f"{at}.classifications", "classificationTypes"),
        (f"{at}.external_trunks", "externalTrunkBases"),
        (at, "body"),
    )
    return state.validate(fields, rename=rename if index is not None else ())
