"""org.yaml + a :class:`Snapshot` of the live org -> a :class:`Plan`. Pure: no I/O, no clock.

Rules (GENESYS.md §3.2, §8, article steps 4-6):

* **Trunk** (step 5): created from the BYOC template (GET template, set ``value.instance``s, POST, [DOC
  PREM]); updated by PUT of the trunk as read, with the current ``version`` and org.yaml's instances. A key
  whose table status is UNKNOWN (emulator-chosen, §9.2) is sent only when the org's template or trunk has
  it; otherwise a non-default value becomes a warning. A Digest password the API hides (masked or empty
  on GET, §9.2 UNKNOWN) cannot be compared: it does not make a trunk "changed" unless ``update_secrets``;
  any PUT carries org.yaml's password, never the hidden value read back.
* **Number plans** (step 6.3): org.yaml's plans, merged by name with the live ones (keeping ``id`` and
  ``version``), at the top in org.yaml's order; every other live plan follows in its current order. One
  PUT of the whole list per site, only when a plan is new, changed or not in its place.
* **Site Caller ID / Caller Name** (GENESYS.md §3.3 ``Site`` source): when org.yaml sets either, the site
  is PUT as read (with its ``version``) carrying org.yaml's ``callerId`` and ``callerName``, only when one
  differs; a missing member reads as "". Sites are looked up by name, never created.
* **Outbound routes** (step 6.5): matched by name. A classification belongs to one route per site
  (§4.1 (4)): one held by a route takeback does not manage is an error, unless ``take_classifications``,
  which first removes it from that route (never leaving a route without classifications).
* **Step 4**: a BYOC PSTN trunk with Release Link Transfer on is a warning.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..cloud import Org, OutboundRoute, Site, Trunk
from ..cloud.numberplans import MAX_NUMBER_PLANS
from .changes import Action, Change, FieldChange, Plan, PlansStep, RouteStep, SiteStep, TrunkStep
from .desired import (
    PASSWORD_KEY,
    PLAN_FIELDS,
    READ_ONLY_FIELDS,
    SECRET_KEYS,
    managed_routes,
    managed_site_caller,
    managed_trunks,
    plan_to_api,
    plan_view,
    property_default,
    trunk_instances,
)
from .platform import BYOC_METABASE
from .snapshot import Snapshot, needed_sites

__all__ = ["PlanOptions", "make_plan", "same_value"]

Json = dict[str, Any]
_RLT_KEY = "trunk_rlt_enabled"


@dataclass(frozen=True, slots=True)
class PlanOptions:
    take_classifications: bool = False  # free classifications held by routes takeback does not manage
    update_secrets: bool = False  # send the Digest password even when the API hides it


def make_plan(org: Org, snapshot: Snapshot, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    plan = Plan(host=snapshot.host)
    plan.trunk_ids = {name: str(trunk["id"]) for name, trunk in snapshot.trunks.items()}
    site_ids = _site_ids(org, snapshot, plan)
    _check_pstn(org, snapshot, plan)
    for trunk in managed_trunks(org):
        _plan_trunk(org, trunk, snapshot, site_ids, options, plan)
    for site in org.sites:
        site_id = site_ids.get(site.name.casefold())
        if site_id is not None:
            _plan_site_caller(site, site_id, snapshot, plan)
            _plan_numbers(site, site_id, snapshot.plans.get(site_id, []), plan)
            _plan_routes(org, site, site_id, snapshot, options, plan)
    return plan


# ----- values -----


def same_value(a: Any, b: Any) -> bool:
    """JSON equality that tolerates ``"101"`` vs ``101`` (the API's types are not documented per key)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float, str)) and isinstance(b, (int, float, str)):
        return str(a) == str(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[key], b[key]) for key in a)
    return bool(a == b)


def _instance(properties: Json, key: str) -> Any:
    entry = properties.get(key)
    value = entry.get("value") if isinstance(entry, dict) else None
    instance = value.get("instance") if isinstance(value, dict) else None
    return instance if instance is not None else property_default(key)


def _with_instance(entry: Any, instance: Any) -> Json:
    result: Json = copy.deepcopy(entry) if isinstance(entry, dict) else {}
    value = result.get("value")
    result["value"] = {**(value if isinstance(value, dict) else {}), "instance": copy.deepcopy(instance)}
    return result


def _hidden(password: Any) -> bool:
    """Masked (``********``) or not returned at all: the API keeps the Digest password to itself."""
    return password in (None, "") or (isinstance(password, str) and set(password) == {"*"})


def _writable(entity: Json) -> Json:
    return {key: copy.deepcopy(value) for key, value in entity.items() if key not in READ_ONLY_FIELDS}


# ----- sites and the PSTN trunk -----


