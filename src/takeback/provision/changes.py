"""The result of planning: what would change, per resource, and the writes that make it so.

A :class:`Plan` is data: :class:`Change` items for people (create / update with the changed fields /
unchanged), ``warnings`` (traps that do not stop an apply), ``errors`` (conditions under which nothing
may be written), and the steps :mod:`.apply` runs in order: trunks, then sites (Caller ID / Caller Name),
then number plans, then outbound routes (routes name trunks by id, so a trunk created in the same apply
is resolved when its step runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Action",
    "Change",
    "FieldChange",
    "Plan",
    "PlansStep",
    "ResourceKind",
    "RouteStep",
    "SiteStep",
    "TrunkStep",
    "masked",
]

Action = Literal["create", "update", "unchanged"]
ResourceKind = Literal["trunk", "site", "number-plan", "outbound-route"]
Json = dict[str, Any]
MASK = "********"


def masked(value: Any) -> Any:
    """A secret for display: strings become ``********`` (empty stays empty, so "cleared" is visible);
    in a mapping (custom SIP headers) the names stay and the values are masked."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if value in (None, ""):
        return value
    return MASK


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field: ``before`` is None on create. ``secret`` values are never shown."""

    name: str
    before: Any
    after: Any
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    kind: ResourceKind
    name: str
    action: Action
    site: str | None = None
    fields: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        kinds = {
            "trunk": "trunk",
            "site": "site",
            "number-plan": "number plan",
            "outbound-route": "outbound route",
        }
        where = f" (site {self.site!r})" if self.site is not None else ""
        return f"{kinds[self.kind]} {self.name!r}{where}"

    def to_json(self) -> Json:
        return {
            "kind": self.kind,
            "name": self.name,
            "site": self.site,
            "action": self.action,
            "fields": [
                {
                    "name": f.name,
                    "before": masked(f.before) if f.secret else f.before,
                    "after": masked(f.after) if f.secret else f.after,
                    "secret": f.secret,
                }
                for f in self.fields
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class TrunkStep:
    """POST (``trunk_id`` None) or PUT of a whole ``TrunkBase`` body."""

    name: str
    trunk_id: str | None
    body: Json


@dataclass(frozen=True, slots=True)
class SiteStep:
    """PUT of a whole ``Site`` as read, with org.yaml's ``callerId`` / ``callerName`` (and its version)."""

    site_id: str
    site_name: str
    body: Json


@dataclass(frozen=True, slots=True)
class PlansStep:
    """PUT of a site's whole ordered number plan list."""

    site_id: str
    site_name: str
    body: list[Json]


@dataclass(frozen=True, slots=True)
class RouteStep:
    """POST or PUT of an outbound route; ``trunks`` are names, turned into ``externalTrunkBases`` ids
    when the step runs (``None`` = keep the body's own, for a route that only gives up classifications)."""

    site_id: str
    site_name: str
    route_id: str | None
    body: Json
    trunks: tuple[str, ...] | None


@dataclass(slots=True)
class Plan:
    host: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    trunk_steps: list[TrunkStep] = field(default_factory=list)
    site_steps: list[SiteStep] = field(default_factory=list)
    plans_steps: list[PlansStep] = field(default_factory=list)
    route_steps: list[RouteStep] = field(default_factory=list)
    trunk_ids: dict[str, str] = field(default_factory=dict)  # casefolded name -> id of existing trunks

    @property
    def has_changes(self) -> bool:
        return any(change.action != "unchanged" for change in self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def to_json(self) -> Json:
        return {
            "host": self.host,
            "changes": [change.to_json() for change in self.changes],
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "notes": list(self.notes),
            "summary": {action: self.count(action) for action in ("create", "update", "unchanged")},
        }
