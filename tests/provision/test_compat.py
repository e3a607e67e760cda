"""``takeback.provision.compat``: the examples agree; each way of breaking one side is named with its fix.

Every case starts from the real ``examples/org.yaml`` and ``examples/device.yaml``, changes one setting,
writes both to ``tmp_path`` and loads them the way ``takeback check`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from takeback.cloud import load_org
from takeback.cloud.config import read_yaml
from takeback.device.config import load_device_config
from takeback.provision.compat import Check, CompatReport, TrunkSelectionError, check_compat, select_trunk

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEVICE_TRUNK = "MyBYOCCloudTrunkForTransferToExternalDevice"
Edit = Callable[[dict[str, Any]], None]


def example(name: str) -> dict[str, Any]:
    data = read_yaml((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def trunk_of(org: dict[str, Any], name: str = DEVICE_TRUNK) -> dict[str, Any]:
    return next(t for t in org["trunks"] if t["name"] == name)


def write(tmp_path: Path, org: dict[str, Any], device: dict[str, Any]) -> tuple[Path, Path]:
    org_path, device_path = tmp_path / "org.yaml", tmp_path / "device.yaml"
    org_path.write_text(yaml.safe_dump(org, sort_keys=False), encoding="utf-8")
    device_path.write_text(yaml.safe_dump(device, sort_keys=False), encoding="utf-8")
    return org_path, device_path


def report(
    tmp_path: Path, org_edit: Edit | None = None, device_edit: Edit | None = None, **kwargs: Any
) -> CompatReport:
    org, device = example("org.yaml"), example("device.yaml")
    if org_edit is not None:
        org_edit(org)
    if device_edit is not None:
        device_edit(device)
    org_path, device_path = write(tmp_path, org, device)
    return check_compat(load_org(org_path), load_device_config(device_path), **kwargs)


def only(result: CompatReport, code: str, status: str | None = None) -> Check:
    found = [c for c in result.checks if c.code == code and (status is None or c.status == status)]
    assert len(found) == 1, [c for c in result.checks if c.code == code]
    return found[0]


def failed(result: CompatReport) -> set[str]:
    return {c.code for c in result.checks if c.status == "fail"}


# ------------------------------------------------------------------------------------------ examples


def test_the_examples_agree(tmp_path: Path) -> None:
    result = report(tmp_path)
    assert result.ok, [c for c in result.checks if c.status != "pass"]
    assert result.trunk == DEVICE_TRUNK
    assert all(c.status == "pass" for c in result.checks)
    expected = {
        "trunk", "transport", "address", "acl", "digest", "token", "codecs", "telephone-event", "dnis",
        "dnis-routed", "uui", "takeback-uui", "conversation-id", "takeback", "takeback-did",
    }  # fmt: skip
    assert {c.code for c in result.checks} == expected
    assert "+19999990001" in only(result, "dnis").message
    assert "'Back From Device'" in only(result, "takeback-did").message
    assert result.to_dict()["counts"] == {"pass": len(expected), "fail": 0, "warn": 0, "info": 0}


# ------------------------------------------------------------------------------- transport, address


def test_wrong_port(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(sip_servers=["127.0.0.1:5090"]))
    check = only(result, "address", "fail")
    assert "127.0.0.1:5090" in check.message and "sip_servers" in check.fix
    assert not result.ok


def test_wildcard_listener_takes_any_address(tmp_path: Path) -> None:
    def device(d: dict[str, Any]) -> None:
        d["listen"] = ["udp:0.0.0.0:5080"]
        d.setdefault("media", {})["address"] = "127.0.0.1"

    result = report(tmp_path, lambda o: trunk_of(o).update(sip_servers=["127.0.0.1:5080"]), device)
    assert only(result, "address").status == "pass"


def test_second_server_elsewhere_is_a_warning(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(sip_servers=["127.0.0.1:5080", "127.0.0.2:5080"]))
    assert only(result, "address").status == "warn"
    assert result.ok


def test_protocol_without_listener(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d.update(listen=["tcp:127.0.0.1:5080"]))
    check = only(result, "transport", "fail")
    assert "udp" in check.message and "tcp:127.0.0.1:5080" in check.message


# ---------------------------------------------------------------------------------------------- TLS


def tls_device(tmp_path: Path) -> Edit:
    cert, key = tmp_path / "device.pem", tmp_path / "device.key"
    cert.write_text("not checked here\n")
    key.write_text("not checked here\n")

    def edit(device: dict[str, Any]) -> None:
        device["listen"] = ["tls:0.0.0.0:5061"]
        device["tls"] = {"certfile": str(cert), "keyfile": str(key)}
        device.setdefault("media", {})["address"] = "203.0.113.10"
        device["media"].setdefault("srtp", "off")  # the default is "optional"; "off" shows the srtp warning

    return edit


def test_tls_to_an_ip_fails(tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        trunk_of(o).update(protocol="tls", sip_servers=["203.0.113.10:5061"])

    result = report(tmp_path, org, tls_device(tmp_path))
    check = only(result, "tls", "fail")
    assert "FQDN" in check.message and "203.0.113.10:5061" in check.message
    assert not any(c.code.startswith("lint-tls") for c in result.checks)  # not reported twice
    assert only(result, "srtp").status == "warn"
    assert only(result, "acl").status == "warn"  # public addresses: Genesys' source IPs unknown


def test_tls_to_an_fqdn_passes(tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        trunk_of(o).update(protocol="tls", sip_servers=["device.example.com:5061"])

    result = report(tmp_path, org, tls_device(tmp_path), sources=["127.0.0.1"])
    assert only(result, "tls").status == "pass"
    assert only(result, "address").status == "pass"  # a 0.0.0.0 listener takes any address
    assert result.ok


def _issued(tmp_path: Path, key_type: trustme.KeyType) -> Edit:
    """:func:`tls_device` with a real certificate whose key is ``key_type`` (the chain file holds the key)."""
    chain = tmp_path / f"device-{key_type.name}.pem"
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("device.example.com", key_type=key_type)
    leaf.private_key_and_cert_chain_pem.write_to_path(str(chain))
    base = tls_device(tmp_path)

    def edit(device: dict[str, Any]) -> None:
        base(device)
        device["tls"] = {"certfile": str(chain)}

    return edit


def test_device_certificate_key_must_be_rsa(tmp_path: Path) -> None:
    """GENESYS.md §7: the eight Genesys suites are all RSA-authenticated; an ECDSA certificate cannot
    complete a handshake with Genesys (the emulator refuses it the same way, tests/cloud/test_tls.py)."""

    def org(o: dict[str, Any]) -> None:
        trunk_of(o).update(protocol="tls", sip_servers=["device.example.com:5061"])

    ecdsa = report(tmp_path, org, _issued(tmp_path, trustme.KeyType.ECDSA), sources=["127.0.0.1"])
    check = only(ecdsa, "tls-key", "fail")
    assert "EC key" in check.message and "Genesys offers RSA suites only" in check.message
    assert "RSA key" in check.fix and not ecdsa.ok
    rsa = report(tmp_path, org, _issued(tmp_path, trustme.KeyType.RSA), sources=["127.0.0.1"])
    assert only(rsa, "tls-key").status == "pass" and rsa.ok
    unread = report(tmp_path, org, tls_device(tmp_path), sources=["127.0.0.1"])
    assert not [c for c in unread.checks if c.code == "tls-key"]  # not a certificate: nothing to say


def test_hostname_to_a_specific_listener_cannot_be_resolved_here(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(sip_servers=["device.example.com:5080"]))
    assert "resolves" in only(result, "address", "warn").message


# ---------------------------------------------------------------------------------------------- ACL


def test_acl_refusing_the_source(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["access"].update(ip_acl=["10.0.0.0/8"]))
    check = only(result, "acl", "fail")
    assert "127.0.0.1" in check.message and "ip_acl" in check.fix


def test_acl_with_given_sources(tmp_path: Path) -> None:
    result = report(tmp_path, sources=["127.0.0.1", "192.0.2.7"])
    assert "192.0.2.7" in only(result, "acl", "fail").message
    assert only(report(tmp_path, device_edit=lambda d: d["access"].pop("ip_acl")), "acl").status == "pass"


# ----------------------------------------------------------------------------------- digest, token


DIGEST = {"realm": "device.example", "username": "genesys", "password": "s3cret"}


def digest_trunk(password: str = "s3cret", realm: str = "device.example") -> Edit:
    def edit(org: dict[str, Any]) -> None:
        trunk_of(org).update(
            digest_authentication=True,
            digest_realm=realm,
            digest_user_name="genesys",
            digest_password=password,
        )

    return edit


def test_digest_agreeing(tmp_path: Path) -> None:
    result = report(tmp_path, digest_trunk(), lambda d: d["access"].update(digest=dict(DIGEST)))
    assert only(result, "digest").status == "pass"


def test_digest_password_mismatch_is_named_not_shown(tmp_path: Path) -> None:
    result = report(tmp_path, digest_trunk("wrong-one"), lambda d: d["access"].update(digest=dict(DIGEST)))
    check = only(result, "digest", "fail")
    assert "passwords differ" in check.message
    assert "wrong-one" not in check.message and "s3cret" not in check.message


def test_digest_realm_mismatch(tmp_path: Path) -> None:
    result = report(tmp_path, digest_trunk(realm="other"), lambda d: d["access"].update(digest=dict(DIGEST)))
    assert "realm" in only(result, "digest", "fail").message


def test_digest_ha1_is_compared_by_hashing(tmp_path: Path) -> None:
    from takeback.sip.digest import compute_ha1

    ha1 = compute_ha1("MD5", "genesys", "device.example", "s3cret")
    stored = {"realm": "device.example", "username": "genesys", "ha1": ha1}
    assert (
        only(report(tmp_path, digest_trunk(), lambda d: d["access"].update(digest=stored)), "digest").status
        == "pass"
    )


def test_device_challenges_but_trunk_has_no_credentials(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["access"].update(digest=dict(DIGEST)))
    assert "401" in only(result, "digest", "fail").message


def test_trunk_credentials_without_device_challenge_is_a_warning(tmp_path: Path) -> None:
    assert only(report(tmp_path, digest_trunk()), "digest").status == "warn"


def test_token_value_mismatch(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["access"]["token"].update(value="7654321"))
    check = only(result, "token", "fail")
    assert "differ" in check.message and "7654321" not in check.message


def test_token_header_not_sent(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(custom_sip_headers={}))
    assert "CUSTOM-DEVICE-TOKEN" in only(result, "token", "fail").message


def test_token_header_name_case_does_not_matter(tmp_path: Path) -> None:
    result = report(
        tmp_path, lambda o: trunk_of(o).update(custom_sip_headers={"custom-device-token": "1234567"})
    )
    assert "case-insensitive" in only(result, "token", "pass").message


# -------------------------------------------------------------------------------------------- media


def test_no_common_codec(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["media"].update(codecs=["opus"]))
    check = only(result, "codecs", "fail")
    assert "pcmu, pcma" in check.message and "opus" in check.message


def test_telephone_event_off(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["media"].update(telephone_event=False))
    assert only(result, "telephone-event").status == "warn"


# --------------------------------------------------------------------------------------------- DNIS


def test_dnis_not_accepted(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["access"]["dnis"].update(e164=["+19999990002"]))
    check = only(result, "dnis", "fail")
    assert "+19999990001" in check.message and "access.dnis" in check.fix
    assert "+19999990002" in only(result, "dnis-routed", "fail").message


def test_omit_plus_changes_what_the_device_sees(tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        trunk_of(o)["called_address_omit_plus"] = True

    result = report(tmp_path, org)
    assert "arrives as 19999990001" in only(result, "dnis", "fail").message
    fixed = report(tmp_path, org, lambda d: d["access"]["dnis"].update(ignore_plus=True))
    assert only(fixed, "dnis").status == "pass" and only(fixed, "dnis-routed").status == "pass"


def test_device_without_dnis_list_accepts_all(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["access"].pop("dnis"))
    assert "any DNIS" in only(result, "dnis").message


def test_regex_plan_cannot_be_listed(tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        o["sites"][0]["number_plans"].insert(
            0,
            {
                "name": "Device regex",
                "match_type": "regex",
                "match": r"^\+1888(\d{7})$",
                "normalized_format": "+1888$1",
                "classification": "E164ToExternalDevice",
            },
        )

    result = report(tmp_path, org)
    assert "Device regex" in only(result, "dnis", "warn").message


# ---------------------------------------------------------------------------------------------- UUI


def test_uui_token_in_the_flows_data(tmp_path: Path) -> None:
    def device(d: dict[str, Any]) -> None:
        d["access"]["uui_token"] = {"value": "ACME-42", "separator": "|", "field": 0}

    result = report(tmp_path, device_edit=device)
    check = only(result, "uui-token", "fail")
    assert "'This is my data'" in check.message and "ACME-42" not in check.message

    def org(o: dict[str, Any]) -> None:
        o["flows"][0]["actions"][0] = {"set_uui": "ACME-42|case-1"}

    assert only(report(tmp_path, org, device), "uui-token").status == "pass"


def test_uui_token_without_passthrough(tmp_path: Path) -> None:
    def device(d: dict[str, Any]) -> None:
        d["access"]["uui_token"] = {"value": "ACME-42"}

    result = report(tmp_path, lambda o: trunk_of(o).update(uui_passthrough=False), device)
    assert "sends no UUI" in only(result, "uui-token", "fail").message


def test_uui_settings_that_cannot_carry_the_data(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(uui_encoding="Ascii"))
    assert "Main IVR" in only(result, "uui", "fail").message
    assert only(result, "takeback-uui").status == "warn"  # 3P-JMB, unverified


def test_conversation_headers_off_while_the_flow_uses_them(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(conversation_headers=False))
    assert "{conversation_id}" in only(result, "conversation-id", "warn").message
    assert result.ok


# ---------------------------------------------------------------------------------------- take back


def test_take_back_off(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o).update(take_back_and_transfer=False))
    assert "take_back_and_transfer: true" in only(result, "takeback", "fail").fix
    assert not any(c.code == "lint-takeback-off" for c in result.checks)  # not reported twice


def test_take_back_number_not_routed(tmp_path: Path) -> None:
    result = report(tmp_path, device_edit=lambda d: d["take_back"].update(number="+33400000000"))
    assert "+33400000000" in only(result, "takeback-did", "fail").message
    assert not any(c.code == "lint-takeback-did-unassigned" for c in result.checks)


def test_lint_findings_are_included(tmp_path: Path) -> None:
    result = report(tmp_path, lambda o: trunk_of(o, "PSTNCarrierTrunk").update(release_link_transfer=True))
    assert only(result, "lint-rlt-on-byoc-pstn").status == "fail"


# ------------------------------------------------------------------------------------- trunk choice


def test_trunk_choice(tmp_path: Path) -> None:
    org = load_org(EXAMPLES / "org.yaml")
    device = load_device_config(EXAMPLES / "device.yaml")
    assert select_trunk(org, device).name == DEVICE_TRUNK
    assert select_trunk(org, device, "PSTNCarrierTrunk").name == "PSTNCarrierTrunk"
    with pytest.raises(TrunkSelectionError, match="no trunk named"):
        select_trunk(org, device, "Nope")


def test_two_device_trunks_need_a_name(tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        twin = dict(trunk_of(o), name="Twin", sip_servers=["127.0.0.1:6080"])
        o["trunks"].append(twin)

    def apart(o: dict[str, Any]) -> None:
        org(o)
        trunk_of(o)["sip_servers"] = ["127.0.0.1:7080"]

    assert report(tmp_path, org).trunk == DEVICE_TRUNK  # the one pointing at the device wins
    with pytest.raises(TrunkSelectionError, match="--trunk"):
        report(tmp_path, apart)
    assert report(tmp_path, apart, trunk="Twin").trunk == "Twin"