def _site_ids(org: Org, snapshot: Snapshot, plan: Plan) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name in needed_sites(org):
        site = snapshot.site(name)
        if site is None:
            plan.errors.append(
                f"site {name!r} is not in the org; create it in Admin › Telephony › Sites "
                "(takeback looks sites up by name and does not create them)"
            )
        else:
            ids[name.casefold()] = str(site["id"])
    return ids


def _check_pstn(org: Org, snapshot: Snapshot, plan: Plan) -> None:
    """Article step 4: on a BYOC PSTN trunk Release Link Transfer must be off (GCV: nothing to check)."""
    name = org.pstn.trunk
    if org.pstn_trunk.kind != "byoc":
        return
    live = snapshot.trunk(name)
    if live is None:
        plan.warnings.append(
            f"PSTN trunk {name!r} (pstn.trunk) is not in the org: its Release Link Transfer cannot be "
            "checked (article step 4)"
        )
        return
    if (live.get("trunkMetabase") or {}).get("id") != BYOC_METABASE:
        return
    if _instance(live.get("properties") or {}, _RLT_KEY) is True:
        plan.warnings.append(
            f"Release Link Transfer is ON on the PSTN trunk {name!r} in the org: Genesys would REFER the "
            "carrier instead of bridging calls to the device; turn it off in Trunk › Protocol "
            "(article step 4)"
        )


# ----- trunks -----


def _sendable(trunk: Trunk, available: set[str], warnings: list[str]) -> dict[str, Any]:
    """The instances to write: UNKNOWN keys only when the org knows them (module doc)."""
    send: dict[str, Any] = {}
    for key, (value, spec) in trunk_instances(trunk).items():
        if key in available or spec is None:  # spec None: an extra_properties key, asked for verbatim
            send[key] = value
        elif same_value(value, spec.default):
            continue  # nothing to say that the default does not say
        elif spec.status == "UNKNOWN":
            warnings.append(
                f"trunk {trunk.name!r}: {spec.field} ({spec.ui}) is not sent: its key {key} is "
                "emulator-chosen (GENESYS.md §9.2) and this org's BYOC template does not have it; "
                "set it in Admin › Telephony › Trunks"
            )
        else:
            send[key] = value
    return send


def _plan_trunk(
    org: Org, trunk: Trunk, snapshot: Snapshot, site_ids: dict[str, str], options: PlanOptions, plan: Plan
) -> None:
    inbound = org.site_for_trunk(trunk.name).name
    sites = {"inboundSite": inbound} | ({"site": trunk.site} if trunk.site is not None else {})
    if any(name.casefold() not in site_ids for name in sites.values()):
        return  # the missing site is already an error
    current = snapshot.trunk(trunk.name)
    metabase = (current or {}).get("trunkMetabase") or {}
    if current is not None and metabase.get("id") != BYOC_METABASE:
        plan.errors.append(
            f"trunk {trunk.name!r} exists with metabase {metabase.get('id')!r}; takeback provisions "
            f"{BYOC_METABASE} (Generic BYOC Carrier) trunks only: rename one of them"
        )
        return
    template = snapshot.template or {}
    available = set(template.get("properties") or {}) | set((current or {}).get("properties") or {})
    send = _sendable(trunk, available, plan.warnings)
    refs = {field: {"id": site_ids[name.casefold()]} for field, name in sites.items()}
    if current is None:
        _create_trunk(trunk, template, send, refs, sites, plan)
    else:
        _update_trunk(trunk, current, send, refs, sites, snapshot, options, plan)


def _create_trunk(
    trunk: Trunk, template: Json, send: Json, refs: Json, sites: dict[str, str], plan: Plan
) -> None:
    body = _writable(template)
    body.pop("id", None)
    body.update(name=trunk.name, **copy.deepcopy(refs))
    properties = body.setdefault("properties", {})
    fields = [FieldChange("name", None, trunk.name)]
    fields += [FieldChange(field, None, name) for field, name in sites.items()]
    for key, value in send.items():
        before = _instance(properties, key)
        properties[key] = _with_instance(properties.get(key), value)
        if not same_value(before, value):
            fields.append(FieldChange(key, None, value, key in SECRET_KEYS))
    plan.changes.append(Change("trunk", trunk.name, "create", fields=tuple(fields)))
    plan.trunk_steps.append(TrunkStep(trunk.name, None, body))


