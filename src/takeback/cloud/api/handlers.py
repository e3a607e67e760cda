"""The Platform API routes: HTTP in, calls into the pure endpoint modules, JSON out (GENESYS.md §9.1).

Each handler only reads the request (path, query, JSON body) and writes the response; the rules live in
:mod:`.trunks`, :mod:`.sites`, :mod:`.plans`, :mod:`.routes`, :mod:`.analytics`, which raise
:class:`ApiError` for the middleware to render. Static paths are registered before the ``{id}`` paths
they would otherwise be taken for (``…/template``, ``…/numberplans/classifications``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import analytics, plans, routes, sites, trunks
from .auth import OAuthError, parse_basic
from .context import CONVERSATIONS, SETTINGS, STATE, TOKENS
from .entities import EDGES
from .errors import bad_request
from .openapi import openapi_document
from .params import Query

__all__ = ["OPENAPI_PATH", "api_routes"]

OPENAPI_PATH = "/api/v2/openapi.json"
_TRUNKS = f"{EDGES}/trunkbasesettings"
_SITE = f"{EDGES}/sites/{{siteId}}"
_ANALYTICS = "/api/v2/analytics/conversations"
# An id segment never takes the name of a static sibling path, so ``PUT …/template`` is a 405 that
# allows GET, not an attempt to update a trunk called "template".
_TRUNK_ID = "{trunkBaseSettingsId:(?!template$|availablemetabases$)[^/]+}"
_PLAN_ID = "{numberPlanId:(?!classifications$)[^/]+}"
_FORM = "application/x-www-form-urlencoded"

api_routes = web.RouteTableDef()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


async def _body(request: web.Request) -> Any:
    """The JSON body, or a 400 (an empty or undecodable body is malformed syntax)."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "The request could not be understood by the server due to malformed syntax: the body is not JSON",
            field="body",
        ) from None


def _query(request: web.Request) -> Query:
    return Query(request.query, request.query.getall)


# ----- OAuth and the document -----


@api_routes.post("/oauth/token")
async def oauth_token(request: web.Request) -> web.Response:
    if request.content_type != _FORM:  # RFC 6749 §4.4.2: the token request is form-encoded
        error = OAuthError(400, "invalid_request", f"the token request must be {_FORM}")
        return web.json_response(error.to_json(), status=400)
    form = await request.post()
    grant = form.get("grant_type")
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    form_credentials = (
        (form_id, form_secret) if isinstance(form_id, str) and isinstance(form_secret, str) else None
    )
    try:
        token = request.config_dict[TOKENS].issue(
            grant if isinstance(grant, str) else None,
            parse_basic(request.headers.get("Authorization")),
            form_credentials,
            lifetime_s=request.config_dict[STATE].policies.oauth_expires_in_s,
        )
    except OAuthError as exc:
        headers = {"WWW-Authenticate": 'Basic realm="takeback"'} if exc.status == 401 else None
        return web.json_response(exc.to_json(), status=exc.status, headers=headers)
    return web.json_response(token.to_json(), headers={"Cache-Control": "no-store"})


@api_routes.get(OPENAPI_PATH)
async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document())


# ----- trunk base settings -----


@api_routes.get(f"{_TRUNKS}/template")
async def trunk_template(request: web.Request) -> web.Response:
    return _json(trunks.template(request.query.get("trunkMetabaseId")))


@api_routes.get(f"{_TRUNKS}/availablemetabases")
async def trunk_metabases(request: web.Request) -> web.Response:
    return _json(trunks.available_metabases(_query(request)))


@api_routes.get(_TRUNKS)
async def trunk_list(request: web.Request) -> web.Response:
    return _json(trunks.list_trunks(request.config_dict[STATE], _query(request)))


@api_routes.post(_TRUNKS)
async def trunk_create(request: web.Request) -> web.Response:
    return _json(trunks.create_trunk(request.config_dict[STATE], await _body(request)))


@api_routes.get(f"{_TRUNKS}/{_TRUNK_ID}")
async def trunk_get(request: web.Request) -> web.Response:
    ignore_hidden = bool(_query(request).boolean("ignoreHidden"))
    trunk_id = request.match_info["trunkBaseSettingsId"]
    return _json(trunks.get_trunk(request.config_dict[STATE], trunk_id, ignore_hidden=ignore_hidden))


@api_routes.put(f"{_TRUNKS}/{_TRUNK_ID}")
async def trunk_update(request: web.Request) -> web.Response:
    trunk_id = request.match_info["trunkBaseSettingsId"]
    return _json(trunks.update_trunk(request.config_dict[STATE], trunk_id, await _body(request)))


