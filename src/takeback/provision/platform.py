"""The Platform API through the official SDK ``purecloudplatformclientv2``: where, who, and one call each.

Why a wrapper at all: the rest of :mod:`takeback.provision` compares and builds the API's own JSON (the
camelCase shapes of GENESYS.md §9), not SDK model objects. Every call here goes through the SDK's API
classes (auth header, URL, serialization, urllib3); responses are turned into that JSON with the SDK's
``ApiClient.sanitize_for_serialization`` and request bodies are JSON dicts, which the SDK serializes as they
are. Nothing here writes HTTP by hand.

* **Where** (GENESYS.md §2.1): ``--region us-east-1`` is looked up in the SDK's ``PureCloudRegionHosts``;
  ``--api URL`` (the emulator) is used verbatim as the client's host. The SDK derives the login host with
  the regex ``//api.`` -> ``//login.``, which does not match ``http://127.0.0.1:PORT``, so the token request
  goes to ``URL/oauth/token`` and one emulator port serves both.
* **Who**: an OAuth client-credentials client from ``GENESYS_CLIENT_ID`` / ``GENESYS_CLIENT_SECRET``. With
  ``--api`` and no environment, the emulator's defaults ``takeback``/``takeback`` are used.
* **Failures**: an :class:`ApiFailure` carries one line (the operation, the status, the ``ErrorBody``
  code and message); an :class:`ProvisionUsageError` is a usage/configuration problem (exit 2).

The SDK is imported lazily (it takes seconds to import), so ``takeback --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "BYOC_METABASE",
    "DEFAULT_EMULATOR_CREDENTIALS",
    "ApiFailure",
    "Credentials",
    "PlatformClient",
    "ProvisionUsageError",
    "connect",
    "region_hosts",
    "resolve_host",
]

BYOC_METABASE = "external_sip_pcv_byoc_carrier.json"  # [DOC PREM/DEVPROV] GENESYS.md §3.1
DEFAULT_EMULATOR_CREDENTIALS = ("takeback", "takeback")  # takeback.cloud.api.ApiSettings defaults
ENV_CLIENT_ID = "GENESYS_CLIENT_ID"
ENV_CLIENT_SECRET = "GENESYS_CLIENT_SECRET"
_PAGE_SIZE = 100
_MAX_PAGES = 100  # 10,000 entities: far beyond any org's trunks, sites or routes
T = TypeVar("T")
Json = dict[str, Any]


class ProvisionUsageError(ValueError):
    """A usage or configuration error (exit 2): printed as one line."""


class ApiFailure(RuntimeError):
    """The Platform API refused or could not be reached (exit 1); ``str()`` is one line."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Credentials:
    """An OAuth client-credentials pair; ``repr`` never shows the secret."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='********')"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, emulator: bool) -> Credentials:
        client_id = environ.get(ENV_CLIENT_ID, "").strip()
        secret = environ.get(ENV_CLIENT_SECRET, "").strip()
        if client_id and secret:
            return cls(client_id, secret)
        if emulator and not client_id and not secret:
            return cls(*DEFAULT_EMULATOR_CREDENTIALS)
        missing = " and ".join(
            name for name, value in ((ENV_CLIENT_ID, client_id), (ENV_CLIENT_SECRET, secret)) if not value
        )
        raise ProvisionUsageError(
            f"set {missing} in the environment (an OAuth client-credentials client of the org)"
        )


def _require_sdk() -> None:
    try:
        import PureCloudPlatformClientV2  # noqa: F401
    except ImportError:
        raise ProvisionUsageError(
            "the official Genesys Cloud SDK is not installed: pip install 'takeback[provision]' "
            "(purecloudplatformclientv2)"
        ) from None


def region_hosts() -> dict[str, str]:
    """AWS region (``us-east-1``) -> API base URL, from the SDK's ``PureCloudRegionHosts`` [DOC SDK]."""
    _require_sdk()
    from PureCloudPlatformClientV2 import PureCloudRegionHosts

    return {member.name.replace("_", "-"): member.get_api_host() for member in PureCloudRegionHosts}


def resolve_host(*, region: str | None, api: str | None) -> tuple[str, bool]:
    """The API base URL and whether it is an explicit ``--api`` URL (the emulator, or a gateway).

    ``--api`` wins over the region; ``HOST:PORT`` without a scheme means ``http://HOST:PORT``.
    """
    if api:
        url = api.strip().rstrip("/")
        if "://" not in url:
            url = f"http://{url}"
        if not re.match(r"^https?://[^/\s]+$", url):
            raise ProvisionUsageError(f"--api must be a URL like http://127.0.0.1:8070, not {api!r}")
        return url, True
    wanted = (region or "us-east-1").strip().lower().replace("_", "-")
    hosts = region_hosts()
    if wanted not in hosts:
        raise ProvisionUsageError(
            f"unknown region {region!r}; Genesys Cloud regions: {', '.join(sorted(hosts))}"
        )
    return hosts[wanted], False


def connect(host: str, credentials: Credentials, *, redact: Callable[[str], str] = str) -> PlatformClient:
    """Log in with client credentials (``POST <login host>/oauth/token``) and return the client."""
    _require_sdk()
    import PureCloudPlatformClientV2 as sdk

    # A user's ~/.genesyscloudpython/config may turn SDK logging on; bodies carry the Digest password.
    # (The SDK redacts the Authorization header itself.)
    logger = sdk.Configuration().logger
    logger.log_request_body = logger.log_response_body = False
    api_client = sdk.api_client.ApiClient(host)
    _call(
        "log in (POST /oauth/token)",
        lambda: api_client.get_client_credentials_token(credentials.client_id, credentials.client_secret),
        redact,
    )
    return PlatformClient(api_client, host, redact)


