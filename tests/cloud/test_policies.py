"""Every INFERRED/UNKNOWN behaviour is a named policy with GENESYS.md's default (DESIGN.md §4)."""

from __future__ import annotations

from pydantic import BaseModel

from takeback.cloud import Policies, load_builtin_org
from takeback.cloud.policies import ByePolicy, OptionsPing


def test_every_policy_cites_its_genesys_section() -> None:
    models: list[type[BaseModel]] = [Policies, ByePolicy, OptionsPing]
    for model in models:
        for name, info in model.model_fields.items():
            if info.annotation in (ByePolicy, OptionsPing):
                continue
            assert info.description and "§" in info.description, (
                f"{model.__name__}.{name} lacks its GENESYS.md §"
            )


def test_defaults_are_genesys_md_suggestions() -> None:
    p = Policies()
    assert p.acl_refusal == "drop"  # §4.3
    assert p.takeback_disabled_response == 403  # §6
    assert p.refer_unroutable == "notify-404"  # §6
    assert p.bye_policy.wait_for_device_bye_s == 2.0 and p.bye_policy.genesys_sends_bye  # §6 step 4
    assert p.strict_contact_params  # §4.2 RC-DCV
    assert not p.invite_pai  # §4.2
    assert p.digest_password_in_get == "mask"  # §9.2
    assert p.classification_uniqueness  # §4.1 (4)
    assert p.number_plan_passes == 3  # §4.1 (2)
    assert not p.options_ping.enabled  # §10 (7)
    assert p.oauth_expires_in_s == 86399  # §11 item 9


def test_yaml_policy_values() -> None:
    org = load_builtin_org()
    assert org.policies == Policies()  # the example spells out the defaults
    custom = Policies.model_validate(
        {
            "acl_refusal": "403",
            "takeback_disabled_response": 405,
            "bye_policy": {"wait_for_device_bye_s": 0.5},
        }
    )
    assert custom.acl_refusal == "403" and custom.bye_policy.wait_for_device_bye_s == 0.5
