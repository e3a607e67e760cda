"""Number plans: the six match types, normalization and top-to-bottom priority (GENESYS.md §4.1, §8.1)."""

from __future__ import annotations

from typing import Any

import pytest

from takeback.cloud import ConfigError, NumberPlan, classify
from takeback.cloud.config import validate_model
from takeback.cloud.numberplans import DEFAULT_PLAN_NAMES, DialingContext, default_number_plans, match_plan

US = DialingContext("1", "", "011")
FR = DialingContext("33", "0", "00")


def plan(match_type: str, classification: str = "C", name: str | None = None, **fields: Any) -> NumberPlan:
    data = {
        "name": name or classification,
        "match_type": match_type,
        "classification": classification,
        **fields,
    }
    return validate_model(NumberPlan, data)


def plan_problems(match_type: str, **fields: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        plan(match_type, **fields)
    return [str(p) for p in info.value.problems]


# ----- each match type (§8.1) -----


def test_e164_number_list_ranges_no_normalization_s8_1() -> None:
    p = plan("e164NumberList", numbers="+13177151000-+13177152000, +13177152500")
    assert match_plan(p, "+13177151500", US) == "+13177151500"
    assert match_plan(p, "+13177152500", US) == "+13177152500"
    assert match_plan(p, "+13177152001", US) is None
    assert match_plan(p, "13177151500", US) is None  # must be E.164 with '+'


def test_e164_number_list_requires_plus_s8_1() -> None:
    (problem,) = plan_problems("e164NumberList", numbers=["19999990001"])
    assert (
        problem
        == "numbers[0]: '19999990001' is not E.164 like '+19999990001' (an E.164 Number List needs the '+')"
    )


def test_number_list_ui_text_and_ranges_s8_1() -> None:
    p = plan("numberList", numbers="1000,1005-1008, 5005, 8000-9000")
    assert [(r.start, r.end) for r in p.numbers] == [
        ("1000", "1000"),
        ("1005", "1008"),
        ("5005", "5005"),
        ("8000", "9000"),
    ]
    for number in ("1000", "1006", "5005", "8000", "8500", "9000"):
        assert match_plan(p, number, US) == number
    for number in ("1001", "1009", "9001", "+1006", "01006", "100"):
        assert match_plan(p, number, US) is None


def test_number_list_api_items_and_yaml_ints() -> None:
    p = plan("numberList", numbers=[{"start": "9991", "end": "9991"}, 9992])
    assert match_plan(p, "9992", US) == "9992"


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ("1", "2-9 digits"),
        ("1234567890", "2-9 digits"),
        ("100-1000", "same length"),
        ("200-100", "ascending"),
        ("", "at least one number"),
    ],
)
def test_number_list_rules_tf(numbers: str, message: str) -> None:
    assert message in " ".join(plan_problems("numberList", numbers=numbers))


def test_digit_length_s8_1() -> None:
    p = plan("digitLength", digit_length="4-6")
    assert match_plan(p, "1234", US) == "1234" and match_plan(p, "123456", US) == "123456"
    assert match_plan(p, "123", US) is None and match_plan(p, "1234567", US) is None
    assert match_plan(p, "+1234", US) is None and match_plan(p, "12a4", US) is None
    assert plan("digitLength", digit_length=5).digit_length.start == 5  # type: ignore[union-attr]


def test_digit_length_limits_tf() -> None:
    assert "less than or equal to 20" in plan_problems("digitLength", digit_length="4-21")[0]
    assert "ascending" in plan_problems("digitLength", digit_length="6-4")[0]
    assert plan_problems("digitLength") == ["digit_length: a digitLength plan needs a range like '4-6'"]


def test_regex_capture_group_normalization_s8_1() -> None:
    p = plan("regex", match=r"^(?:\+?1)?(\d{3})(\d{3})(\d{4})$", normalized_format="+1$1$2$3")
    assert match_plan(p, "3175551234", US) == "+13175551234"
    assert match_plan(p, "+13175551234", US) == "+13175551234"
    assert match_plan(p, "317555123", US) is None


def test_regex_missing_group_is_empty_and_escaped_dollar() -> None:
    network = plan("regex", match=r"^([^@\:]+@)([^@ ]+)?$", normalized_format="sip:$1$2")
    assert match_plan(network, "alice@example.com", US) == "sip:alice@example.com"
    assert match_plan(network, "alice@", US) == "sip:alice@"
    money = plan("regex", match=r"^(\d+)$", normalized_format=r"\$$1")
    assert match_plan(money, "12", US) == "$12"


def test_regex_without_format_keeps_number_and_uses_search() -> None:
    p = plan("regex", match=r"555")
    assert match_plan(p, "3175551234", US) == "3175551234"


def test_regex_errors() -> None:
    assert plan_problems("regex", match="(")[0].startswith("match: '(' is not a valid regular expression")
    assert plan_problems("regex", match=r"^(\d)$", normalized_format="$2") == [
        "normalized_format: $2 refers to a group the pattern does not have (1 capture groups)"
    ]


