"""Caller identity on a whole call (GENESYS.md §3.3, §4.2): the Site source of
``trunk_calling_id_priority`` and *Suppress user name*, asserted on the INVITE a real UDP device got."""

from __future__ import annotations

import random
from typing import Any

from takeback.cloud import parse_org
from takeback.cloud.server import CloudServer
from takeback.sip import parse_name_addr

from .support import CALLER, MAIN_DID, Device, device_trunk, org_data

SITE_CALLER_ID = "+18005550100"  # the org's main DID (did_ranges), set as the site's Caller ID
SITE_CALLER_NAME = "Daly City Support"


async def _from_of_one_call(trunk: dict[str, Any], device: Device, *, name: str = "Jane Doe") -> Any:
    data = org_data(device.port, trunk=trunk)
    data["sites"][0].update(caller_id=SITE_CALLER_ID, caller_name=SITE_CALLER_NAME)
    async with CloudServer(parse_org(data), sip=["udp:127.0.0.1:0"], rng=random.Random(9)) as cloud:
        record = await cloud.call(MAIN_DID, name=name)
        await record.wait(15)
    assert record.legs and record.legs[0].status == 200
    return parse_name_addr(device.invites[0].headers["From"])


async def test_site_caller_id_is_sent_when_site_comes_first() -> None:
    """§3.3 trunk_calling_id_priority ``Site`` [DOC RC-PCS, SDK Site.caller_id/caller_name]: the dialing
    site's Caller ID and Caller Name are the From of the INVITE to the device."""
    device = Device()
    async with device:
        trunk = device_trunk(device.port, prioritized_caller_selection=["Site", "Source", "Trunk"])
        from_ = await _from_of_one_call(trunk, device)
    assert from_.uri.user == SITE_CALLER_ID and from_.display == SITE_CALLER_NAME


async def test_source_first_keeps_the_callers_ani_and_name() -> None:
    """§3.3 / §4.2 ``Source`` before ``Site``: the customer's ANI and name."""
    device = Device()
    async with device:
        trunk = device_trunk(device.port, prioritized_caller_selection=["Source", "Site"])
        from_ = await _from_of_one_call(trunk, device)
    assert from_.uri.user == CALLER and from_.display == "Jane Doe"


async def test_extension_source_is_skipped_for_a_customer_call() -> None:
    """§3.3 ``Extension`` (INFERRED): a flow transfer of a PSTN customer has no calling user."""
    device = Device()
    async with device:
        trunk = device_trunk(device.port, prioritized_caller_selection=["Extension", "Site"])
        from_ = await _from_of_one_call(trunk, device)
    assert from_.uri.user == SITE_CALLER_ID


async def test_suppress_user_name_if_no_did_drops_the_callers_name() -> None:
    """§3.3 trunk_outboundIdentity_suppress_username_if_no_did: the customer's ANI is not a DID of the org
    (Policies.did_available=org_did, INFERRED), so the caller's name is not sent."""
    device = Device()
    async with device:
        trunk = device_trunk(
            device.port, prioritized_caller_selection=["Source"], suppress_user_name_if_no_did=True
        )
        from_ = await _from_of_one_call(trunk, device)
    assert from_.uri.user == CALLER and from_.display in (None, "")


async def test_suppress_user_name_if_did_available_keeps_a_non_did_callers_name() -> None:
    """§3.3 trunk_outboundIdentity_suppress_username_if_did_available: only when the From number is an org
    DID; the customer's ANI is not, so the name stays."""
    device = Device()
    async with device:
        trunk = device_trunk(
            device.port, prioritized_caller_selection=["Source"], suppress_user_name_if_did_available=True
        )
        from_ = await _from_of_one_call(trunk, device)
    assert from_.uri.user == CALLER and from_.display == "Jane Doe"
