"""Architect-lite flows: action schema and the pure step function (GENESYS.md §1 (4), (5), (7))."""

from __future__ import annotations

from typing import Any

import pytest

from takeback.cloud import ConfigError, Flow, load_builtin_org, start_flow, step
from takeback.cloud.config import validate_model
from takeback.cloud.flows import (
    Collect,
    CollectDigits,
    Disconnect,
    DisconnectCall,
    PlayPrompt,
    SetParticipantData,
    SetUui,
    TransferCall,
    TransferToNumber,
)


def flow(*actions: Any) -> Flow:
    return validate_model(Flow, {"name": "F", "actions": list(actions)})


def flow_problems(*actions: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        flow(*actions)
    return [str(p) for p in info.value.problems]


def test_one_key_shorthand_and_canonical_forms() -> None:
    f = flow(
        {"set_uui": "x"},
        {"transfer_to_number": 9991},
        {"action": "play", "prompt": "hi"},
        {"collect": {"variable": "Flow.pin", "max_digits": 4}},
        {"set_participant_data": {"a": "b"}},
        "disconnect",
        {"disconnect": None},
    )
    kinds = [type(a) for a in f.actions]
    assert kinds[:2] == [SetUui, TransferToNumber] and kinds[-2:] == [Disconnect, Disconnect]
    assert f.actions[1].number == "9991"  # type: ignore[union-attr]
    assert isinstance(f.actions[3], Collect) and f.actions[3].max_digits == 4
    assert isinstance(f.actions[4], SetParticipantData) and f.actions[4].attributes == {"a": "b"}


def test_action_typo_did_you_mean() -> None:
    (problem,) = flow_problems({"transfer_to_numbr": "9991"})
    assert problem.startswith(
        "actions[0]: 'transfer_to_numbr' is not valid; did you mean 'transfer_to_number'?"
    )


def test_unknown_variable_is_a_config_error() -> None:
    problems = flow_problems({"play": "{Flow.pin}"}, {"collect": "Flow.pin"}, {"set_uui": "{Call.Nope}"})
    assert problems == [
        "actions[0].play.prompt: unknown variable {Flow.pin}; set it with an earlier collect",
        "actions[2].set_uui.data: unknown variable {Call.Nope}; use one of Call.Ani, Call.CalledAddress, "
        "Call.ConversationId, Call.UUIData",
    ]


def test_collect_variable_must_be_flow_variable() -> None:
    assert flow_problems({"collect": "pin"}) == [
        "actions[0].collect.variable: 'pin' is not a flow variable; write e.g. 'Flow.pin'"
    ]


def test_main_ivr_sets_uui_then_transfers_with_it_blog() -> None:
    """Set UUI Data (For Transfers) then Transfer to Number: the effect carries the plain-text UUI."""
    main = load_builtin_org().flow("Main IVR")
    run = start_flow(main, ani="+13175551234", dnis="+18005550100", conversation_id="c1")
    run, effect = step(run)
    assert effect == TransferCall("9991", "This is my data")
    assert run.outgoing_uui == "This is my data"
    run, effect = step(run)  # the transfer failed: failure path continues
    assert effect == PlayPrompt("Sorry, the transfer failed.")
    run, effect = step(run)
    assert effect == DisconnectCall("action") and run.finished
    assert step(run)[1] == DisconnectCall("action")


def test_transfer_via_api_drops_uui_s1_7() -> None:
    """Transfer requested through the Platform API while in the flow: Set UUI Data is ignored [DOC BLOG]."""
    _, effect = step(start_flow(flow({"set_uui": "secret"}, {"transfer_via_api": "9991"})))
    assert effect == TransferCall("9991", None, via_api=True, dropped_uui="secret")


def test_takeback_flow_records_call_uuidata_s6() -> None:
    back = load_builtin_org().flow("Back From Device")
    run, effect = step(start_flow(back, uui_data="This is my data"))
    assert effect == PlayPrompt("Welcome back. Your data is: This is my data")
    assert dict(run.participant_data) == {"takeback_uui": "This is my data"}


def test_collect_stores_digits_and_renders_them() -> None:
    f = flow(
        {
            "collect": {
                "variable": "Flow.pin",
                "max_digits": 4,
                "timeout": "3s",
                "prompt": "PIN for {Call.Ani}",
            }
        },
        {"set_uui": "pin={Flow.pin}"},
        {"transfer_to_number": "+19999990001"},
    )
    run, effect = step(start_flow(f, ani="+13175551234"))
    assert effect == CollectDigits("Flow.pin", 4, 3.0, "#", "PIN for +13175551234")
    run, effect = step(run, "1234")
    assert run.variables["Flow.pin"] == "1234"
    assert effect == TransferCall("+19999990001", "pin=1234")


def test_collect_timeout_gives_empty_value() -> None:
    run, _ = step(start_flow(flow({"collect": "Flow.x"}, {"set_participant_data": {"x": "[{Flow.x}]"}})))
    run, effect = step(run, None)
    assert effect == DisconnectCall("end_of_flow") and run.participant_data["x"] == "[]"


def test_end_of_flow_disconnects() -> None:
    run, effect = step(start_flow(flow({"set_uui": "x"})))
    assert effect == DisconnectCall("end_of_flow") and run.finished


def test_transfer_options() -> None:
    f = flow(
        {"transfer_to_number": {"number": "9991", "connect_timeout": "30s", "release_link_transfer": True}}
    )
    _, effect = step(start_flow(f))
    assert (
        isinstance(effect, TransferCall) and effect.connect_timeout_s == 30.0 and effect.release_link_transfer
    )
    assert effect.uui is None


def test_flow_needs_actions() -> None:
    with pytest.raises(ConfigError, match="actions"):
        validate_model(Flow, {"name": "F", "actions": []})


def test_action_that_is_not_a_one_key_mapping() -> None:
    (problem,) = flow_problems({"play": "a", "x": 1})
    assert problem.startswith("actions[0]: {'play': 'a', 'x': 1} is not an action; write a one-key mapping")
