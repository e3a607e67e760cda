"""``authorization_for`` (the header answering a challenged REFER) and ``take_back.credentials``.

The full exchange against a real peer is in ``test_refer_auth_sipp.py``.
"""

from __future__ import annotations

import pytest

from takeback.device.config import TakeBackCredentials, parse_device_config
from takeback.device.refer_auth import authorization_for
from takeback.device.validation import ConfigError
from takeback.sip import Response, parse_message
from takeback.sip.digest import Credentials, compute_ha1, compute_response

URI = "sip:genesys@127.0.0.1:5070;transport=udp;gcdlg=x1"
CREDS = TakeBackCredentials(username="genesys", password="s3cret")


def _challenge(status: int, *values: str) -> Response:
    name = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    lines = [
        f"SIP/2.0 {status} Challenge",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1",
        "From: <sip:device@127.0.0.1>;tag=a",
        "To: <sip:genesys@127.0.0.1>;tag=b",
        "Call-ID: c1",
        "CSeq: 2 REFER",
        *(f"{name}: {value}" for value in values),
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Response)
    return message


def _expected(answer: Credentials, password: str = "s3cret") -> str:
    ha1 = compute_ha1(answer.algorithm, answer.username, answer.realm, password)
    return compute_response(
        answer.algorithm, ha1, nonce=answer.nonce, method="REFER", uri=answer.uri, qop=answer.qop,
        nc=answer.nc, cnonce=answer.cnonce,
    )  # fmt: skip


@pytest.mark.parametrize(("status", "header"), [(401, "Authorization"), (407, "Proxy-Authorization")])
def test_401_and_407_are_answered_in_the_matching_header(status: int, header: str) -> None:
    response = _challenge(status, 'Digest realm="genesys", nonce="n1", algorithm=MD5, qop="auth"')
    result = authorization_for(response, "REFER", URI, CREDS, cnonce="c0ffee")
    assert result is not None
    name, value = result
    assert name == header
    answer = Credentials.parse(value)
    assert (answer.username, answer.realm, answer.nonce, answer.uri) == ("genesys", "genesys", "n1", URI)
    assert (answer.qop, answer.nc, answer.cnonce) == ("auth", "00000001", "c0ffee")
    assert answer.response == _expected(answer)


def test_the_strongest_supported_challenge_is_answered() -> None:
    response = _challenge(
        407,
        'Digest realm="genesys", nonce="n1", algorithm=MD5, qop="auth"',
        'Digest realm="genesys", nonce="n1", algorithm=SHA-256, qop="auth"',
    )
    result = authorization_for(response, "REFER", URI, CREDS, cnonce="c0ffee")
    assert result is not None
    assert Credentials.parse(result[1]).algorithm == "SHA-256"


def test_configured_realm_filters_the_challenges() -> None:
    response = _challenge(
        401,
        'Digest realm="other", nonce="n1", algorithm=MD5',
        'Digest realm="genesys", nonce="n2", algorithm=MD5',
    )
    pinned = TakeBackCredentials(username="genesys", password="s3cret", realm="genesys")
    result = authorization_for(response, "REFER", URI, pinned, cnonce="c0ffee")
    assert result is not None
    answer = Credentials.parse(result[1])
    assert (answer.realm, answer.nonce, answer.qop) == ("genesys", "n2", None)  # RFC 2069 form: no qop
    assert answer.response == _expected(answer)
    elsewhere = TakeBackCredentials(username="genesys", password="s3cret", realm="elsewhere")
    assert authorization_for(response, "REFER", URI, elsewhere, cnonce="c0ffee") is None


@pytest.mark.parametrize(
    "values",
    [
        (),  # a 401 without WWW-Authenticate
        ('Basic realm="genesys"',),  # not Digest
        ('Digest realm="genesys", nonce="n1", algorithm=UNKNOWN-HASH',),
        ('Digest realm="genesys", nonce="n1", qop="auth-conf"',),
    ],
)
def test_unanswerable_challenges_give_none(values: tuple[str, ...]) -> None:
    assert authorization_for(_challenge(401, *values), "REFER", URI, CREDS, cnonce="c0ffee") is None


def test_a_407_header_is_not_read_for_a_401() -> None:
    response = _challenge(407, 'Digest realm="genesys", nonce="n1"')
    as_401 = Response(401, "Unauthorized", response.headers)
    assert authorization_for(as_401, "REFER", URI, CREDS, cnonce="c0ffee") is None


def test_take_back_credentials_config() -> None:
    config = parse_device_config("take_back: {credentials: {username: genesys, password: s3cret}}")
    assert config.take_back.credentials == TakeBackCredentials(username="genesys", password="s3cret")
    assert parse_device_config("take_back: {}").take_back.credentials is None
    with pytest.raises(ConfigError) as caught:
        parse_device_config("take_back: {credentials: {username: genesys, realm: '', secret: x}}")
    text = str(caught.value)
    assert "take_back.credentials.password: is required" in text
    assert "take_back.credentials.realm:" in text
    assert "take_back.credentials.secret: unknown key 'secret'" in text
