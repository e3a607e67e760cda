"""The one org model behind the REST API and the SIP side: the current :class:`Org` plus API identities.

:class:`Org` names things (trunks, sites, plans and routes refer to each other by name) and is frozen;
the Platform API identifies them by ``id`` and ``version``. :class:`OrgState` holds both: the current
``Org`` (the SIP side reads :attr:`OrgState.org` for every call, so a change through the API applies to
the next call) and a :class:`Registry` of ids per kind and scope. A mutation builds a new ``Org``,
validates it with the same rules as an org.yaml (so the API cannot create an org the emulator could not
load), then :meth:`OrgState.commit` swaps it in, re-syncs the registries and bumps :attr:`version`.

Ids of entities that come from org.yaml are UUIDv5 of the org name and the entity's path, so they are
stable from one run of the emulator to the next; entities created through the API get UUIDv4 ids.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ..config import ConfigError, validate_model
from ..org import Org, Site
from ..policies import Policies
from .errors import ApiError, from_config_error

__all__ = ["Claims", "EntityMeta", "OrgState", "Registry", "Tombstone", "fields_of", "rebuild"]

log = logging.getLogger("takeback.cloud.api")
Clock = Callable[[], datetime]
Listener = Callable[[Org], None]
ModelT = TypeVar("ModelT", bound=BaseModel)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class EntityMeta:
    """What the API knows about an entity beyond the org model: identity, version, dates."""

    id: str
    name: str
    version: int
    created: datetime
    modified: datetime
    description: str = ""  # for entities whose org model has no description (trunks)


@dataclass(slots=True)
class Tombstone:
    """A deleted entity still visible as ``state: "deleted"`` for ``reads_left`` more GETs (§3.1)."""

    entity: dict[str, Any]
    reads_left: int


class Registry:
    """Ids <-> names of one kind of entity in one scope (org-wide trunks and sites; per-site plans and
    routes). Names compare case-insensitively, like the org model's uniqueness checks."""

    def __init__(self, scope: str, mint: Callable[[str], str], clock: Clock) -> None:
        self._scope = scope
        self._mint = mint
        self._clock = clock
        self._by_id: dict[str, EntityMeta] = {}
        self._id_by_name: dict[str, str] = {}

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._by_id

    def __iter__(self) -> Iterator[EntityMeta]:
        return iter(list(self._by_id.values()))

    def get(self, entity_id: str) -> EntityMeta | None:
        return self._by_id.get(entity_id)

    def id_of(self, name: str) -> str | None:
        return self._id_by_name.get(name.casefold())

    def meta_of(self, name: str) -> EntityMeta:
        entity_id = self.id_of(name)
        if entity_id is None:
            raise KeyError(f"{self._scope}: no entity named {name!r}")
        return self._by_id[entity_id]

    def sync(self, names: Iterable[str], claims: Mapping[str, str] | None = None) -> None:
        """Make the registry hold exactly ``names``.

        ``claims`` maps a (new) name to the id it must keep: a rename, or a swap of two names. Unclaimed
        names keep the id they had; new names get a fresh id; ids whose name vanished are dropped.
        """
        claimed = {name.casefold(): entity_id for name, entity_id in (claims or {}).items()}
        taken = set(claimed.values())
        now = self._clock()
        by_id: dict[str, EntityMeta] = {}
        for name in names:
            key = name.casefold()
            entity_id = claimed.get(key)
            if entity_id is None:
                previous = self._id_by_name.get(key)
                entity_id = previous if previous is not None and previous not in taken else None
            meta = self._by_id.get(entity_id) if entity_id is not None else None
            if meta is None:
                meta = EntityMeta(entity_id or self._mint(name), name, 1, now, now)
            meta.name = name
            by_id[meta.id] = meta
            taken.add(meta.id)
        self._by_id = by_id
        self._id_by_name = {meta.name.casefold(): meta.id for meta in by_id.values()}

    def touch(self, entity_id: str) -> None:
        """A successful update: ``version`` + 1 and a new ``dateModified``."""
        meta = self._by_id[entity_id]
        meta.version += 1
        meta.modified = self._clock()


@dataclass(slots=True)
class Claims:
    """Names that must keep an id through a commit (renames), per registry: ``trunks``, ``sites``, and
    ``plans``/``routes`` keyed by site id."""

    trunks: dict[str, str] = field(default_factory=dict)
    plans: dict[str, dict[str, str]] = field(default_factory=dict)
    routes: dict[str, dict[str, str]] = field(default_factory=dict)


