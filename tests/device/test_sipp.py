"""SIPp plays Genesys (``/work/shared/sipp/genesys_uac_refer*.xml``) against the device; the SQLite records
are the evidence. Variants: the article's token header, Digest, a wrong token (403), an unknown DNIS (404)
and a source outside the ACL (no answer at all, or 403 with ``acl_action: 403``).

The ACL cases send from a second loopback address, 127.0.0.2 (issue #5 §4; Linux routes all of 127/8 to
``lo``), to a device whose ``ip_acl`` admits 127.0.0.1/32 only, and place a control call from 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.interop.sipp_support import SCENARIOS, free_port, run_sipp, sipp_command

from .device_helpers import rows, running_device, wait_for

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

REFUSED = Path(__file__).parent / "sipp" / "genesys_uac_refused.xml"
TOKEN_LINE = "      CUSTOM-DEVICE-TOKEN: 1234567"
ACCESS = """
access:
  ip_acl: [127.0.0.0/8]
  token: {header: CUSTOM-DEVICE-TOKEN, value: "1234567"}
  dnis: {e164: [+19999990001], numbers: [9991, 9992]}
app:
  flow:
    - answer
    - take_back: {uui: "{conversation_id}"}
take_back: {bye_grace: 2s}
"""
DIGEST = ACCESS.replace(
    "  dnis:", "  digest: {realm: device, username: genesys, password: s3cret}\n  dnis:", 1
)


def _with_token(tmp_path: Path, scenario: str) -> Path:
    """The shared scenario plus the trunk's custom header (article step 14), written beside the test.

    The Digest scenario is also corrected: its ACK for the 401 carries a new ``[branch]``, so it matches
    no server transaction (RFC 3261 §17.1.1.3: the ACK for a non-2xx has the INVITE's branch) and the
    device, rightly, retransmits the 401 until Timer H (32 s). Once a call lasts longer than T1 (500 ms,
    e.g. under load) such a 401 reaches a live SIPp call, which aborts it ("unexpected message").
    """
    text = _ack_401_in_invite_transaction((SCENARIOS / scenario).read_text())
    anchor = "      User-Agent: GenesysEmulator/SIPp\n"
    assert text.count(anchor) >= 1
    path = tmp_path / scenario
    path.write_text(text.replace(anchor, anchor + TOKEN_LINE + "\n"))
    return path


def _ack_401_in_invite_transaction(text: str) -> str:
    """Give the ACK that follows ``<recv response="401">`` the INVITE's branch (SIPp ``[branch-3]``: the
    INVITE is three messages before it: INVITE, optional 100, 401, ACK)."""
    challenge = '<recv response="100" optional="true"/>\n  <recv response="401" auth="true"/>'
    at = text.find(challenge)
    if at < 0:
        return text  # no challenge in this scenario
    ack = text.index("ACK sip:", at)
    branch = text.index("branch=[branch];", ack)
    return text[:branch] + "branch=[branch-3];" + text[branch + len("branch=[branch];") :]


def _refused(tmp_path: Path, *, status: int | None, headers: str = TOKEN_LINE) -> Path:
    """The refusal template: expect ``status`` (after an optional 100), or nothing at all (``None``)."""
    if status is None:
        expect = '<recv response="100" timeout="1200" ontimeout="end"/>'
    else:
        expect = f'<recv response="100" optional="true"/>\n  <recv response="{status}"/>'
    path = tmp_path / f"refused_{status}.xml"
    path.write_text(REFUSED.read_text().replace("@HEADERS@", headers).replace("@EXPECT@", expect))
    return path


async def _sipp(tmp_path: Path, scenario: Path, port: int, *, service: str = "+19999990001", calls: int = 10,
                extra: tuple[str, ...] = (), source: str = "127.0.0.1") -> object:  # fmt: skip
    """SIPp as Genesys, bound to ``source`` (``-i``, and ``-p`` a port free on that address)."""
    command = sipp_command(
        str(scenario), local_port=free_port(source), calls=calls, remote=f"127.0.0.1:{port}", rate=50,
        timeout=30, extra=("-s", service, *extra),
    )  # fmt: skip
    command[command.index("-i") + 1] = source
    return await run_sipp(command, tmp_path, limit=60)


def test_digest_scenario_acks_the_401_in_the_invite_transaction(tmp_path: Path) -> None:
    """RFC 3261 §17.1.1.3: the ACK for the 401 reuses the INVITE's branch; the 2xx ACK is its own
    transaction (§13.2.2.4) and keeps a new one."""
    text = _with_token(tmp_path, "genesys_uac_refer_auth.xml").read_text()
    first_ack, second_ack = (text.index("ACK sip:", at) for at in (0, text.index("CSeq: 2 INVITE")))
    assert "branch=[branch-3];" in text[first_ack : text.index("CSeq: 1 ACK")]
    assert "branch=[branch];" in text[second_ack : text.index("CSeq: 2 ACK")]
    plain = _with_token(tmp_path, "genesys_uac_refer.xml").read_text()
    assert "[branch-3]" not in plain


async def test_genesys_refer_flow_with_token_all_calls_taken_back(tmp_path: Path) -> None:
    scenario = _with_token(tmp_path, "genesys_uac_refer.xml")
    async with running_device(tmp_path, ACCESS) as server:
        port = server.endpoints[0].port
        result = await _sipp(tmp_path, scenario, port, calls=20)
        await wait_for(lambda: not server.calls)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
        assert result.successful == 20  # type: ignore[attr-defined]
        records = rows(server)
    assert len(records) == 20
    for row in records:
        assert row["outcome"] == "taken-back", row
        assert (row["invite_status"], row["refer_status"], row["notify_status"]) == (200, 202, 200)
        assert row["end_reason"] == "remote-bye"  # SIPp (Genesys) sends the BYE after its NOTIFY
        assert row["conversation_id"].startswith("5ee2f000-0000-4000-8000-")
        assert row["uui_out"] == row["conversation_id"]
        assert row["uui_in_raw"] == "User-to-User: 00FA080019001A0A0B0C0D0E0F;encoding=hex"
        assert row["caller"] == "+13175559876" and row["dnis"] == "+19999990001"
        assert row["access"] == "ok" and row["auth"] == "off" and row["codec"] == "PCMU"
        assert row["end_at"] is not None


async def test_genesys_refer_flow_short_number_over_tcp(tmp_path: Path) -> None:
    scenario = _with_token(tmp_path, "genesys_uac_refer.xml")
    async with running_device(tmp_path, ACCESS, transport="tcp") as server:
        port = server.endpoints[0].port
        result = await _sipp(tmp_path, scenario, port, service="9991", calls=5, extra=("-t", "t1"))
        await wait_for(lambda: not server.calls)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
    assert [(r["dnis"], r["transport"], r["outcome"]) for r in rows(server)] == [
        ("9991", "TCP", "taken-back")
    ] * 5


async def test_genesys_digest_flow_challenged_then_accepted(tmp_path: Path) -> None:
    scenario = _with_token(tmp_path, "genesys_uac_refer_auth.xml")
    async with running_device(tmp_path, DIGEST) as server:
        port = server.endpoints[0].port
        result = await _sipp(tmp_path, scenario, port, calls=10, extra=("-au", "genesys", "-ap", "s3cret"))
        await wait_for(lambda: not server.calls)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
        assert result.successful == 10  # type: ignore[attr-defined]
    records = rows(server)
    assert len(records) == 10  # the challenged INVITE and its retry are one call, one row
    assert all((r["auth"], r["outcome"]) == ("ok", "taken-back") for r in records)
    assert server.refused.get("digest-challenge") == 10


async def test_genesys_digest_wrong_password_is_403(tmp_path: Path) -> None:
    scenario = _with_token(tmp_path, "genesys_uac_refer_auth.xml")
    async with running_device(tmp_path, DIGEST) as server:
        port = server.endpoints[0].port
        result = await _sipp(tmp_path, scenario, port, calls=1, extra=("-au", "genesys", "-ap", "wrong"))
        await wait_for(lambda: not server.calls)
    assert result.returncode != 0  # type: ignore[attr-defined]
    (row,) = rows(server)
    assert (row["auth"], row["access"], row["invite_status"]) == (
        "bad-credentials",
        "digest-bad-credentials",
        403,
    )


async def test_token_mismatch_is_403(tmp_path: Path) -> None:
    scenario = _refused(tmp_path, status=403, headers="      CUSTOM-DEVICE-TOKEN: 7654321")
    async with running_device(tmp_path, ACCESS) as server:
        result = await _sipp(tmp_path, scenario, server.endpoints[0].port, calls=3)
        await wait_for(lambda: len(rows(server)) == 3)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
    assert {(r["access"], r["invite_status"], r["outcome"]) for r in rows(server)} == {
        ("token-mismatch", 403, "refused")
    }


async def test_unknown_dnis_is_404(tmp_path: Path) -> None:
    scenario = _refused(tmp_path, status=404)
    async with running_device(tmp_path, ACCESS) as server:
        result = await _sipp(tmp_path, scenario, server.endpoints[0].port, service="+19999990002", calls=3)
        await wait_for(lambda: len(rows(server)) == 3)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
    assert {(r["dnis"], r["access"], r["invite_status"]) for r in rows(server)} == {
        ("+19999990002", "dnis", 404)
    }


ONLY_LOOPBACK_ONE = ACCESS.replace("ip_acl: [127.0.0.0/8]", "ip_acl: [127.0.0.1/32]")
OUTSIDE = "127.0.0.2"


async def _control_call_from_inside(tmp_path: Path, server: Any) -> None:
    """A normal take-back call from 127.0.0.1: the ACL admits what it lists."""
    control = tmp_path / "control"
    control.mkdir()
    scenario = _with_token(control, "genesys_uac_refer.xml")
    result = await _sipp(control, scenario, server.endpoints[0].port, calls=1)
    await wait_for(lambda: not server.calls)
    assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
    (row,) = [r for r in rows(server) if r["source_ip"] == "127.0.0.1"]
    assert (row["access"], row["outcome"]) == ("ok", "taken-back")


async def test_source_outside_the_acl_gets_no_answer(tmp_path: Path) -> None:
    scenario = _refused(tmp_path, status=None)  # INVITE, then silence until the 1.2 s recv timeout
    async with running_device(tmp_path, ONLY_LOOPBACK_ONE) as server:
        result = await _sipp(tmp_path, scenario, server.endpoints[0].port, calls=1, source=OUTSIDE)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
        # The INVITE and every retransmission were dropped; nothing reached the SIP core.
        assert server.refused["acl"] >= 2
        assert server.ua is not None and server.ua.core.transaction_count == 0
        assert rows(server) == []
        assert "SIP/2.0" not in result.stdout  # type: ignore[attr-defined]
        await _control_call_from_inside(tmp_path, server)
    assert [r["source_ip"] for r in rows(server)] == ["127.0.0.1"]


async def test_source_outside_the_acl_gets_403_when_configured(tmp_path: Path) -> None:
    scenario = _refused(tmp_path, status=403)  # INVITE, [100], 403, ACK
    config = ONLY_LOOPBACK_ONE.replace(
        "  ip_acl: [127.0.0.1/32]\n", "  ip_acl: [127.0.0.1/32]\n  acl_action: 403\n"
    )
    assert "acl_action: 403" in config
    async with running_device(tmp_path, config) as server:
        result = await _sipp(tmp_path, scenario, server.endpoints[0].port, calls=2, source=OUTSIDE)
        await wait_for(lambda: len(rows(server)) == 2)
        assert result.returncode == 0, result.describe()  # type: ignore[attr-defined]
        assert result.successful == 2  # type: ignore[attr-defined]
        outside = rows(server)
        assert {(r["source_ip"], r["access"], r["invite_status"], r["outcome"]) for r in outside} == {
            (OUTSIDE, "acl", 403, "refused")
        }
        assert server.refused["acl"] == 2
        await _control_call_from_inside(tmp_path, server)
