"""Max Call Rate ``trunk_maxCallRate`` (GENESYS.md §3.3): the pure limiters with explicit times, the
dial-plan step after a refusal, and whole calls to real UDP devices (takeback.cloud.dialer)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from takeback.cloud import Trunk, parse_org
from takeback.cloud.calllog import describe
from takeback.cloud.dialer import SlidingWindowLimiter, TokenBucketLimiter, make_limiter
from takeback.cloud.routing import route_number
from takeback.cloud.server import CloudServer

from .support import ARTICLE_UUI, MAIN_DID, Device, device_trunk, org_data

# ----- the limiters (pure, time passed in) -----


def test_sliding_window_admits_n_per_window() -> None:
    """§3.3 Max Call Rate "40/5s" read as at most N attempts in any T seconds (sliding, INFERRED)."""
    limiter = SlidingWindowLimiter(3, 5.0)
    assert [limiter.admit(t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert limiter.admit(4.999) is False  # the attempt at 0.0 still counts
    assert limiter.admit(5.0) is True  # ... until 0.0 + 5 s
    assert limiter.admit(5.5) is False  # 1.0, 2.0 and 5.0 are in (0.5, 5.5]
    assert limiter.admit(6.0) is True


def test_sliding_window_refusals_are_not_counted() -> None:
    """§3.3: an attempt over the limit is not sent, so it does not use up the window."""
    limiter = SlidingWindowLimiter(1, 10.0)
    assert limiter.admit(0.0)
    assert not any(limiter.admit(t) for t in (1.0, 2.0, 9.0))
    assert limiter.admit(10.0)


def test_token_bucket_average_rate_with_bursts() -> None:
    """§3.3 "the average number of calls permitted per second" [DOC RC]: Policies.max_call_rate_window =
    token_bucket refills N/T per second, bursts up to N (INFERRED)."""
    limiter = TokenBucketLimiter(2, 4.0)  # 0.5 call/s, burst 2
    assert [limiter.admit(0.0), limiter.admit(0.0), limiter.admit(0.0)] == [True, True, False]
    assert limiter.admit(1.0) is False  # half a token back
    assert limiter.admit(2.0) is True  # one token back after 2 s
    assert limiter.admit(100.0) and limiter.admit(100.0) and not limiter.admit(100.0)  # capped at N


def test_token_bucket_ignores_a_clock_going_backwards() -> None:
    """§3.3: time comes from a monotonic clock; an earlier ``now`` must not mint tokens."""
    limiter = TokenBucketLimiter(1, 10.0)
    assert limiter.admit(50.0)
    assert not limiter.admit(40.0)
    assert not limiter.admit(50.0)


def test_make_limiter_and_trunk_call_rate() -> None:
    """§3.3 trunk_maxCallRate: "40/5s" -> (40, 5.0); "" and a count of 0 mean no limit (INFERRED from
    Max Calls 0 = unlimited, RC "Configure maximum call settings")."""
    base: dict[str, Any] = {"name": "T", "inbound_sip_termination_identifier": "t", "sip_servers": ["h:5060"]}
    assert Trunk.model_validate({**base, "max_call_rate": "40/5s"}).call_rate == (40, 5.0)
    assert Trunk.model_validate(base).call_rate is None
    assert Trunk.model_validate({**base, "max_call_rate": "0/5s"}).call_rate is None
    assert isinstance(make_limiter((40, 5.0)), SlidingWindowLimiter)
    assert isinstance(make_limiter((40, 5.0), "token_bucket"), TokenBucketLimiter)
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 5.0)


def test_next_trunk_attempt_skips_the_other_servers_of_the_trunk() -> None:
    """§3.3 / §4.1 (5): Policies.max_call_rate_exceeded=next_trunk goes to the route's next trunk, past
    the limited trunk's other SIP servers."""
    first = device_trunk(5070, sip_servers=["127.0.0.1:5070", "127.0.0.1:5071"])
    data = _two_trunks(first, device_trunk(5072, name="Device2", inbound_sip_termination_identifier="d2"))
    plan = route_number(parse_org(data), None, "9991", random.Random(1))
    assert [(a.trunk.name, a.proxy.port if a.proxy else 0) for a in plan.attempts] == [
        ("Device", 5070),
        ("Device", 5071),
        ("Device2", 5072),
    ]
    assert plan.next_trunk_attempt(0) == 2 and plan.next_trunk_attempt(1) == 2
    assert plan.next_trunk_attempt(2) is None