def fields_of(model: BaseModel) -> dict[str, Any]:
    """A model's field values; sub-models stay instances, so re-validating only re-checks the joins.

    (Not ``dict(model)``: that would also carry ``cached_property`` values such as ``Org.trunk_names``.)
    """
    return {name: getattr(model, name) for name in type(model).model_fields}


def rebuild(model: ModelT, **changes: Any) -> ModelT:
    """A validated copy of a frozen model with ``changes`` (``model_copy`` would skip validation and keep
    stale cached properties); raises :class:`ConfigError`."""
    return validate_model(type(model), {**fields_of(model), **changes})


class OrgState:
    """The current org and its API identities (module doc). Single-threaded: use it from the loop."""

    def __init__(
        self,
        org: Org,
        *,
        clock: Clock | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._clock = clock or _utc_now
        self._new_id = new_id
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"takeback:org:{org.name}")
        self._org = org
        self._version = 0
        self._listeners: list[Listener] = []
        self.division_id = str(uuid.uuid5(self._namespace, "division:Home"))
        self.trunks = Registry("trunks", self._minter("trunk"), self._clock)
        self.sites = Registry("sites", self._minter("site"), self._clock)
        self.plans: dict[str, Registry] = {}
        self.routes: dict[str, Registry] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self._initial = True
        self._sync(Claims())
        self._initial = False

    # --- reading ---

    @property
    def org(self) -> Org:
        """The current org: what the next call is routed with."""
        return self._org

    @property
    def version(self) -> int:
        """Bumped by every committed change (0 = as loaded)."""
        return self._version

    @property
    def policies(self) -> Policies:
        return self._org.policies

    def site_name(self, site_id: str) -> str | None:
        meta = self.sites.get(site_id)
        return meta.name if meta is not None else None

    def require_site(self, site_id: str) -> Site:
        name = self.site_name(site_id)
        if name is None:
            raise ApiError(
                404, "not.found", f"site {site_id!r} not found", entity_id=site_id, entity_name="site"
            )
        return self._org.site(name)

    def plan_registry(self, site_id: str) -> Registry:
        return self.plans[site_id]

    def route_registry(self, site_id: str) -> Registry:
        return self.routes[site_id]

    # --- changing ---

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(org)`` after each commit; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def validate(self, data: Mapping[str, Any], *, rename: tuple[tuple[str, str], ...] = ()) -> Org:
        """A new org from field values, or a 400 naming each problem."""
        try:
            return validate_model(Org, dict(data))
        except ConfigError as exc:
            raise from_config_error(exc, rename=rename) from None

    def commit(self, org: Org, claims: Claims | None = None) -> None:
        """Make ``org`` current: ids follow ``claims`` (renames), then listeners hear of it."""
        self._org = org
        self._sync(claims or Claims())
        self._version += 1
        for listener in list(self._listeners):
            try:
                listener(org)
            except Exception:  # a listener's bug must not fail the API request that changed the org
                log.exception("org change listener %r failed", listener)

    def replace(self, org: Org) -> None:
        """Swap in a whole new org (e.g. a reloaded org.yaml); entities keep their ids by name."""
        self.commit(org)

    # --- internals ---

    def _minter(self, scope: str) -> Callable[[str], str]:
        """Ids: UUIDv5 of (org, scope, name) for what the org.yaml defined, fresh ids afterwards."""

        def mint(name: str) -> str:
            if self._initial:
                return str(uuid.uuid5(self._namespace, f"{scope}:{name}"))
            return self._new_id() if self._new_id is not None else str(uuid.uuid4())

        return mint

    def _sync(self, claims: Claims) -> None:
        self.trunks.sync([trunk.name for trunk in self._org.trunks], claims.trunks)
        self.sites.sync([site.name for site in self._org.sites])
        for site in self._org.sites:
            site_id = self.sites.meta_of(site.name).id
            if site_id not in self.plans:
                self.plans[site_id] = Registry("plans", self._minter(f"plan:{site.name}"), self._clock)
                self.routes[site_id] = Registry("routes", self._minter(f"route:{site.name}"), self._clock)
            self.plans[site_id].sync(
                [plan.name for plan in self._org.number_plans(site)], claims.plans.get(site_id)
            )
            self.routes[site_id].sync(
                [route.name for route in site.outbound_routes], claims.routes.get(site_id)
            )
        for site_id in set(self.plans) - {meta.id for meta in self.sites}:
            del self.plans[site_id]
            self.routes.pop(site_id, None)
