"""Placing the INVITE of a dial plan: digest, Max Dial Timeout, failover (GENESYS.md §4.1 (5), §4.3, §11.4).

For each :class:`~takeback.cloud.routing.Attempt` in order (trunks, then their SIP servers):

1. build the INVITE (:func:`takeback.cloud.invite.build_invite`) with a fresh Call-ID, From tag and opaque
   Contact token, register the leg with the edge (ACL / strict Contact, :mod:`.sipua`) and send it;
2. a 401/407 is answered once with the trunk's Digest credentials: same Call-ID and From tag, CSeq + 1
   (RFC 3261 §22.2; 407 per ``Policies.digest_proxy_auth``, INFERRED). A second challenge fails the attempt;
3. no final answer within the trunk's Max Dial Timeout (or the flow's shorter Connect Timeout, RC-T2N)
   sends CANCEL (RFC 3261 §9.1) and counts as "no answer";
4. an attempt on a trunk whose transport has no listener here (a trunk switched to ``tls`` through the
   API, no ``tls:`` listener) is not sent: it is recorded as a skipped attempt with that reason and
   counts as "no answer" for the next step;
5. a final status in the trunk's retryable reason codes (``500-599``), or no answer / a transport error
   with ``Policies.failover_on_timeout``, moves to the next attempt (:meth:`DialPlan.next_attempt`,
   INFERRED). SIP servers marked down by the OPTIONS pinger are skipped while another one is up.

An attempt on a TLS trunk whose connection fails is recorded with the handshake's reason (no shared
cipher: Genesys offers RSA suites only, GENESYS.md §7; a certificate that did not verify), found by
:func:`takeback.cloud.tls_policy.explain_tls_failure`, since the transport reports only a transport error.

Max Call Rate (``trunk_maxCallRate``, GENESYS.md §3.3): each trunk with a rate has a
:class:`CallRateLimiter` fed with the event-loop clock. An attempt over the limit is **not sent**; it is
recorded as a skipped attempt and ``Policies.max_call_rate_exceeded`` decides what follows (INFERRED):
``next_trunk`` (default) moves to the route's next trunk, ``fail`` ends the dial (the transfer fails).
Every call attempt sent on the trunk counts (a failover to its next SIP server is another attempt; the
Digest re-send is the same attempt). Inbound calls on the trunk are not counted (INFERRED: the RC does
not say which direction the rate applies to; the emulator limits what it sends).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from takeback.net import Call, CallFailed, Peer
from takeback.sip import Request

from .invite import BuiltInvite, Caller, InviteParams, LocalSignalling, authorize, build_invite, contact_uri
from .policies import Policies
from .routing import Attempt, DialPlan
from .sipua import EmulatorUserAgent, LegAddress
from .tls_policy import explain_tls_failure
from .trunk import Trunk

__all__ = [
    "AttemptResult",
    "CallRateLimiter",
    "CallSpec",
    "DialResult",
    "Dialer",
    "SlidingWindowLimiter",
    "TokenBucketLimiter",
    "make_limiter",
]

logger = logging.getLogger("takeback.cloud.dial")

#: Answers to digest challenges per attempt: one (a second challenge means the credentials are wrong).
_AUTH_ROUNDS = 1


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What the transfer carries, whatever the attempt: caller, conversation, UUI text, SDP offer."""

    caller: Caller
    conversation_id: str
    uui: str | None = None
    offer_for: Callable[[Trunk], bytes] | None = None  # the SDP offer for a trunk's codec list (§4.4)
    timeout_s: float | None = None  # Architect Connect Timeout (RC-T2N); the trunk's limit still applies


@dataclass(slots=True)
class AttemptResult:
    """How one attempt ended. ``status`` None = no final answer (timeout, transport failure) or skipped."""

    index: int
    trunk: str
    target: str
    call_id: str = ""
    status: int | None = None
    reason: str = ""
    authenticated: bool = False
    skipped: bool = False  # not sent (no INVITE, no Call-ID): Max Call Rate, or no listener here
    rate_limited: bool = False  # skipped for the trunk's Max Call Rate (§3.3)


