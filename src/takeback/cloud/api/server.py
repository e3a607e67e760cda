"""The REST server of ``takeback cloud``: an aiohttp application in the caller's event loop.

Why aiohttp (DESIGN.md §4): the emulator is one asyncio process whose SIP side and REST side share
:class:`OrgState` and the conversation store without locks, so the HTTP server must be started from a
coroutine on the running loop and stopped the same way. ``web.AppRunner``/``web.TCPSite`` do exactly
that (no signal handlers, no thread, no second loop), bind port 0 for tests, work on uvloop, and aiohttp's
client serves the tests too. uvicorn would also run in-loop via ``Server.serve()``, but brings
Starlette + uvicorn + anyio for the same result and owns signal handling.

Middleware, outermost first: errors (every failure is an ``ErrorBody`` with a ``contextId``, also sent as
``ININ-Correlation-Id``), then bearer auth on ``/api/v2`` (the OpenAPI document is public).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from ..conversations import ConversationStore
from .auth import TokenIssuer
from .context import CONVERSATIONS, SETTINGS, STATE, TOKENS, ApiSettings
from .emulator import EMULATOR_PREFIX, emulator_app
from .errors import ApiError, error_body
from .handlers import OPENAPI_PATH, api_routes
from .state import OrgState

__all__ = ["ApiServer", "create_app"]

log = logging.getLogger("takeback.cloud.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "bad.request",
    401: "authentication.required",
    403: "forbidden",
    404: "not.found",
    405: "method.not.allowed",
    409: "conflict",
    413: "request.entity.too.large",
    415: "unsupported.media.type",
}


def _render(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    context_id = str(uuid.uuid4())
    all_headers = {"ININ-Correlation-Id": context_id, **(headers or {})}
    if error.status == 401:
        all_headers["WWW-Authenticate"] = 'Bearer realm="takeback"'
    return web.json_response(error_body(error, context_id), status=error.status, headers=all_headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _render(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad.request" if exc.status < 500 else "internal.server.error")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _render(ApiError(exc.status, code, exc.reason), headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _render(ApiError(500, "internal.server.error", "The server encountered an internal error"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.config_dict[SETTINGS]
    if settings.require_auth and request.path.startswith("/api/v2/") and request.path != OPENAPI_PATH:
        request.config_dict[TOKENS].check(request.headers.get("Authorization"))
    return await handler(request)


def create_app(
    state: OrgState,
    conversations: ConversationStore,
    settings: ApiSettings | None = None,
) -> web.Application:
    """The whole REST application: Platform API subset, ``/oauth/token``, ``/emulator/v1`` (empty)."""
    settings = settings or ApiSettings()
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[STATE] = state
    app[CONVERSATIONS] = conversations
    app[SETTINGS] = settings
    app[TOKENS] = TokenIssuer(settings.client_id, settings.client_secret)
    app.add_routes(api_routes)
    app.add_subapp(EMULATOR_PREFIX, emulator_app())
    return app


class ApiServer:
    """Serve :func:`create_app` on ``host:port`` from the running loop (port 0 = pick a free one).

    ``async with ApiServer(state, store, port=0) as server: server.base_url`` is the form tests use;
    ``takeback cloud`` calls :meth:`start` next to the SIP listeners and :meth:`stop` on shutdown.
    """

    def __init__(
        self,
        state: OrgState,
        conversations: ConversationStore,
        *,
        host: str = "127.0.0.1",
        port: int = 8070,
        settings: ApiSettings | None = None,
    ) -> None:
        self.app = create_app(state, conversations, settings)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the API server is already running")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("Platform API on %s", self.base_url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``configuration.host`` of the SDK is set to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
