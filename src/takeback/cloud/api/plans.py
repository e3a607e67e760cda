"""Site number plans over the Platform API (GENESYS.md §8.1, §9.3, §11 item 2).

``GET …/sites/{id}/numberplans`` is a JSON **array** (not a listing) in evaluation order, ``priority``
counting from ``Policies.number_plan_priority_base``. ``PUT`` replaces the whole ordered list (INFERRED
from TF): items with an ``id`` keep it (a changed name is a rename), items without one are new, or keep
the id of the existing plan with that name. At most 200 plans [DOC RC-NP]: a longer body is 400 with a
``limit``. Default plans the body leaves out come back at the end of the list
(``Policies.default_number_plans``; TF "re-appends untouched default plans", so a client never loses
them). ``version`` of a plan goes up when the plan or its position changed; the ``version`` a client
sends is not checked (UNKNOWN; TF always sends the one it just read).

Field mapping (SDK ``NumberPlan`` <-> org model): ``numbers`` are the number ranges of
``e164NumberList``/``numberList`` and, one code per item, the country codes of ``interCountryCode``
(INFERRED; the 3P tooling puts them there); ``digitLength`` is the range of ``digitLength`` and the
national lengths of ``intraCountryCode``; ``match``/``normalizedFormat`` belong to ``regex``. Fields that
do not belong to the match type are ignored.
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, validate_model
from ..numberplans import MAX_NUMBER_PLANS, NumberPlan, plan_to_api
from .entities import SITES_PATH, meta_fields
from .errors import ApiError, FieldProblem, bad_request, from_config_error, not_found
from .params import Body
from .state import Claims, OrgState, fields_of, rebuild

__all__ = ["classifications", "get_plan", "list_plans", "plan_entity", "replace_plans"]

# org model field -> API field, for error paths
_API_FIELDS = (
    ("match_type", "matchType"),
    ("digit_length", "digitLength"),
    ("normalized_format", "normalizedFormat"),
    ("country_codes", "numbers"),
)


def plan_entity(state: OrgState, site_id: str, index: int, plan: NumberPlan) -> dict[str, Any]:
    """The ``NumberPlan`` JSON of the plan at ``index`` of the site's effective list."""
    meta = state.plan_registry(site_id).meta_of(plan.name)
    body: dict[str, Any] = {
        **meta_fields(meta),
        **plan_to_api(plan),
        "priority": index + state.policies.number_plan_priority_base,
        "selfUri": f"{SITES_PATH}/{site_id}/numberplans/{meta.id}",
    }
    return body


def list_plans(state: OrgState, site_id: str) -> list[dict[str, Any]]:
    site = state.require_site(site_id)
    plans = state.org.number_plans(site)[:MAX_NUMBER_PLANS]  # "GET returns only the first 200" [DOC RC-NP]
    return [plan_entity(state, site_id, index, plan) for index, plan in enumerate(plans)]


def get_plan(state: OrgState, site_id: str, plan_id: str) -> dict[str, Any]:
    site = state.require_site(site_id)
    meta = state.plan_registry(site_id).get(plan_id)
    if meta is not None:
        for index, plan in enumerate(state.org.number_plans(site)):
            if plan.name == meta.name:
                return plan_entity(state, site_id, index, plan)
    raise not_found("numberPlan", plan_id)


def classifications(state: OrgState, site_id: str, contains: str | None) -> list[str]:
    """``GET …/numberplans/classifications``: the site's classifications in plan order; ``classification``
    filters case-insensitively by substring (INFERRED)."""
    site = state.require_site(site_id)
    names = state.org.classifications(site)
    if contains:
        names = [name for name in names if contains.casefold() in name.casefold()]
    return names


