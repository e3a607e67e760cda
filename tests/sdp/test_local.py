"""LocalMedia: configuration checks and codec resolution."""

from __future__ import annotations

import dataclasses
import os

import pytest

from takeback.sdp import OPUS, PCMA, PCMU, Codec, Connection, Direction, LocalMedia, SrtpPolicy


def test_defaults() -> None:
    local = LocalMedia("192.0.2.5", 4000)
    assert local.preferred == (PCMU, PCMA)
    assert local.telephone_event is not None and local.telephone_event.payload_type == 101
    assert local.connection == Connection.create("192.0.2.5")
    assert local.srtp is SrtpPolicy.OFF and local.direction is Direction.SENDRECV


def test_names_are_resolved_and_strings_normalised() -> None:
    config: dict[str, str] = {"srtp": "off", "direction": "sendonly"}  # e.g. from device.yaml
    local = LocalMedia("192.0.2.5", 4000, codecs=["audio/opus", "audio/pcmu"], **config)  # type: ignore[arg-type]
    assert local.preferred == (OPUS, PCMU)
    assert local.codecs == ("audio/opus", "audio/pcmu")
    assert local.srtp is SrtpPolicy.OFF and local.direction is Direction.SENDONLY
    assert hash(local) == hash(dataclasses.replace(local))


def test_dynamic_codecs_avoid_the_telephone_event_type() -> None:
    local = LocalMedia(
        "192.0.2.5", 4000, codecs=("opus",), telephone_event=Codec("telephone-event", 96, 8000)
    )
    assert local.preferred[0].payload_type == 97


def test_legacy_hold_connection() -> None:
    assert LocalMedia("192.0.2.5", 4000, legacy_hold=True).connection.address == "0.0.0.0"
    assert LocalMedia("2001:db8::5", 4000, legacy_hold=True).connection == Connection("IN", "IP6", "::")


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "media.example.com"},
        {"port": 0},
        {"port": 70000},
        {"ptime": 0},
        {"maxptime": -1},
        {"codecs": ()},
        {"codecs": ("telephone-event",)},
        {"codecs": ("amr",)},
        {"telephone_event": PCMU},
        {"srtp": "required"},
        {"srtp": "optional", "key_source": os.urandom, "crypto_suites": ("NOPE",)},
        {"srtp": "optional", "key_source": os.urandom, "crypto_suites": ()},
        {"srtp": "sometimes"},
    ],
)
def test_bad_configurations(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(LocalMedia("192.0.2.5", 4000), **changes)  # type: ignore[arg-type]


def test_with_port_copies_a_validated_template() -> None:
    """The device builds LocalMedia once from its configuration and derives each call's copy."""
    template = LocalMedia("192.0.2.10", 40000, codecs=("opus", "PCMU"))
    copy = template.with_port(40002)
    assert copy.port == 40002 and template.port == 40000
    assert copy.preferred == template.preferred and copy.address == template.address
    assert copy == LocalMedia("192.0.2.10", 40002, codecs=("opus", "PCMU"))
    with pytest.raises(ValueError, match="out of range"):
        template.with_port(0)
