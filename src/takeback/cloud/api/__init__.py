"""The emulator's Platform API subset (REST), served in the same asyncio loop as its SIP side.

GENESYS.md §9 and §11 items 1, 2, 7, 9: OAuth client credentials, trunk base settings, sites, number
plans, classifications, outbound routes and analytics conversation details, with the Platform API's JSON
shapes so the official SDK ``purecloudplatformclientv2`` works against it unchanged. The REST state and
the org model are one: :class:`OrgState` holds the current :class:`~takeback.cloud.Org` that the SIP side
routes with, and every change through the API replaces it.

* :mod:`.state` - :class:`OrgState` (current org, ids, versions); the SIP side reads ``state.org``;
* :mod:`.trunks`, :mod:`.sites`, :mod:`.plans`, :mod:`.routes`, :mod:`.analytics` - endpoint rules;
* :mod:`.server` - :func:`create_app`, :class:`ApiServer`; :mod:`.openapi` - the OpenAPI document;
* :mod:`.emulator` - ``/emulator/v1`` (emulator-only endpoints; empty for now).

Conversations come from :mod:`takeback.cloud.conversations`, filled by the SIP side.
"""

from .auth import TokenIssuer
from .context import ApiSettings
from .emulator import EMULATOR_PREFIX
from .errors import ApiError
from .handlers import OPENAPI_PATH
from .openapi import openapi_document
from .server import ApiServer, create_app
from .state import EntityMeta, OrgState

__all__ = [
    "EMULATOR_PREFIX",
    "OPENAPI_PATH",
    "ApiError",
    "ApiServer",
    "ApiSettings",
    "EntityMeta",
    "OrgState",
    "TokenIssuer",
    "create_app",
    "openapi_document",
]