def _error_line(action: str, exc: BaseException) -> tuple[str, int | None]:
    """One line for an SDK/urllib3 failure: ``<action>: 400 bad.request: <message>``."""
    from PureCloudPlatformClientV2.rest import ApiException

    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        detail = str(exc.reason or "").strip()
        try:
            body = json.loads(exc.body) if exc.body else {}
        except (TypeError, ValueError):
            body = {}
        if isinstance(body, dict) and body.get("message"):
            detail = f"{body.get('code', '')}: {body['message']}".lstrip(": ")
        if status == 0:
            return f"{action}: {detail.splitlines()[-1] if detail else 'connection failed'}", None
        return f"{action}: {status} {detail}".rstrip(), status
    reason = getattr(exc, "reason", None) or exc
    return f"{action}: cannot reach the Platform API ({type(reason).__name__}: {reason})", None


def _call(action: str, function: Callable[[], T], redact: Callable[[str], str]) -> T:
    import urllib3
    from PureCloudPlatformClientV2.rest import ApiException

    try:
        return function()
    except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        message, status = _error_line(action, exc)
        raise ApiFailure(redact(message), status) from None


class PlatformClient:
    """The calls provisioning and correlation need, JSON in and JSON out (module doc)."""

    def __init__(self, api_client: Any, host: str, redact: Callable[[str], str] = str) -> None:
        import PureCloudPlatformClientV2 as sdk

        self.host = host
        self._client = api_client
        self._redact = redact
        self.telephony = sdk.TelephonyProvidersEdgeApi(api_client)
        self.analytics = sdk.AnalyticsApi(api_client)

    def _json(self, action: str, function: Callable[[], Any]) -> Any:
        result = _call(action, function, self._redact)
        return self._client.sanitize_for_serialization(result)

    def _pages(self, action: str, fetch: Callable[[int], Any]) -> Iterator[Json]:
        for page_number in range(1, _MAX_PAGES + 1):
            page = self._json(action, functools.partial(fetch, page_number)) or {}
            yield from page.get("entities") or []
            if page_number >= int(page.get("pageCount") or 1) or not page.get("entities"):
                return

    # --- trunk base settings (GENESYS.md §9.1, §9.2) ---

    def trunk_template(self, metabase_id: str = BYOC_METABASE) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"GET trunk template {metabase_id}",
                lambda: api.get_telephony_providers_edges_trunkbasesettings_template(metabase_id),
            )
        )

    def list_trunks(self) -> list[Json]:
        api = self.telephony
        return list(
            self._pages(
                "list trunk base settings",
                lambda n: api.get_telephony_providers_edges_trunkbasesettings(
                    page_number=n, page_size=_PAGE_SIZE, ignore_hidden=True
                ),
            )
        )

    def get_trunk(self, trunk_id: str) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"GET trunk base settings {trunk_id}",
                lambda: api.get_telephony_providers_edges_trunkbasesetting(trunk_id, ignore_hidden=True),
            )
        )

    def create_trunk(self, body: Json) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"create trunk {body.get('name')!r}",
                lambda: api.post_telephony_providers_edges_trunkbasesettings(body),
            )
        )

    def update_trunk(self, trunk_id: str, body: Json) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"update trunk {body.get('name')!r}",
                lambda: api.put_telephony_providers_edges_trunkbasesetting(trunk_id, body),
            )
        )

    # --- sites, number plans, outbound routes (GENESYS.md §9.3, §9.4) ---

    def list_sites(self) -> list[Json]:
        api = self.telephony
        return list(
            self._pages(
                "list sites",
                lambda n: api.get_telephony_providers_edges_sites(page_number=n, page_size=_PAGE_SIZE),
            )
        )

    def update_site(self, site_id: str, body: Json) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"update site {body.get('name')!r}",
                lambda: api.put_telephony_providers_edges_site(site_id, body),
            )
        )

    def number_plans(self, site_id: str, site_name: str) -> list[Json]:
        api = self.telephony
        return list(
            self._json(
                f"GET number plans of site {site_name!r}",
                lambda: api.get_telephony_providers_edges_site_numberplans(site_id),
            )
            or []
        )

    def put_number_plans(self, site_id: str, site_name: str, plans: list[Json]) -> list[Json]:
        api = self.telephony
        return list(
            self._json(
                f"PUT number plans of site {site_name!r}",
                lambda: api.put_telephony_providers_edges_site_numberplans(site_id, plans),
            )
            or []
        )

    def outbound_routes(self, site_id: str, site_name: str) -> list[Json]:
        api = self.telephony
        return list(
            self._pages(
                f"list outbound routes of site {site_name!r}",
                lambda n: api.get_telephony_providers_edges_site_outboundroutes(
                    site_id, page_number=n, page_size=_PAGE_SIZE
                ),
            )
        )

    def create_route(self, site_id: str, body: Json) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"create outbound route {body.get('name')!r}",
                lambda: api.post_telephony_providers_edges_site_outboundroutes(site_id, body),
            )
        )

    def update_route(self, site_id: str, route_id: str, body: Json) -> Json:
        api = self.telephony
        return dict(
            self._json(
                f"update outbound route {body.get('name')!r}",
                lambda: api.put_telephony_providers_edges_site_outboundroute(site_id, route_id, body),
            )
        )

    # --- analytics (GENESYS.md §9.5) ---

    def conversation_details(self, conversation_id: str) -> Json:
        api = self.analytics
        return dict(
            self._json(
                f"GET conversation details {conversation_id}",
                lambda: api.get_analytics_conversation_details(conversation_id),
            )
        )

    def query_conversations(self, query: Json) -> Json:
        api = self.analytics
        return dict(
            self._json(
                "POST analytics conversation details query",
                lambda: api.post_analytics_conversations_details_query(query),
            )
            or {}
        )
