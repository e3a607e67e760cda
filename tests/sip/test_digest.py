"""Tests for takeback.sip.digest: RFC vectors, UAC, stateless-nonce UAS, SIPp interop (RFC 7616, RFC 8760,
RFC 2617, RFC 3261 §22). The header grammar itself is tested in test_authparams.py."""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from takeback.sip.authparams import (
    check_field_text,
    is_token,
)
from takeback.sip.digest import (
    SUPPORTED_ALGORITHMS,
    Challenge,
    Credentials,
    DigestError,
    DigestServer,
    Ha1Lookup,
    VerifyOutcome,
    answer_challenge,
    compute_ha1,
    compute_response,
    parse_challenges,
    pick_best_challenge,
)

KEY = b"0123456789abcdef0123456789abcdef"
URI = "sip:+13175550100@127.0.0.1:5080"


class CountingRandom:
    """Deterministic stand-in for os.urandom: each call returns the next counter value, big-endian."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, size: int) -> bytes:
        self.calls += 1
        return self.calls.to_bytes(size, "big")


def make_server(**kwargs: object) -> DigestServer:
    options: dict[str, object] = {"random_bytes": CountingRandom()}
    options.update(kwargs)
    return DigestServer("device", KEY, 300.0, **options)  # type: ignore[arg-type]


def login(
    server: DigestServer,
    challenge: Challenge,
    *,
    now: float,
    password: str = "s3cret",
    nc: int = 1,
    method: str = "INVITE",
    secret: object = "s3cret",
    body: bytes = b"",
) -> VerifyOutcome:
    """Answer ``challenge`` as the UAC would, send it through the header text, and verify it."""
    credentials = answer_challenge(
        Challenge.parse(str(challenge)), method, URI, "genesys", password, cnonce="c0ffee", nc=nc, body=body
    )
    received = Credentials.parse(str(credentials))
    return server.verify(method, received, secret, now, body).outcome  # type: ignore[arg-type]


# --- RFC test vectors ---

RFC2617_CHALLENGE = (
    "Digest\r\n"
    '                 realm="testrealm@host.com",\r\n'
    '                 qop="auth,auth-int",\r\n'
    '                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n'
    '                 opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa",\r\n'
    '                 realm="testrealm@host.com",\r\n'
    '                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n'
    '                 uri="/dir/index.html",\r\n'
    "                 qop=auth,\r\n"
    "                 nc=00000001,\r\n"
    '                 cnonce="0a4f113b",\r\n'
    '                 response="6629fae49393a05397450978507c4ef1",\r\n'
    '                 opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_rfc2617_section_3_5_vector() -> None:
    challenge = Challenge.parse(RFC2617_CHALLENGE)
    credentials = answer_challenge(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    assert credentials.response == "6629fae49393a05397450978507c4ef1"
    expected = Credentials.parse(RFC2617_AUTHORIZATION)
    assert credentials == expected
    ha1 = compute_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    assert compute_response(
        "MD5", ha1, nonce=expected.nonce, method="GET", uri=expected.uri, qop="auth", nc="00000001",
        cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"  # fmt: skip


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: str, response: str) -> None:
    challenge = Challenge.parse(
        "Digest\r\n"
        '       realm="http-auth@example.org",\r\n'
        '       qop="auth, auth-int",\r\n'
        f"       algorithm={algorithm},\r\n"
        f'       nonce="{RFC7616_NONCE}",\r\n'
        f'       opaque="{RFC7616_OPAQUE}"'
    )
    credentials = answer_challenge(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce=RFC7616_CNONCE
    )
    assert credentials.response == response
    received = Credentials.parse(
        'Digest username="Mufasa",\r\n       realm="http-auth@example.org",\r\n'
        '       uri="/dir/index.html",\r\n'
        f'       algorithm={algorithm},\r\n       nonce="{RFC7616_NONCE}",\r\n       nc=00000001,\r\n'
        f'       cnonce="{RFC7616_CNONCE}",\r\n       qop=auth,\r\n       response="{response}",\r\n'
        f'       opaque="{RFC7616_OPAQUE}"'
    )
    assert received == credentials


def test_no_qop_rfc2069_response_formula() -> None:
    # RFC 2617 §3.2.2.1: request-digest = KD(H(A1), nonce ":" H(A2)) without qop.
    challenge = Challenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093")
    credentials = answer_challenge(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="unused"
    )
    assert credentials.qop is None and credentials.nc is None and credentials.cnonce is None

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("Mufasa:testrealm@host.com:Circle Of Life"), md5("GET:/dir/index.html")
    assert credentials.response == md5(f"{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}")
    assert credentials.response == "670fd8c2df070c60b045671b8b24ff02"


# --- UAC ---


def test_answer_prefers_auth_and_supports_auth_int_with_body() -> None:
    offered = Challenge(realm="r", nonce="n", qop=("auth-int", "auth"))
    assert answer_challenge(offered, "INVITE", URI, "u", "p", cnonce="c").qop == "auth"
    auth_int = Challenge(realm="r", nonce="n", qop=("auth-int",))
    with_body = answer_challenge(auth_int, "INVITE", URI, "u", "p", cnonce="c", body=b"v=0\r\n")
    without = answer_challenge(auth_int, "INVITE", URI, "u", "p", cnonce="c")
    assert with_body.qop == "auth-int" and with_body.response != without.response


def test_answer_formats_nc_and_rejects_unanswerable_challenges() -> None:
    challenge = Challenge(realm="r", nonce="n", qop=("auth",))
    assert answer_challenge(challenge, "BYE", URI, "u", "p", cnonce="c", nc=255).nc == "000000ff"
    for bad_nc in (0, 2**32):
        with pytest.raises(DigestError):
            answer_challenge(challenge, "BYE", URI, "u", "p", cnonce="c", nc=bad_nc)
    with pytest.raises(DigestError):
        answer_challenge(challenge, "BYE", URI, "u", "p", cnonce="")
    with pytest.raises(DigestError):
        answer_challenge(
            Challenge(realm="r", nonce="n", algorithm="AKAv1-MD5"), "BYE", URI, "u", "p", cnonce="c"
        )
    with pytest.raises(DigestError):
        answer_challenge(
            Challenge(realm="r", nonce="n", qop=("auth-conf",)), "BYE", URI, "u", "p", cnonce="c"
        )


def test_answer_sess_without_qop_still_sends_cnonce() -> None:
    challenge = Challenge(realm="r", nonce="n", algorithm="MD5-sess")
    credentials = answer_challenge(challenge, "INVITE", URI, "u", "p", cnonce="c")
    assert credentials.cnonce == "c" and credentials.qop is None
    ha1 = compute_ha1("MD5", "u", "r", "p")
    sess_ha1 = compute_ha1("MD5", "u", "r", "p")  # -sess derives its key per request from the plain HA1
    assert ha1 == sess_ha1
    assert credentials.response == compute_response(
        "MD5-sess", ha1, nonce="n", method="INVITE", uri=URI, cnonce="c"
    )
    with pytest.raises(DigestError):
        compute_response("MD5-sess", ha1, nonce="n", method="INVITE", uri=URI)


def test_answer_with_userhash_sends_hashed_username() -> None:
    challenge = Challenge(
        realm="api@example.org", nonce="n", algorithm="SHA-256", qop=("auth",), userhash=True
    )
    credentials = answer_challenge(challenge, "INVITE", URI, "Jäsøn Doe", "Secret, or not?", cnonce="c")
    assert credentials.userhash
    assert len(credentials.username) == 64 and credentials.username != "Jäsøn Doe"
    assert "userhash=true" in str(credentials)


def test_pick_best_challenge_prefers_sha256_over_md5_in_any_order() -> None:
    md5 = Challenge(realm="r", nonce="n", algorithm="MD5", qop=("auth",))
    sha = Challenge(realm="r", nonce="n", algorithm="SHA-256", qop=("auth",))
    unknown = Challenge(realm="r", nonce="n", algorithm="AKAv1-MD5", qop=("auth",))
    assert pick_best_challenge([md5, sha]) is sha
    assert pick_best_challenge([sha, md5]) is sha
    assert pick_best_challenge([unknown, md5]) is md5
    assert pick_best_challenge([unknown]) is None
    assert pick_best_challenge([]) is None
    second_md5 = Challenge(realm="other", nonce="n2")
    assert pick_best_challenge([md5, second_md5]) is md5  # topmost among equals (RFC 8760 §2.4)


def test_parse_challenges_skips_other_schemes_and_garbage() -> None:
    values = ['Basic realm="x"', "Digest garbage", 'Digest realm="r", nonce="n", algorithm=SHA-256']
    challenges = parse_challenges(values)
    assert [c.algorithm for c in challenges] == ["SHA-256"]


# --- UAS ---


def test_challenge_shape_is_what_sipp_answers() -> None:
    server = make_server()
    text = str(server.challenge(1000.0))
    assert text.startswith('Digest realm="device", nonce="')
    assert text.endswith('", algorithm=MD5, qop="auth"')
    nonce = Challenge.parse(text).nonce
    assert len(nonce) == 54 and is_token(nonce)  # base64url: no quotes, commas or '=' for naive parsers
    opaque_server = make_server(opaque="c2lw")
    assert 'opaque="c2lw"' in str(opaque_server.challenge(1000.0))


def test_nonce_carries_issue_time_and_uses_injected_randomness() -> None:
    random = CountingRandom()
    server = make_server(random_bytes=random)
    first, second = server.issue_nonce(1000.25), server.issue_nonce(1000.25)
    assert first != second and random.calls == 2
    assert server.nonce_issued_at(first) == 1000.25
    replayed_server = make_server(random_bytes=CountingRandom())
    assert replayed_server.issue_nonce(1000.25) == first  # deterministic given the same inputs
    with pytest.raises(ValueError):
        server.issue_nonce(float("nan"))


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
@pytest.mark.parametrize("qop", [("auth",), ("auth-int",), ()])
def test_uac_uas_round_trip(algorithm: str, qop: tuple[str, ...]) -> None:
    server = make_server(algorithms=(algorithm,), qop=qop)
    challenge = server.challenge(1000.0)
    assert challenge.algorithm == algorithm
    assert login(server, challenge, now=1001.0, body=b"v=0\r\n") is VerifyOutcome.OK


def test_wrong_password_unknown_user_and_lookups() -> None:
    server = make_server()
    challenge = server.challenge(1000.0)
    assert login(server, challenge, now=1001.0, password="wrong") is VerifyOutcome.BAD_CREDENTIALS
    users = {"genesys": "s3cret"}
    assert login(server, challenge, now=1001.0, secret=users.get) is VerifyOutcome.OK
    assert login(server, challenge, now=1001.0, nc=2, secret={}.get) is VerifyOutcome.BAD_CREDENTIALS
    ha1 = compute_ha1("MD5", "genesys", "device", "s3cret")

    def stored(user: str, realm: str, alg: str) -> str | None:
        return ha1.upper() if (user, realm, alg) == ("genesys", "device", "MD5") else None

    assert login(server, challenge, now=1001.0, nc=3, secret=Ha1Lookup(stored)) is VerifyOutcome.OK
    assert login(server, challenge, now=1001.0, nc=4, secret=Ha1Lookup(lambda *_: None)) is (
        VerifyOutcome.BAD_CREDENTIALS
    )


def test_failed_logins_do_not_consume_nonce_counts() -> None:
    server = make_server()
    challenge = server.challenge(1000.0)
    assert login(server, challenge, now=1001.0, password="wrong") is VerifyOutcome.BAD_CREDENTIALS
    assert server.tracked_nonces == 0
    assert login(server, challenge, now=1001.0) is VerifyOutcome.OK


def test_stale_nonce_then_fresh_challenge_succeeds() -> None:
    server = make_server()
    challenge = server.challenge(1000.0)
    assert login(server, challenge, now=1300.0) is VerifyOutcome.OK  # exactly at the lifetime
    assert login(server, challenge, now=1300.5, nc=2) is VerifyOutcome.STALE
    # stale=true only when the digest is right: a wrong password on an old nonce is just bad credentials
    assert login(server, challenge, now=1300.5, nc=3, password="x") is VerifyOutcome.BAD_CREDENTIALS
    # a nonce "from the future" (the caller's clock went backwards) is not trusted either
    assert login(server, server.challenge(2000.0), now=1500.0) is VerifyOutcome.STALE
    retry = server.challenge(1300.5, stale=True)
    assert retry.stale and "stale=true" in str(retry)
    assert login(server, retry, now=1301.0) is VerifyOutcome.OK


def test_forged_and_foreign_nonces_are_bad_nonce() -> None:
    server = make_server()
    genuine = server.challenge(1000.0)
    nonce = genuine.nonce
    tampered = nonce[:10] + ("A" if nonce[10] != "A" else "B") + nonce[11:]
    other_key = DigestServer("device", b"another key of 32 bytes, really!", 300.0).challenge(1000.0)
    other_realm = DigestServer("other", KEY, 300.0).challenge(1000.0)
    forged = [
        Challenge(realm="device", nonce=tampered, qop=("auth",)),
        Challenge(realm="device", nonce=other_key.nonce, qop=("auth",)),
        Challenge(realm="device", nonce=other_realm.nonce, qop=("auth",)),
        Challenge(realm="device", nonce="1234n1x7f3a", qop=("auth",)),
        Challenge(realm="device", nonce=nonce[:-1], qop=("auth",)),
        Challenge(realm="device", nonce="é" * 54, qop=("auth",)),
    ]
    for challenge in forged:
        assert login(server, challenge, now=1001.0) is VerifyOutcome.BAD_NONCE
    assert login(server, genuine, now=1001.0) is VerifyOutcome.OK


def test_non_canonical_base64_alias_of_a_nonce_is_refused() -> None:
    # 40 bytes -> 54 base64 chars whose last char carries 4 unused bits: flipping one gives the same bytes.
    server = make_server()
    nonce = server.challenge(1000.0).nonce
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    alias = nonce[:-1] + alphabet[alphabet.index(nonce[-1]) ^ 1]
    assert base64.urlsafe_b64decode(alias + "==") == base64.urlsafe_b64decode(nonce + "==")
    assert server.nonce_issued_at(alias) is None
    assert login(server, Challenge(realm="device", nonce=alias, qop=("auth",)), now=1001.0) is (
        VerifyOutcome.BAD_NONCE
    )


def test_replayed_or_decreasing_nonce_count_is_replay() -> None:
    server = make_server()
    challenge = server.challenge(1000.0)
    assert login(server, challenge, now=1001.0, nc=1) is VerifyOutcome.OK
    assert login(server, challenge, now=1001.0, nc=1) is VerifyOutcome.REPLAY
    assert login(server, challenge, now=1002.0, nc=5) is VerifyOutcome.OK  # gaps are fine (RFC 7616 §3.4)
    assert login(server, challenge, now=1003.0, nc=3) is VerifyOutcome.REPLAY
    assert login(server, challenge, now=1004.0, nc=6) is VerifyOutcome.OK
    # a different nonce has its own counter
    assert login(server, server.challenge(1005.0), now=1005.0, nc=1) is VerifyOutcome.OK


def test_exact_replay_of_captured_header_is_refused() -> None:
    server = make_server()
    credentials = answer_challenge(server.challenge(1000.0), "INVITE", URI, "genesys", "s3cret", cnonce="c")
    header = str(credentials)
    assert server.verify("INVITE", Credentials.parse(header), "s3cret", 1001.0).ok
    result = server.verify("INVITE", Credentials.parse(header), "s3cret", 1002.0)
    assert result.outcome is VerifyOutcome.REPLAY and result.username == "genesys" and result.reason


def test_no_qop_mode_accepts_rfc2069_answers_and_requires_them() -> None:
    server = make_server(qop=())
    challenge = server.challenge(1000.0)
    assert 'qop="' not in str(challenge)
    assert login(server, challenge, now=1001.0) is VerifyOutcome.OK
    assert server.tracked_nonces == 0  # nothing to count without nc
    qop_server = make_server()
    # an RFC 2069 answer to a challenge that offered qop is refused (RFC 2617 §3.2.2)
    assert login(qop_server, challenge, now=1001.0) is VerifyOutcome.BAD_CREDENTIALS
    # and a qop answer to a no-qop server is not what it offered
    assert login(server, qop_server.challenge(1000.0), now=1001.0) is VerifyOutcome.BAD_CREDENTIALS


def test_policy_mismatches_are_bad_credentials() -> None:
    server = make_server(algorithms=("SHA-256", "MD5"), opaque="opq")
    sha, md5 = server.challenges(1000.0)
    assert (sha.algorithm, md5.algorithm) == ("SHA-256", "MD5") and sha.nonce == md5.nonce
    assert login(server, sha, now=1001.0) is VerifyOutcome.OK
    assert login(server, md5, now=1001.0, nc=2) is VerifyOutcome.OK
    nonce = sha.nonce
    cases = [
        Challenge(realm="other", nonce=nonce, algorithm="SHA-256", qop=("auth",), opaque="opq"),
        Challenge(realm="device", nonce=nonce, algorithm="MD5-sess", qop=("auth",), opaque="opq"),
        Challenge(realm="device", nonce=nonce, algorithm="SHA-256", qop=("auth-int",), opaque="opq"),
        Challenge(realm="device", nonce=nonce, algorithm="SHA-256", qop=("auth",)),
        Challenge(realm="device", nonce=nonce, algorithm="SHA-256", qop=("auth",), opaque="changed"),
        Challenge(
            realm="device", nonce=nonce, algorithm="SHA-256", qop=("auth",), opaque="opq", userhash=True
        ),
    ]
    for number, challenge in enumerate(cases, start=3):
        assert login(server, challenge, now=1001.0, nc=number) is VerifyOutcome.BAD_CREDENTIALS, challenge


def test_replay_table_is_bounded_and_fails_safe() -> None:
    server = make_server(max_tracked_nonces=2)
    first, second, third = (server.challenge(1000.0 + i) for i in range(3))
    for challenge in (first, second, third):
        assert login(server, challenge, now=1010.0) is VerifyOutcome.OK
    assert server.tracked_nonces == 2
    # "first" was evicted while still valid: its counter is gone, so it must not be accepted again (nc=1 would
    # replay); the server answers STALE so the UAC fetches a fresh nonce without bothering the user.
    assert login(server, first, now=1011.0, nc=1) is VerifyOutcome.STALE
    assert login(server, first, now=1011.0, nc=2) is VerifyOutcome.STALE
    assert login(server, second, now=1011.0, nc=1) is VerifyOutcome.REPLAY
    assert login(server, second, now=1011.0, nc=2) is VerifyOutcome.OK
    assert login(server, server.challenge(1011.0), now=1011.0) is VerifyOutcome.OK
    assert server.tracked_nonces == 2


def test_replay_table_prunes_expired_nonces() -> None:
    server = make_server(max_tracked_nonces=1000)
    for index in range(50):
        assert login(server, server.challenge(1000.0 + index), now=1000.0 + index) is VerifyOutcome.OK
    assert server.tracked_nonces == 50
    assert login(server, server.challenge(1400.0), now=1400.0) is VerifyOutcome.OK
    assert server.tracked_nonces == 1


def test_verify_rejects_non_finite_now() -> None:
    server = make_server()
    credentials = answer_challenge(server.challenge(1000.0), "INVITE", URI, "genesys", "s3cret", cnonce="c")
    with pytest.raises(ValueError):
        server.verify("INVITE", credentials, "s3cret", float("nan"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret_key": b"short"},
        {"nonce_lifetime": 0.0},
        {"nonce_lifetime": float("inf")},
        {"algorithms": ()},
        {"algorithms": ("AKAv1-MD5",)},
        {"qop": ("auth-conf",)},
        {"max_tracked_nonces": 0},
        {"realm": "bad\r\nrealm"},
        {"opaque": "bad\nopaque"},
    ],
)
def test_server_constructor_validation(kwargs: dict[str, object]) -> None:
    options: dict[str, object] = {"realm": "device", "secret_key": KEY, "nonce_lifetime": 300.0}
    options.update(kwargs)
    with pytest.raises(ValueError):
        DigestServer(**options)  # type: ignore[arg-type]


def test_random_source_must_return_the_requested_length() -> None:
    server = make_server(random_bytes=lambda size: b"\x00" * (size - 1))
    with pytest.raises(ValueError):
        server.challenge(1000.0)


def test_server_accepts_lowercase_algorithm_in_hand_built_credentials() -> None:
    server = make_server()
    proper = answer_challenge(server.challenge(1000.0), "INVITE", URI, "genesys", "s3cret", cnonce="c")
    lowered = Credentials(
        username=proper.username, realm=proper.realm, nonce=proper.nonce, uri=proper.uri,
        response=proper.response.upper(), algorithm="md5", cnonce=proper.cnonce, qop=proper.qop, nc=proper.nc,
    )  # fmt: skip
    assert server.verify("INVITE", lowered, "s3cret", 1001.0).ok


# --- property tests ---

field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\t", '"', "\\"]),
    max_size=40,
)
token_text = st.text(alphabet="abcXYZ019-.!%*_+`'~", min_size=1, max_size=12)


@given(
    username=field_text,
    realm=field_text,
    password=field_text,
    uri=field_text,
    cnonce=field_text.filter(bool),
    nc=st.integers(1, 2**32 - 1),
    algorithm=st.sampled_from(SUPPORTED_ALGORITHMS),
    qop=st.sampled_from([(), ("auth",), ("auth-int",)]),
    body=st.binary(max_size=64),
)
def test_uac_answer_round_trips_through_text_and_verifies(
    username: str,
    realm: str,
    password: str,
    uri: str,
    cnonce: str,
    nc: int,
    algorithm: str,
    qop: tuple[str, ...],
    body: bytes,
) -> None:
    check_field_text("realm", realm)
    server = DigestServer(realm, KEY, 60.0, (algorithm,), qop, random_bytes=CountingRandom())
    challenge = Challenge.parse(str(server.challenge(5.0)))
    credentials = answer_challenge(
        challenge, "INVITE", uri, username, password, cnonce=cnonce, nc=nc, body=body
    )
    received = Credentials.parse(str(credentials))
    assert received == credentials
    assert server.verify("INVITE", received, {username: password}.get, 6.0, body).ok
    assert not server.verify("INVITE", received, {username: password + "x"}.get, 6.0, body).ok


@given(
    username=field_text,
    response=field_text,
    nonce_choice=st.sampled_from(["genuine", "random"]),
    random_nonce=field_text,
    algorithm=st.sampled_from(SUPPORTED_ALGORITHMS) | token_text,
    qop=st.sampled_from([None, "auth", "auth-int", "other"]),
    nc=st.from_regex(r"[0-9a-fA-F]{8}", fullmatch=True),
    now=st.floats(-1e9, 1e9),
)
def test_verify_never_raises_on_hostile_credentials(
    username: str,
    response: str,
    nonce_choice: str,
    random_nonce: str,
    algorithm: str,
    qop: str | None,
    nc: str,
    now: float,
) -> None:
    server = make_server(qop=("auth", "auth-int"))
    nonce = server.issue_nonce(0.0) if nonce_choice == "genuine" else random_nonce
    credentials = Credentials(
        username=username, realm="device", nonce=nonce, uri=URI, response=response, algorithm=algorithm,
        cnonce="c", qop=qop, nc=nc if qop else None,
    )  # fmt: skip
    result = server.verify("INVITE", credentials, "s3cret", now)
    assert result.outcome is not VerifyOutcome.OK


# --- interop with SIPp 3.6 (the peer the benchmarks and the reference scenarios use) ---

SIPP = shutil.which("sipp")
needs_sipp = pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed")

_SIPP_UAC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="digest OPTIONS UAC">
  <send retrans="500"><![CDATA[

      OPTIONS sip:device@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:genesys@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:device@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[

      OPTIONS sip:device@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:genesys@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:device@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 2 OPTIONS
      [authentication]
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""

# The challenge line is the one /work/shared/sipp/device_uas_refer_auth.xml sends; verifyauth as there.
_SIPP_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="digest OPTIONS UAS">
  <recv request="OPTIONS"/>
  <send><![CDATA[

      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="device", nonce="[pid]n[call_number]x7f3a", algorithm=MD5, qop="auth"
      Content-Length: 0

  ]]></send>
  <recv request="OPTIONS">
    <action>
      <verifyauth assign_to="authvalid" username="genesys" password="s3cret"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="goodauth"/>
  <send next="end"><![CDATA[

      SIP/2.0 403 Forbidden
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
  <label id="goodauth"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
  <label id="end"/>
</scenario>
"""


