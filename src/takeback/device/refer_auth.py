"""The take-back REFER when Genesys challenges it: one Digest answer, then the usual 202/NOTIFY outcome.

GENESYS.md §12 item 12 (drachtio-srf#67): "the REFER we send may itself be challenged". A UAC that gets 401
(``WWW-Authenticate``) or 407 (``Proxy-Authenticate``) to a request SHOULD re-send it with credentials
(RFC 3261 §22.2, §22.3): same dialog (Call-ID, tags, route set), a new CSeq (§22.2: the retry is a new
request; the SIP core numbers it from the dialog's local sequence, §12.2.1.1), ``Authorization`` or
``Proxy-Authorization`` computed by :func:`takeback.sip.digest.answer_challenge` over the REFER's
Request-URI (RFC 3261 §22.4 digest-uri; the dialog's remote target, which is the Request-URI under loose
routing, §12.2.1.1 and what Genesys' Record-Route with ``lr`` gives).

Exactly one answer: a second challenge (wrong password, a realm we will not answer), a challenge we cannot
answer, or no ``take_back.credentials`` at all end the take-back as a failure whose reason starts with
:data:`REFER_AUTH` so the records and the app can tell it from a refusal by the flow (403, 404 …).
The whole exchange stays within one ``take_back.timeout``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from takeback.net import Call as NetCall
from takeback.net import ReferOutcome
from takeback.sip import Response
from takeback.sip.digest import DigestError, answer_challenge, parse_challenges, pick_best_challenge

from .config import TakeBackCredentials

__all__ = ["REFER_AUTH", "ReferAttempt", "authorization_for", "refer_with_auth"]

#: The failure reason of a take-back whose REFER stayed challenged (records ``detail``, TransferResult).
REFER_AUTH = "refer-auth"
_CHALLENGED = (401, 407)


@dataclass(frozen=True, slots=True)
class ReferAttempt:
    """The REFER outcome and how authentication went: ``authenticated`` = an authorized REFER was sent;
    ``auth_failure`` = why the take-back failed on a challenge (None when it did not)."""

    outcome: ReferOutcome
    authenticated: bool = False
    auth_failure: str | None = None


def authorization_for(
    response: Response,
    method: str,
    uri: str,
    credentials: TakeBackCredentials,
    *,
    cnonce: str,
) -> tuple[str, str] | None:
    """The header answering the 401/407 ``response`` to ``method uri``; None when nothing is answerable.

    401 -> ``Authorization`` for ``WWW-Authenticate``, 407 -> ``Proxy-Authorization`` for
    ``Proxy-Authenticate`` (RFC 3261 §22.2, §22.3). Among several challenges the strongest supported one is
    answered (RFC 8760 §2.4); with ``credentials.realm`` set, only challenges of that realm count.
    """
    proxy = response.status == 407
    values = response.headers.get_raw("Proxy-Authenticate" if proxy else "WWW-Authenticate")
    wanted = credentials.realm
    challenges = [c for c in parse_challenges(values) if wanted is None or c.realm == wanted]
    challenge = pick_best_challenge(challenges)
    if challenge is None:
        return None
    try:
        answer = answer_challenge(
            challenge, method, uri, credentials.username, credentials.password, cnonce=cnonce
        )
    except DigestError:
        return None
    return ("Proxy-Authorization" if proxy else "Authorization", str(answer))


def _challenged(outcome: ReferOutcome) -> bool:
    return not outcome.accepted and outcome.status in _CHALLENGED


def _failed(outcome: ReferOutcome, why: str, *, authenticated: bool) -> ReferAttempt:
    reason = f"{REFER_AUTH}: {why}"
    return ReferAttempt(replace(outcome, reason=reason), authenticated, why)


async def refer_with_auth(
    net_call: NetCall,
    refer_to: str,
    *,
    timeout: float,
    credentials: TakeBackCredentials | None,
    cnonce: Callable[[], str] = lambda: secrets.token_hex(8),
) -> ReferAttempt:
    """REFER ``refer_to`` in the call's dialog, answering one Digest challenge (module docstring).

    ``timeout`` bounds the whole exchange, both REFERs and the terminal NOTIFY.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    outcome = await net_call.refer(refer_to, timeout=timeout)
    if not _challenged(outcome):
        return ReferAttempt(outcome)
    if credentials is None:
        return _failed(outcome, "challenged, no take_back.credentials", authenticated=False)
    dialog = net_call.dialog
    header = None
    if outcome.response is not None and dialog is not None:
        header = authorization_for(
            outcome.response, "REFER", dialog.remote_target, credentials, cnonce=cnonce()
        )
    if header is None:
        return _failed(outcome, "challenge not answerable", authenticated=False)
    remaining = deadline - loop.time()
    if remaining <= 0:
        return ReferAttempt(ReferOutcome(False, None, "timeout"), authenticated=False)
    retry = await net_call.refer(refer_to, timeout=remaining, headers=[header])
    if _challenged(retry):
        return _failed(retry, "credentials refused (challenged again)", authenticated=True)
    return ReferAttempt(retry, authenticated=True)
