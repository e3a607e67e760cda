"""org.yaml: the article's example, the built-in copy and the cross-reference checks (GENESYS.md §8, §11)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from takeback.cloud import ConfigError, load_builtin_org, load_org, parse_org
from takeback.cloud.numberplans import DEFAULT_PLAN_NAMES
from takeback.cloud.org import builtin_org_text

from .orgdata import device_trunk, make_org, org_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "org.yaml"
DATA_COPY = ROOT / "src" / "takeback" / "data" / "org.yaml"


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_org(data)
    return [str(p) for p in info.value.problems]


def test_example_and_builtin_copy_are_identical() -> None:
    assert EXAMPLE.read_bytes() == DATA_COPY.read_bytes()
    assert builtin_org_text() == EXAMPLE.read_text(encoding="utf-8")


def test_builtin_org_equals_example_file() -> None:
    assert load_builtin_org() == load_org(EXAMPLE) == load_org(str(EXAMPLE))


def test_example_reproduces_the_article() -> None:
    org = load_builtin_org()
    device = org.trunk("MyBYOCCloudTrunkForTransferToExternalDevice")
    assert (device.kind, device.protocol, device.sip_servers) == ("byoc", "udp", ["127.0.0.1:5080"])
    assert device.inbound_sip_termination_identifier == "myexternaldevicetrunk"
    assert not device.digest_authentication
    assert device.custom_sip_headers == {"CUSTOM-DEVICE-TOKEN": "1234567"}
    assert device.conversation_headers and device.uui_passthrough and device.take_back_and_transfer
    assert (device.uui_type, device.uui_encoding, device.uui_pd) == ("User-to-User", "Hex", "00")
    assert (device.address_override_method, device.caller_id) == ("Unassigned DID", "+19999990000")
    assert device.preferred_codec_list == ["audio/pcmu", "audio/pcma"]
    assert not org.pstn_trunk.release_link_transfer and org.pstn.default_caller == "+13175551234"
    site = org.site()
    assert [p.classification for p in org.number_plans(site)[:2]] == [
        "E164ToExternalDevice",
        "ShortNumberToExternalDevice",
    ]
    assert [p.name for p in org.number_plans(site)[2:]] == list(DEFAULT_PLAN_NAMES)
    route = site.outbound_routes[0]
    assert route.classifications == ["E164ToExternalDevice", "ShortNumberToExternalDevice"]
    assert route.external_trunks == [device.name] and route.enabled
    assert org.flow_for_did("+33456456456").name == "Back From Device"  # type: ignore[union-attr]


def test_load_org_from_text() -> None:
    org = load_org(EXAMPLE.read_text(encoding="utf-8"))
    assert org.name == "takeback demo org"


def test_default_plans_appended_unless_named_s8_1() -> None:
    data = org_data()
    data["sites"][0]["number_plans"].append(
        {
            "name": "Extension",
            "match_type": "digitLength",
            "digit_length": "3-5",
            "classification": "Extension",
        }
    )
    names = [p.name for p in make_org(**data).number_plans()]
    assert names == [
        "E164",
        "Short",
        "Extension",
        "Emergency",
        "National",
        "International",
        "Network",
        "Suicide Prevention",
    ]


def test_emergency_default_depends_on_country() -> None:
    data = org_data()
    data["sites"][0]["country_code"] = "33"
    org = make_org(**data)
    emergency = org.number_plans()[2]
    assert emergency.name == "Emergency" and emergency.numbers[0].start == "112"
    assert org.site().dialing.national_prefix == "0" and org.site().dialing.international_prefix == "00"


def test_two_hundred_plan_limit_s8_1() -> None:
    data = org_data()
    data["sites"][0]["number_plans"] = [
        {"name": f"P{i}", "match_type": "numberList", "numbers": f"{10 + i}", "classification": "C"}
        for i in range(195)
    ]
    data["sites"][0]["outbound_routes"] = []
    (problem,) = problems(data)
    assert problem == "sites[0].number_plans: 201 plans (with defaults); a site holds at most 200"
    data["policies"] = {"default_number_plans": False}
    assert len(parse_org(data).number_plans()) == 195


def test_reference_errors_with_hints() -> None:
    data = org_data(default_site="Sit")
    data["pstn"]["trunk"] = "PSTM"
    data["sites"][0]["outbound_routes"][0]["external_trunks"] = ["Devise"]
    data["trunks"][1]["inbound_site"] = "Nowhere"
    data["did_ranges"][0]["flow"] = "Bak"
    assert problems(data) == [
        "default_site: no site named 'Sit'; did you mean 'Site'?",
        "pstn.trunk: no trunk named 'PSTM'; did you mean 'PSTN'?",
        "trunks[1].inbound_site: no site named 'Nowhere'; known: Site",
        "sites[0].outbound_routes[0].external_trunks[0]: no trunk named 'Devise'; did you mean 'Device'?",
        "did_ranges[0].flow: no flow named 'Bak'; did you mean 'Back'?",
    ]


def test_duplicate_names_case_insensitive() -> None:
    data = org_data()
    data["trunks"].append(device_trunk("device"))
    data["sites"][0]["number_plans"].append(dict(data["sites"][0]["number_plans"][0]))
    assert problems(data) == [
        "trunks[2].name: 'device' is already the name of trunks[1]",
        "sites[0].number_plans[2].name: 'E164' is already the name of number_plans[0]",
    ]


def test_did_ranges_validated_and_overlaps_rejected() -> None:
    data = org_data()
    data["did_ranges"] += [{"start": "+33456456400", "end": "+33456456499"}, {"start": "+3345645645"}]
    assert problems(data) == ["did_ranges[1]: overlaps did_ranges[0] (+33456456456-+33456456456)"]
    data["did_ranges"] = [{"start": "33456456456"}, {"start": "+33456456456", "end": "+33456456400"}]
    found = problems(data)
    assert (
        found[0] == "did_ranges[0].start: '33456456456' is not an E.164 number like '+19999990001' "
        "(add the leading '+')"
    )
    assert found[1].startswith("did_ranges[1].end: '+33456456400' must have the length of")


def test_extra_properties_may_not_shadow_a_setting() -> None:
    data = org_data()
    data["trunks"][1]["extra_properties"] = {
        "trunk_transfer_takeback_enabled": False,
        "trunk_fax_enabled": True,
    }
    assert problems(data) == [
        "trunks[1].extra_properties.trunk_transfer_takeback_enabled: is the setting "
        "'take_back_and_transfer'; set that instead"
    ]


def test_route_needs_classifications_and_trunks() -> None:
    data = org_data()
    data["sites"][0]["outbound_routes"][0]["external_trunks"] = []
    assert problems(data)[0].startswith(
        "sites[0].outbound_routes[0].external_trunks: [] is not valid; must have at least 1"
    )


def test_org_lookups() -> None:
    org = make_org()
    assert org.classifications()[:4] == [
        "E164ToExternalDevice",
        "ShortNumberToExternalDevice",
        "Emergency",
        "Extension",
    ]
    assert org.site().name == "Site" and org.trunk("Device").name == "Device"
    with pytest.raises(KeyError):
        org.trunk("nope")
    with pytest.raises(KeyError):
        org.flow("nope")


def _uncommented_example(tmp_path: Path) -> Path:
    """The example with its commented ``emulator:`` block, policy lines and site caller ID switched on,
    the TLS files it names created next to it."""
    lines = []
    inside_emulator = False
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line == "# emulator:":
            inside_emulator = True
        elif inside_emulator and not line.startswith("#   "):
            inside_emulator = False
        if inside_emulator:
            line = line[2:]
        elif line.startswith(
            ("  # refer_", "  # rlt_", "  # dnis_", "  # did_", "  # suppress_", "  # max_")
        ):
            line = "  " + line[4:]
        elif line.startswith(("    # caller_id:", "    # caller_name:")):
            line = "    " + line[6:]
        lines.append(line)
    for name in ("genesys.pem", "genesys.key", "device-ca.pem"):
        (tmp_path / name).write_text("placeholder\n")
    path = tmp_path / "org.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_example_commented_sections_are_valid_and_show_the_defaults(tmp_path: Path) -> None:
    org = load_org(_uncommented_example(tmp_path))
    assert org.policies == load_builtin_org().policies  # the commented policy values are the defaults
    assert org.site().caller_id == "+13175550000" and org.site().caller_name == "Daly City"
    emulator = org.emulator
    assert emulator is not None
    assert emulator.sip == ["udp:127.0.0.1:5070", "tcp:127.0.0.1:5070", "tls:127.0.0.1:5061"]
    assert emulator.api == "127.0.0.1:8070"
    assert emulator.tls.certfile == str(tmp_path / "genesys.pem")  # relative to the org.yaml
    assert emulator.tls.cafile == str(tmp_path / "device-ca.pem")
    assert load_builtin_org().emulator is None


def test_emulator_section_accepted_by_the_org_model(tmp_path: Path) -> None:
    """``check``, ``provision`` and lint load org.yaml with :func:`load_org`: the section must pass."""
    assert parse_org({**org_data(), "emulator": None}).emulator is None
    org = parse_org({**org_data(), "emulator": {"sip": "udp:127.0.0.1:5070", "api": False}})
    assert org.emulator is not None and org.emulator.sip == ["udp:127.0.0.1:5070"]
    assert org.emulator.api == "off"
    data = {**org_data(), "emulator": {"tls": {"certfile": "missing.pem"}, "sipp": []}}
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_org(path)
    messages = sorted(str(problem) for problem in info.value.problems)
    missing = tmp_path / "missing.pem"
    assert messages == [
        "emulator.sipp: unknown key 'sipp'; did you mean 'sip'?",
        f"emulator.tls.certfile: 'missing.pem' is not a readable file (looked for {missing})",
    ]
