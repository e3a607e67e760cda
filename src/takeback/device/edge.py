"""The device's edge: what happens to a request before the SIP core sees it.

Two refusals belong here rather than in the call handling, because a request the core has seen already
has a server transaction, an automatic 100 Trying (RFC 3261 §17.2.1) and retransmission handling:

* a source outside the IP ACL is dropped silently (GENESYS.md §4.3, the default ``acl_action``);
* while the device sheds load (:mod:`.overload`), a new INVITE is answered ``503`` with ``Retry-After``
  statelessly (RFC 3261 §8.2.6 allows a stateless answer; §21.5.4). Shedding has to cost almost nothing:
  every cycle spent refusing is taken from the calls in progress, so there is no transaction, no record
  row and no UUI decoding — only a counter and a rate-limited log line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from takeback.net import Peer, UserAgent
from takeback.sip import Request, Response, SipParseError
from takeback.sip.peer import response_destination
from takeback.sip.responses import make_response

from .access import AccessPolicy, Verdict
from .overload import OverloadGuard, OverloadState

__all__ = ["DeviceUserAgent"]


class DeviceUserAgent(UserAgent):
    """A :class:`UserAgent` that drops requests from outside the IP ACL and sheds new INVITEs (module doc)."""

    def __init__(
        self,
        *args: Any,
        policy: AccessPolicy,
        on_drop: Callable[[Peer, str], None],
        overload: OverloadGuard | None = None,
        retry_after: int = 2,
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.policy = policy
        self.on_drop = on_drop
        self.overload = overload
        self.retry_after = str(retry_after)
        # Read for every request (message_received): the ACL's cached verdict as a bound method, and the
        # guard's live state (never replaced; a disabled guard's never sheds).
        self._allows = policy.acl.allows
        self._load = overload.state if overload is not None else OverloadState()

    def _dropped(self, peer: Peer) -> bool:
        refused = self.policy.check_source(peer.host)
        if refused is not None and refused.verdict is Verdict.DROP:
            self.on_drop(peer, refused.reason)
            return True
        return False

    def message_received(self, message: Request | Response, peer: Peer) -> None:
        if isinstance(message, Request):
            # The usual request costs one cached ACL verdict and one flag; the refusal paths decide.
            if not self._allows(peer.host) and self._dropped(peer):
                return
            if self._load.shedding and self._shed(message, peer):
                return
        super().message_received(message, peer)

    def _shed(self, request: Request, peer: Peer) -> bool:
        """A new INVITE while shedding: stateless 503 + Retry-After (the trunk fails over on 5xx, §3.3)."""
        overload = self.overload
        if overload is None or not overload.shedding or request.method != "INVITE" or request.to.tag:
            return False
        headers = request.headers
        if "Authorization" in headers or "Proxy-Authorization" in headers:
            return False  # the answer to our 401/407: that call is under way, refusing it now wastes the work
        response = make_response(request, 503, to_tag=self.core.ids.tag())
        response.headers.add("Retry-After", self.retry_after)
        self.transport.send(bytes(response), response_destination(request.top_via, peer))
        self.on_drop(peer, "overload")
        return True

    def parse_error(self, error: SipParseError, peer: Peer, data: bytes | None) -> None:
        if self._dropped(peer):
            return
        super().parse_error(error, peer, data)
