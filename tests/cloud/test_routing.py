"""The dial path: plan, classification, outbound route, trunks, proxies (GENESYS.md §4.1, §11 item 3)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from takeback.cloud import (
    ConfigError,
    NoRoute,
    Org,
    classify_number,
    load_builtin_org,
    parse_org,
    route_number,
)

from .orgdata import device_trunk, make_org, org_data


def _org_with_route(route: dict[str, Any], trunks: list[dict[str, Any]], **top: Any) -> Org:
    """The test org plus a 'Lab' plan (7001-7009) on top and a 'LabRoute' outbound route for it."""
    data = org_data(**top)
    data["trunks"] += trunks
    lab_plan = {"name": "Lab", "match_type": "numberList", "numbers": "7001-7009", "classification": "Lab"}
    data["sites"][0]["number_plans"].insert(0, lab_plan)
    data["sites"][0]["outbound_routes"].append({"name": "LabRoute", "classifications": ["Lab"], **route})
    return parse_org(data)


def test_article_short_number_reaches_device_trunk() -> None:
    org = load_builtin_org()
    plan = route_number(org, "Daly City", "9991")
    assert plan.classification == "ShortNumberToExternalDevice"
    assert plan.plan.name == "New Number Plan with short number"
    assert plan.number == "9991" and plan.dialed == "9991"
    assert plan.route.name == "New Outbound Route to External Device"
    assert [(a.trunk.name, str(a.proxy), a.transport) for a in plan.attempts] == [
        ("MyBYOCCloudTrunkForTransferToExternalDevice", "127.0.0.1:5080", "udp")
    ]


def test_default_site_used_when_none() -> None:
    assert route_number(load_builtin_org(), None, "+19999990001").classification == "E164ToExternalDevice"


def test_omit_plus_not_applied_here_but_exposed_s4_2() -> None:
    data = org_data()
    data["trunks"][1].update(called_address_omit_plus=True, calling_address_omit_plus=True)
    plan = route_number(make_org(**data), None, "+19999990001")
    assert plan.number == "+19999990001"  # the INVITE builder strips the '+'
    (attempt,) = plan.attempts
    assert attempt.called_address_omit_plus and attempt.calling_address_omit_plus


def test_sequential_trunks_in_list_order_and_proxies_in_list_order_s4_1() -> None:
    trunks = [
        device_trunk("A", sip_servers=["127.0.0.1:6001", "127.0.0.1:6002"]),
        device_trunk("B", sip_servers=["127.0.0.1:6003"]),
    ]
    org = _org_with_route({"external_trunks": ["B", "A"], "distribution": "SEQUENTIAL"}, trunks)
    plan = route_number(org, None, "7005")
    assert [t.name for t in plan.trunks] == ["B", "A"]
    assert [(a.trunk.name, a.proxy.port) for a in plan.attempts] == [("B", 6003), ("A", 6001), ("A", 6002)]  # type: ignore[union-attr]


def test_random_distribution_uniform_over_enabled_trunks_s4_1() -> None:
    """RANDOM: the first trunk is uniform (chi-square, 2 d.o.f., bound 13.8 = p 0.001) with a seeded rng."""
    trunks = [device_trunk(name, sip_servers=[f"127.0.0.1:{6000 + i}"]) for i, name in enumerate("XYZ")]
    org = _org_with_route({"external_trunks": ["X", "Y", "Z"], "distribution": "RANDOM"}, trunks)
    rng = random.Random(20260105)
    draws = 10_000
    first: Counter[str] = Counter()
    for _ in range(draws):
        plan = route_number(org, None, "7001", rng)
        assert sorted(t.name for t in plan.trunks) == ["X", "Y", "Z"]  # every trunk stays a failover target
        first[plan.trunks[0].name] += 1
    expected = draws / 3
    chi_square = sum((first[name] - expected) ** 2 / expected for name in "XYZ")
    assert chi_square < 13.8, first


def test_random_is_reproducible_with_the_same_seed() -> None:
    trunks = [device_trunk(name) for name in "XYZ"]
    org = _org_with_route({"external_trunks": ["X", "Y", "Z"], "distribution": "random"}, trunks)
    runs = [
        [route_number(org, None, "7001", random.Random(7)).trunks[0].name for _ in range(5)] for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_random_requires_an_injected_rng() -> None:
    org = _org_with_route(
        {"external_trunks": ["X", "Y"], "distribution": "RANDOM"}, [device_trunk("X"), device_trunk("Y")]
    )
    with pytest.raises(ValueError, match=r"pass a random\.Random"):
        route_number(org, None, "7001")


def test_disabled_trunk_skipped_s3_3() -> None:
    trunks = [device_trunk("A", enabled=False), device_trunk("B", sip_servers=["127.0.0.1:6003"])]
    org = _org_with_route({"external_trunks": ["A", "B"]}, trunks)
    plan = route_number(org, None, "7001")
    assert [t.name for t in plan.trunks] == ["B"]
    assert [(s.name, s.reason) for s in plan.skipped] == [("A", "disabled")]


def test_all_trunks_disabled_is_no_route() -> None:
    org = _org_with_route({"external_trunks": ["A"]}, [device_trunk("A", enabled=False)])
    with pytest.raises(NoRoute) as info:
        route_number(org, None, "7001")
    assert info.value.reason == "no_enabled_trunk" and info.value.route.name == "LabRoute"  # type: ignore[union-attr]


def test_disabled_route_is_no_route_s8_2() -> None:
    org = _org_with_route({"external_trunks": ["A"], "enabled": False}, [device_trunk("A")])
    with pytest.raises(NoRoute) as info:
        route_number(org, None, "7001")
    assert info.value.reason == "route_disabled"
    assert "its outbound route on site 'Site' is disabled" in str(info.value)


def test_no_plan_and_no_route_reasons_s4_1() -> None:
    org = make_org()
    with pytest.raises(NoRoute) as info:
        route_number(org, None, "55")
    assert info.value.reason == "no_plan" and info.value.classified.passes == ()
    with pytest.raises(NoRoute) as info:
        route_number(org, None, "4567")  # Extension: no outbound route holds it
    assert info.value.reason == "no_route" and info.value.classified.classification == "Extension"


def test_plan_shadowing_visible_in_no_route_s4_1() -> None:
    """Extension listed above the device plan: 9991 is classified Extension, and the result shows why."""
    data = org_data()
    data["sites"][0]["number_plans"].insert(
        0,
        {
            "name": "Extension",
            "match_type": "digitLength",
            "digit_length": "4-6",
            "classification": "Extension",
        },
    )
    with pytest.raises(NoRoute) as info:
        route_number(make_org(**data), None, "9991")
    assert [p.name for p in info.value.shadowed] == ["Short"]
    assert "it shadows 'Short'" in info.value.message


def test_failover_on_retryable_codes_and_timeouts_s4_1() -> None:
    trunks = [
        device_trunk("A", sip_servers=["127.0.0.1:6001", "127.0.0.1:6002"], retryable_reason_codes="500-599"),
        device_trunk("B", sip_servers=["127.0.0.1:6003"], retryable_reason_codes="503"),
    ]
    plan = route_number(_org_with_route({"external_trunks": ["A", "B"]}, trunks), None, "7001")
    assert plan.next_attempt(0, 503) == 1
    assert plan.next_attempt(1, 500) == 2  # next trunk after the last proxy of A
    assert plan.next_attempt(0, 486) is None  # busy is final
    assert plan.next_attempt(0, None) == 1  # no answer / transport error
    assert plan.next_attempt(2, 503) is None  # nothing left
    with pytest.raises(IndexError):
        plan.next_attempt(3, 503)


def test_failover_on_timeout_policy_off() -> None:
    trunks = [device_trunk("A", sip_servers=["127.0.0.1:6001", "127.0.0.1:6002"])]
    org = _org_with_route({"external_trunks": ["A"]}, trunks, policies={"failover_on_timeout": False})
    assert route_number(org, None, "7001").next_attempt(0, None) is None


def test_classification_uniqueness_error_s4_1() -> None:
    data = org_data()
    data["sites"][0]["outbound_routes"][1]["classifications"].append("ShortNumberToExternalDevice")
    with pytest.raises(ConfigError) as info:
        make_org(**data)
    (problem,) = info.value.problems
    assert problem.path == "sites[0].outbound_routes[1].classifications[3]"
    assert problem.message.startswith("'ShortNumberToExternalDevice' is already used by route 'ToDevice'")


def test_classification_uniqueness_off_first_enabled_route_wins() -> None:
    data = org_data(policies={"classification_uniqueness": False})
    data["trunks"].append(device_trunk("Other", sip_servers=["127.0.0.1:6009"]))
    data["sites"][0]["outbound_routes"][0]["enabled"] = False
    data["sites"][0]["outbound_routes"].append(
        {"name": "Second", "classifications": ["ShortNumberToExternalDevice"], "external_trunks": ["Other"]}
    )
    assert route_number(make_org(**data), None, "9991").route.name == "Second"


def test_passes_policy_applies_s4_1() -> None:
    one_pass = make_org(policies={"number_plan_passes": 1})
    assert classify_number(one_pass, None, "9999990001").classification == "National"
    assert classify_number(make_org(), None, "9999990001").classification == "E164ToExternalDevice"


def test_default_plans_policy_off_s8_1() -> None:
    org = make_org(policies={"default_number_plans": False})
    assert [p.name for p in org.number_plans()] == ["E164", "Short"]
    with pytest.raises(NoRoute) as info:
        route_number(org, None, "3175551234")
    assert info.value.reason == "no_plan"


def test_site_for_trunk_and_did_flow_s6() -> None:
    org = load_builtin_org()
    assert org.site_for_trunk("PSTNCarrierTrunk").name == "Daly City"
    assert org.flow_for_did("+33456456456").name == "Back From Device"  # type: ignore[union-attr]
    assert org.flow_for_did("+18005550100").name == "Main IVR"  # type: ignore[union-attr]
    assert org.flow_for_did("+33456456457") is None and org.flow_for_did("33456456456") is None
