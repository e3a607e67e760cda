"""Take-back outcomes, BYE ordering, hold and session timers, with SIPp playing Genesys (issue #5 §4).

The scenarios (``sipp/genesys_uac_*.xml``) assert on the bytes the device sends with ``<ereg check_it>``
(REFER Request-URI = our Contact verbatim, Refer-To with DID and ``%3B``-escaped UUI, SDP directions,
Session-Expires); the test asserts on the SQLite row and, where SIPp cannot compare across messages (o=
versions, Min-SE values), on the device's SIP trace. Specs: GENESYS.md §6 and §12 items 6-8, 10, 11.

REFER outcomes (§12 item 6: the outcome is the terminal sipfrag, not the 202): NOTIFY 100 then 200;
NOTIFY 404 (the call stays up, the flow's ``on_failure`` retries another DID); a direct 403/603; no NOTIFY
at all (``take_back.timeout``). BYE ordering (§6 point 4, §12 item 8): Genesys's BYE right after the
NOTIFY, Genesys's BYE before the terminal NOTIFY (RFC 5057: the subscription outlives the INVITE usage),
no BYE from Genesys (the device's after ``take_back.bye_grace``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from takeback.sip import Response, parse_message
from tests.interop.sipp_support import SCENARIOS, SippResult, free_port, run_sipp, sipp_command

from .device_helpers import rows, running_device, wait_for
from .test_refer_auth_sipp import sent_requests

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

HERE = Path(__file__).parent / "sipp"
DNIS = "+19999990001"
FIRST_DID, SECOND_DID = "+33456456456", "+33456456457"
UUI = "{conversation_id}"
#: Answer, take back; on failure hang up (the device's BYE).
TAKE_BACK = f"""
    - answer
    - take_back: {{uui: "{UUI}", on_failure: [hangup]}}
"""
#: Answer, take back; on failure try another DID in the same call, then hang up.
RETRY = f"""
    - answer
    - take_back:
        uui: "{UUI}"
        on_failure:
          - take_back: {{number: "{SECOND_DID}", uui: "{UUI}|retry", on_failure: [hangup]}}
"""
#: Answer and wait (no RTP comes from SIPp, so the collect waits for its whole timeout): Genesys holds,
#: refreshes and hangs up meanwhile.
WAIT = f"""
    - answer
    - collect: {{max_digits: 1, timeout: 20s}}
    - take_back: {{uui: "{UUI}"}}
