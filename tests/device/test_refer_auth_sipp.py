"""The take-back REFER challenged by Genesys (GENESYS.md §12 item 12, drachtio-srf#67), against SIPp.

SIPp plays Genesys with ``sipp/genesys_uac_refer_challenged.xml``: it answers the device's first REFER with
401 or 407 and checks the retry with ``verifyauth`` (user ``genesys``, password ``s3cret``). The evidence is
the device's SQLite row and the bytes it sent (its SIP trace): the authorized REFER is a new request (CSeq
+1) in the same dialog (Call-ID, tags) carrying ``Authorization``/``Proxy-Authorization``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from takeback.sip import Request, parse_message
from takeback.sip.digest import Credentials, compute_ha1, compute_response
from tests.interop.sipp_support import free_port, run_sipp, sipp_command

from .device_helpers import rows, running_device, wait_for

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

TEMPLATE = Path(__file__).parent / "sipp" / "genesys_uac_refer_challenged.xml"
CHALLENGES = {
    401: ("Unauthorized", "WWW-Authenticate", "Authorization"),
    407: ("Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"),
}
#: SIPp checks the digest itself for 401; for 407 it only checks who answered (verifyauth cannot read
#: Proxy-Authorization) and the test recomputes the digest from the trace.
VERIFY = {
    401: '      <verifyauth assign_to="authvalid" username="genesys" password="s3cret"/>',
    407: '      <ereg regexp="Proxy-Authorization: Digest .*username=.genesys." search_in="msg" '
    'check_it="true" assign_to="authvalid"/>',
}
DEVICE = """
access:
  ip_acl: [127.0.0.1/32]
  token: {header: CUSTOM-DEVICE-TOKEN, value: "1234567"}
app:
  flow:
    - answer
    - take_back: {uui: "{conversation_id}"}
take_back: {bye_grace: 2s, timeout: 10s@CREDENTIALS@}
"""


def challenged_scenario(template: Path, path: Path, status: int) -> Path:
    """``template`` with the challenge of ``status`` (401/407) and SIPp's credential check filled in."""
    phrase, challenge, credentials = CHALLENGES[status]
    text = template.read_text()
    for key, value in {
        "@STATUS@": str(status),
        "@PHRASE@": phrase,
        "@CHALLENGE@": challenge,
        "@CREDENTIALS@": credentials,
        "@HEADERS@": "      CUSTOM-DEVICE-TOKEN: 1234567",
        "@VERIFY@": VERIFY[status],
    }.items():
        text = text.replace(key, value)
    path.write_text(text)
    return path


def _scenario(tmp_path: Path, status: int) -> Path:
    return challenged_scenario(TEMPLATE, tmp_path / f"refer_challenged_{status}.xml", status)


def _device(credentials: str | None) -> str:
    return DEVICE.replace("@CREDENTIALS@", f", credentials: {credentials}" if credentials else "")


async def run_challenged(
    tmp_path: Path, device_yaml: str, scenario: Path, method: str, calls: int
) -> tuple[Any, list[Any], list[Request]]:
    """Run ``calls`` SIPp calls of ``scenario`` against a device; (SIPp result, records, what it sent)."""
    async with running_device(tmp_path, device_yaml) as server:
        port = server.endpoints[0].port
        command = sipp_command(
            str(scenario), local_port=free_port(), calls=calls,
            remote=f"127.0.0.1:{port}", rate=20, timeout=30, extra=("-s", "+19999990001"),
        )  # fmt: skip
        result = await run_sipp(command, tmp_path, limit=60)
        await wait_for(lambda: not server.calls)
        sent = sent_requests(server, method)
        records = rows(server)
    return result, records, sent


async def _run(
    tmp_path: Path, status: int, credentials: str | None, calls: int
) -> tuple[Any, list[Any], list[Request]]:
    return await run_challenged(tmp_path, _device(credentials), _scenario(tmp_path, status), "REFER", calls)


