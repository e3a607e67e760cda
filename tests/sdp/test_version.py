"""VersionKeeper: RFC 3264 §8 o= rules."""

from __future__ import annotations

import dataclasses

import pytest

from takeback.sdp import Direction, LocalMedia, SdpParseError, VersionKeeper, build_offer, parse_sdp
from takeback.sdp.version import NTP_UNIX_OFFSET, is_same_version, session_id_from_time

from .samples import GENESYS_HOLD, GENESYS_OFFER

LOCAL = LocalMedia("192.0.2.5", 4000)


def test_first_stamp_uses_the_session_id_as_version() -> None:
    keeper = VersionKeeper(3912345678)
    offer = keeper.stamp(build_offer(LOCAL))
    assert str(offer.origin) == "- 3912345678 3912345678 IN IP4 192.0.2.5"
    assert keeper.version == 3912345678 and keeper.last == offer and keeper.session_id == "3912345678"


def test_unchanged_description_keeps_the_version() -> None:
    keeper = VersionKeeper(7, initial_version=0)
    first = keeper.stamp(build_offer(LOCAL))
    assert keeper.stamp(build_offer(LOCAL)) == first
    assert first.origin.session_version == 0


def test_each_change_increments_by_exactly_one() -> None:
    keeper = VersionKeeper(7, username="takeback", initial_version=10)
    versions = []
    for direction in (Direction.SENDRECV, Direction.SENDONLY, Direction.SENDONLY, Direction.SENDRECV):
        stamped = keeper.stamp(build_offer(dataclasses.replace(LOCAL, direction=direction)))
        versions.append(stamped.origin.session_version)
        assert stamped.origin.session_id == "7" and stamped.origin.username == "takeback"
    assert versions == [10, 11, 11, 12]


def test_a_change_of_address_is_a_change() -> None:
    keeper = VersionKeeper(1)
    keeper.stamp(build_offer(LOCAL))
    moved = keeper.stamp(build_offer(dataclasses.replace(LOCAL, address="192.0.2.6")))
    assert moved.origin.session_version == 2 and moved.origin.address == "192.0.2.6"


def test_foreign_origin_fields_are_replaced() -> None:
    stamped = VersionKeeper(55, initial_version=1).stamp(parse_sdp(GENESYS_OFFER))
    assert str(stamped.origin) == "- 55 1 IN IP4 52.129.100.7"


def test_keeper_validation() -> None:
    assert VersionKeeper("abc").version == 0
    with pytest.raises(ValueError):
        VersionKeeper(1, initial_version=-1)
    with pytest.raises(SdpParseError):
        VersionKeeper("a b")


def test_session_id_from_time_is_ntp_seconds() -> None:
    assert session_id_from_time(0.0) == NTP_UNIX_OFFSET
    assert session_id_from_time(1_700_000_000.9) == 1_700_000_000 + 2_208_988_800


def test_is_same_version_detects_session_refreshes() -> None:
    offer, hold = parse_sdp(GENESYS_OFFER), parse_sdp(GENESYS_HOLD)
    assert is_same_version(offer, parse_sdp(GENESYS_OFFER))
    assert not is_same_version(offer, hold)