"""


def device(flow: str, *, timeout: str = "5s", grace: str = "5s", extra: str = "") -> str:
    return (
        "access: {ip_acl: [127.0.0.1/32]}\n"
        f"app:\n  flow:{flow}"
        f"take_back: {{number: '{FIRST_DID}', timeout: {timeout}, bye_grace: {grace}}}\n" + extra
    )


async def run(
    tmp_path: Path, device_yaml: str, scenario: Path, *, keys: dict[str, str] | None = None
) -> tuple[SippResult, dict[str, Any], Any]:
    """One SIPp call of ``scenario`` against a fresh device: (SIPp result, the call's row, the server)."""
    extra = ["-s", DNIS]
    for name, value in (keys or {}).items():
        extra += ["-key", name, value]
    async with running_device(tmp_path, device_yaml) as server:
        command = sipp_command(
            str(scenario), local_port=free_port(), calls=1, remote=f"127.0.0.1:{server.endpoints[0].port}",
            timeout=20, extra=tuple(extra),
        )  # fmt: skip
        result = await run_sipp(command, tmp_path, limit=40)
        await wait_for(lambda: not server.calls)
        records = rows(server)
    assert result.returncode == 0, result.describe()
    assert result.successful == 1, result.describe()
    (row,) = records
    return result, row, server


def sent_responses(server: Any) -> list[Response]:
    """Every response the device sent, in order (from its SIP trace)."""
    out = []
    for entry in server.trace.entries():
        if entry.direction == "out" and entry.data.startswith(b"SIP/2.0 "):
            message = parse_message(entry.data)
            assert isinstance(message, Response)
            out.append(message)
    return out


def responses(server: Any, method: str) -> dict[int, Response]:
    """The device's final responses to ``method`` by CSeq (retransmissions collapse), from its trace."""
    return {r.cseq.seq: r for r in sent_responses(server) if r.cseq.method == method and r.status >= 200}


def origin(body: bytes) -> tuple[int, int]:
    """The ``o=`` line's (sess-id, sess-version) (RFC 8866 §5.2)."""
    match = re.search(rb"^o=\S+ (\d+) (\d+) ", body, re.MULTILINE)
    assert match is not None, body
    return int(match.group(1)), int(match.group(2))


def assert_refer_bytes(server: Any, numbers: list[str]) -> None:
    """Each REFER went to Genesys's Contact verbatim and names the DID the flow asked for."""
    refers = sent_requests(server, "REFER")
    assert len(refers) == len(numbers)
    for refer, number in zip(refers, numbers, strict=True):
        assert re.fullmatch(r"sip:genesys@127\.0\.0\.1:\d+;transport=UDP", str(refer.uri)), refer.uri
        value = refer.headers.get("Refer-To")
        assert value is not None and value.startswith(f"<sip:{number}@localhost?User-to-User=00"), value
        assert value.endswith("%3Bencoding%3Dhex>")
    cseqs = [refer.cseq.seq for refer in refers]
    assert cseqs == sorted(set(cseqs))  # a retry is a new request in the dialog (RFC 3515 §2.4.6)


# -- 1. REFER outcomes -----------------------------------------------------------------------------------


async def test_notify_200_then_genesys_bye_is_taken_back(tmp_path: Path) -> None:
    """The baseline (shared scenario): 202, NOTIFY 200, Genesys hangs up at once: the device answers 200."""
    _, row, server = await run(tmp_path, device(TAKE_BACK), SCENARIOS / "genesys_uac_refer.xml")
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200)
    assert (row["end_reason"], row["bye_status"]) == ("remote-bye", None)  # we never sent a BYE
    assert row["refer_to"].startswith(f"<sip:{FIRST_DID}@localhost?User-to-User=00")
    assert row["refer_at"] <= row["notify_final_at"]
    assert_refer_bytes(server, [FIRST_DID])
    assert sent_requests(server, "BYE") == []
    assert [r.status for r in responses(server, "NOTIFY").values()] == [200]
    assert [r.status for r in responses(server, "BYE").values()] == [200]


async def test_notify_100_then_200_is_one_success(tmp_path: Path) -> None:
    """A progress NOTIFY (100 Trying, subscription active) is not the outcome; the terminal 200 is."""
    _, row, server = await run(tmp_path, device(TAKE_BACK), HERE / "genesys_uac_refer_trying.xml")
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200)
    assert row["end_reason"] == "remote-bye"
    assert [r.status for r in responses(server, "NOTIFY").values()] == [200, 200]
    assert len(sent_requests(server, "REFER")) == 1


async def test_notify_404_keeps_the_call_and_on_failure_retries_another_did(tmp_path: Path) -> None:
    """A 404 sipfrag is a failure although the REFER got 202; the call stays up, so the flow's on_failure
    takes it back to another DID in the same dialog, and that succeeds."""
    _, row, server = await run(tmp_path, device(RETRY), HERE / "genesys_uac_refer_retry.xml")
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200)
    assert row["take_back_number"] == SECOND_DID
    assert row["refer_to"].startswith(f"<sip:{SECOND_DID}@localhost?")
    assert row["uui_out"] == f"{row['conversation_id']}|retry"
    assert row["detail"] == "take back: 404 Not Found"  # the first attempt's failure stays on record
    assert row["end_reason"] == "remote-bye"
    assert_refer_bytes(server, [FIRST_DID, SECOND_DID])
    assert server.stats.get("take_back_failed") == 1 and server.stats.get("take_back_success") == 1