@dataclass(slots=True)
class DialResult:
    """The outcome of a whole dial plan: the established call (or None) and every attempt made."""

    call: Call | None = None
    attempt: Attempt | None = None
    invite: Request | None = None
    built: BuiltInvite | None = None
    contact_token: str = ""
    attempts: list[AttemptResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.call is not None

    @property
    def status(self) -> int | None:
        """200 when connected, else the last attempt's final status (None = no answer)."""
        if self.call is not None:
            return 200
        return self.attempts[-1].status if self.attempts else None

    @property
    def reason(self) -> str:
        """Why the dial ended without a call: the last attempt's reason ("" when connected or none)."""
        return "" if self.call is not None or not self.attempts else self.attempts[-1].reason


# ----- Max Call Rate (GENESYS.md §3.3): pure limiters, time passed in -----


class CallRateLimiter(Protocol):
    """Admits call attempts on one trunk; ``now`` is a monotonic clock in seconds."""

    def admit(self, now: float) -> bool:
        """Count an attempt made at ``now`` and return True, or return False (not counted) over the limit."""
        ...


class SlidingWindowLimiter:
    """At most ``limit`` attempts in any ``window`` seconds: ``"40/5s"`` read literally (INFERRED, §3.3).

    An attempt admitted at ``t`` counts until ``t + window`` (exclusive). Memory is bounded by ``limit``.
    """

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a call rate needs at least 1 call per a positive number of seconds")
        self.limit = limit
        self.window = window
        self._admitted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        while self._admitted and self._admitted[0] <= now - self.window:
            self._admitted.popleft()
        if len(self._admitted) >= self.limit:
            return False
        self._admitted.append(now)
        return True


class TokenBucketLimiter:
    """A bucket of ``limit`` tokens refilled at ``limit / window`` per second: "the average number of calls
    permitted per second" [DOC RC "Configure maximum call settings"] with bursts up to ``limit`` (INFERRED).
    """

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a call rate needs at least 1 call per a positive number of seconds")
        self.limit = limit
        self.window = window
        self._tokens = float(limit)
        self._last: float | None = None

    def admit(self, now: float) -> bool:
        if self._last is not None and now > self._last:
            refill = (now - self._last) * self.limit / self.window
            self._tokens = min(float(self.limit), self._tokens + refill)
        self._last = now if self._last is None else max(self._last, now)
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def make_limiter(
    rate: tuple[int, float], kind: Literal["sliding", "token_bucket"] = "sliding"
) -> CallRateLimiter:
    """The limiter for a Max Call Rate (:attr:`Trunk.call_rate`) per ``Policies.max_call_rate_window``."""
    limit, window = rate
    return SlidingWindowLimiter(limit, window) if kind == "sliding" else TokenBucketLimiter(limit, window)


PolicySource = Callable[[], Policies]
DownCheck = Callable[[Attempt], bool]
Clock = Callable[[], float]


class Dialer:
    """Runs dial plans on an :class:`EmulatorUserAgent` (module doc)."""

    def __init__(
        self,
        ua: EmulatorUserAgent,
        *,
        policies: PolicySource,
        rng: random.Random,
        is_down: DownCheck | None = None,
        advertise: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.ua = ua
        self.policies = policies
        self.rng = rng
        self.is_down = is_down or (lambda attempt: False)
        self.advertise = advertise
        self.clock = clock  # None = the running event loop's clock (monotonic)
        # trunk name -> (the setting it was built from, its limiter); rebuilt when the setting changes
        self._limiters: dict[str, tuple[tuple[str, str], CallRateLimiter]] = {}

    def local_signalling(self, transport: str) -> LocalSignalling:
        """Our address for ``transport`` as written in Record-Route/Contact/From."""
        endpoint = self.ua.endpoint(transport)
        host = self.advertise or endpoint.advertise or endpoint.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return LocalSignalling(host, endpoint.port, transport.lower())

    async def dial(self, plan: DialPlan, spec: CallSpec) -> DialResult:
        """Try the plan's attempts in order until one answers (module doc)."""
        result = DialResult()
        index = self._usable(plan, 0)
        for _ in range(len(plan.attempts)):
            if index is None:
                break
            attempt = plan.attempts[index]
            outcome = await self._attempt(plan, index, spec, result)
            result.attempts.append(outcome)
            if result.call is not None:
                result.attempt = attempt
                return result
            if outcome.rate_limited:
                following = self._after_rate_limit(plan, index)
            else:
                following = plan.next_attempt(index, outcome.status)
            index = None if following is None else self._usable(plan, following)
        return result

    def _now(self) -> float:
        return self.clock() if self.clock is not None else asyncio.get_running_loop().time()

    def _admit(self, trunk: Trunk) -> bool:
        """Max Call Rate (module doc): does the trunk take one more call attempt now?"""
        rate = trunk.call_rate
        if rate is None:
            self._limiters.pop(trunk.name, None)
            return True
        kind = self.policies().max_call_rate_window
        key = (trunk.max_call_rate, kind)
        known = self._limiters.get(trunk.name)
        if known is None or known[0] != key:
            known = (key, make_limiter(rate, kind))
            self._limiters[trunk.name] = known
        return known[1].admit(self._now())

    def _after_rate_limit(self, plan: DialPlan, index: int) -> int | None:
        """``Policies.max_call_rate_exceeded`` (INFERRED, §3.3): the next trunk, or stop."""
        if self.policies().max_call_rate_exceeded == "fail":
            return None
        return plan.next_trunk_attempt(index)

    def _usable(self, plan: DialPlan, start: int) -> int | None:
        """``start`` or the next attempt whose SIP server is not marked down; ``start`` if all are down."""
        for index in range(start, len(plan.attempts)):
            if not self.is_down(plan.attempts[index]):
                return index
        return start if start < len(plan.attempts) else None

    def _params(self, attempt: Attempt, plan: DialPlan, spec: CallSpec) -> InviteParams:
        rng = self.rng
        offer = spec.offer_for(attempt.trunk) if spec.offer_for is not None else b""
        return InviteParams(
            number=plan.number,
            caller=spec.caller,
            conversation_id=spec.conversation_id,
            call_id=_uuid(rng),
            from_tag=f"gc-{rng.getrandbits(32):08x}",
            contact_token=f"{rng.getrandbits(48):012x}",
            offer=offer,
            uui=spec.uui,
            site=plan.site,
            did_ranges=plan.did_ranges,
        )

    async def _attempt(self, plan: DialPlan, index: int, spec: CallSpec, result: DialResult) -> AttemptResult:
        attempt = plan.attempts[index]
        trunk = attempt.trunk
        outcome = AttemptResult(index, trunk.name, str(attempt.proxy))
        if attempt.proxy is None:
            outcome.reason = "the trunk has no SIP server"
            return outcome
        try:
            local = self.local_signalling(trunk.protocol)
        except LookupError:  # no listener for the trunk's transport (a trunk changed at runtime)
            outcome.reason, outcome.skipped = _no_listener(trunk), True
            logger.warning("attempt %d to %s: %s", index, outcome.target, outcome.reason)
            return outcome
        if not self._admit(trunk):
            return _rate_limited(index, attempt)
        params = self._params(attempt, plan, spec)
        built = build_invite(trunk, attempt, params, local, self.policies())
        outcome.call_id = params.call_id
        contact = contact_uri(local, params.contact_token)
        self.ua.register_leg(LegAddress(params.call_id, contact, params.contact_token, trunk))
        dest = Peer(trunk.protocol.upper(), attempt.proxy.host, attempt.proxy.port)
        timeout = _timeout(trunk.max_dial_timeout_s, spec.timeout_s)
        call = await self._send(built.request, dest, timeout, attempt, outcome)
        if call is None:
            self.ua.forget_leg(params.call_id)
            logger.info("attempt %d to %s: %s %s", index, outcome.target, outcome.status, outcome.reason)
            return outcome
        outcome.status, outcome.reason = 200, "OK"
        result.call, result.invite, result.built = call, call.invite, built
        result.contact_token = params.contact_token
        return outcome

    async def _send(
        self, request: Request, dest: Peer, timeout: float, attempt: Attempt, outcome: AttemptResult
    ) -> Call | None:
        """One INVITE plus at most one authenticated retry; fills ``outcome`` on failure."""
        for round_ in range(_AUTH_ROUNDS + 1):
            try:
                return await self.ua.send_invite(request, dest, timeout=timeout)
            except TimeoutError:
                outcome.status, outcome.reason = None, "max dial timeout (CANCEL sent)"
                return None
            except CallFailed as exc:
                retry = self._challenge_answer(exc, request, attempt) if round_ < _AUTH_ROUNDS else None
                if retry is None:
                    # A 408/503 made up locally (Timer B, transport error) is "no answer" (§4.1 (5)).
                    outcome.status = exc.status if exc.response is not None else None
                    outcome.reason = exc.reason
                    if exc.response is None and dest.transport == "TLS":
                        outcome.reason = await self._tls_reason(dest) or outcome.reason
                    return None
                request = retry
                outcome.authenticated = True
        return None

    async def _tls_reason(self, dest: Peer) -> str | None:
        """A TLS trunk's INVITE got "Transport Failure": name the handshake problem (GENESYS.md §7: e.g. an
        ECDSA device certificate against Genesys' RSA-only suites), from a diagnostic handshake."""
        if self.ua.tls is None:
            return None
        return await explain_tls_failure(dest.host, dest.port, self.ua.tls)

    def _challenge_answer(self, exc: CallFailed, request: Request, attempt: Attempt) -> Request | None:
        """§4.3: 401 WWW-Authenticate, or 407 Proxy-Authenticate when the policy allows (INFERRED)."""
        response = exc.response
        if response is None or exc.status not in (401, 407):
            return None
        proxy = exc.status == 407
        if proxy and not self.policies().digest_proxy_auth:
            return None
        values = response.headers.get_raw("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        cnonce = f"{self.rng.getrandbits(64):016x}"
        return authorize(request, values, attempt.trunk, proxy=proxy, cnonce=cnonce)


def _rate_limited(index: int, attempt: Attempt) -> AttemptResult:
    """The record of an attempt the trunk's Max Call Rate kept off the wire (no Call-ID: nothing sent)."""
    trunk = attempt.trunk
    reason = f"max call rate {trunk.max_call_rate} exceeded on trunk {trunk.name!r}: INVITE not sent"
    logger.info("attempt %d to %s: %s", index, attempt.proxy, reason)
    return AttemptResult(
        index, trunk.name, str(attempt.proxy), reason=reason, skipped=True, rate_limited=True
    )


def _no_listener(trunk: Trunk) -> str:
    """Why an attempt on a trunk whose transport the emulator does not listen on was not sent (e.g. a
    trunk switched to tls through the API while only udp/tcp listeners run): we have no Via/Contact
    address, so no INVITE (no Call-ID)."""
    transport = trunk.protocol
    return (
        f"no {transport} listener on the emulator for trunk {trunk.name!r} (protocol {transport}): "
        f"INVITE not sent; start takeback cloud with --sip {transport}:HOST:PORT"
    )


def _timeout(trunk_limit: float, connect_timeout: float | None) -> float:
    """The Max Dial Timeout, shortened by the flow's Connect Timeout [DOC RC-T2N: they interact]."""
    return min(trunk_limit, connect_timeout) if connect_timeout else trunk_limit


def _uuid(rng: random.Random) -> str:
    """A UUID-shaped Call-ID like the ones Genesys uses (GENESYS.md §4.2, 3P-ANA) from the injected rng."""
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"