def sent_requests(server: Any, method: str) -> list[Request]:
    """The ``method`` requests the device sent, in order (from its SIP trace)."""
    out = []
    for entry in server.trace.entries():
        if entry.direction != "out" or not entry.data.startswith(method.encode() + b" "):
            continue
        message = parse_message(entry.data)
        assert isinstance(message, Request)
        out.append(message)
    return out


@pytest.mark.parametrize("status", [407, 401])
async def test_challenged_refer_is_answered_once_and_taken_back(tmp_path: Path, status: int) -> None:
    credentials = "{username: genesys, password: s3cret, realm: genesys}"
    result, records, refers = await _run(tmp_path, status, credentials, calls=3)
    assert result.returncode == 0, result.describe()
    assert result.successful == 3
    assert len(records) == 3
    for row in records:
        assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("taken-back", 202, 200), row
        assert row["end_reason"] == "remote-bye"
    assert len(refers) == 6  # per call: the challenged REFER and its authorized retry
    header = CHALLENGES[status][2]
    for first, retry in zip(refers[::2], refers[1::2], strict=True):
        assert retry.call_id == first.call_id and retry.from_.tag == first.from_.tag
        assert retry.headers.get("To") == first.headers.get("To")
        assert retry.cseq.seq == first.cseq.seq + 1 and retry.cseq.method == "REFER"
        assert retry.uri == first.uri  # the peer's Contact, verbatim
        assert retry.headers.get("Refer-To") == first.headers.get("Refer-To")
        assert first.headers.get(header) is None
        value = retry.headers.get(header)
        assert value is not None
        answer = Credentials.parse(value)
        assert (answer.username, answer.realm, answer.uri, answer.qop) == (
            "genesys",
            "genesys",
            retry.uri,
            "auth",
        )
        assert answer.nonce.endswith("n1") and answer.nc == "00000001"  # the first challenge's nonce
        ha1 = compute_ha1("MD5", "genesys", "genesys", "s3cret")
        expected = compute_response(
            "MD5", ha1, nonce=answer.nonce, method="REFER", uri=answer.uri, qop="auth", nc=answer.nc,
            cnonce=answer.cnonce,
        )  # fmt: skip
        assert answer.response == expected


async def test_challenge_for_another_realm_is_not_answered(tmp_path: Path) -> None:
    credentials = "{username: genesys, password: s3cret, realm: elsewhere}"
    result, records, refers = await _run(tmp_path, 407, credentials, calls=1)
    assert result.returncode == 0, result.describe()  # SIPp's "device hangs up after the 407" path
    (row,) = records
    assert (row["outcome"], row["refer_status"]) == ("take-back-failed", 407)
    assert "refer-auth: challenge not answerable" in row["detail"]
    assert len(refers) == 1


async def test_wrong_password_is_a_refer_auth_failure_after_one_retry(tmp_path: Path) -> None:
    result, records, refers = await _run(tmp_path, 401, "{username: genesys, password: wrong}", calls=1)
    assert result.returncode == 0, result.describe()  # SIPp's "challenge again, then the device's BYE" path
    (row,) = records
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", 401, None)
    assert "refer-auth: credentials refused" in row["detail"]
    assert row["end_reason"] == "local-bye" and row["bye_status"] == 200
    assert len(refers) == 2  # never a third REFER
    assert refers[1].headers.get("Authorization") is not None


async def test_challenge_without_credentials_is_a_refer_auth_failure(tmp_path: Path) -> None:
    result, records, refers = await _run(tmp_path, 407, None, calls=1)
    assert result.returncode == 0, result.describe()  # SIPp's "device hangs up after the 407" path
    (row,) = records
    assert (row["outcome"], row["refer_status"]) == ("take-back-failed", 407)
    assert "refer-auth" in row["detail"] and "no take_back.credentials" in row["detail"]
    assert row["end_reason"] == "local-bye"
    assert len(refers) == 1