async def test_notify_404_with_on_failure_hangup_is_a_failure_and_device_bye(tmp_path: Path) -> None:
    _, row, server = await run(
        tmp_path,
        device(TAKE_BACK),
        HERE / "genesys_uac_refer_device_bye.xml",
        keys={"final": "404 Not Found"},
    )
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", 202, 404)
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 200)
    assert row["detail"] == "take back: 404 Not Found"
    assert len(sent_requests(server, "BYE")) == 1


@pytest.mark.parametrize("refusal", ["403 Forbidden", "603 Decline"])
async def test_refer_refused_outright_is_a_failure_and_the_call_stays_up(
    tmp_path: Path, refusal: str
) -> None:
    """Take-back disabled on the trunk (GENESYS.md §6): no subscription, no NOTIFY; the dialog survives
    (the device's BYE is answered 200 by Genesys) and on_failure runs."""
    status = int(refusal.split(maxsplit=1)[0])
    scenario = tmp_path / "refused.xml"  # SIPp reads a response's status when loading: no -key for it
    scenario.write_text((HERE / "genesys_uac_refer_refused.xml").read_text().replace("@REFUSAL@", refusal))
    _, row, server = await run(tmp_path, device(TAKE_BACK), scenario)
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", status, None)
    assert row["notify_final_at"] is None
    assert row["detail"] == f"take back: {refusal}"
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 200)
    assert len(sent_requests(server, "REFER")) == 1  # a refusal is not retried


async def test_no_notify_times_out_then_late_notify_is_answered(tmp_path: Path) -> None:
    """202 and then silence: the take-back times out after ``take_back.timeout`` (1 s), the flow hangs up;
    a NOTIFY arriving after that BYE is answered (481 or 200), never left unanswered."""
    _, row, server = await run(
        tmp_path, device(TAKE_BACK, timeout="1s"), HERE / "genesys_uac_refer_silent.xml"
    )
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", 202, None)
    assert row["detail"] == "take back: None timeout"
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 200)
    (late,) = responses(server, "NOTIFY").values()
    assert late.status in (200, 481)


# -- 2. who sends the BYE after a success ---------------------------------------------------------------


async def test_no_bye_from_genesys_device_sends_bye_after_grace(tmp_path: Path) -> None:
    """RFC 5589 §6.1: the transferor hangs up; the device waits ``bye_grace`` (0.3 s) for Genesys first."""
    _, row, server = await run(
        tmp_path, device(TAKE_BACK, grace="0.3s"), HERE / "genesys_uac_refer_device_bye.xml",
        keys={"final": "200 OK"},
    )  # fmt: skip
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200)
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 200)
    # a lower bound only (the device waited for Genesys's BYE first), never an upper one
    assert row["end_at"] >= row["notify_final_at"] + 0.2
    (bye,) = sent_requests(server, "BYE")
    assert re.fullmatch(r"sip:genesys@127\.0\.0\.1:\d+;transport=UDP", str(bye.uri))


async def test_bye_before_terminal_notify_still_records_success(tmp_path: Path) -> None:
    """livekit#807: Genesys's BYE overtakes the final NOTIFY. RFC 5057: the refer subscription outlives the
    INVITE usage, so the NOTIFY is still answered (200) and its 200 sipfrag makes the take-back a success."""
    _, row, server = await run(tmp_path, device(TAKE_BACK), HERE / "genesys_uac_bye_before_notify.xml")
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200)
    assert (row["end_reason"], row["bye_status"]) == ("remote-bye", None)
    assert sent_requests(server, "BYE") == []
    assert [r.status for r in responses(server, "NOTIFY").values()] == [200, 200]
    # what the device sent, in order: 200 to the BYE, then 200 to the terminal NOTIFY (CSeq 4)
    answered = [(r.cseq.method, r.cseq.seq, r.status) for r in sent_responses(server)]
    assert answered.index(("BYE", 3, 200)) < answered.index(("NOTIFY", 4, 200))


