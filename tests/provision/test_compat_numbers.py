"""``takeback.provision.compat_numbers``: the routing and UUI facts ``takeback check`` judges."""

from __future__ import annotations

from pathlib import Path

from takeback.cloud import Org, load_org
from takeback.device.config import DnisSettings, load_device_config, parse_device_config
from takeback.provision.compat_numbers import (
    flow_uui,
    range_numbers,
    routed_numbers,
    routes_to,
    sites_for,
    takeback_numbers,
    unrouted_numbers,
    uses_conversation_id,
    uui_survives,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEVICE_TRUNK = "MyBYOCCloudTrunkForTransferToExternalDevice"


def org() -> Org:
    return load_org(EXAMPLES / "org.yaml")


def test_numbers_routed_to_the_device_trunk() -> None:
    example = org()
    routed, open_plans = routed_numbers(example, example.trunk(DEVICE_TRUNK))
    assert routed == {"+19999990001": "+19999990001", "9991": "9991", "9992": "9992"}
    assert open_plans == []
    assert [site.name for site in sites_for(example, example.trunk(DEVICE_TRUNK))] == ["Daly City"]


def test_pstn_numbers_do_not_reach_the_device_trunk() -> None:
    example = org()
    trunk = example.trunk(DEVICE_TRUNK)
    assert routes_to(example, example.site(), "9991", trunk)
    assert not routes_to(example, example.site(), "+13175551234", trunk)
    assert routes_to(example, example.site(), "+13175551234", example.trunk("PSTNCarrierTrunk"))


def test_device_numbers_the_org_does_not_route() -> None:
    example = org()
    settings = DnisSettings(e164=["+19999990001-+19999990003"], numbers=["9991"])
    listed, missing = unrouted_numbers(example, example.trunk(DEVICE_TRUNK), settings)
    assert listed == ["+19999990001", "+19999990002", "+19999990003", "9991"]
    assert missing == ["+19999990002", "+19999990003"]


def test_range_numbers() -> None:
    assert range_numbers("9991", "9993") == ["9991", "9992", "9993"]
    assert range_numbers("+0100", "+0101") == ["+0100", "+0101"]
    assert range_numbers("+19999990000", "+19999999999") == ["+19999990000", "+19999999999"]


def test_flow_uui_and_its_survival() -> None:
    example = org()
    trunk = example.trunk(DEVICE_TRUNK)
    assert flow_uui(example, trunk) == [("Main IVR", "This is my data")]
    assert uui_survives(trunk, "This is my data", static=False) is None
    ascii_trunk = trunk.model_copy(update={"uui_encoding": "Ascii"})
    problem = uui_survives(ascii_trunk, "This is my data", static=False)
    assert problem is not None and problem.startswith("not sent")


def test_device_facts() -> None:
    device = load_device_config(EXAMPLES / "device.yaml")
    assert takeback_numbers(device) == ["+33456456456"]
    assert uses_conversation_id(device)
    plain = parse_device_config(
        "take_back: {number: '+33400000001'}\napp:\n  flow:\n    - answer\n    - take_back: '+33400000002'\n"
    )
    assert takeback_numbers(plain) == ["+33400000001", "+33400000002"]
    assert not uses_conversation_id(plain)
