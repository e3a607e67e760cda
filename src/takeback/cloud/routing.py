"""The dial path as a pure function: number -> plan -> classification -> outbound route -> trunks -> proxies.

GENESYS.md §4.1 and §11 item 3:

1. the site's effective number plans classify and normalize the number (:func:`numberplans.classify`,
   re-run up to ``Policies.number_plan_passes`` times);
2. the site's outbound route holding that classification is used; it must be enabled. With
   ``classification_uniqueness`` off (several routes may share it) the first enabled one in list order
   wins (INFERRED);
3. its trunks in list order (``SEQUENTIAL``) or shuffled with the injected ``random.Random`` (``RANDOM``,
   so the first trunk is uniform over the enabled ones); a disabled trunk is skipped (INFERRED, §3.3);
4. each trunk's SIP servers in list order (INFERRED, §3.3), giving the ordered attempts.

Failover (INFERRED, §4.1 (5)): a final response whose code is in the failing trunk's
``retryable_reason_codes`` (``"500-599"``), or no answer / a transport error when
``Policies.failover_on_timeout``, moves to the next attempt (:meth:`DialPlan.next_attempt`).

Nothing here applies the omit-+ flags: that is the INVITE builder's job (§4.2). Each :class:`Attempt`
exposes them. Which site? Architect *Transfer to Number* "tries to use the same trunk and site as the
inbound call" [DOC RC-T2N]; :meth:`Org.site_for_trunk` gives the inbound trunk's site.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from .numberplans import Classification, NumberPlan, classify
from .org import DidRange, Org, OutboundRoute, Site
from .trunk import Trunk
from .values import HostPort

__all__ = [
    "Attempt",
    "DialPlan",
    "NoRoute",
    "NoRouteReason",
    "SkippedTrunk",
    "classify_number",
    "find_route",
    "route_number",
]

NoRouteReason = Literal["no_plan", "no_route", "route_disabled", "no_enabled_trunk"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One place to send the INVITE: a trunk and one of its SIP servers (None for a GCV trunk)."""

    trunk: Trunk
    proxy: HostPort | None

    @property
    def transport(self) -> str:
        return self.trunk.protocol

    @property
    def called_address_omit_plus(self) -> bool:
        return self.trunk.called_address_omit_plus

    @property
    def calling_address_omit_plus(self) -> bool:
        return self.trunk.calling_address_omit_plus


@dataclass(frozen=True, slots=True)
class SkippedTrunk:
    name: str
    reason: Literal["disabled"]


@dataclass(frozen=True, slots=True)
class DialPlan:
    """Where a number goes and why (``takeback check`` prints this)."""

    site: Site
    classified: Classification
    route: OutboundRoute
    trunks: tuple[Trunk, ...]
    attempts: tuple[Attempt, ...]
    skipped: tuple[SkippedTrunk, ...] = ()
    failover_on_timeout: bool = True
    did_ranges: tuple[DidRange, ...] = ()  # the org's DIDs, for "DID available" (GENESYS.md §3.3)

    @property
    def dialed(self) -> str:
        return self.classified.dialed

    @property
    def number(self) -> str:
        """The normalized number for the Request-URI/To user part (before any omit-+, §4.2)."""
        return self.classified.number

    @property
    def plan(self) -> NumberPlan:
        assert self.classified.plan is not None
        return self.classified.plan

    @property
    def classification(self) -> str:
        return self.plan.classification

    @property
    def shadowed(self) -> tuple[NumberPlan, ...]:
        return self.classified.shadowed

    def next_attempt(self, failed: int, status: int | None) -> int | None:
        """Index of the attempt to try after attempt ``failed`` ended with ``status`` (None = no answer)."""
        if not 0 <= failed < len(self.attempts):
            raise IndexError(failed)
        trunk = self.attempts[failed].trunk
        retry = self.failover_on_timeout if status is None else trunk.is_retryable(status)
        if not retry or failed + 1 >= len(self.attempts):
            return None
        return failed + 1

    def next_trunk_attempt(self, failed: int) -> int | None:
        """Index of the first attempt after ``failed`` on another trunk (its SIP servers are skipped).

        Used when the trunk itself cannot take the call, e.g. over its Max Call Rate
        (``Policies.max_call_rate_exceeded`` = ``next_trunk``, GENESYS.md §3.3 INFERRED).
        """
        if not 0 <= failed < len(self.attempts):
            raise IndexError(failed)
        name = self.attempts[failed].trunk.name
        for index in range(failed + 1, len(self.attempts)):
            if self.attempts[index].trunk.name != name:
                return index
        return None


