"""Planning is a pure function of (org.yaml, snapshot): each rule on a snapshot read once from the emulator
and then edited, so the JSON is the API's own."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from takeback.cloud import Org, parse_org
from takeback.provision import PlanOptions, Snapshot, connect, make_plan, read_snapshot
from takeback.provision.desired import PASSWORD_KEY, terraform_spelling_problems
from takeback.provision.planner import same_value
from takeback.provision.platform import Credentials

from .support import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    DIGEST_PASSWORD,
    ThreadedEmulator,
    article_org_data,
    bare_org,
)

ROUTE = "New Outbound Route to External Device"


@pytest.fixture(scope="module")
def bare_snapshot() -> Snapshot:
    """The bare org (PSTN side only) as the SDK reads it, for the article org."""
    with ThreadedEmulator(bare_org()) as emulator:
        client = connect(emulator.url, Credentials(CLIENT_ID, CLIENT_SECRET))
        return read_snapshot(client, article_org())


@pytest.fixture(scope="module")
def provisioned_snapshot() -> Snapshot:
    """The article org itself, fully provisioned."""
    with ThreadedEmulator(article_org()) as emulator:
        client = connect(emulator.url, Credentials(CLIENT_ID, CLIENT_SECRET))
        return read_snapshot(client, article_org())


def article_org(**device: Any) -> Org:
    data = article_org_data()
    next(t for t in data["trunks"] if t["name"] == DEVICE).update(device)
    return parse_org(data)


def fresh(snapshot: Snapshot) -> Snapshot:
    return copy.deepcopy(snapshot)


def step_names(plan: Any) -> list[str]:
    return [f"{change.action} {change.kind} {change.name}" for change in plan.changes]


def test_first_plan_creates_trunk_plans_route(bare_snapshot: Snapshot) -> None:
    plan = make_plan(article_org(), fresh(bare_snapshot))
    assert not plan.errors and not plan.warnings
    assert step_names(plan) == [
        f"create trunk {DEVICE}",
        "create number-plan New Number Plan with E164",
        "create number-plan New Number Plan with short number",
        f"create outbound-route {ROUTE}",
    ]
    (trunk_step,) = plan.trunk_steps
    assert trunk_step.trunk_id is None
    body = trunk_step.body
    assert body["trunkMetabase"]["id"] == "external_sip_pcv_byoc_carrier.json"  # from the template
    assert body["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] == ["127.0.0.1:5080"]
    assert body["properties"][PASSWORD_KEY]["value"]["instance"] == DIGEST_PASSWORD
    assert body["inboundSite"]["id"] == bare_snapshot.site("Daly City")["id"]  # type: ignore[index]
    # camelCase keys of real exports, never the Terraform example's snake_case
    assert "trunk_maxDialTimeout" in body["properties"] and "trunk_max_dial_timeout" not in body["properties"]
    (plans_step,) = plan.plans_steps
    names = [p["name"] for p in plans_step.body]
    assert names[:4] == [
        "New Number Plan with E164",
        "New Number Plan with short number",
        "Existing Plan A",
        "Existing Plan B",
    ]
    assert all("priority" not in p and "selfUri" not in p for p in plans_step.body)
    (route_step,) = plan.route_steps
    assert route_step.route_id is None and route_step.trunks == (DEVICE,)


def test_provisioned_org_has_nothing_to_do(provisioned_snapshot: Snapshot) -> None:
    plan = make_plan(article_org(), fresh(provisioned_snapshot))
    assert not plan.has_changes and not plan.errors
    assert not plan.trunk_steps and not plan.plans_steps and not plan.route_steps
    trunk = plan.changes[0]
    assert trunk.action == "unchanged" and "Digest password not compared" in trunk.notes[0]


def test_unknown_keys_go_only_where_the_template_has_them(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    assert snapshot.template is not None
    for key in ("trunk_sip_customHeaders", "trunk_sip_authentication_enabled", "trunk_sip_outbound_tgrp"):
        del snapshot.template["properties"][key]  # a real org's template may not have these keys
    del snapshot.template["properties"]["trunk_transfer_takeback_enabled"]  # a DOC key: still sent
    plan = make_plan(article_org(), snapshot)
    properties = plan.trunk_steps[0].body["properties"]
    assert "trunk_sip_customHeaders" not in properties
    assert "trunk_sip_authentication_enabled" not in properties
    assert "trunk_sip_outbound_tgrp" not in properties  # default value: nothing to warn about either
    assert properties["trunk_transfer_takeback_enabled"]["value"]["instance"] is True
    digest, headers = plan.warnings  # in table order
    assert "digest_authentication" in digest and "trunk_sip_authentication_enabled" in digest
    assert "custom_sip_headers" in headers and "trunk_sip_customHeaders" in headers
    assert "is not sent" in headers and "template does not have it" in headers


def test_terraform_spellings_are_refused() -> None:
    org = article_org(extra_properties={"trunk_max_dial_timeout": "1m", "trunk_fax_enabled": False})
    (problem,) = terraform_spelling_problems(org)
    assert "trunk_max_dial_timeout" in problem and "trunk_maxDialTimeout" in problem
    assert "'max_dial_timeout'" in problem


def test_change_in_the_org_is_an_update_with_the_fields(provisioned_snapshot: Snapshot) -> None:
    snapshot = fresh(provisioned_snapshot)
    trunk = snapshot.trunk(DEVICE)
    assert trunk is not None
    trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = ["10.0.0.9:5060"]
    site_id = snapshot.site("Daly City")["id"]  # type: ignore[index]
    route = next(r for r in snapshot.routes[site_id] if r["name"] == ROUTE)
    route["enabled"] = False
    plan = make_plan(article_org(), snapshot)
    changed = {c.name: c for c in plan.changes if c.action == "update"}
    (proxies,) = changed[DEVICE].fields
    assert (proxies.name, proxies.before, proxies.after) == (
        "trunk_transport_serverProxyList",
        ["10.0.0.9:5060"],
        ["127.0.0.1:5080"],
    )
    assert [(f.name, f.before, f.after) for f in changed[ROUTE].fields] == [("enabled", False, True)]
    assert changed[DEVICE].notes == (
        "Digest password not compared: the API does not show it; org.yaml's is sent with this update",
    )
    body = plan.trunk_steps[0].body
    assert body["version"] == trunk["version"] and "dateModified" not in body
    assert body["properties"][PASSWORD_KEY]["value"]["instance"] == DIGEST_PASSWORD  # never the mask
    assert plan.route_steps[0].body["version"] == route["version"]


def test_hidden_password(provisioned_snapshot: Snapshot) -> None:
    secrets = make_plan(article_org(), fresh(provisioned_snapshot), PlanOptions(update_secrets=True))
    (field,) = secrets.changes[0].fields
    assert field.name == PASSWORD_KEY and field.secret
    cleared = make_plan(
        article_org(digest_authentication=False, digest_password="", digest_user_name=""),
        fresh(provisioned_snapshot),
    )
    names = {f.name: f for f in cleared.changes[0].fields}
    assert names[PASSWORD_KEY].after == "" and names[PASSWORD_KEY].before == "********"


def test_plans_merge_by_name_keeping_ids_and_the_others_order(provisioned_snapshot: Snapshot) -> None:
    snapshot = fresh(provisioned_snapshot)
    site_id = snapshot.site("Daly City")["id"]  # type: ignore[index]
    live = snapshot.plans[site_id]
    e164, short, *rest = live
    short.update(matchType="regex", match="^99$", numbers=None)  # changed in the org, and moved down
    snapshot.plans[site_id] = [rest[0], e164, rest[1], short, *rest[2:]]
    plan = make_plan(article_org(), snapshot)
    changes = {c.name: c for c in plan.changes if c.kind == "number-plan"}
    assert [(f.name, f.before, f.after) for f in changes[e164["name"]].fields] == [("position", 2, 1)]
    fields = {f.name: (f.before, f.after) for f in changes[short["name"]].fields}
    assert fields["matchType"] == ("regex", "numberList") and fields["position"] == (4, 2)
    assert fields["match"] == ("^99$", None)
    (step,) = plan.plans_steps
    assert [p["name"] for p in step.body] == [
        e164["name"],
        short["name"],
        rest[0]["name"],
        rest[1]["name"],
    ] + [p["name"] for p in rest[2:]]
    merged = step.body[1]
    assert merged["id"] == short["id"] and merged["version"] == short["version"]
    assert "match" not in merged and merged["matchType"] == "numberList"


def _add_route(snapshot: Snapshot, name: str, classifications: list[str]) -> str:
    site_id = snapshot.site("Daly City")["id"]  # type: ignore[index]
    snapshot.routes[site_id].append(
        {
            "id": f"id-{name}",
            "name": name,
            "version": 3,
            "classificationTypes": classifications,
            "enabled": True,
        }
    )
    return site_id


def test_classification_held_by_another_route(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    _add_route(snapshot, "Legacy", ["E164ToExternalDevice", "Other"])
    plan = make_plan(article_org(), snapshot)
    (error,) = plan.errors
    assert "'E164ToExternalDevice' is held by outbound route 'Legacy'" in error
    assert "--take-classifications" in error
    taken = make_plan(article_org(), snapshot, PlanOptions(take_classifications=True))
    assert not taken.errors
    free, create = taken.route_steps
    assert free.route_id == "id-Legacy" and free.body["classificationTypes"] == ["Other"]
    assert free.body["version"] == 3 and free.trunks is None
    assert create.route_id is None  # the route that takes it runs after the route that frees it


def test_a_route_is_never_left_without_classifications(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    _add_route(snapshot, "Legacy", ["ShortNumberToExternalDevice"])
    plan = make_plan(article_org(), snapshot, PlanOptions(take_classifications=True))
    (error,) = plan.errors
    assert "'Legacy'" in error and "would keep no classification" in error


def test_pstn_trunk_checks(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    pstn = snapshot.trunk("PSTNCarrierTrunk")
    assert pstn is not None
    pstn["properties"]["trunk_rlt_enabled"]["value"]["instance"] = True
    (warning,) = make_plan(article_org(), snapshot).warnings
    assert "Release Link Transfer is ON on the PSTN trunk 'PSTNCarrierTrunk'" in warning
    del snapshot.trunks["pstncarriertrunk"]
    (warning,) = make_plan(article_org(), snapshot).warnings
    assert "not in the org" in warning


def test_missing_site_and_foreign_metabase_are_errors(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    snapshot.sites.clear()
    plan = make_plan(article_org(), snapshot)
    assert plan.errors == [
        "site 'Daly City' is not in the org; create it in Admin › Telephony › Sites (takeback looks sites "
        "up by name and does not create them)"
    ]
    assert not plan.trunk_steps and not plan.plans_steps and not plan.route_steps
    snapshot = fresh(bare_snapshot)
    snapshot.trunks[DEVICE.casefold()] = {
        "id": "x",
        "name": DEVICE,
        "trunkMetabase": {"id": "tie_direct.json"},
    }
    assert "metabase 'tie_direct.json'" in make_plan(article_org(), snapshot).errors[0]


def test_same_value() -> None:
    assert same_value("101", 101) and same_value([1, "a"], ["1", "a"]) and same_value({"a": 1}, {"a": "1"})
    assert not same_value(True, "true") and not same_value(True, 1) and not same_value([1], [1, 2])


def test_more_than_200_plans_is_an_error(bare_snapshot: Snapshot) -> None:
    snapshot = fresh(bare_snapshot)
    site_id = snapshot.site("Daly City")["id"]  # type: ignore[index]
    live = snapshot.plans[site_id]
    filler = [
        {"id": f"p{i}", "name": f"Filler {i}", "matchType": "numberList", "classification": "F"}
        for i in range(200 - len(live) - 1)
    ]
    snapshot.plans[site_id] = live + filler  # 199 plans; org.yaml adds 2
    plan = make_plan(article_org(), snapshot)
    (error,) = plan.errors
    assert "would hold 201 number plans" in error and not plan.plans_steps