# -- 3. hold / unhold re-INVITEs -------------------------------------------------------------------------


async def test_hold_reinvites_are_answered_with_mirrored_direction(tmp_path: Path) -> None:
    """SIPp checks each 200's direction and c= (our address even for a c=0.0.0.0 hold); here: the o=
    version goes up by one exactly when our answer changed (RFC 3264 §8), and the call survives."""
    _, row, server = await run(tmp_path, device(WAIT), HERE / "genesys_uac_hold.xml")
    assert (row["outcome"], row["end_reason"], row["refer_status"]) == ("peer-hangup", "remote-bye", None)
    answers = responses(server, "INVITE")
    assert sorted(answers) == [1, 2, 3, 4, 5, 6]
    assert all(answers[seq].status == 200 for seq in answers)
    directions = {seq: re.findall(rb"^a=(sendrecv|sendonly|recvonly|inactive)", answers[seq].body, re.M)
                  for seq in answers}  # fmt: skip
    assert directions == {
        1: [b"sendrecv"], 2: [b"recvonly"], 3: [b"recvonly"], 4: [b"recvonly"], 5: [b"inactive"],
        6: [b"sendrecv"],
    }  # fmt: skip
    origins = [origin(answers[seq].body) for seq in sorted(answers)]
    assert len({session for session, _ in origins}) == 1  # the sess-id never changes within the session
    versions = [version for _, version in origins]
    first = versions[0]
    # sendonly (changed), same offer (unchanged), legacy hold (same answer), inactive, unhold
    assert versions == [first, first + 1, first + 1, first + 1, first + 2, first + 3]


# -- 4. session timers (RFC 4028) ------------------------------------------------------------------------


async def test_session_timer_refreshes_are_accepted(tmp_path: Path) -> None:
    """SIPp checks Session-Expires on every 200 (INVITE, refresh re-INVITE, UPDATE without SDP) and
    Require: timer on the first; here: the refresh answer keeps the o= version (nothing changed)."""
    _, row, server = await run(tmp_path, device(WAIT), HERE / "genesys_uac_session_timer.xml")
    assert (row["outcome"], row["end_reason"]) == ("peer-hangup", "remote-bye")
    invites = responses(server, "INVITE")
    assert sorted(invites) == [1, 2]
    assert origin(invites[2].body) == origin(invites[1].body)
    assert invites[2].body == invites[1].body
    (update,) = responses(server, "UPDATE").values()
    assert (update.status, update.body) == (200, b"")
    for response in (invites[1], invites[2], update):
        assert response.headers.get("Session-Expires") == "90;refresher=uac"


@pytest.mark.parametrize(("min_se", "asked"), [(90, "30"), (120, "90")])
async def test_session_interval_too_small_is_422_with_min_se(tmp_path: Path, min_se: int, asked: str) -> None:
    """RFC 4028 §8.1: a Session-Expires below our Min-SE is refused 422 naming it (the core answers before
    the call exists: no row); the retry at that interval is answered and becomes the call's one row."""
    extra = f"session_timer: {{min_se: {min_se}, session_expires: {max(min_se, 1800)}}}\n"
    _, row, server = await run(
        tmp_path, device(WAIT, extra=extra), HERE / "genesys_uac_session_too_small.xml",
        keys={"se_first": asked},
    )  # fmt: skip
    assert (row["invite_status"], row["outcome"], row["end_reason"]) == (200, "peer-hangup", "remote-bye")
    answers = responses(server, "INVITE")
    assert (answers[1].status, answers[1].headers.get("Min-SE")) == (422, str(min_se))
    assert answers[2].status == 200
    assert answers[2].headers.get("Session-Expires") == f"{min_se};refresher=uac"
