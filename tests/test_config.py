"""takeback.config: the plumbing org.yaml (cloud) and device.yaml (device) share."""

from __future__ import annotations

from typing import Literal

import pytest

from takeback import config
from takeback.config import ConfigError, Problem, StrictModel, validate_model


class Inner(StrictModel):
    protocol: Literal["udp", "tcp", "tls"]
    number: str = ""


class Outer(StrictModel):
    name: str
    inner: tuple[Inner, ...] = ()


def _lines(data: object, source: str | None = None) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        validate_model(Outer, data, source=source)
    return str(failure.value).splitlines()


def test_one_line_per_problem_with_paths_and_valid_choices() -> None:
    assert _lines({"name": "x", "inner": [{"protocol": "udp"}, {"protocol": "tcpp"}]}) == [
        "inner[1].protocol: 'tcpp' is not valid; use one of udp, tcp, tls; did you mean 'tcp'?"
    ]


def test_a_misspelt_key_gets_did_you_mean_and_no_second_missing_line() -> None:
    assert _lines({"nmae": "x"}) == ["nmae: unknown key 'nmae'; did you mean 'name'?"]


def test_source_prefixes_every_line() -> None:
    assert _lines({}, source="org.yaml") == ["org.yaml: name: is required"]


def test_the_cloud_and_the_device_raise_the_same_class() -> None:
    from takeback.cloud import ConfigError as CloudConfigError
    from takeback.device import ConfigError as DeviceConfigError

    assert CloudConfigError is ConfigError and DeviceConfigError is ConfigError


def test_read_yaml_keeps_numbers_as_text_and_rejects_duplicates() -> None:
    assert config.read_yaml("a: +19999990001\nb: 0456\nc: '10:30'\nd: 7\n") == {
        "a": "+19999990001", "b": "0456", "c": "10:30", "d": 7,
    }  # fmt: skip
    with pytest.raises(ConfigError, match="line 2: duplicate key 'a'"):
        config.read_yaml("a: 1\na: 2\n")
    with pytest.raises(ConfigError) as failure:
        config.read_yaml("a: [1,\n", source="f.yaml")
    assert failure.value.problems[0].message.startswith("not valid YAML") and failure.value.source == "f.yaml"


def test_numbers_given_for_text_are_their_decimal_text() -> None:
    assert validate_model(Inner, {"protocol": "tcp", "number": 9991}).number == "9991"


def test_helpers() -> None:
    assert config.format_path(("trunks", 0, "protocol")) == "trunks[0].protocol"
    assert (
        config.did_you_mean("Acess", ["access", "token"]) == "access"
        and config.did_you_mean("zzz", ["access"]) is None
    )
    assert str(Problem("", "whole file")) == "whole file"
