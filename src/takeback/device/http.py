"""The device's HTTP status listener.

``/`` the HTML status page (live and recent calls with decoded UUI and ladders, :mod:`.status_page`),
``/calls/<Call-ID>`` one call's page, ``/healthz``, ``/status`` (JSON), ``/metrics`` (Prometheus text),
``/calls?n=`` (JSON rows).

Deliberately tiny (HTTP/1.0, GET only, one request per connection, bounded reads with a deadline): it is a
probe target for a dispatcher or a human with curl, not a web application, and it must not add a dependency.
``/healthz`` answers 503 while draining so a load balancer stops sending calls (the same rule as OPTIONS,
GENESYS.md §12 item 17).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["StatusHttpServer"]

logger = logging.getLogger("takeback.device.http")

_MAX_REQUEST = 8192
_READ_TIMEOUT = 5.0
_HTML = "text/html; charset=utf-8"
# Pages show attacker-controlled text: even if escaping failed somewhere, nothing may run or load.
_SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCache-Control: no-store\r\n"
)
Page = Callable[[], Awaitable[str]]
CallPage = Callable[[str], Awaitable[str | None]]
_T = TypeVar("_T")


class StatusHttpServer:
    """Serve ``status()``, ``metrics()``, ``calls(n)`` and the HTML pages on ``host:port`` (0 = ephemeral).

    ``page`` renders ``/`` and ``call_page`` renders ``/calls/<Call-ID>`` (None: 404); without ``page``,
    ``/`` answers the JSON status as before. ``healthy``, ``status`` and ``metrics`` may be coroutine
    functions (the workers' supervisor asks its workers, :mod:`.aggregate`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        healthy: Callable[[], bool | Awaitable[bool]],
        status: Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]],
        metrics: Callable[[], str | Awaitable[str]],
        calls: Callable[[int], Awaitable[list[dict[str, Any]]]],
        page: Page | None = None,
        call_page: CallPage | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._healthy = healthy
        self._status = status
        self._metrics = metrics
        self._calls = calls
        self._page = page
        self._call_page = call_page
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            status, content_type, body = await self._route(head)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            status, content_type, body = 400, "text/plain", b"bad request\n"
        except Exception:  # a status page must never take the device down
            logger.exception("status request failed")
            status, content_type, body = 500, "text/plain", b"internal error\n"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(
            status, "Service Unavailable" if status == 503 else "Error"
        )
        header = (
            f"HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{_SECURITY_HEADERS}Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(header.encode("ascii") + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _route(self, head: bytes) -> tuple[int, str, bytes]:
        if len(head) > _MAX_REQUEST:
            return 400, "text/plain", b"request too large\n"
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = urlsplit(rest.rpartition(" ")[0] or rest)
        if method != "GET":
            return 405, "text/plain", b"GET only\n"
        path = target.path.rstrip("/") or "/"
        if path == "/healthz":
            ok = await _value(self._healthy())
            return (200, "text/plain", b"ok\n") if ok else (503, "text/plain", b"draining\n")
        if path == "/" and self._page is not None:
            return 200, _HTML, (await self._page()).encode("utf-8")
        if path in ("/", "/status"):
            return 200, "application/json", _json(await _value(self._status()))
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4", (await _value(self._metrics())).encode("utf-8")
        if path == "/calls":
            query = parse_qs(target.query)
            try:
                n = max(1, min(1000, int(query.get("n", ["20"])[0])))
            except ValueError:
                return 400, "text/plain", b"n must be an integer\n"
            return 200, "application/json", _json(await self._calls(n))
        if path.startswith("/calls/") and self._call_page is not None:
            page = await self._call_page(unquote(path.removeprefix("/calls/"), errors="replace"))
            return (
                (200, _HTML, page.encode("utf-8"))
                if page is not None
                else (404, "text/plain", b"no such call\n")
            )
        return 404, "text/plain", b"not found\n"


async def _value(result: _T | Awaitable[_T]) -> _T:
    return await result if inspect.isawaitable(result) else result


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, default=str) + "\n").encode("utf-8")