# ----- whole calls on real sockets -----


def _two_trunks(first: dict[str, Any], second: dict[str, Any] | None, **org: Any) -> dict[str, Any]:
    """The article's org; the ToDevice route holds ``first`` then ``second`` (SEQUENTIAL)."""
    data = org_data(0, trunk=first, **org)
    if second is not None:
        data["trunks"].append(second)
        route = data["sites"][0]["outbound_routes"][0]
        route["external_trunks"] = [first["name"], second["name"]]
    return data


async def _calls(cloud: CloudServer, count: int) -> list[Any]:
    records = []
    for _ in range(count):
        record = await cloud.call(MAIN_DID)
        records.append(await record.wait(15))
    return records


async def test_over_the_rate_the_next_trunk_of_the_route_is_used() -> None:
    """§3.3 Max Call Rate + Policies.max_call_rate_exceeded=next_trunk (default, INFERRED): the second call
    within the window is not sent on the limited trunk; the route's next trunk carries it."""
    limited, spare = Device(), Device()
    async with limited, spare:
        first = device_trunk(limited.port, max_call_rate="1/3600s")
        second = device_trunk(spare.port, name="Device2", inbound_sip_termination_identifier="d2")
        org = parse_org(_two_trunks(first, second))
        async with CloudServer(org, sip=["udp:127.0.0.1:0"], rng=random.Random(5)) as cloud:
            one, two = await _calls(cloud, 2)
    assert len(limited.invites) == 1 and len(spare.invites) == 1
    assert [(leg.trunk, leg.status) for leg in one.legs] == [("Device", 200)]
    assert [(leg.trunk, leg.status) for leg in two.legs] == [("Device2", 200)]
    assert two.flows_run[-1].uui_data == ARTICLE_UUI and not two.failures
    (skipped,) = two.skipped_attempts  # visible in the timeline, without a Call-ID
    assert (skipped.trunk, skipped.target) == ("Device", f"127.0.0.1:{limited.port}")
    assert "max call rate 1/3600s exceeded" in skipped.reason
    assert describe(two)["legs"] == [
        {"party": "customer", "call_id": two.customer_call_id},
        {"party": "external", "call_id": two.legs[0].call_id},
    ]


async def test_over_the_rate_with_the_fail_policy_the_transfer_fails() -> None:
    """§3.3 Max Call Rate + Policies.max_call_rate_exceeded=fail (INFERRED): no INVITE is sent, the transfer
    fails (flow failure path, a failure in the conversation record) even though another trunk exists."""
    limited, spare = Device(), Device()
    async with limited, spare:
        first = device_trunk(limited.port, max_call_rate="1/3600s")
        second = device_trunk(spare.port, name="Device2", inbound_sip_termination_identifier="d2")
        data = _two_trunks(first, second, policies={"max_call_rate_exceeded": "fail"})
        async with CloudServer(parse_org(data), sip=["udp:127.0.0.1:0"], rng=random.Random(5)) as cloud:
            one, two = await _calls(cloud, 2)
    assert len(limited.invites) == 1 and spare.invites == []
    assert one.legs[0].status == 200
    assert two.legs == []  # nothing went on the wire: no Call-ID, no external session
    assert two.flows_run[0].prompts == ["Sorry, the transfer failed."]
    reason = "max call rate 1/3600s exceeded on trunk 'Device': INVITE not sent"
    assert two.failures == [f"transfer to 9991: status None ({reason})"]
    assert [(s.trunk, s.reason) for s in two.skipped_attempts] == [("Device", reason)]
    assert describe(two)["skipped_attempts"] == [
        {"number": "9991", "trunk": "Device", "target": f"127.0.0.1:{limited.port}", "reason": reason}
    ]
    assert not one.skipped_attempts


async def test_over_the_rate_with_no_other_trunk_the_transfer_fails() -> None:
    """§3.3 Max Call Rate, default policy: the route has no next trunk, so the transfer fails."""
    device = Device()
    async with device:
        data = _two_trunks(device_trunk(device.port, max_call_rate="2/3600s"), None)
        async with CloudServer(parse_org(data), sip=["udp:127.0.0.1:0"], rng=random.Random(5)) as cloud:
            records = await _calls(cloud, 3)
    assert len(device.invites) == 2
    assert [bool(r.failures) for r in records] == [False, False, True]
    assert records[2].flows_run[0].prompts == ["Sorry, the transfer failed."]
