"""Trunk settings in UI vocabulary (article step 5, GENESYS.md §3.3) and their documented rules."""

from __future__ import annotations

import pytest

from takeback.cloud import ConfigError, Trunk
from takeback.cloud.config import validate_model

from .orgdata import device_trunk


def _trunk(**settings: object) -> Trunk:
    return validate_model(Trunk, device_trunk(**settings))


def _problems(**settings: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _trunk(**settings)
    return [str(problem) for problem in info.value.problems]


@pytest.mark.parametrize("name", ["x-inin-token", "X-Inin-Cnv", "x-genesys-a", "X-PCV-thing", "x-gcv1"])
def test_custom_header_forbidden_prefix_is_a_config_error_rc_hdr(name: str) -> None:
    """GENESYS.md §3.3 / RC-HDR: names must not start with x-inin, x-genesys, x-pcv, x-gcv."""
    (problem,) = _problems(custom_sip_headers={name: "1"})
    assert problem.startswith(
        f"custom_sip_headers.{name}: header name {name!r} starts with the reserved prefix"
    )
    assert "x-inin, x-genesys, x-pcv, x-gcv" in problem


def test_custom_header_allowed_and_order_kept() -> None:
    trunk = _trunk(custom_sip_headers={"CUSTOM-DEVICE-TOKEN": 1234567, "X-Tenant": "a"})
    assert list(trunk.custom_sip_headers.items()) == [("CUSTOM-DEVICE-TOKEN", "1234567"), ("X-Tenant", "a")]


def test_custom_header_reserved_token_and_duplicate_rules_s12_14() -> None:
    problems = _problems(
        custom_sip_headers={"From": "x", "Bad Name": "x", "X-A": "1", "x-a": "2", "X-B": "a\r\nVia: x"}
    )
    assert any("'From' is written by the INVITE builder" in p for p in problems)
    assert any("'Bad Name' is not a SIP token" in p for p in problems)
    assert any(p.startswith("custom_sip_headers.x-a: is listed twice") for p in problems)
    assert any(p.startswith("custom_sip_headers.X-B: header value must be one line") for p in problems)


def test_byoc_needs_servers_and_termination_identifier_article_step5() -> None:
    problems = _problems(sip_servers=[], inbound_sip_termination_identifier="")
    assert "sip_servers: a BYOC trunk needs at least one SIP server (host:port)" in problems
    assert "inbound_sip_termination_identifier: is required for a BYOC trunk (article step 5.6)" in problems


def test_gcv_trunk_needs_no_servers() -> None:
    trunk = validate_model(Trunk, {"name": "GCV", "kind": "genesys_cloud_voice"})
    assert trunk.proxies == ()


def test_digest_on_needs_user_and_password_s4_3() -> None:
    assert _problems(digest_authentication=True, digest_realm="r") == [
        "digest_user_name: is required when digest_authentication is on",
        "digest_password: is required when digest_authentication is on",
    ]
    trunk = _trunk(digest_authentication=True, digest_user_name="genesys", digest_password="s3cret")
    assert trunk.digest_enabled


def test_ui_spellings_accepted_in_any_case() -> None:
    trunk = _trunk(
        protocol="UDP",
        uui_encoding="hex",
        uui_type="user-to-user with pd parameter",
        preferred_codec_list=["audio/PCMU", "audio/PCMA"],
        address_override_method="unassigned did",
    )
    assert trunk.protocol == "udp" and trunk.uui_encoding == "Hex"
    assert trunk.uui_type == "User-to-User with pd parameter"
    assert trunk.preferred_codec_list == ["audio/pcmu", "audio/pcma"]
    assert trunk.address_override_method == "Unassigned DID"


def test_codec_list_enum_and_uniqueness() -> None:
    (problem,) = _problems(preferred_codec_list=["audio/pcmu", "audio/gsm"])
    assert problem.startswith(
        "preferred_codec_list[1]: 'audio/gsm' is not valid; use one of audio/opus, audio/pcmu"
    )
    (problem,) = _problems(preferred_codec_list=["audio/pcmu", "audio/PCMU"])
    assert "listed twice" in problem


def test_uui_type_maps_to_codec_header_types_s5_1() -> None:
    assert _trunk(uui_type="User-to-User").uui_header_type == "User-to-User"
    assert _trunk(uui_type="User-to-User with pd parameter").uui_header_type == "User-to-User;pd"
    assert _trunk(uui_type="x-User-To-User").uui_header_type == "x-User-to-User"
    assert _trunk(uui_encoding="Ascii").uui_encoding_name == "ascii"


def test_uui_pd_two_hex_digits() -> None:
    assert _trunk(uui_pd="0A").uui_pd == "0A"
    (problem,) = _problems(uui_pd="000")
    assert "two hex digits" in problem


def test_proxies_in_list_order_and_tls_default_port_s7() -> None:
    trunk = _trunk(protocol="tls", sip_servers=["dev1.example.com", "dev2.example.com:5062"])
    assert [str(p) for p in trunk.proxies] == ["dev1.example.com:5061", "dev2.example.com:5062"]


def test_sip_servers_unique_items_s3_3() -> None:
    (problem,) = _problems(sip_servers=["127.0.0.1:5080", "127.0.0.1:5080"])
    assert problem.startswith("sip_servers: '127.0.0.1:5080' is listed twice")


def test_acl_allow_list_plus_sip_servers_rc_acl() -> None:
    """BYOC Cloud has an allow list only; the SIP servers are added automatically [DOC RC-ACL]."""
    trunk = _trunk(sip_access_control=["203.0.113.0/24"], sip_servers=["127.0.0.1:5080", "dev.example.com"])
    assert trunk.acl_allows("203.0.113.77") and trunk.acl_allows("127.0.0.1")
    assert not trunk.acl_allows("198.51.100.1") and not trunk.acl_allows("not-an-ip")


def test_acl_entry_error_names_index() -> None:
    (problem,) = _problems(sip_access_control=["127.0.0.1", "10.0.0.300/8"])
    assert problem.startswith("sip_access_control[1]: '10.0.0.300/8' is not an IP address or CIDR")


def test_retryable_reason_codes_s4_1() -> None:
    trunk = _trunk(retryable_reason_codes="500-599,408")
    assert trunk.is_retryable(503) and trunk.is_retryable(408) and not trunk.is_retryable(486)
    (problem,) = _problems(retryable_reason_codes="5xx")
    assert problem.startswith("retryable_reason_codes: '5xx' is not a code or a range")


def test_max_dial_timeout_duration_s3_3() -> None:
    assert _trunk().max_dial_timeout_s == 120.0
    assert _trunk(max_dial_timeout="1m").max_dial_timeout_s == 60.0
    (problem,) = _problems(max_dial_timeout="two minutes")
    assert "write e.g. '2m'" in problem


def test_calling_name_pattern_and_caller_id() -> None:
    assert _problems(calling_name="x" * 41)[0].startswith("calling_name: ")
    assert _problems(caller_id="+1 999")[0].startswith("caller_id: '+1 999' is not a phone number")


def test_trunk_is_immutable() -> None:
    trunk = _trunk()
    with pytest.raises(ValueError):
        trunk.protocol = "tcp"  # type: ignore[misc]