def _headers(message: str) -> dict[str, list[str]]:
    """Just enough SIP to drive these tests: header name (lower-case) -> values, in order."""
    found: dict[str, list[str]] = {}
    for line in message.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return found


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sipp(args: list[str]) -> subprocess.Popen[bytes]:
    assert SIPP is not None
    return subprocess.Popen(
        [SIPP, *args, "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "15s", "-timeout_error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.interop
@needs_sipp
@pytest.mark.parametrize("opaque", [None, "b3BhcXVl"])
def test_sipp_uac_answers_our_challenge(tmp_path: Path, opaque: str | None) -> None:
    scenario = tmp_path / "uac.xml"
    scenario.write_text(_SIPP_UAC)
    server = make_server(opaque=opaque)
    outcomes: list[VerifyOutcome] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(15.0)
        port = sock.getsockname()[1]
        sipp = _sipp(
            [
                f"127.0.0.1:{port}",
                "-sf",
                str(scenario),
                "-p",
                str(_free_udp_port()),
                "-au",
                "genesys",
                "-ap",
                "s3cret",
            ]
        )
        try:
            for _ in range(6):  # bounded: 401, then the authenticated request (plus a retransmission or two)
                data, peer = sock.recvfrom(65535)
                headers = _headers(data.decode("utf-8"))
                dialog = "".join(
                    f"{h}: {headers[h.lower()][0]}\r\n" for h in ("Via", "From", "To", "Call-ID", "CSeq")
                )
                if "authorization" in headers:
                    result = server.verify(
                        "OPTIONS", Credentials.parse(headers["authorization"][0]), "s3cret", 2.0
                    )
                    outcomes.append(result.outcome)
                    status = "200 OK" if result.ok else "403 Forbidden"
                    sock.sendto(f"SIP/2.0 {status}\r\n{dialog}Content-Length: 0\r\n\r\n".encode(), peer)
                    break
                challenge = f"WWW-Authenticate: {server.challenge(1.0)}\r\n"
                sock.sendto(
                    f"SIP/2.0 401 Unauthorized\r\n{dialog}{challenge}Content-Length: 0\r\n\r\n".encode(), peer
                )
            _, stderr = sipp.communicate(timeout=30)
        finally:
            if sipp.poll() is None:
                sipp.kill()
                sipp.wait(timeout=10)
    assert outcomes == [VerifyOutcome.OK]
    assert sipp.returncode == 0, stderr.decode(errors="replace")


@pytest.mark.interop
@needs_sipp
@pytest.mark.parametrize(("password", "expected"), [("s3cret", "200"), ("wrong", "403")])
def test_our_uac_answers_sipp_challenge(tmp_path: Path, password: str, expected: str) -> None:
    scenario = tmp_path / "uas.xml"
    scenario.write_text(_SIPP_UAS)
    sipp_port = _free_udp_port()
    sipp = _sipp(["-sf", str(scenario), "-p", str(sipp_port)])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.5)
            me = sock.getsockname()[1]

            def request(cseq: int, extra: str = "") -> str:
                message = (
                    f"OPTIONS sip:device@127.0.0.1:{sipp_port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-digest-{cseq}\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:genesys@127.0.0.1>;tag=t1\r\n"
                    "To: <sip:device@127.0.0.1>\r\nCall-ID: digest-test@127.0.0.1\r\n"
                    f"CSeq: {cseq} OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
                )
                for _ in range(40):  # bounded retransmission while SIPp starts (at most ~20 s)
                    sock.sendto(message.encode(), ("127.0.0.1", sipp_port))
                    try:
                        return sock.recvfrom(65535)[0].decode("utf-8")
                    except TimeoutError:
                        continue
                raise AssertionError("SIPp did not answer")

            first = request(1)
            assert first.startswith("SIP/2.0 401")
            challenge = pick_best_challenge(parse_challenges(_headers(first)["www-authenticate"]))
            assert challenge is not None
            credentials = answer_challenge(
                challenge,
                "OPTIONS",
                f"sip:device@127.0.0.1:{sipp_port}",
                "genesys",
                password,
                cnonce="0a4f113b",
            )
            second = request(2, f"Authorization: {credentials}\r\n")
        assert second.startswith(f"SIP/2.0 {expected}")
        _, stderr = sipp.communicate(timeout=30)
        assert sipp.returncode == 0, stderr.decode(errors="replace")
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait(timeout=10)
