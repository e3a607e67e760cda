"""Plain HTTP: OAuth, 401s and the ErrorBody shape of every kind of failure (GENESYS.md §2.1, §9, §11.9)."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse, ClientSession

from takeback.cloud.api import OPENAPI_PATH, TokenIssuer
from takeback.cloud.api.errors import ApiError

from .harness import EDGES, Emulator, basic, bearer

ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}


async def _error(reply: ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status
    assert reply.content_type == "application/json"
    body = await reply.json()
    assert set(body) >= ERROR_KEYS and body["status"] == status and body["code"] == code
    assert reply.headers["ININ-Correlation-Id"] == body["contextId"]
    return dict(body)


async def test_token_grant(http: ClientSession) -> None:
    form = {"grant_type": "client_credentials"}
    async with http.post("/oauth/token", data=form, headers=basic()) as reply:
        assert reply.status == 200
        body = await reply.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399 and len(body["access_token"]) > 20


async def test_token_errors(http: ClientSession) -> None:
    grant = {"grant_type": "client_credentials"}
    async with http.post("/oauth/token", data=grant, headers=basic(secret="wrong")) as reply:
        assert reply.status == 401 and (await reply.json())["error"] == "invalid_client"
    async with http.post("/oauth/token", data=grant) as reply:
        assert reply.status == 401 and (await reply.json())["error"] == "invalid_client"
    async with http.post("/oauth/token", data={"grant_type": "password"}, headers=basic()) as reply:
        assert reply.status == 400 and (await reply.json())["error"] == "unsupported_grant_type"
    async with http.post("/oauth/token", data={}, headers=basic()) as reply:
        assert reply.status == 400 and (await reply.json())["error"] == "invalid_request"
    form = {**grant, "client_id": "test-client", "client_secret": "test-secret"}  # RFC 6749 §2.3.1
    async with http.post("/oauth/token", data=form) as reply:
        assert reply.status == 200


async def test_api_needs_a_bearer_token(http: ClientSession) -> None:
    async with http.get(f"{EDGES}/sites") as reply:
        body = await _error(reply, 401, "authentication.required")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bearer token" in body["message"]
    async with http.get(f"{EDGES}/sites", headers={"Authorization": "Bearer forged"}) as reply:
        await _error(reply, 401, "bad.credentials")
    async with http.get(f"{EDGES}/sites", headers=basic()) as reply:
        await _error(reply, 401, "authentication.required")
    async with http.get(f"{EDGES}/sites", headers=await bearer(http)) as reply:
        assert reply.status == 200


def test_expired_tokens_are_rejected() -> None:
    now = [1000.0]
    issuer = TokenIssuer("id", "secret", clock=lambda: now[0])
    token = issuer.issue("client_credentials", ("id", "secret"), None, lifetime_s=60).access_token
    issuer.check(f"Bearer {token}")
    now[0] += 60
    try:
        issuer.check(f"Bearer {token}")
    except ApiError as exc:
        assert exc.status == 401 and exc.code == "bad.credentials"
    else:
        raise AssertionError("an expired token was accepted")


async def test_openapi_document_is_public(http: ClientSession) -> None:
    async with http.get(OPENAPI_PATH) as reply:
        assert reply.status == 200
        document = await reply.json()
    assert document["openapi"].startswith("3.1")
    assert f"{EDGES}/sites/{{siteId}}/numberplans" in document["paths"]


async def test_error_shapes(http: ClientSession, emulator: Emulator) -> None:
    auth = await bearer(http)
    async with http.get("/api/v2/no/such/thing", headers=auth) as reply:
        await _error(reply, 404, "not.found")
    async with http.patch(f"{EDGES}/trunkbasesettings", headers=auth, json={}) as reply:
        await _error(reply, 405, "method.not.allowed")
        assert "GET" in reply.headers["Allow"]
    async with http.post(f"{EDGES}/sites", headers=auth, data=b"{not json") as reply:
        body = await _error(reply, 400, "bad.request")
    assert body["details"][0]["fieldName"] == "body"
    async with http.post(f"{EDGES}/sites", headers=auth, json=["a list"]) as reply:
        await _error(reply, 400, "bad.request")
    async with http.get(f"{EDGES}/sites", headers=auth, params={"pageSize": "0"}) as reply:
        body = await _error(reply, 400, "bad.request")
    assert body["details"][0]["fieldName"] == "pageSize"
    async with http.get(f"{EDGES}/trunkbasesettings/template", headers=auth) as reply:
        await _error(reply, 400, "bad.request")  # trunkMetabaseId is required
    trunk = emulator.state.trunks.meta_of("PSTNCarrierTrunk")
    async with http.put(f"{EDGES}/trunkbasesettings/{trunk.id}", headers=auth, json={"name": "x"}) as reply:
        body = await _error(reply, 400, "bad.request")  # no version
    assert body["details"][0]["fieldName"] == "version"


async def test_booleans_as_the_sdk_sends_them(http: ClientSession) -> None:
    auth = await bearer(http)
    for value in ("True", "false"):
        async with http.get(f"{EDGES}/trunkbasesettings", headers=auth, params={"managed": value}) as reply:
            assert reply.status == 200
    async with http.get(f"{EDGES}/trunkbasesettings", headers=auth, params={"managed": "yes"}) as reply:
        await _error(reply, 400, "bad.request")


async def test_emulator_prefix_is_mounted_without_auth(http: ClientSession) -> None:
    async with http.get("/emulator/v1/nothing-yet") as reply:
        await _error(reply, 404, "not.found")
