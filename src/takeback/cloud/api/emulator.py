"""``/emulator/v1``: endpoints that exist only on the emulator (no Genesys counterpart).

Empty on purpose. Place-call (``takeback call``) and the call timeline come with the SIP side; they are
added here as routes of :func:`emulator_app`, which the server mounts under :data:`EMULATOR_PREFIX`.
Handlers reach the shared objects with ``request.config_dict[STATE]`` / ``[CONVERSATIONS]`` /
``[SETTINGS]`` (keys in :mod:`.server`), exactly like the Platform API handlers. These paths need no
bearer token (a local test tool, not the Platform API); the server's error middleware still answers
failures with an ``ErrorBody``.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["EMULATOR_PREFIX", "emulator_app"]

EMULATOR_PREFIX = "/emulator/v1"


def emulator_app() -> web.Application:
    """The sub-application mounted at ``/emulator/v1`` (no routes yet)."""
    routes = web.RouteTableDef()
    app = web.Application()
    app.add_routes(routes)
    return app
