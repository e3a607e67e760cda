"""The device's BYE challenged by Genesys (GENESYS.md §12 item 12; RFC 3261 §22.2, §22.3), against SIPp.

SIPp plays Genesys with ``sipp/genesys_uac_bye_challenged.xml``: the device's flow answers and hangs up,
SIPp answers its BYE with 401 or 407, then 200s the authorized retry (checked with ``verifyauth`` for 401,
recomputed here from the device's trace for 407) or 403s a wrong one. The evidence is the device's SQLite
row (``bye_status``, ``end_reason``) and the BYEs in its SIP trace: the retry is a new request (CSeq +1) in
the same dialog (Call-ID, tags, Request-URI) answering the challenge with ``take_back.credentials``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from takeback.sip import Request
from takeback.sip.digest import Credentials, compute_ha1, compute_response

from .test_refer_auth_sipp import CHALLENGES, challenged_scenario, run_challenged

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

TEMPLATE = Path(__file__).parent / "sipp" / "genesys_uac_bye_challenged.xml"
DEVICE = """
access:
  ip_acl: [127.0.0.1/32]
  token: {header: CUSTOM-DEVICE-TOKEN, value: "1234567"}
app:
  flow:
    - answer
    - hangup
take_back: {timeout: 10s@CREDENTIALS@}
"""
GOOD = "{username: genesys, password: s3cret, realm: genesys}"


def _scenario(tmp_path: Path, status: int) -> Path:
    return challenged_scenario(TEMPLATE, tmp_path / f"bye_challenged_{status}.xml", status)


async def _run(
    tmp_path: Path, status: int, credentials: str | None, calls: int
) -> tuple[Any, list[Any], list[Request]]:
    body = DEVICE.replace("@CREDENTIALS@", f", credentials: {credentials}" if credentials else "")
    return await run_challenged(tmp_path, body, _scenario(tmp_path, status), "BYE", calls)


@pytest.mark.parametrize("status", [407, 401])
async def test_challenged_bye_is_answered_once_with_the_take_back_credentials(
    tmp_path: Path, status: int
) -> None:
    result, records, byes = await _run(tmp_path, status, GOOD, calls=3)
    assert result.returncode == 0, result.describe()
    assert result.successful == 3
    assert len(records) == 3
    for row in records:
        assert (row["end_reason"], row["bye_status"]) == ("local-bye", 200), row
    assert len(byes) == 6  # per call: the challenged BYE and its authorized retry
    header = CHALLENGES[status][2]
    for first, retry in zip(byes[::2], byes[1::2], strict=True):
        assert retry.call_id == first.call_id and retry.from_.tag == first.from_.tag
        assert retry.headers.get("To") == first.headers.get("To")
        assert retry.cseq.seq == first.cseq.seq + 1 and retry.cseq.method == "BYE"
        assert retry.uri == first.uri  # the peer's Contact, verbatim
        assert retry.top_via.branch != first.top_via.branch
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
        assert answer.nonce.endswith("n1") and answer.nc == "00000001"
        ha1 = compute_ha1("MD5", "genesys", "genesys", "s3cret")
        expected = compute_response(
            "MD5", ha1, nonce=answer.nonce, method="BYE", uri=answer.uri, qop="auth", nc=answer.nc,
            cnonce=answer.cnonce,
        )  # fmt: skip
        assert answer.response == expected


async def test_challenged_bye_without_credentials_still_ends_the_call(tmp_path: Path) -> None:
    result, records, byes = await _run(tmp_path, 407, None, calls=1)
    assert result.returncode == 0, result.describe()  # SIPp's "no second BYE within 3 s" path
    (row,) = records
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 407)
    assert len(byes) == 1


async def test_refused_credentials_are_not_retried(tmp_path: Path) -> None:
    result, records, byes = await _run(tmp_path, 401, "{username: genesys, password: wrong}", calls=1)
    assert result.returncode == 0, result.describe()  # SIPp's verifyauth fails: 403
    (row,) = records
    assert (row["end_reason"], row["bye_status"]) == ("local-bye", 403)
    assert len(byes) == 2
    assert byes[1].headers.get("Authorization") is not None
