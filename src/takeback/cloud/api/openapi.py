"""The OpenAPI 3.1 document of what the emulator implements (``GET /api/v2/openapi.json``).

Written by hand next to the handlers rather than derived from them, so it states the contract the
SDK relies on (paths, parameter names, required members, ErrorBody) and schemathesis can hold the
server to it: every documented request that the schema allows gets a documented status and a response
that matches its schema. Request schemas list only the members the server reads; any other member is
allowed and ignored, as the SDK sends whole models (``dateCreated``, ``selfUri`` …) on PUT.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

__all__ = ["openapi_document"]

Schema = dict[str, Any]

_STR: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_BOOL: Schema = {"type": "boolean"}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: tuple[str, ...] = (), **members: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": members}
    if required:
        schema["required"] = list(required)
    return schema


def _nullable(schema: Schema) -> Schema:
    """``schema`` or ``null``: the server reads an explicit ``null`` as an absent member."""
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _req(required: tuple[str, ...] = (), **members: Schema) -> Schema:
    """A request object: members outside ``required`` may also be ``null``."""
    return _obj(required, **{k: v if k in required else _nullable(v) for k, v in members.items()})


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def _listing(entity: str) -> Schema:
    return _obj(
        ("entities", "pageSize", "pageNumber", "total", "pageCount", "firstUri", "selfUri", "lastUri"),
        entities=_array(_ref(entity)),
        pageSize=_INT,
        pageNumber=_INT,
        total=_INT,
        pageCount=_INT,
        firstUri=_STR,
        selfUri=_STR,
        lastUri=_STR,
        nextUri=_STR,
        previousUri=_STR,
    )


_ENTITY_REQUIRED = ("id", "name", "version", "dateCreated", "dateModified", "state", "selfUri")
_ENTITY_FIELDS: dict[str, Schema] = {
    "id": _STR,
    "name": _STR,
    "description": _STR,
    "version": _INT,
    "dateCreated": {"type": "string", "format": "date-time"},
    "dateModified": {"type": "string", "format": "date-time"},
    "state": {"type": "string", "enum": ["active", "inactive", "deleted"]},
    "selfUri": _STR,
}
_REF_IN: Schema = _req(("id",), id=_STR)
_RANGE: Schema = _obj(("start", "end"), start=_STR, end=_STR)
_MATCH_TYPES = [
    "e164NumberList",
    "numberList",
    "digitLength",
    "regex",
    "intraCountryCode",
    "interCountryCode",
]

_SEGMENT: Schema = _obj(
    ("segmentType", "segmentStart"),
    segmentType=_STR,
    segmentStart={"type": "string", "format": "date-time"},
    segmentEnd={"type": "string", "format": "date-time"},
    disconnectType=_STR,
    sipResponseCodes=_array(_INT),
    q850ResponseCodes=_array(_INT),
)
_SESSION: Schema = _obj(
    ("sessionId", "direction", "mediaType"),
    sessionId=_STR,
    direction={"type": "string", "enum": ["inbound", "outbound"]},
    mediaType=_STR,
    ani=_STR,
    dnis=_STR,
    sessionDnis=_STR,
    protocolCallId=_STR,
    peerId=_STR,
    provider=_STR,
    remote=_STR,
    edgeId=_STR,
    flow=_obj(("flowName",), flowName=_STR, flowType=_STR, flowId=_STR, transferType=_STR),
    segments=_array(_SEGMENT),
)
_PREDICATE: Schema = _req(
    ("dimension",),
    type={"type": "string", "enum": ["dimension"]},
    dimension=_STR,
    operator={"type": "string", "enum": ["matches", "exists", "notExists"]},
    value=_STR,
)
_CLAUSE: Schema = _req(
    ("type",), type={"type": "string", "enum": ["and", "or"]}, predicates=_array(_PREDICATE)
)
_FILTER: Schema = _req(
    ("type",),
    type={"type": "string", "enum": ["and", "or"]},
    predicates=_array(_PREDICATE),
    clauses=_array(_CLAUSE),
)

SCHEMAS: dict[str, Schema] = {
    "ErrorBody": _obj(
        ("message", "code", "status", "contextId", "details", "errors"),
        message=_STR,
        code=_STR,
        status=_INT,
        contextId=_STR,
        entityId=_STR,
        entityName=_STR,
        details=_array(_obj(("errorCode", "fieldName"), errorCode=_STR, fieldName=_STR, message=_STR)),
        errors=_array({"type": "object"}),
        limit=_obj(("key", "namespace", "value"), key=_STR, namespace=_STR, value=_INT),
    ),
    "OAuthError": _obj(("error",), error=_STR, description=_STR, error_description=_STR),
    "TokenResponse": _obj(
        ("access_token", "token_type", "expires_in"),
        access_token=_STR,
        token_type={"type": "string", "enum": ["bearer"]},
        expires_in=_INT,
    ),
    "DomainEntityRef": _obj(("id",), id=_STR, name=_STR, selfUri=_STR),
    "Property": {
        "type": "object",
        "required": ["value"],
        "properties": {
            "type": _STR,
            "value": {"type": "object", "properties": {"default": {}, "instance": {}}},
        },
    },
    "TrunkBase": _obj(
        (*_ENTITY_REQUIRED, "trunkMetabase", "properties", "trunkType", "managed", "site"),
        **_ENTITY_FIELDS,
        division=_ref("DomainEntityRef"),
        trunkMetabase=_ref("DomainEntityRef"),
        properties={"type": "object", "additionalProperties": _ref("Property")},
        trunkType={"type": "string", "enum": ["EXTERNAL", "PHONE", "EDGE"]},
        managed=_BOOL,
        site=_ref("DomainEntityRef"),
        inboundSite=_ref("DomainEntityRef"),
    ),
    "TrunkBaseTemplate": _obj(
        ("name", "state", "trunkMetabase", "properties", "trunkType"),
        name=_STR,
        state=_STR,
        trunkMetabase=_ref("DomainEntityRef"),
        properties={"type": "object", "additionalProperties": _ref("Property")},
        trunkType=_STR,
        managed=_BOOL,
    ),
    "TrunkBaseRequest": _req(
        ("name", "trunkMetabase"),
        name=_STR,
        description=_STR,
        version=_INT,
        trunkMetabase=_REF_IN,
        trunkType={"type": "string", "enum": ["EXTERNAL"]},
        properties={"type": "object", "additionalProperties": _obj(("value",), value={"type": "object"})},
        site=_REF_IN,
        inboundSite=_REF_IN,
    ),
    "Metabase": _obj(("id", "name"), id=_STR, name=_STR, type=_STR, selfUri=_STR),
    "Site": _obj(
        (*_ENTITY_REQUIRED, "mediaModel", "managed"),
        **_ENTITY_FIELDS,
        division=_ref("DomainEntityRef"),
        primarySites=_array(_ref("DomainEntityRef")),
        secondarySites=_array(_ref("DomainEntityRef")),
        managed=_BOOL,
        mediaModel={"type": "string", "enum": ["Cloud", "Premises"]},
        coreSite=_BOOL,
        callerId=_STR,
        callerName=_STR,
    ),
    "SiteRequest": _req(
        ("name",),
        name=_STR,
        description=_STR,
        version=_INT,
        mediaModel={"type": "string", "enum": ["Cloud"]},
        callerId=_STR,
        callerName=_STR,
    ),
    "NumberPlan": _obj(
        (*_ENTITY_REQUIRED, "matchType", "classification", "priority"),
        **_ENTITY_FIELDS,
        matchType={"type": "string", "enum": _MATCH_TYPES},
        classification=_STR,
        priority=_INT,
        numbers=_array(_RANGE),
        digitLength=_RANGE,
        match=_STR,
        normalizedFormat=_STR,
    ),
    "NumberPlanRequest": _req(
        ("name", "matchType", "classification"),
        id=_STR,
        name=_STR,
        matchType={"type": "string", "enum": _MATCH_TYPES},
        classification=_STR,
        numbers=_array(_req(("start",), start=_STR, end=_STR)),
        digitLength=_req(("start", "end"), start=_STR, end=_STR),
        match=_STR,
        normalizedFormat=_STR,
    ),
    "OutboundRouteBase": _obj(
        (*_ENTITY_REQUIRED, "classificationTypes", "enabled", "distribution", "externalTrunkBases"),
        **_ENTITY_FIELDS,
        classificationTypes=_array(_STR),
        enabled=_BOOL,
        distribution={"type": "string", "enum": ["SEQUENTIAL", "RANDOM"]},
        externalTrunkBases=_array(_ref("DomainEntityRef")),
        managed=_BOOL,
    ),
    "OutboundRouteBaseRequest": _req(
        ("name",),
        name=_STR,
        description=_STR,
        version=_INT,
        classificationTypes=_array(_STR),
        enabled=_BOOL,
        distribution=_STR,
        externalTrunkBases=_array(_REF_IN),
    ),
    "AnalyticsConversation": _obj(
        ("conversationId", "conversationStart"),
        conversationId=_STR,
        conversationStart={"type": "string", "format": "date-time"},
        conversationEnd={"type": "string", "format": "date-time"},
        originatingDirection={"type": "string", "enum": ["inbound", "outbound"]},
        divisionIds=_array(_STR),
        participants=_array(
            _obj(
                ("participantId", "purpose"),
                participantId=_STR,
                purpose=_STR,
                participantName=_STR,
                sessions=_array(_SESSION),
            )
        ),
    ),
    "ConversationQuery": _req(
        ("interval",),
        interval=_STR,
        order={"type": "string", "enum": ["asc", "desc", "unordered"]},
        orderBy={
            "type": "string",
            "enum": ["conversationStart", "conversationEnd", "segmentStart", "segmentEnd"],
        },
        paging=_req(
            pageSize={"type": "integer", "minimum": 1, "maximum": 100},
            pageNumber={"type": "integer", "minimum": 1},
        ),
        conversationFilters=_array(_FILTER),
        segmentFilters=_array(_FILTER),
    ),
    "AnalyticsConversationQueryResponse": _obj(
        ("totalHits",), totalHits=_INT, conversations=_array(_ref("AnalyticsConversation"))
    ),
    "AnalyticsConversationMultiGetResponse": _obj(
        ("conversations",), conversations=_array(_ref("AnalyticsConversation"))
    ),
}

for _name in ("TrunkBase", "TrunkMetabase", "Site", "OutboundRouteBase"):
    SCHEMAS[f"{_name}EntityListing"] = _listing("Metabase" if _name == "TrunkMetabase" else _name)


# ----- operations -----


def _param(
    name: str, where: str, schema: Schema, *, required: bool = False, style: str | None = None
) -> Schema:
    param: Schema = {"name": name, "in": where, "required": required or where == "path", "schema": schema}
    if style is not None:
        param.update({"style": style, "explode": False})
    return param


def _path(name: str) -> Schema:
    return _param(name, "path", _STR)


_PAGE_SIZE = _param("pageSize", "query", {"type": "integer", "minimum": 1, "maximum": 500})
_PAGE_NUMBER = _param("pageNumber", "query", {"type": "integer", "minimum": 1, "maximum": 1000000})
_SORT_ORDER = _param("sortOrder", "query", {"type": "string", "enum": ["ASC", "DESC", "asc", "desc"]})
_NAME = _param("name", "query", _STR)


def _response(description: str, schema: Schema | None) -> Schema:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    operation_id: str,
    summary: str,
    ok: Schema | None,
    *,
    params: tuple[Schema, ...] = (),
    body: Schema | None = None,
    example: Any = None,
    errors: tuple[int, ...] = (400, 401),
    ok_status: str = "200",
) -> Schema:
    responses: Schema = {ok_status: _response("OK" if ok is not None else "No content", ok)}
    for status in errors:
        responses[str(status)] = _response("Error", _ref("ErrorBody"))
    operation: Schema = {"operationId": operation_id, "summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        media: Schema = {"schema": body}
        if example is not None:
            media["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    return operation


_QUERY_EXAMPLE = {
    "interval": "2026-01-05T00:00:00.000Z/2026-01-06T00:00:00.000Z",
    "order": "asc",
    "orderBy": "conversationStart",
    "paging": {"pageSize": 25, "pageNumber": 1},
    "segmentFilters": [
        {
            "type": "and",
            "predicates": [
                {"type": "dimension", "dimension": "protocolCallId", "operator": "matches", "value": "call-1"}
            ],
        }
    ],
}
_PLANS_EXAMPLE = [
    {
        "name": "Device E164",
        "matchType": "e164NumberList",
        "classification": "E164ToExternalDevice",
        "numbers": [{"start": "+19999990001", "end": "+19999990001"}],
    },
    {
        "name": "Device short",
        "matchType": "numberList",
        "classification": "ShortNumberToExternalDevice",
        "numbers": [{"start": "9991", "end": "9992"}],
    },
]


_EDGES = "/api/v2/telephony/providers/edges"
_TRUNK = f"{_EDGES}/trunkbasesettings/{{trunkBaseSettingsId}}"
_SITE = f"{_EDGES}/sites/{{siteId}}"
_ROUTE = f"{_SITE}/outboundroutes/{{outboundRouteId}}"


def _telephony_paths() -> dict[str, Schema]:
    trunk_id = _path("trunkBaseSettingsId")
    ignore_hidden = _param("ignoreHidden", "query", _BOOL)
    return {
        f"{_EDGES}/trunkbasesettings": {
            "get": _op(
                "getTrunkBaseSettings",
                "List trunk base settings",
                _ref("TrunkBaseEntityListing"),
                params=(
                    _PAGE_NUMBER,
                    _PAGE_SIZE,
                    _param("sortBy", "query", _STR),
                    _SORT_ORDER,
                    _param("recordingEnabled", "query", _BOOL),
                    ignore_hidden,
                    _param("managed", "query", _BOOL),
                    _NAME,
                ),
            ),
            "post": _op(
                "postTrunkBaseSettings",
                "Create a trunk base settings object",
                _ref("TrunkBase"),
                body=_ref("TrunkBaseRequest"),
                errors=(400, 401, 404),
            ),
        },
        f"{_EDGES}/trunkbasesettings/template": {
            "get": _op(
                "getTrunkBaseSettingsTemplate",
                "A trunk base settings template for a metabase",
                _ref("TrunkBaseTemplate"),
                params=(_param("trunkMetabaseId", "query", _STR, required=True),),
                errors=(400, 401, 404),
            )
        },
        f"{_EDGES}/trunkbasesettings/availablemetabases": {
            "get": _op(
                "getTrunkBaseSettingsAvailableMetabases",
                "Trunk metabases",
                _ref("TrunkMetabaseEntityListing"),
                params=(
                    _param("type", "query", {"type": "string", "enum": ["EXTERNAL", "PHONE", "EDGE"]}),
                    _PAGE_SIZE,
                    _PAGE_NUMBER,
                ),
            )
        },
        **_trunk_paths(trunk_id, ignore_hidden),
        **_site_paths(),
        **_plan_paths(),
        **_route_paths(),
    }


def _site_paths() -> dict[str, Schema]:
    site_id = _path("siteId")
    return {
        f"{_EDGES}/sites": {
            "get": _op(
                "getSites",
                "List sites",
                _ref("SiteEntityListing"),
                params=(
                    _PAGE_SIZE,
                    _PAGE_NUMBER,
                    _param("sortBy", "query", _STR),
                    _SORT_ORDER,
                    _NAME,
                    _param("location.id", "query", _STR),
                    _param("managed", "query", _BOOL),
                ),
            ),
            "post": _op(
                "postSites",
                "Create a site",
                _ref("Site"),
                body=_ref("SiteRequest"),
                example={"name": "Paris", "description": "a second site", "mediaModel": "Cloud"},
            ),
        },
        _SITE: {
            "get": _op("getSite", "Get a site", _ref("Site"), params=(site_id,), errors=(401, 404)),
            "put": _op(
                "putSite",
                "Update a site's description and outbound Caller ID / Caller Name (version-checked)",
                _ref("Site"),
                params=(site_id,),
                body=_ref("SiteRequest"),
                errors=(400, 401, 404, 409),
            ),
        },
    }


def _trunk_paths(trunk_id: Schema, ignore_hidden: Schema) -> dict[str, Schema]:
    return {
        _TRUNK: {
            "get": _op(
                "getTrunkBaseSetting",
                "Get a trunk base settings object",
                _ref("TrunkBase"),
                params=(trunk_id, ignore_hidden),
                errors=(400, 401, 404),
            ),
            "put": _op(
                "putTrunkBaseSetting",
                "Update a trunk base settings object (version-checked)",
                _ref("TrunkBase"),
                params=(trunk_id,),
                body=_ref("TrunkBaseRequest"),
                errors=(400, 401, 404, 409),
            ),
            "delete": _op(
                "deleteTrunkBaseSetting",
                "Delete a trunk base settings object",
                None,
                params=(trunk_id,),
                errors=(400, 401, 404),
                ok_status="204",
            ),
        },
    }


def _plan_paths() -> dict[str, Schema]:
    site_id = _path("siteId")
    return {
        f"{_SITE}/numberplans": {
            "get": _op(
                "getSiteNumberPlans",
                "The site's number plans, in evaluation order",
                _array(_ref("NumberPlan")),
                params=(site_id,),
                errors=(401, 404),
            ),
            "put": _op(
                "putSiteNumberPlans",
                "Replace the site's whole ordered list of number plans (at most 200)",
                _array(_ref("NumberPlan")),
                params=(site_id,),
                body=_array(_ref("NumberPlanRequest")),
                example=_PLANS_EXAMPLE,
                errors=(400, 401, 404),
            ),
        },
        f"{_SITE}/numberplans/classifications": {
            "get": _op(
                "getSiteNumberPlansClassifications",
                "The site's classifications",
                _array(_STR),
                params=(site_id, _param("classification", "query", _STR)),
                errors=(401, 404),
            )
        },
        f"{_SITE}/numberplans/{{numberPlanId}}": {
            "get": _op(
                "getSiteNumberPlan",
                "Get one number plan",
                _ref("NumberPlan"),
                params=(site_id, _path("numberPlanId")),
                errors=(401, 404),
            )
        },
    }


def _route_paths() -> dict[str, Schema]:
    site_id, route_id = _path("siteId"), _path("outboundRouteId")
    return {
        f"{_SITE}/outboundroutes": {
            "get": _op(
                "getSiteOutboundRoutes",
                "List the site's outbound routes",
                _ref("OutboundRouteBaseEntityListing"),
                params=(
                    site_id,
                    _PAGE_SIZE,
                    _PAGE_NUMBER,
                    _NAME,
                    _param("externalTrunkBases.ids", "query", _STR),
                    _param("sortBy", "query", _STR),
                ),
                errors=(400, 401, 404),
            ),
            "post": _op(
                "postSiteOutboundRoutes",
                "Create an outbound route",
                _ref("OutboundRouteBase"),
                params=(site_id,),
                body=_ref("OutboundRouteBaseRequest"),
                errors=(400, 401, 404),
            ),
        },
        _ROUTE: {
            "get": _op(
                "getSiteOutboundRoute",
                "Get an outbound route",
                _ref("OutboundRouteBase"),
                params=(site_id, route_id),
                errors=(401, 404),
            ),
            "put": _op(
                "putSiteOutboundRoute",
                "Update an outbound route (version-checked)",
                _ref("OutboundRouteBase"),
                params=(site_id, route_id),
                body=_ref("OutboundRouteBaseRequest"),
                errors=(400, 401, 404, 409),
            ),
            "delete": _op(
                "deleteSiteOutboundRoute",
                "Delete an outbound route",
                None,
                params=(site_id, route_id),
                errors=(401, 404),
                ok_status="204",
            ),
        },
    }


def _analytics_paths() -> dict[str, Schema]:
    base = "/api/v2/analytics/conversations"
    return {
        f"{base}/{{conversationId}}/details": {
            "get": _op(
                "getAnalyticsConversationDetails",
                "A conversation's details",
                _ref("AnalyticsConversation"),
                params=(_path("conversationId"),),
                errors=(401, 404),
            )
        },
        f"{base}/details": {
            "get": _op(
                "getAnalyticsConversationsDetails",
                "Several conversations' details",
                _ref("AnalyticsConversationMultiGetResponse"),
                params=(_param("id", "query", _array(_STR, minItems=1), required=True, style="form"),),
            )
        },
        f"{base}/details/query": {
            "post": _op(
                "postAnalyticsConversationsDetailsQuery",
                "Query conversation details (segment filter on protocolCallId)",
                _ref("AnalyticsConversationQueryResponse"),
                body=_ref("ConversationQuery"),
                example=_QUERY_EXAMPLE,
            )
        },
    }


def _oauth_path() -> dict[str, Schema]:
    form = _obj(
        ("grant_type",),
        grant_type={"type": "string", "enum": ["client_credentials"]},
        client_id=_STR,
        client_secret=_STR,
    )
    oauth_error = _response("OAuth error (RFC 6749 §5.2)", _ref("OAuthError"))
    return {
        "/oauth/token": {
            "post": {
                "operationId": "postOAuthToken",
                "summary": "Client-credentials grant",
                "security": [{"basicAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": form}},
                },
                "responses": {
                    "200": _response("A bearer token", _ref("TokenResponse")),
                    "400": oauth_error,
                    "401": oauth_error,
                },
            }
        }
    }


@cache
def _document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "takeback Genesys Cloud emulator: Platform API subset",
            "version": "1.0.0",
            "description": "The endpoints of GENESYS.md §9 that the emulator serves, same shapes as the "
            "Platform API so the official SDK works unchanged.",
        },
        "paths": {**_oauth_path(), **_telephony_paths(), **_analytics_paths()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"bearerAuth": []}],
    }


def openapi_document() -> Schema:
    """A fresh copy of the document (callers may change it)."""
    return copy.deepcopy(_document())
