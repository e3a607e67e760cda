"""Take-back over real sockets: the emulator and a small takeback-UserAgent device (GENESYS.md §5.2, §6, §12).

Every test runs the article's org on 127.0.0.1 with ephemeral ports: a simulated PSTN call to
+18005550100 runs "Main IVR" (Set UUI Data "This is my data", Transfer to Number 9991), the emulator
INVITEs the device, the device REFERs with the Refer-To under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from takeback.cloud.calllog import ConversationRecord
from takeback.cloud.server import CloudServer
from takeback.uui import refer_to

from .support import ARTICLE_REFER_TO, ARTICLE_UUI, BACK_DID, CALLER, MAIN_DID, Device, device_trunk, make_org

HEX = "54686973206973206d792064617461"  # "This is my data"


@contextlib.asynccontextmanager
async def running(
    device: Device, trunk: dict[str, Any] | None = None, **org: Any
) -> AsyncIterator[CloudServer]:
    """The device, then the emulator whose device trunk points at it (``trunk``: settings to change)."""
    async with device:
        settings = device_trunk(device.port, **(trunk or {}))
        org_model = make_org(device.port, trunk=settings, **org)
        async with CloudServer(org_model, sip=["udp:127.0.0.1:0"], rng=random.Random(7)) as cloud:
            yield cloud


async def take_back(target: str, **org: Any) -> tuple[ConversationRecord, Device]:
    """One call taken back with ``target`` as Refer-To; returns when both sides are done."""
    device = Device(refer_to=target)
    async with running(device, **org) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
    return record, device


async def test_the_article_scenario_end_to_end() -> None:
    """§1 / article: caller -> flow -> Set UUI -> Transfer to 9991 -> device -> REFER "This is my data"
    -> flow on +33456456456 sees Call.UUIData == "This is my data"; §9.5 Call-ID <-> conversationId."""
    device = Device(refer_to=ARTICLE_REFER_TO, collect_digits=4)
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID, dtmf_to_device="1234")
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
        analytics = cloud.store.get(record.conversation_id)
    invite = device.invites[0]
    # The INVITE of §10 (1): DNIS, ANI, x-inin-cnv, token header, UUI from Set UUI Data.
    assert invite.uri.startswith("sip:9991@127.0.0.1:")
    assert invite.from_.uri.user == CALLER  # type: ignore[union-attr]
    assert invite.headers["x-inin-cnv"] == record.conversation_id
    assert invite.headers["CUSTOM-DEVICE-TOKEN"] == "1234567"
    assert invite.headers["User-to-User"] == f"00{HEX};encoding=hex"
    # The take-back: 202, NOTIFY 100 then 200, Genesys BYE after the grace period (§6 defaults).
    assert device.outcomes[0].success and device.outcomes[0].progress == (100,)
    refer = record.refers[0]
    assert (refer.response, refer.notify, refer.flow, refer.spelling) == (202, [100, 200], "Back", "rfc")
    assert refer.bye_by == "genesys" and device.ended == ["remote-bye"]
    back = record.flows_run[-1]
    assert (back.flow_name, back.did, back.uui_data) == ("Back", BACK_DID, ARTICLE_UUI)
    assert back.participant_data == {"takeback_uui": ARTICLE_UUI}
    assert back.prompts == [f"Welcome back. Your data is: {ARTICLE_UUI}"]
    # Media: the caller's DTMF reached the device over RTP, audio flowed both ways.
    assert device.digits == ["1234"]
    leg = record.legs[0]
    assert leg.digits_sent == "1234" and leg.taken_back
    assert leg.packets_received > 0 and device.packets_received[0] > 0
    # Analytics: customer / ivr / external / ivr, the device leg's protocolCallId is its SIP Call-ID.
    assert analytics is not None
    purposes = [p.purpose for p in analytics.participants]
    assert purposes == ["customer", "ivr", "external", "ivr"]
    external = analytics.participants[2].sessions[0]
    assert external.protocol_call_id == invite.call_id
    assert external.dnis == "tel:9991" and external.direction == "outbound"
    assert external.segments[-1].disconnect_type == "transfer"
    assert analytics.participants[0].sessions[0].ani == f"tel:{CALLER}"
    assert analytics.conversation_end is not None
    assert record.call_ids[1] == {"party": "external", "call_id": invite.call_id}


@pytest.mark.parametrize(
    ("target", "spelling", "rfc"),
    [
        (f"<sip:{BACK_DID}@localhost?User-to-User=00{HEX}%3Bencoding%3Dhex>", "rfc", True),
        (f"<sip:{BACK_DID}@localhost?User-to-User%3D00{HEX}%3Bencoding%3Dhex>", "escaped-equals", False),
        (f"<sip:{BACK_DID}@localhost?User-to-User=00{HEX};encoding=hex>", "unescaped-semicolon", False),
    ],
)
async def test_each_documented_refer_to_spelling(target: str, spelling: str, rfc: bool) -> None:
    """§5.2 / §12.1: the three Refer-To spellings Genesys documents all work; non-RFC ones are flagged."""
    record, _ = await take_back(target)
    assert record.flows_run[-1].uui_data == ARTICLE_UUI
    assert (record.refers[0].spelling, record.refers[0].rfc_correct) == (spelling, rfc)


async def test_the_rfc_only_policy_refuses_non_rfc_spellings() -> None:
    """§5.2 policy refer_to_spellings=rfc-only: a non-RFC spelling is a malformed Refer-To (400)."""
    device = Device(refer_to=f"<sip:{BACK_DID}@localhost?User-to-User=00{HEX};encoding=hex>")
    async with running(device, policies={"refer_to_spellings": "rfc-only"}) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device), 10)
        await cloud.engine.hangup(record.conversation_id)  # type: ignore[union-attr]
    assert device.outcomes[0].status == 400 and record.refers[0].response == 400


@pytest.mark.parametrize(
    ("uri_header", "expected"),
    [
        (f"User-to-User=00{HEX}%3Bencoding%3Dhex", ARTICLE_UUI),  # PD stripped
        (f"User-to-User={HEX}%3Bencoding%3Dhex", "his is my data"),  # no PD: first octet lost
        (f"User-to-User={HEX}%3Bpd%3D00%3Bencoding%3Dhex", ARTICLE_UUI),  # pd= parameter: nothing removed
        (f"User-to-User=00{HEX}", ARTICLE_UUI),  # no encoding: hex assumed
        (f"x-User-to-User={HEX}%3Bencoding%3Dhex", ARTICLE_UUI),  # x- type: nothing removed
        ("x-User-to-User=This%20is%20my%20data%3Bencoding%3Dascii", ARTICLE_UUI),
        ("User-to-User=XThis%20is%20my%20data%3Bencoding%3Dascii", ARTICLE_UUI),  # ascii: first char = PD
        (f"User-to-User=00{HEX}%3Bencoding%3Dhex&User-to-User=00{HEX}%3Bencoding%3Dhex", None),  # duplicate
        (f"User-to-User=00{HEX}zz%3Bencoding%3Dhex", None),  # data does not match its encoding
    ],
)
async def test_uui_types_encodings_and_pd_rules(uri_header: str, expected: str | None) -> None:
    """§5.2 [DOC RC-UUIFMT]: header types, hex/ascii, PD removal (truncation without PD), duplicates
    discarded, bad data -> no data; Call.UUIData is what the take-back flow sees."""
    record, _ = await take_back(f"<sip:{BACK_DID}@localhost?{uri_header}>")
    assert record.refers[0].response == 202
    assert record.flows_run[-1].uui_data == expected
    assert record.flows_run[-1].participant_data == {"takeback_uui": expected or ""}


async def test_a_separate_uui_header_on_the_refer_is_ignored() -> None:
    """§5.2 / §12 item 1 [3P LK]: only the Refer-To carries UUI; a User-to-User header on REFER does not."""
    device = Device(refer_to=f"<sip:{BACK_DID}@localhost>", refer_headers=(("User-to-User", f"00{HEX}"),))
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
    assert record.refers[0].response == 202
    assert record.flows_run[-1].uui_data is None


async def until_outcome(device: Device, count: int = 1) -> None:
    while len(device.outcomes) < count:
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("status", "expected"), [(None, 403), (405, 405), (501, 501)])
async def test_take_back_off_rejects_the_refer(status: int | None, expected: int) -> None:
    """§6 precondition [DOC BLOG]: Take Back and Transfer off -> REFER refused (403 default, policy);
    the original call stays up."""
    policies = {} if status is None else {"takeback_disabled_response": status}
    device = Device()
    async with running(device, trunk={"take_back_and_transfer": False}, policies=policies) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device), 10)
        assert device.outcomes[0].status == expected and not device.outcomes[0].accepted
        assert not record.ended and record.legs[0].end_reason is None  # still connected
        await cloud.engine.hangup(record.conversation_id)  # type: ignore[union-attr]
        await asyncio.wait_for(device.done.get(), 10)
    assert record.refers[0].response == expected
    assert [f.flow_name for f in record.flows_run] == ["Main IVR"]
    assert device.ended == ["remote-bye"]


async def test_unroutable_did_notifies_404_and_the_call_stays_up() -> None:
    """§6 failure case (INFERRED default notify-404): 202, NOTIFY 404; the call stays up, and a second
    REFER to a routed DID still takes it back."""
    device = Device(refer_to=refer_to("+33999999999", uui=ARTICLE_UUI))
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device), 10)
        first = device.outcomes[0]
        assert (first.accepted, first.success, first.status, first.progress) == (True, False, 404, (100,))
        assert not record.ended
        net_call = cloud.engine.legs[record.legs[0].call_id].call  # type: ignore[union-attr]
        assert not net_call.terminated
    assert record.refers[0].notify == [100, 404]
    assert record.refers[0].number == "+33999999999"


async def test_unroutable_then_routable_refer_on_the_same_call() -> None:
    """§6: after a failed take-back the device can REFER again on the same dialog (RFC 3515 §2.4.6)."""
    device = Device(refer_to=[refer_to("+33999999999", uui="x"), ARTICLE_REFER_TO])
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
    assert [o.status for o in device.outcomes] == [404, 200]
    assert [r.response for r in record.refers] == [202, 202]
    assert record.flows_run[-1].uui_data == ARTICLE_UUI


@pytest.mark.parametrize(("policy", "status"), [("immediate-404", 404), ("480", 480)])
async def test_unroutable_policies_reject_at_once(policy: str, status: int) -> None:
    """§6 INFERRED alternatives (Policies.refer_unroutable): an immediate final 404 or 480."""
    device = Device(refer_to=refer_to("+33999999999"))
    async with running(device, policies={"refer_unroutable": policy}) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device), 10)
        assert not record.ended
    assert device.outcomes[0].status == status and not device.outcomes[0].accepted
    assert record.refers[0].response == status


@pytest.mark.parametrize("target", ["<sip:localhost>", "<mailto:someone@example.com>", "<sip:+3345@"])
async def test_malformed_refer_to_is_400(target: str) -> None:
    """§6 INFERRED: malformed Refer-To (no user part, not sip:, broken) -> 400 (refer_malformed_status)."""
    device = Device(refer_to=target)
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device), 10)
    assert device.outcomes[0].status == 400
    assert record.refers[0].response == 400


async def test_device_bye_within_the_grace_period() -> None:
    """§6 step 4 / RFC 5589 §6.1: the device (transferor) may send BYE itself after the 2xx sipfrag."""
    device = Device(device_bye=True)
    async with running(device, policies={"bye_policy": {"wait_for_device_bye_s": 5}}) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
        await _until(lambda: record.refers[0].bye_by is not None)
    assert record.refers[0].bye_by == "device"
    assert device.ended == ["local-bye"]
    assert record.legs[0].end_reason == "remote-bye"


async def test_no_notify_trying_policy() -> None:
    """§6 step 2 INFERRED (Policies.refer_notify_trying=false): the first NOTIFY is the final 200."""
    record, device = await take_back(ARTICLE_REFER_TO, policies={"refer_notify_trying": False})
    assert device.outcomes[0].success and device.outcomes[0].progress == ()
    assert record.refers[0].notify == [200]


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_the_device_hanging_up_ends_the_conversation() -> None:
    """§9.5: a device that hangs up instead of taking back ends the call; its session ends 'peer'."""
    device = Device(refer_to=None)
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await _until(lambda: bool(device.calls) and device.calls[0].acked)
        await device.calls[0].bye()
        await record.wait(10)
        analytics = cloud.store.get(record.conversation_id)
    assert record.legs[0].end_reason == "remote-bye" and not record.legs[0].taken_back
    assert analytics is not None and analytics.conversation_end is not None
    external = next(p for p in analytics.participants if p.purpose == "external")
    assert external.sessions[0].segments[-1].disconnect_type == "peer"


async def test_idle_rtp_disconnects_the_device_leg() -> None:
    """§3.3 'Disconnect on idle RTP' (trunk_media_disconnectOnIdleRTP, INFERRED timeout policy):
    no RTP from the device -> Genesys BYE; the session ends with disconnectType timeout."""
    device = Device(refer_to=None, silent=True)
    async with running(device, policies={"idle_rtp_timeout_s": 0.3}) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
        analytics = cloud.store.get(record.conversation_id)
    assert device.ended == ["remote-bye"]
    assert any("no RTP" in failure for failure in record.failures)
    assert analytics is not None
    external = next(p for p in analytics.participants if p.purpose == "external")
    assert external.sessions[0].segments[-1].disconnect_type == "timeout"


async def test_a_hold_re_invite_from_the_device_is_answered_mirrored() -> None:
    """§12 item 10 / RFC 3264 §8.4: the device's sendonly re-offer is answered recvonly, unhold sendrecv."""
    from takeback.sdp import Direction, LocalMedia, build_offer, parse_sdp

    answers: list[str] = []

    async def hold_then_resume(call: Any, session: Any) -> None:
        for direction in (Direction.SENDONLY, Direction.SENDRECV):
            offer = build_offer(LocalMedia("127.0.0.1", session.local_port, direction=direction))
            response = await call.request("INVITE", body=offer.to_bytes(), content_type="application/sdp")
            assert response.status == 200, (response.status, response.reason)
            sdp = parse_sdp(response.body)
            answers.append(str(sdp.effective_direction(sdp.media[0])))

    device = Device(after_answer=hold_then_resume)
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
    assert answers == ["recvonly", "sendrecv"]
    assert record.flows_run[-1].uui_data == ARTICLE_UUI


async def test_a_second_refer_after_the_take_back_is_refused() -> None:
    """§6: one take-back per leg; a REFER on a leg already taken back is refused (403), no second flow."""
    device = Device(refer_to=[ARTICLE_REFER_TO, ARTICLE_REFER_TO], refer_all=True)
    async with running(device, policies={"bye_policy": {"wait_for_device_bye_s": 5}}) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(until_outcome(device, 2), 10)
        await record.wait(10)
    assert [o.status for o in device.outcomes] == [200, 403]
    assert [f.flow_name for f in record.flows_run] == ["Main IVR", "Back"]


async def test_genesys_never_sends_bye_when_the_policy_says_so() -> None:
    """§6 step 4 INFERRED: bye_policy.genesys_sends_bye = false leaves the BYE to the device (RFC 5589)."""
    policies = {"bye_policy": {"wait_for_device_bye_s": 0, "genesys_sends_bye": False}}
    device = Device(device_bye=True)
    async with running(device, policies=policies) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
        await _until(lambda: record.legs[0].end_reason is not None)
    assert device.ended == ["local-bye"] and record.legs[0].end_reason == "remote-bye"
    assert record.refers[0].bye_by in (None, "device")  # None: the device's BYE came after the check
