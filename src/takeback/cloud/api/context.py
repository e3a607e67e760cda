"""What every handler shares: the settings of the API and the application keys of the shared objects."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..conversations import ConversationStore
from .auth import TokenIssuer
from .state import OrgState

__all__ = ["CONVERSATIONS", "SETTINGS", "STATE", "TOKENS", "ApiSettings"]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Knobs of the REST side that are not Genesys behaviour (those are ``Policies`` in the org).

    ``client_id``/``client_secret``: what ``POST /oauth/token`` accepts. ``deleted_reads``: GETs of a
    deleted trunk that still answer ``state: "deleted"`` before 404 (GENESYS.md §3.1: both are seen;
    0 = 404 at once). ``default_outbound_route``: a site created through the API gets the (disabled)
    default outbound route (§8.2, §11 item 2). ``require_auth``: bearer tokens on ``/api/v2``.
    """

    client_id: str = "takeback"
    client_secret: str = "takeback"
    deleted_reads: int = 1
    default_outbound_route: bool = True
    require_auth: bool = True


STATE = web.AppKey("takeback.state", OrgState)
CONVERSATIONS = web.AppKey("takeback.conversations", ConversationStore)
SETTINGS = web.AppKey("takeback.settings", ApiSettings)
TOKENS = web.AppKey("takeback.tokens", TokenIssuer)