@api_routes.delete(f"{_TRUNKS}/{_TRUNK_ID}")
async def trunk_delete(request: web.Request) -> web.Response:
    trunk_id = request.match_info["trunkBaseSettingsId"]
    deleted_reads = request.config_dict[SETTINGS].deleted_reads
    trunks.delete_trunk(request.config_dict[STATE], trunk_id, deleted_reads=deleted_reads)
    return web.Response(status=204)


# ----- sites, number plans, outbound routes -----


@api_routes.get(f"{EDGES}/sites")
async def site_list(request: web.Request) -> web.Response:
    return _json(sites.list_sites(request.config_dict[STATE], _query(request)))


@api_routes.post(f"{EDGES}/sites")
async def site_create(request: web.Request) -> web.Response:
    default_route = request.config_dict[SETTINGS].default_outbound_route
    state = request.config_dict[STATE]
    return _json(sites.create_site(state, await _body(request), default_outbound_route=default_route))


@api_routes.get(_SITE)
async def site_get(request: web.Request) -> web.Response:
    return _json(sites.get_site(request.config_dict[STATE], request.match_info["siteId"]))


@api_routes.put(_SITE)
async def site_update(request: web.Request) -> web.Response:
    state, site_id = request.config_dict[STATE], request.match_info["siteId"]
    return _json(sites.update_site(state, site_id, await _body(request)))


@api_routes.get(f"{_SITE}/numberplans/classifications")
async def plan_classifications(request: web.Request) -> web.Response:
    state, site_id = request.config_dict[STATE], request.match_info["siteId"]
    return _json(plans.classifications(state, site_id, request.query.get("classification")))


@api_routes.get(f"{_SITE}/numberplans")
async def plan_list(request: web.Request) -> web.Response:
    return _json(plans.list_plans(request.config_dict[STATE], request.match_info["siteId"]))


@api_routes.put(f"{_SITE}/numberplans")
async def plan_replace(request: web.Request) -> web.Response:
    state, site_id = request.config_dict[STATE], request.match_info["siteId"]
    return _json(plans.replace_plans(state, site_id, await _body(request)))


@api_routes.get(f"{_SITE}/numberplans/{_PLAN_ID}")
async def plan_get(request: web.Request) -> web.Response:
    state, info = request.config_dict[STATE], request.match_info
    return _json(plans.get_plan(state, info["siteId"], info["numberPlanId"]))


@api_routes.get(f"{_SITE}/outboundroutes")
async def route_list(request: web.Request) -> web.Response:
    state, site_id = request.config_dict[STATE], request.match_info["siteId"]
    return _json(routes.list_routes(state, site_id, _query(request)))


@api_routes.post(f"{_SITE}/outboundroutes")
async def route_create(request: web.Request) -> web.Response:
    state, site_id = request.config_dict[STATE], request.match_info["siteId"]
    return _json(routes.create_route(state, site_id, await _body(request)))


@api_routes.get(f"{_SITE}/outboundroutes/{{outboundRouteId}}")
async def route_get(request: web.Request) -> web.Response:
    state, info = request.config_dict[STATE], request.match_info
    return _json(routes.get_route(state, info["siteId"], info["outboundRouteId"]))


@api_routes.put(f"{_SITE}/outboundroutes/{{outboundRouteId}}")
async def route_update(request: web.Request) -> web.Response:
    state, info = request.config_dict[STATE], request.match_info
    body = await _body(request)
    return _json(routes.update_route(state, info["siteId"], info["outboundRouteId"], body))


@api_routes.delete(f"{_SITE}/outboundroutes/{{outboundRouteId}}")
async def route_delete(request: web.Request) -> web.Response:
    state, info = request.config_dict[STATE], request.match_info
    routes.delete_route(state, info["siteId"], info["outboundRouteId"])
    return web.Response(status=204)


# ----- analytics -----


@api_routes.post(f"{_ANALYTICS}/details/query")
async def details_query(request: web.Request) -> web.Response:
    max_days = request.config_dict[STATE].policies.analytics_max_interval_days
    query = analytics.parse_query(await _body(request), max_interval_days=max_days)
    return _json(analytics.run_query(request.config_dict[CONVERSATIONS], query))


@api_routes.get(f"{_ANALYTICS}/details")
async def details_multi_get(request: web.Request) -> web.Response:
    return _json(analytics.multi_get(request.config_dict[CONVERSATIONS], _query(request).strings("id")))


@api_routes.get(f"{_ANALYTICS}/{{conversationId}}/details")
async def details_get(request: web.Request) -> web.Response:
    store = request.config_dict[CONVERSATIONS]
    return _json(analytics.conversation_details(store, request.match_info["conversationId"]))
