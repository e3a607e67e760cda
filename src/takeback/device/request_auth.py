"""The device's BYE when it is challenged: one Digest answer with ``take_back.credentials``.

GENESYS.md §12 item 12: a request we send in the dialog may be challenged, the BYE as well as the REFER
(:mod:`.refer_auth`). A UAC that gets 401 (``WWW-Authenticate``) or 407 (``Proxy-Authenticate``) SHOULD
re-send the request with credentials (RFC 3261 §22.2, §22.3): same dialog, a new CSeq. The SIP core keeps the
dialog for exactly that retry once the BYE went (:meth:`takeback.sip.core.SipCore.bye`), although the call
is over for us as soon as the first BYE is sent (§15.1.1), so nothing here delays the local hang-up.

Exactly one answer, with the credentials the take-back REFER uses and the same header choice
(:func:`.refer_auth.authorization_for`; digest-uri = the BYE's Request-URI, §22.4). No credentials, an
unanswerable challenge, a retry the core no longer allows (the peer's BYE crossed ours, or 64*T1 passed)
or a second challenge: the call still ends locally and the last final response is what gets recorded.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from takeback.net import Call as NetCall
from takeback.sip import Response, TransactionError

from .config import TakeBackCredentials
from .refer_auth import authorization_for

__all__ = ["bye_with_auth"]

logger = logging.getLogger(__name__)
_CHALLENGED = (401, 407)


async def bye_with_auth(
    net_call: NetCall,
    credentials: TakeBackCredentials | None,
    *,
    cnonce: Callable[[], str] = lambda: secrets.token_hex(8),
) -> Response | None:
    """BYE, answering one 401/407 with ``credentials``; returns the last final response (None: no BYE was
    sent now, e.g. the dialog was gone or the BYE waits for the ACK of our 2xx).

    Raises :class:`takeback.net.RequestFailed` when a BYE got no final response (timeout, transport).
    """
    response = await net_call.bye()
    if response is None or response.status not in _CHALLENGED:
        return response
    dialog = net_call.dialog
    if credentials is None or dialog is None:
        logger.info("BYE of %r challenged (%d), no take_back.credentials", net_call, response.status)
        return response
    header = authorization_for(response, "BYE", dialog.request_uri, credentials, cnonce=cnonce())
    if header is None:
        logger.info("BYE of %r challenged (%d), challenge not answerable", net_call, response.status)
        return response
    try:
        retry = await net_call.bye(headers=[header])
    except TransactionError:  # the window closed: the peer's BYE crossed ours, or 64*T1 passed
        return response
    return response if retry is None else retry