def test_intra_country_code_to_e164_with_site_country_code_s8_1() -> None:
    national = plan("intraCountryCode", digit_length="7-10")
    assert match_plan(national, "+13175551234", US) == "+13175551234"
    assert match_plan(national, "13175551234", US) == "+13175551234"
    assert match_plan(national, "3175551234", US) == "+13175551234"
    assert match_plan(national, "+442071234567", US) is None
    assert match_plan(national, "123", US) is None


def test_intra_country_national_prefix_dropped_fr() -> None:
    national = plan("intraCountryCode", digit_length="10")
    assert match_plan(national, "0456456456", FR) == "+33456456456"
    assert match_plan(national, "+33456456456", FR) == "+33456456456"


def test_inter_country_code_s8_1() -> None:
    uk = plan("interCountryCode", country_codes="44")
    assert match_plan(uk, "+442071234567", US) == "+442071234567"
    assert match_plan(uk, "011442071234567", US) == "+442071234567"
    assert match_plan(uk, "+33456456456", US) is None
    assert match_plan(uk, "442071234567", US) is None  # bare digits: not international (INFERRED)
    assert match_plan(uk, "+44123", US) is None  # 10-15 digits


def test_inter_country_empty_list_is_any_other_country_s8_1() -> None:
    anywhere = plan("interCountryCode")
    assert match_plan(anywhere, "+33456456456", US) == "+33456456456"
    assert match_plan(anywhere, "+13175551234", US) is None  # the site's own country
    assert match_plan(anywhere, "0013175551234", FR) == "+13175551234"


def test_fields_not_used_by_match_type_are_errors() -> None:
    assert plan_problems("digitLength", digit_length="4", numbers="1000") == [
        "numbers: is not used by match_type digitLength; remove it"
    ]
    assert "country_codes[0]" in plan_problems("interCountryCode", country_codes="4x")[0]


# ----- ordering and passes (§4.1 (2)) -----


def test_first_match_top_to_bottom_and_lower_plan_never_matches_s4_1() -> None:
    """A plan below a broader one never matches: 9991 is taken by Extension (4-6 digits) above it."""
    extension = plan("digitLength", "Extension", digit_length="4-6")
    short = plan("numberList", "ShortNumberToExternalDevice", numbers="9991,9992")
    shadowed = classify([extension, short], "9991", US)
    assert shadowed.classification == "Extension"
    assert [p.name for p in shadowed.shadowed] == ["ShortNumberToExternalDevice"]
    on_top = classify([short, extension], "9991", US)
    assert on_top.classification == "ShortNumberToExternalDevice"
    assert on_top.passes[0].index == 0


def test_no_match() -> None:
    result = classify([plan("digitLength", digit_length="4")], "12", US)
    assert (
        result.plan is None
        and result.classification is None
        and result.number == "12"
        and result.passes == ()
    )


def test_rerun_normalized_number_reaches_plan_above_s4_1() -> None:
    """'normalized multiple times': 9999990001 -> National -> +19999990001 -> the E.164 device plan."""
    device = plan("e164NumberList", "E164ToExternalDevice", numbers="+19999990001")
    national = plan("intraCountryCode", "National", digit_length="7-10")
    result = classify([device, national], "9999990001", US, max_passes=3)
    assert result.classification == "E164ToExternalDevice" and result.number == "+19999990001"
    assert [(p.number_in, p.plan.name) for p in result.passes] == [
        ("9999990001", "National"),
        ("+19999990001", "E164ToExternalDevice"),
    ]
    assert result.stable
    single = classify([device, national], "9999990001", US, max_passes=1)
    assert single.classification == "National" and single.number == "+19999990001" and not single.stable


def test_rerun_is_bounded_when_plans_ping_pong() -> None:
    a_to_b = plan("regex", "AB", match="^a$", normalized_format="b")
    b_to_a = plan("regex", "BA", match="^b$", normalized_format="a")
    result = classify([a_to_b, b_to_a], "a", US, max_passes=3)
    assert len(result.passes) == 3 and not result.stable
    assert result.number == "b" and result.classification == "AB"


def test_rerun_stops_when_normalized_number_matches_nothing() -> None:
    to_sip = plan("regex", "Network", match=r"^([^@\:]+@)([^@ ]+)?$", normalized_format="sip:$1$2")
    result = classify([to_sip], "bob@example.com", US)
    assert result.number == "sip:bob@example.com" and len(result.passes) == 1 and result.stable


# ----- defaults (§8.1) -----


def test_default_plans_table_s8_1() -> None:
    plans = default_number_plans(["911"])
    assert tuple(p.name for p in plans) == DEFAULT_PLAN_NAMES
    assert all(p.classification == p.name for p in plans)
    by_name = {p.name: p for p in plans}
    assert classify(plans, "911", US).classification == "Emergency"
    assert classify(plans, "4567", US).classification == "Extension"
    assert classify(plans, "3175551234", US).number == "+13175551234"
    assert classify(plans, "+442071234567", US).classification == "International"
    assert classify(plans, "bob@example.com", US).number == "sip:bob@example.com"
    assert match_plan(by_name["Suicide Prevention"], "988", US) == "+18002738255"
    assert by_name["Network"].match == r"^([^@\:]+@)([^@ ]+)?$"
