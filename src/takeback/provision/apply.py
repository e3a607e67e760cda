"""Run a :class:`Plan`'s writes in dependency order: trunks, sites, number plans, outbound routes.

Why this order: a route names its trunks by id, so a trunk created here must exist (and have its id)
before the route step runs; number plans come before routes so a route never holds a classification no
plan produces, even for a moment; within routes, the ones giving classifications up run first
(:mod:`.planner` orders them). A site's Caller ID depends on nothing; it goes right after the trunks.
The first API failure stops the run: :class:`ApplyFailed` tells what was
already written, so the user can re-run ``plan`` (an apply is idempotent, a re-run finishes the job).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from .changes import Plan, RouteStep
from .platform import ApiFailure, PlatformClient

__all__ = ["ApplyFailed", "ApplyResult", "execute"]


@dataclass(slots=True)
class ApplyResult:
    done: list[str] = field(default_factory=list)  # one line per write, in order


class ApplyFailed(ApiFailure):
    """A write failed after ``done`` writes succeeded."""

    def __init__(self, cause: ApiFailure, done: list[str]) -> None:
        super().__init__(str(cause), cause.status)
        self.done = done


def execute(
    plan: Plan, client: PlatformClient, *, progress: Callable[[str], None] | None = None
) -> ApplyResult:
    """Apply ``plan`` (whose ``errors`` must be empty) through ``client``."""
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    result = ApplyResult()

    def done(line: str) -> None:
        result.done.append(line)
        if progress is not None:
            progress(line)

    ids = dict(plan.trunk_ids)
    try:
        for trunk_step in plan.trunk_steps:
            if trunk_step.trunk_id is None:
                created = client.create_trunk(trunk_step.body)
                ids[trunk_step.name.casefold()] = str(created["id"])
                done(f"created trunk {trunk_step.name!r} (id {created['id']})")
            else:
                client.update_trunk(trunk_step.trunk_id, trunk_step.body)
                done(f"updated trunk {trunk_step.name!r}")
        for site_step in plan.site_steps:
            client.update_site(site_step.site_id, site_step.body)
            done(f"updated site {site_step.site_name!r} (Caller ID / Caller Name)")
        for plans_step in plan.plans_steps:
            client.put_number_plans(plans_step.site_id, plans_step.site_name, plans_step.body)
            done(f"replaced the number plans of site {plans_step.site_name!r} ({len(plans_step.body)} plans)")
        for route_step in plan.route_steps:
            _run_route(client, route_step, ids, done)
    except ApiFailure as exc:
        raise ApplyFailed(exc, result.done) from None
    return result


def _run_route(
    client: PlatformClient, step: RouteStep, ids: dict[str, str], done: Callable[[str], None]
) -> None:
    body = copy.deepcopy(step.body)
    if step.trunks is not None:
        body["externalTrunkBases"] = [{"id": ids[name.casefold()], "name": name} for name in step.trunks]
    name = body.get("name")
    if step.route_id is None:
        created = client.create_route(step.site_id, body)
        done(f"created outbound route {name!r} of site {step.site_name!r} (id {created.get('id')})")
    else:
        client.update_route(step.site_id, step.route_id, body)
        done(f"updated outbound route {name!r} of site {step.site_name!r}")
