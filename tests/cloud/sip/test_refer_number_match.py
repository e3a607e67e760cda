"""How a take-back Refer-To user part meets a DID (Policies.refer_number_match): GENESYS.md §6 "route by
user part only: DID -> flow", with §8.1 number plans for the ``number_plans`` policy.

The article's org with its site in France (country code 33, national prefix 0): the device REFERs first
with a non-E.164 spelling of the take-back DID +33456456456, then (if that was not routable) with the
article's exact Refer-To, on the same dialog.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from takeback.cloud import parse_org
from takeback.cloud.calllog import ConversationRecord
from takeback.cloud.server import CloudServer
from takeback.uui import refer_to

from .support import ARTICLE_REFER_TO, ARTICLE_UUI, BACK_DID, MAIN_DID, Device, device_trunk, org_data


def french_org(port: int, **policies: Any) -> Any:
    data = org_data(port, trunk=device_trunk(port), policies=policies)
    data["sites"][0]["country_code"] = "33"  # national prefix "0" by default outside NANP (§8.1 INFERRED)
    return parse_org(data)


async def take_back(first: str, **policies: Any) -> tuple[ConversationRecord, Device]:
    device = Device(refer_to=[refer_to(first, uui=ARTICLE_UUI), ARTICLE_REFER_TO])
    async with device:
        org = french_org(device.port, **policies)
        async with CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(3)) as cloud:
            record = await cloud.call(MAIN_DID)
            await record.wait(10)
            await asyncio.wait_for(device.done.get(), 10)
    return record, device


@pytest.mark.parametrize("spelling", ["33456456456", "0456456456"])
async def test_exact_policy_needs_the_did_verbatim(spelling: str) -> None:
    """§6 default (refer_number_match = exact): a non-E.164 spelling is unroutable -> NOTIFY 404
    (refer_unroutable), the call stays up and the exact Refer-To then works."""
    record, device = await take_back(spelling)
    assert [outcome.status for outcome in device.outcomes] == [404, 200]
    assert record.refers[0].notify == [100, 404] and record.refers[0].flow is None
    assert record.refers[1].flow == "Back"


@pytest.mark.parametrize("spelling", ["33456456456", "0456456456", "+33456456456"])
async def test_number_plans_policy_normalizes_with_the_inbound_site(spelling: str) -> None:
    """§6 + §8.1 (refer_number_match = number_plans, INFERRED): the device trunk's inbound site classifies
    the user part (Intra Country: 33… with the site's code, or a national 0… number) and normalizes it to
    E.164, which is the DID: the first REFER already takes the call back."""
    record, device = await take_back(spelling, refer_number_match="number_plans")
    assert [outcome.status for outcome in device.outcomes] == [200]
    refer = record.refers[0]
    assert (refer.number, refer.flow, refer.notify) == (spelling, "Back", [100, 200])
    back = record.flows_run[-1]
    assert (back.did, back.uui_data) == (BACK_DID, ARTICLE_UUI)


async def test_number_plans_policy_still_answers_404_for_an_unknown_number() -> None:
    """§6: a number that normalizes to no DID stays unroutable (NOTIFY 404, the call stays up)."""
    record, device = await take_back("0499999999", refer_number_match="number_plans")
    assert [outcome.status for outcome in device.outcomes] == [404, 200]
    assert record.refers[0].notify == [100, 404]
