"""The pieces the REST tests share: the emulator under test, the SDK wrapper, plain-HTTP helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import PureCloudPlatformClientV2 as pc
import pytest
from aiohttp import ClientSession, encode_basic_auth
from PureCloudPlatformClientV2.rest import ApiException

from takeback.cloud.api import ApiServer, OrgState
from takeback.cloud.conversations import MemoryConversationStore

T = TypeVar("T")
CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
EDGES = "/api/v2/telephony/providers/edges"
BYOC = "external_sip_pcv_byoc_carrier.json"


@dataclass
class Emulator:
    state: OrgState
    store: MemoryConversationStore
    server: ApiServer

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def site_id(self) -> str:
        return self.state.sites.meta_of("Daly City").id


@dataclass
class Sdk:
    """The official SDK logged in to the emulator; :meth:`call` runs a (blocking) SDK method in a thread."""

    client: pc.api_client.ApiClient
    telephony: pc.TelephonyProvidersEdgeApi
    analytics: pc.AnalyticsApi

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    async def fails(
        self, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        """The status and the ErrorBody of a call that must fail."""
        with pytest.raises(ApiException) as info:
            await self.call(method, *args, **kwargs)
        return int(info.value.status), json.loads(info.value.body)


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """``Authorization: Basic …`` (RFC 7617), as the SDK sends it to ``/oauth/token``."""
    return {"Authorization": encode_basic_auth(client_id, secret)}


async def bearer(http: ClientSession) -> dict[str, str]:
    """``Authorization`` header with a fresh token from ``POST /oauth/token``."""
    async with http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=basic()) as reply:
        assert reply.status == 200
        return {"Authorization": f"Bearer {(await reply.json())['access_token']}"}


def ref(entity_id: str) -> pc.DomainEntityRef:
    value = pc.DomainEntityRef()
    value.id = entity_id
    return value


def instance(entity: Any, key: str) -> Any:
    """``properties[key].value.instance`` of an SDK TrunkBase."""
    return entity.properties[key]["value"]["instance"]


def set_instance(entity: Any, key: str, value: Any) -> None:
    entity.properties.setdefault(key, {"value": {}})["value"]["instance"] = value