def _update_trunk(
    trunk: Trunk,
    current: Json,
    send: Json,
    refs: Json,
    sites: dict[str, str],
    snapshot: Snapshot,
    options: PlanOptions,
    plan: Plan,
) -> None:
    live = current.get("properties") or {}
    fields: list[FieldChange] = []
    notes: list[str] = []
    if current.get("name") != trunk.name:
        fields.append(FieldChange("name", current.get("name"), trunk.name))
    site_names = {str(site["id"]): str(site["name"]) for site in snapshot.sites.values()}
    for field, name in sites.items():
        now = (current.get(field) or {}).get("id")
        if now != refs[field]["id"]:
            fields.append(FieldChange(field, site_names.get(str(now), now), name))
    for key, value in send.items():
        before = _instance(live, key)
        if key == PASSWORD_KEY and value and _hidden(before) and not options.update_secrets:
            notes.append("Digest password not compared: the API does not show it")
            continue
        if not same_value(before, value) or (key == PASSWORD_KEY and value and _hidden(before)):
            fields.append(FieldChange(key, before, value, key in SECRET_KEYS))
    if not fields:
        notes = [f"{note}; --update-secrets sends it" for note in notes]
        plan.changes.append(Change("trunk", trunk.name, "unchanged", notes=tuple(notes)))
        return
    notes = [f"{note}; org.yaml's is sent with this update" for note in notes]
    body = _writable(current)
    body.update(name=trunk.name, **copy.deepcopy(refs))
    body["properties"] = {key: copy.deepcopy(entry) for key, entry in live.items()}
    for key, value in send.items():  # every managed key, so the password is org.yaml's, not the mask
        body["properties"][key] = _with_instance(live.get(key), value)
    plan.changes.append(Change("trunk", trunk.name, "update", fields=tuple(fields), notes=tuple(notes)))
    plan.trunk_steps.append(TrunkStep(trunk.name, str(current["id"]), body))


# ----- sites: Caller ID / Caller Name -----


def _plan_site_caller(site: Site, site_id: str, snapshot: Snapshot, plan: Plan) -> None:
    wanted = managed_site_caller(site)
    live = snapshot.site(site.name)
    if wanted is None or live is None:
        return
    fields = [
        FieldChange(member, live.get(member) or "", value)
        for member, value in wanted.items()
        if not same_value(live.get(member) or "", value)
    ]
    if not fields:
        plan.changes.append(Change("site", site.name, "unchanged"))
        return
    plan.changes.append(Change("site", site.name, "update", fields=tuple(fields)))
    plan.site_steps.append(SiteStep(site_id, site.name, {**_writable(live), **wanted}))


# ----- number plans -----


def _plan_numbers(site: Site, site_id: str, current: list[Json], plan: Plan) -> None:
    if not site.number_plans:
        return
    desired = [plan_to_api(number_plan) for number_plan in site.number_plans]
    position = {str(each.get("name", "")).casefold(): index for index, each in enumerate(current)}
    wanted = {each["name"].casefold() for each in desired}
    body: list[Json] = []
    dirty = False
    for index, want in enumerate(desired):
        old_index = position.get(want["name"].casefold())
        if old_index is None:
            fields = [FieldChange(key, None, value) for key, value in plan_view(want).items()]
            fields.append(FieldChange("position", None, index + 1))
            plan.changes.append(Change("number-plan", want["name"], "create", site.name, tuple(fields)))
            body.append(want)
            dirty = True
            continue
        live = current[old_index]
        before, after = plan_view(live), plan_view(want)
        fields = [
            FieldChange(key, before.get(key), after.get(key))
            for key in PLAN_FIELDS
            if not same_value(before.get(key), after.get(key))
        ]
        if live.get("name") != want["name"]:
            fields.insert(0, FieldChange("name", live.get("name"), want["name"]))
        if old_index != index:
            fields.append(FieldChange("position", old_index + 1, index + 1))
        action: Action = "update" if fields else "unchanged"
        plan.changes.append(Change("number-plan", want["name"], action, site.name, tuple(fields)))
        dirty = dirty or bool(fields)
        kept = {key: value for key, value in _writable(live).items() if key not in PLAN_FIELDS}
        body.append({**kept, **want})
    body += [_writable(each) for each in current if str(each.get("name", "")).casefold() not in wanted]
    if len(body) > MAX_NUMBER_PLANS:
        plan.errors.append(
            f"site {site.name!r} would hold {len(body)} number plans; a site holds at most "
            f"{MAX_NUMBER_PLANS} (GENESYS.md §8.1): remove some in the org or in org.yaml"
        )
    elif dirty:
        plan.plans_steps.append(PlansStep(site_id, site.name, body))


# ----- outbound routes -----


def _route_view(route: Json, trunk_names: dict[str, str]) -> Json:
    refs = route.get("externalTrunkBases") or []
    return {
        "classificationTypes": sorted(route.get("classificationTypes") or []),
        "enabled": bool(route.get("enabled", False)),
        "distribution": route.get("distribution") or "SEQUENTIAL",
        "externalTrunkBases": [trunk_names.get(str(ref.get("id")), ref.get("name")) for ref in refs],
        "description": route.get("description") or "",
    }


