"""org.yaml errors: one clear message per problem, naming the path, the bad value and what is valid."""

from __future__ import annotations

import pytest

from takeback.cloud import ConfigError, load_org, parse_org
from takeback.cloud.config import did_you_mean, format_path, read_yaml

from .orgdata import org_data


def _errors(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_org(data)
    return [str(problem) for problem in info.value.problems]


def test_literal_error_names_path_value_and_choices() -> None:
    data = org_data()
    data["trunks"][0]["protocol"] = "sctp"
    assert _errors(data) == ["trunks[0].protocol: 'sctp' is not valid; use one of udp, tcp, tls"]


def test_config_error_is_a_value_error_and_str_is_the_problem_lines() -> None:
    data = org_data()
    data["trunks"][0]["protocol"] = "sctp"
    with pytest.raises(
        ValueError, match=r"^trunks\[0\]\.protocol: 'sctp' is not valid; use one of udp, tcp, tls$"
    ):
        parse_org(data)


def test_unknown_key_did_you_mean_and_no_duplicate_missing_report() -> None:
    data = org_data()
    data["trunks"][1]["take_back_and_tranfer"] = True
    data["sites"][0]["number_plans"][0]["classifcation"] = data["sites"][0]["number_plans"][0].pop(
        "classification"
    )
    assert _errors(data) == [
        "trunks[1].take_back_and_tranfer: unknown key 'take_back_and_tranfer'; "
        "did you mean 'take_back_and_transfer'?",
        "sites[0].number_plans[0].classifcation: unknown key 'classifcation'; did you mean 'classification'?",
    ]


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    data = org_data()
    data["pstn"]["zzz"] = 1
    (message,) = _errors(data)
    assert message == "pstn.zzz: unknown key 'zzz'; valid keys: trunk, default_caller"


def test_unknown_top_level_key() -> None:
    (message,) = _errors(org_data(trunk=[]))
    assert "did you mean 'trunks'?" in message


def test_several_problems_reported_together() -> None:
    data = org_data()
    data["trunks"][0]["protocol"] = "sctp"
    data["trunks"][1]["dtmf_payload"] = 5
    data["policies"] = {"acl_refusal": "reject"}
    errors = _errors(data)
    assert len(errors) == 3
    assert "policies.acl_refusal: 'reject' is not valid; use one of drop, 403" in errors
    assert "trunks[1].dtmf_payload: 5 is not valid; must be greater than or equal to 96" in errors


def test_missing_required_key() -> None:
    data = org_data()
    del data["pstn"]
    assert _errors(data) == ["pstn: is required"]


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_org(["trunks"])


def test_yaml_keeps_plus_numbers_and_leading_zeros_as_text() -> None:
    data = read_yaml("a: +19999990001\nb: 0456\nc: 10:30\nd: 5080\ne: -3\n")
    assert data == {"a": "+19999990001", "b": "0456", "c": "10:30", "d": 5080, "e": -3}


def test_yaml_duplicate_key_is_an_error_with_line() -> None:
    with pytest.raises(ConfigError, match=r"line 2: duplicate key 'a'"):
        read_yaml("a: 1\na: 2\n")


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError, match=r"line 2, column \d+: not valid YAML"):
        load_org("a: 1\n  - b: [\n")


def test_missing_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_org(tmp_path / "absent.yaml")


def test_format_path_and_did_you_mean() -> None:
    assert format_path(("sites", 0, "number_plans", 2, "numbers", 1)) == "sites[0].number_plans[2].numbers[1]"
    assert did_you_mean("protocl", ["protocol", "enabled"]) == "protocol"
    assert did_you_mean("PROTOCOL", ["protocol"]) == "protocol"
    assert did_you_mean("zzzz", ["protocol"]) is None