class NoRoute(LookupError):
    """The number cannot be placed; ``reason`` says which step failed and ``classified`` shows the plans."""

    def __init__(
        self,
        reason: NoRouteReason,
        message: str,
        *,
        site: Site,
        classified: Classification,
        route: OutboundRoute | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: NoRouteReason = reason
        self.message = message
        self.site = site
        self.classified = classified
        self.route = route

    @property
    def shadowed(self) -> tuple[NumberPlan, ...]:
        return self.classified.shadowed


def _resolve_site(org: Org, site: Site | str | None) -> Site:
    return site if isinstance(site, Site) else org.site(site)


def classify_number(org: Org, site: Site | str | None, number: str) -> Classification:
    """Step 1 alone: the plan passes for ``number`` on ``site`` (None = the default site)."""
    resolved = _resolve_site(org, site)
    return classify(
        org.number_plans(resolved), number, resolved.dialing, max_passes=org.policies.number_plan_passes
    )


def find_route(org: Org, site: Site, classification: str) -> tuple[OutboundRoute | None, bool]:
    """(the enabled route for a classification or None, whether a disabled route holds it)."""
    holders = [route for route in site.outbound_routes if classification in route.classifications]
    enabled = [route for route in holders if route.enabled]
    return (enabled[0] if enabled else None), bool(holders) and not enabled


def route_number(
    org: Org, site: Site | str | None, number: str, rng: random.Random | None = None
) -> DialPlan:
    """The dial plan for ``number`` dialed from ``site``; raises :class:`NoRoute` (module doc).

    ``rng`` is required when the route's distribution is RANDOM (no hidden global randomness). An
    unknown site name raises :class:`KeyError` (a caller bug, not a routing outcome).
    """
    resolved = _resolve_site(org, site)
    classified = classify_number(org, resolved, number)
    if classified.plan is None:
        raise NoRoute(
            "no_plan",
            f"{number!r} matches no number plan of site {resolved.name!r}",
            site=resolved,
            classified=classified,
        )
    name = classified.plan.classification
    route, disabled = find_route(org, resolved, name)
    if route is None:
        where = f"classification {name!r} (plan {classified.plan.name!r}{_shadow_note(classified)})"
        if disabled:
            raise NoRoute(
                "route_disabled",
                f"{where}: its outbound route on site {resolved.name!r} is disabled",
                site=resolved,
                classified=classified,
            )
        raise NoRoute(
            "no_route",
            f"{where}: no outbound route on site {resolved.name!r} holds it",
            site=resolved,
            classified=classified,
        )
    trunks, skipped = _order_trunks(org, route, rng)
    if not trunks:
        raise NoRoute(
            "no_enabled_trunk",
            f"route {route.name!r}: every trunk is disabled",
            site=resolved,
            classified=classified,
            route=route,
        )
    attempts = tuple(Attempt(trunk, proxy) for trunk in trunks for proxy in (trunk.proxies or (None,)))
    return DialPlan(
        resolved,
        classified,
        route,
        trunks,
        attempts,
        skipped,
        org.policies.failover_on_timeout,
        tuple(org.did_ranges),
    )


def _shadow_note(classified: Classification) -> str:
    names = [plan.name for plan in classified.shadowed]
    return f"; it shadows {', '.join(map(repr, names))}" if names else ""


def _order_trunks(
    org: Org, route: OutboundRoute, rng: random.Random | None
) -> tuple[tuple[Trunk, ...], tuple[SkippedTrunk, ...]]:
    named = [org.trunk(name) for name in route.external_trunks]
    enabled = [trunk for trunk in named if trunk.enabled]
    skipped = tuple(SkippedTrunk(trunk.name, "disabled") for trunk in named if not trunk.enabled)
    if route.distribution == "RANDOM" and len(enabled) > 1:
        if rng is None:
            raise ValueError(f"route {route.name!r} is RANDOM: pass a random.Random to route_number")
        enabled = rng.sample(enabled, k=len(enabled))
    return tuple(enabled), skipped