def _desired_route(route: OutboundRoute) -> Json:
    return {
        "name": route.name,
        "classificationTypes": list(route.classifications),
        "enabled": route.enabled,
        "distribution": route.distribution,
        "description": route.description,
    }


def _missing_trunks(org: Org, route: OutboundRoute, snapshot: Snapshot) -> list[str]:
    managed = {trunk.name for trunk in managed_trunks(org)}
    return [name for name in route.external_trunks if name not in managed and snapshot.trunk_id(name) is None]


def _plan_routes(
    org: Org, site: Site, site_id: str, snapshot: Snapshot, options: PlanOptions, plan: Plan
) -> None:
    managed = managed_routes(org, site)
    for route in site.outbound_routes:
        if route not in managed:
            plan.notes.append(
                f"outbound route {route.name!r} (site {site.name!r}) is left as it is: takeback does not "
                f"provision its trunks ({', '.join(route.external_trunks)})"
            )
    current = snapshot.routes.get(site_id, [])
    by_name = {str(each.get("name", "")).casefold(): each for each in current}
    ours = {route.name.casefold() for route in managed}
    holders = {
        name: each
        for each in current
        if str(each.get("name", "")).casefold() not in ours
        for name in each.get("classificationTypes") or []
    }
    taken: dict[str, list[str]] = {}
    steps: list[RouteStep] = []
    for route in managed:
        missing = _missing_trunks(org, route, snapshot)
        if missing:
            plan.errors.append(
                f"outbound route {route.name!r} (site {site.name!r}): trunk(s) {', '.join(missing)} not in "
                "the org, and takeback creates only BYOC trunks other than the PSTN trunk"
            )
            continue
        for name in route.classifications:
            holder = holders.get(name)
            if holder is None:
                continue
            if options.take_classifications:
                taken.setdefault(str(holder["id"]), []).append(name)
            else:
                plan.errors.append(
                    f"classification {name!r} is held by outbound route {holder.get('name')!r} of site "
                    f"{site.name!r} (one route per classification, GENESYS.md §4.1): remove it there, or "
                    f"pass --take-classifications to move it to {route.name!r}"
                )
        steps.append(_route_step(route, by_name.get(route.name.casefold()), site, site_id, snapshot, plan))
    frees = _free_classifications(taken, current, site, site_id, snapshot, plan)
    plan.route_steps += frees + [step for step in steps if step.body]


def _route_step(
    route: OutboundRoute, live: Json | None, site: Site, site_id: str, snapshot: Snapshot, plan: Plan
) -> RouteStep:
    want = _desired_route(route)
    after = {**_route_view(want, {}), "externalTrunkBases": list(route.external_trunks)}
    if live is None:
        fields = [FieldChange(key, None, value) for key, value in after.items() if value not in ("", None)]
        plan.changes.append(Change("outbound-route", route.name, "create", site.name, tuple(fields)))
        body = {key: value for key, value in want.items() if value != ""}
        return RouteStep(site_id, site.name, None, body, tuple(route.external_trunks))
    before = _route_view(live, snapshot.trunk_names)
    fields = [
        FieldChange(key, before[key], after[key]) for key in after if not same_value(before[key], after[key])
    ]
    if live.get("name") != route.name:
        fields.insert(0, FieldChange("name", live.get("name"), route.name))
    if not fields:
        plan.changes.append(Change("outbound-route", route.name, "unchanged", site.name))
        return RouteStep(site_id, site.name, str(live["id"]), {}, None)
    plan.changes.append(Change("outbound-route", route.name, "update", site.name, tuple(fields)))
    body = {**_writable(live), **want}
    return RouteStep(site_id, site.name, str(live["id"]), body, tuple(route.external_trunks))


def _free_classifications(
    taken: dict[str, list[str]],
    current: Iterable[Json],
    site: Site,
    site_id: str,
    snapshot: Snapshot,
    plan: Plan,
) -> list[RouteStep]:
    """``--take-classifications``: PUT each holder without the classifications org.yaml's routes take."""
    steps = []
    for live in current:
        names = taken.get(str(live.get("id")))
        if not names:
            continue
        before = list(live.get("classificationTypes") or [])
        left = [name for name in before if name not in names]
        if not left:
            plan.errors.append(
                f"outbound route {live.get('name')!r} (site {site.name!r}) would keep no classification "
                f"after giving up {', '.join(names)}: delete or edit it in Admin › Telephony › Sites"
            )
            continue
        plan.changes.append(
            Change(
                "outbound-route",
                str(live.get("name")),
                "update",
                site.name,
                (FieldChange("classificationTypes", sorted(before), sorted(left)),),
                (f"gives up {', '.join(names)} (--take-classifications)",),
            )
        )
        body = {**_writable(live), "classificationTypes": left}
        steps.append(RouteStep(site_id, site.name, str(live["id"]), body, None))
    return steps
