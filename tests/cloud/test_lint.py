"""The documented traps, with severity, message and fix (article steps 4-6, GENESYS.md §1, §4, §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from takeback.cloud import Finding, lint, lint_config, load_builtin_org

from .orgdata import device_trunk, make_org, org_data

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org.yaml"


def codes(findings: list[Finding], severity: str | None = None) -> list[str]:
    return [f.code for f in findings if severity is None or f.severity == severity]


def only(findings: list[Finding], code: str) -> Finding:
    (finding,) = [f for f in findings if f.code == code]
    return finding


def with_main_flow(data: dict[str, Any], *actions: Any) -> dict[str, Any]:
    data["flows"].append({"name": "Main", "actions": list(actions)})
    return data


def test_article_org_is_clean() -> None:
    assert codes(lint(load_builtin_org(), takeback_numbers=["+33456456456"])) == []


def test_rlt_on_byoc_pstn_trunk_is_an_error_article_step4() -> None:
    data = org_data()
    data["trunks"][0]["release_link_transfer"] = True
    finding = only(lint(make_org(**data)), "rlt-on-byoc-pstn")
    assert finding.severity == "error" and finding.path == "trunks[0].release_link_transfer"
    assert "REFER to the carrier" in finding.message and "article step 4" in finding.fix


def test_rlt_irrelevant_on_gcv_pstn_and_on_device_trunk() -> None:
    data = org_data()
    data["trunks"][0] = {"name": "PSTN", "kind": "genesys_cloud_voice", "release_link_transfer": True}
    data["trunks"][1]["release_link_transfer"] = True
    assert "rlt-on-byoc-pstn" not in codes(lint(make_org(**data)))


def test_shadowed_device_plan_never_matches_article_step6() -> None:
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
    finding = only(lint(make_org(**data)), "plan-shadowed")
    assert finding.severity == "error" and finding.path == "sites[0].number_plans[2]"
    assert (
        finding.message == "plan 'Short' never matches: 9991 goes to 'Extension', 9992 goes to 'Extension'."
    )
    assert finding.fix.startswith("move 'Short' above 'Extension'")


def test_partly_shadowed_plan_is_a_warning() -> None:
    data = org_data()
    data["sites"][0]["number_plans"].insert(
        0,
        {
            "name": "One",
            "match_type": "numberList",
            "numbers": "9991",
            "classification": "ShortNumberToExternalDevice",
        },
    )
    finding = only(lint(make_org(**data)), "plan-shadowed")
    assert finding.severity == "warning" and "loses numbers: 9991 goes to 'One'" in finding.message


def test_device_plan_below_a_default_plan() -> None:
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
    data["sites"][0]["number_plans"].append(
        {
            "name": "Two",
            "match_type": "numberList",
            "numbers": "42",
            "classification": "ShortNumberToExternalDevice",
        }
    )
    findings = [f for f in lint(make_org(**data)) if f.code == "device-plan-not-on-top"]
    assert [f.path for f in findings] == ["sites[0].number_plans[1]", "sites[0].number_plans[3]"]
    assert (
        findings[1].message == "plan 'Two' routes to the device but sits below the default plan 'Extension'."
    )


def test_route_classification_not_produced_by_any_plan() -> None:
    data = org_data()
    data["sites"][0]["outbound_routes"][0]["classifications"].append("E164ToExternalDevic")
    finding = only(lint(make_org(**data)), "route-classification-unproduced")
    assert "'E164ToExternalDevic'" in finding.message and finding.severity == "warning"


def test_disabled_route_and_unrouted_classification() -> None:
    data = org_data()
    data["sites"][0]["outbound_routes"][0]["enabled"] = False
    found = codes(lint(make_org(**data)))
    assert found.count("route-disabled") == 1 and found.count("classification-no-route") == 2


def test_disabled_trunks() -> None:
    data = org_data()
    data["trunks"][1]["enabled"] = False
    assert "route-no-enabled-trunk" in codes(lint(make_org(**data)), "error")
    data["trunks"].append(device_trunk("Spare", sip_servers=["127.0.0.1:6000"]))
    data["sites"][0]["outbound_routes"][0]["external_trunks"].append("Spare")
    assert "trunk-disabled" in codes(lint(make_org(**data)), "warning")


def test_takeback_off_on_trunk_a_flow_transfers_to_s6() -> None:
    data = with_main_flow(org_data(), {"set_uui": "x"}, {"transfer_to_number": "9991"})
    data["trunks"][1]["take_back_and_transfer"] = False
    finding = only(lint(make_org(**data)), "takeback-off")
    assert finding.path == "flows[1].actions[1]" and "take_back_and_transfer: true on 'Device'" in finding.fix


def test_uui_set_but_passthrough_off_s4_2() -> None:
    data = with_main_flow(org_data(), {"set_uui": "x"}, {"transfer_to_number": "+19999990001"})
    data["trunks"][1]["uui_passthrough"] = False
    assert "uui-not-sent" in codes(lint(make_org(**data)), "warning")
    data["trunks"][1]["static_user_data"] = "static"
    assert "uui-not-sent" not in codes(lint(make_org(**data)))


def test_uui_dropped_by_transfer_via_api_s1_7() -> None:
    data = with_main_flow(org_data(), {"set_uui": "x"}, {"transfer_via_api": "9991"})
    assert only(lint(make_org(**data)), "uui-dropped-via-api").severity == "warning"


def test_transfer_unroutable() -> None:
    data = with_main_flow(org_data(), {"transfer_to_number": "4567"})
    finding = only(lint(make_org(**data)), "transfer-unroutable")
    assert "classification 'Extension'" in finding.message


def test_takeback_did_not_in_any_range_or_unrouted_s6() -> None:
    data = org_data()
    data["did_ranges"].append({"start": "+33456456400", "end": "+33456456409"})
    findings = lint(make_org(**data), takeback_numbers=["+33456456456", "+33456456401", "+19999999999"])
    messages = [f.message for f in findings if f.code == "takeback-did-unassigned"]
    assert len(messages) == 2
    assert (
        "'+33456456401' is in DID range +33456456400-+33456456409, which is routed to no flow" in messages[0]
    )
    assert "'+19999999999' is in no DID range" in messages[1]


def test_custom_header_forbidden_prefix_through_lint_config() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("CUSTOM-DEVICE-TOKEN", "X-Genesys-Token")
    (finding,) = lint_config(text)
    assert finding.code == "custom-header-forbidden-prefix" and finding.severity == "error"
    assert finding.path == "trunks[1].custom_sip_headers.X-Genesys-Token"


def test_lint_config_of_the_example_file() -> None:
    assert lint_config(EXAMPLE, takeback_numbers=["+33456456456"]) == []


def test_uui_on_gcv_and_tls_and_digest_notes() -> None:
    data = org_data()
    data["trunks"][0] = {"name": "PSTN", "kind": "genesys_cloud_voice", "uui_passthrough": True}
    data["trunks"][1].update(protocol="tls", sip_servers=["127.0.0.1:5060"], digest_user_name="u")
    found = codes(lint(make_org(**data)))
    for code in ("uui-on-gcv", "tls-port", "tls-ip-literal", "digest-credentials-unused"):
        assert code in found


def test_finding_str() -> None:
    finding = Finding("error", "x", "Broken.", "mend it", "a.b")
    assert str(finding) == "error: x [a.b]: Broken. Fix: mend it"
