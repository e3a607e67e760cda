"""``takeback uui`` end to end through the real console entry point (a subprocess, like a user)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ARTICLE_REFER_TO = (
    "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeback.cli", *args], check=False, capture_output=True, text=True, timeout=60
    )


def test_encode_refer_to_is_the_articles_value() -> None:
    result = run("uui", "encode", "This is my data", "--refer-to", "+33456456456")
    assert result.returncode == 0
    assert result.stdout.strip() == f"Refer-To: {ARTICLE_REFER_TO}"


@pytest.mark.parametrize(
    ("header_type", "expected"),
    [
        ("User-to-User", "User-to-User: 00436173652d3132333435;encoding=hex"),
        ("User-to-User;pd", "User-to-User: 436173652d3132333435;pd=00;encoding=hex"),
        ("x-User-to-User", "x-User-to-User: 436173652d3132333435;encoding=hex"),
    ],
)
def test_encode_each_header_type(header_type: str, expected: str) -> None:
    result = run("uui", "encode", "Case-12345", "--type", header_type)
    assert result.returncode == 0
    assert result.stdout.strip() == expected


def test_decode_refer_to_json() -> None:
    result = run("uui", "decode", ARTICLE_REFER_TO, "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["call_uui_data"] == "This is my data"
    assert data["number"] == "+33456456456"
    assert data["spelling"] == "rfc" and data["rfc_correct"] is True


def test_decode_reports_no_data_with_exit_1() -> None:
    result = run("uui", "decode", "zz;encoding=hex")
    assert result.returncode == 1
    assert "none" in result.stdout


def test_bad_pd_is_a_usage_error_in_one_line() -> None:
    result = run("uui", "encode", "x", "--pd", "XYZ")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