def replace_plans(state: OrgState, site_id: str, data: Any) -> list[dict[str, Any]]:
    """``PUT …/sites/{id}/numberplans``: the body is the whole ordered list (module doc)."""
    site = state.require_site(site_id)
    if not isinstance(data, list):
        raise bad_request("the body must be a JSON array of NumberPlan", field="body")
    if len(data) > MAX_NUMBER_PLANS:
        raise ApiError(
            400,
            "bad.request",
            f"{len(data)} number plans: a site holds at most {MAX_NUMBER_PLANS}",
            details=[FieldProblem("body", f"at most {MAX_NUMBER_PLANS} items", "limit.exceeded")],
            limit={"key": "number.plans.per.site", "namespace": "telephony", "value": MAX_NUMBER_PLANS},
        )
    registry = state.plan_registry(site_id)
    parsed = [_plan_from_json(item, index) for index, item in enumerate(data)]
    claims: dict[str, str] = {}
    for index, (plan, plan_id) in enumerate(parsed):
        if plan_id is None:
            continue
        if plan_id not in registry:
            raise bad_request(
                f"body[{index}].id {plan_id!r} is not a number plan of this site", field=f"body[{index}].id"
            )
        if plan_id in claims.values():
            raise bad_request(f"body[{index}].id {plan_id!r} appears twice", field=f"body[{index}].id")
        claims[plan.name] = plan_id
    org = state.org
    site_index = org.site_names.index(site.name)
    before = {registry.id_of(plan.name): (index, plan) for index, plan in enumerate(org.number_plans(site))}
    try:
        new_site = rebuild(site, number_plans=[plan for plan, _ in parsed])
    except ConfigError as exc:
        raise from_config_error(exc, rename=(("number_plans", "body"),)) from None
    fields = fields_of(org)
    fields["sites"] = [new_site if each.name == site.name else each for each in org.sites]
    new_org = state.validate(fields, rename=((f"sites[{site_index}].number_plans", "body"),))
    state.commit(new_org, Claims(plans={site_id: claims}))
    for index, plan in enumerate(new_org.number_plans(new_site)):
        plan_id = registry.id_of(plan.name)
        if plan_id is not None and plan_id in before and before[plan_id] != (index, plan):
            registry.touch(plan_id)
    return list_plans(state, site_id)


def _plan_from_json(item: Any, index: int) -> tuple[NumberPlan, str | None]:
    where = f"body[{index}]"
    body = Body(item, where)
    match_type = body.required_text("matchType")
    data: dict[str, Any] = {
        "name": body.required_text("name"),
        "match_type": match_type,
        "classification": body.required_text("classification"),
    }
    numbers = _ranges(body, where)
    if match_type in ("e164NumberList", "numberList"):
        data["numbers"] = [{"start": start, "end": end} for start, end in numbers]
    elif match_type == "interCountryCode":
        data["country_codes"] = [start for start, _ in numbers]
    if match_type in ("digitLength", "intraCountryCode") and body.has("digitLength"):
        data["digit_length"] = _digit_length(Body(body.data["digitLength"], f"{where}.digitLength"))
    if match_type == "regex":
        data["match"] = body.text("match") or ""
        data["normalized_format"] = body.text("normalizedFormat") or ""
    try:
        plan = validate_model(NumberPlan, data)
    except ConfigError as exc:
        error = from_config_error(exc, rename=_API_FIELDS)
        details = [FieldProblem(f"{where}.{d.field_name}", d.message) for d in error.details]
        raise bad_request(
            "; ".join(f"{d.field_name}: {d.message}" for d in details), details=details
        ) from None
    return plan, body.text("id")


def _ranges(body: Body, where: str) -> list[tuple[str, str]]:
    raw = body.data.get("numbers")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"{where}.numbers must be a list of {{start, end}}", field=f"{where}.numbers")
    result = []
    for j, item in enumerate(raw):
        number = Body(item, f"{where}.numbers[{j}]")
        start = number.required_text("start")
        result.append((start, number.text("end") or start))
    return result


def _digit_length(body: Body) -> dict[str, int]:
    values = {}
    for name in ("start", "end"):
        raw = body.data.get(name)
        text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= 3):
            raise bad_request(
                f"digitLength.{name} must be a number of digits such as '4'", field=f"digitLength.{name}"
            )
        values[name] = int(text)
    return values
