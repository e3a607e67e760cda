"""The access policy: ACL, token header, Digest, DNIS, UUI token — each step, their order, LogOnce."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from takeback.device.access import (
    AccessPolicy,
    Decision,
    DnisMatcher,
    IpAcl,
    LogOnce,
    Verdict,
    _NumberList,
    dnis_of,
    uui_token_of,
)
from takeback.device.config import parse_device_config
from takeback.sip import Request, parse_message
from takeback.sip.digest import Challenge, answer_challenge, compute_ha1
from takeback.uui import encode

TOKEN = ("CUSTOM-DEVICE-TOKEN", "1234567")


def _invite(
    user: str = "+19999990001",
    *,
    headers: list[tuple[str, str]] | None = None,
    uri: str | None = None,
) -> Request:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers if headers is not None else [TOKEN]))
    ruri = uri or f"sip:{user}@127.0.0.1:5080"
    text = (
        f"INVITE {ruri} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
        "From: <sip:+13175551234@127.0.0.1>;tag=a\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        "Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"{extra}Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def _policy(yaml_access: str) -> AccessPolicy:
    config = parse_device_config(f"access: {yaml_access}")
    counter = itertools.count()
    return AccessPolicy(
        config.access,
        digest_key=b"k" * 32,
        random_bytes=lambda n: next(counter).to_bytes(n, "big"),
    )


ARTICLE = (
    "{ip_acl: [127.0.0.0/8, '::1/128'], token: {header: CUSTOM-DEVICE-TOKEN, value: '1234567'},"
    " dnis: {e164: ['+19999990001'], numbers: [9991, 9992]}}"
)


# --------------------------------------------------------------------------------------------- IP ACL


def test_acl_admits_listed_sources_v4_v6_and_mapped() -> None:
    acl = IpAcl(["127.0.0.0/8", "2001:db8::/32"])
    assert acl.allows("127.0.0.1") and acl.allows("127.9.9.9")
    assert acl.allows("2001:db8::5") and acl.allows("2001:db8::5%eth0")
    assert acl.allows("::ffff:127.0.0.1")  # dual-stack socket
    assert not acl.allows("10.0.0.1") and not acl.allows("::1") and not acl.allows("garbage")
    assert IpAcl(None).allows("203.0.113.1")
    assert not IpAcl([]).allows("127.0.0.1")


def test_acl_outside_is_dropped_silently_by_default() -> None:
    decision = _policy(ARTICLE).check(_invite(), "10.1.2.3", 0.0)
    assert decision.verdict is Verdict.DROP
    assert decision.reason == "acl"
    assert decision.status is None


def test_acl_outside_gets_403_when_configured() -> None:
    policy = _policy("{ip_acl: [127.0.0.1/32], acl_action: 403}")
    decision = policy.check(_invite(), "127.0.0.2", 0.0)
    assert (decision.verdict, decision.status, decision.reason_phrase, decision.reason) == (
        Verdict.RESPOND,
        403,
        "Forbidden",
        "acl",
    )
    assert policy.check_source("127.0.0.1") is None


# ---------------------------------------------------------------------------------------------- token


def test_article_configuration_accepts_the_genesys_invite() -> None:
    decision = _policy(ARTICLE).check(_invite(), "127.0.0.1", 0.0)
    assert decision == Decision.accept()
    assert decision.accepted


@pytest.mark.parametrize("name", ["CUSTOM-DEVICE-TOKEN", "custom-device-token", "Custom-Device-Token"])
def test_token_header_name_is_case_insensitive(name: str) -> None:
    decision = _policy(ARTICLE).check(_invite(headers=[(name, "1234567")]), "127.0.0.1", 0.0)
    assert decision.accepted


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], "token-missing"),
        ([("CUSTOM-DEVICE-TOKEN", "1234568")], "token-mismatch"),
        ([("CUSTOM-DEVICE-TOKEN", "123456")], "token-mismatch"),
        ([("CUSTOM-DEVICE-TOKEN", "")], "token-mismatch"),
        ([("CUSTOM-DEVICE-TOKEN", "1234567"), ("CUSTOM-DEVICE-TOKEN", "x")], "token-mismatch"),
    ],
)
def test_token_missing_or_wrong_is_403(headers: list[tuple[str, str]], reason: str) -> None:
    decision = _policy(ARTICLE).check(_invite(headers=headers), "127.0.0.1", 0.0)
    assert (decision.status, decision.reason) == (403, reason)


def test_acl_is_checked_before_the_token() -> None:
    decision = _policy(ARTICLE).check(_invite(headers=[]), "192.0.2.1", 0.0)
    assert decision.reason == "acl"


# --------------------------------------------------------------------------------------------- digest

DIGEST = "{digest: {realm: device, username: genesys, password: s3cret, nonce_lifetime: 60}}"


def _challenge_of(decision: Decision) -> Challenge:
    (header,) = [value for name, value in decision.headers if name == "WWW-Authenticate"]
    return Challenge.parse(header)


def _authorized(
    challenge: Challenge, *, password: str = "s3cret", nc: int = 1, user: str = "genesys"
) -> Request:
    uri = "sip:+19999990001@127.0.0.1:5080"
    credentials = answer_challenge(challenge, "INVITE", uri, user, password, cnonce="cafe", nc=nc)
    return _invite(headers=[("Authorization", str(credentials))])


def test_digest_first_invite_gets_401_with_a_challenge() -> None:
    decision = _policy(DIGEST).check(_invite(headers=[]), "127.0.0.1", 0.0)
    assert (decision.status, decision.reason_phrase, decision.reason, decision.auth) == (
        401,
        "Unauthorized",
        "digest-challenge",
        "challenge",
    )
    challenge = _challenge_of(decision)
    assert (challenge.realm, challenge.algorithm, challenge.qop, challenge.stale) == (
        "device",
        "MD5",
        ("auth",),
        False,
    )


def test_digest_retry_with_right_credentials_is_accepted() -> None:
    policy = _policy(DIGEST)
    challenge = _challenge_of(policy.check(_invite(headers=[]), "127.0.0.1", 0.0))
    decision = policy.check(_authorized(challenge), "127.0.0.1", 1.0)
    assert decision.accepted
    assert (decision.auth, decision.username) == ("ok", "genesys")


@pytest.mark.parametrize(("user", "password"), [("genesys", "wrong"), ("intruder", "s3cret")])
def test_digest_wrong_credentials_after_the_retry_is_403(user: str, password: str) -> None:
    policy = _policy(DIGEST)
    challenge = _challenge_of(policy.check(_invite(headers=[]), "127.0.0.1", 0.0))
    decision = policy.check(_authorized(challenge, user=user, password=password), "127.0.0.1", 1.0)
    assert (decision.status, decision.reason, decision.auth) == (
        403,
        "digest-bad-credentials",
        "bad-credentials",
    )


def test_digest_stale_nonce_gets_a_new_challenge_with_stale_true() -> None:
    policy = _policy(DIGEST)
    challenge = _challenge_of(policy.check(_invite(headers=[]), "127.0.0.1", 0.0))
    decision = policy.check(_authorized(challenge), "127.0.0.1", 61.0)
    assert (decision.status, decision.reason) == (401, "digest-stale")
    fresh = _challenge_of(decision)
    assert fresh.stale is True
    assert fresh.nonce != challenge.nonce
    assert policy.check(_authorized(fresh), "127.0.0.1", 62.0).accepted


def test_digest_replayed_nonce_count_is_challenged_again() -> None:
    policy = _policy(DIGEST)
    challenge = _challenge_of(policy.check(_invite(headers=[]), "127.0.0.1", 0.0))
    assert policy.check(_authorized(challenge, nc=1), "127.0.0.1", 1.0).accepted
    replay = policy.check(_authorized(challenge, nc=1), "127.0.0.1", 2.0)
    assert (replay.status, replay.reason, _challenge_of(replay).stale) == (401, "digest-replay", False)
    assert policy.check(_authorized(challenge, nc=2), "127.0.0.1", 3.0).accepted


def test_digest_forged_nonce_is_challenged_again() -> None:
    policy = _policy(DIGEST)
    forged = Challenge(realm="device", nonce="A" * 54, algorithm="MD5", qop=("auth",))
    decision = policy.check(_authorized(forged), "127.0.0.1", 1.0)
    assert (decision.status, decision.reason) == (401, "digest-bad-nonce")


def test_digest_credentials_for_another_realm_are_ignored_and_challenged() -> None:
    policy = _policy(DIGEST)
    other = Challenge(realm="elsewhere", nonce="n", algorithm="MD5", qop=("auth",))
    decision = policy.check(_authorized(other), "127.0.0.1", 1.0)
    assert decision.reason == "digest-challenge"


def test_digest_malformed_authorization_is_400() -> None:
    decision = _policy(DIGEST).check(_invite(headers=[("Authorization", "Digest realm=")]), "127.0.0.1", 0.0)
    assert (decision.status, decision.reason) == (400, "digest-malformed")


def test_digest_with_ha1_and_407() -> None:
    ha1 = compute_ha1("MD5", "genesys", "device", "s3cret")
    policy = _policy(f"{{digest: {{realm: device, username: genesys, ha1: {ha1}, status: 407}}}}")
    decision = policy.check(_invite(headers=[]), "127.0.0.1", 0.0)
    assert (decision.status, decision.reason_phrase) == (407, "Proxy Authentication Required")
    (header,) = [v for n, v in decision.headers if n == "Proxy-Authenticate"]
    challenge = Challenge.parse(header)
    credentials = answer_challenge(
        challenge, "INVITE", "sip:+19999990001@127.0.0.1:5080", "genesys", "s3cret", cnonce="c"
    )
    request = _invite(headers=[("Proxy-Authorization", str(credentials))])
    assert policy.check(request, "127.0.0.1", 1.0).accepted
    # Credentials in the other header do not count.
    request = _invite(headers=[("Authorization", str(credentials))])
    assert policy.check(request, "127.0.0.1", 1.0).status == 407


def test_token_is_checked_before_digest_and_digest_before_dnis() -> None:
    policy = _policy(
        "{token: {header: CUSTOM-DEVICE-TOKEN, value: '1234567'}, dnis: {numbers: [9991]},"
        " digest: {realm: device, username: genesys, password: s3cret}}"
    )
    assert policy.check(_invite("1111", headers=[]), "127.0.0.1", 0.0).reason == "token-missing"
    assert policy.check(_invite("1111"), "127.0.0.1", 0.0).reason == "digest-challenge"


# ----------------------------------------------------------------------------------------------- DNIS


def test_dnis_e164_short_numbers_and_ranges() -> None:
    config = parse_device_config(
        "access: {dnis: {e164: ['+19999990001', '+19999990010-+19999990019'],"
        " numbers: ['9991', '1000-1005']}}"
    )
    matcher = DnisMatcher(config.access.dnis)
    for user in ("+19999990001", "+19999990010", "+19999990015", "+19999990019", "9991", "1000", "1005"):
        assert matcher.matches(user), user
    for user in ("+19999990002", "+19999990020", "19999990001", "9992", "999", "1006", "10000", "", None):
        assert not matcher.matches(user), user


def test_dnis_regex_must_match_the_whole_user() -> None:
    matcher = DnisMatcher(parse_device_config("access: {dnis: {regex: ['999\\d']}}").access.dnis)
    assert matcher.matches("9991")
    assert not matcher.matches("99912345") and not matcher.matches("19991")


def test_dnis_ignore_plus_for_omit_plus_trunks() -> None:
    text = "access: {dnis: {e164: ['+19999990001'], regex: ['\\+1888\\d+'], ignore_plus: true}}"
    matcher = DnisMatcher(parse_device_config(text).access.dnis)
    assert matcher.matches("19999990001") and matcher.matches("+19999990001")
    assert matcher.matches("18885550000")


def test_dnis_absent_accepts_any() -> None:
    assert DnisMatcher(None).matches("anything")


def test_dnis_of_request_uri_user_without_user_params() -> None:
    assert dnis_of(_invite("+19999990001")) == "+19999990001"
    assert dnis_of(_invite(uri="sip:+19999990001;npdi@127.0.0.1")) == "+19999990001"
    assert dnis_of(_invite(uri="tel:+19999990001")) == "+19999990001"
    assert dnis_of(_invite(uri="sip:127.0.0.1")) is None


def test_unknown_dnis_is_404() -> None:
    decision = _policy(ARTICLE).check(_invite("+19999990002"), "127.0.0.1", 0.0)
    assert (decision.status, decision.reason_phrase, decision.reason) == (404, "Not Found", "dnis")
    assert _policy(ARTICLE).check(_invite("9992"), "127.0.0.1", 0.0).accepted


def test_dnis_is_the_request_uri_not_the_to_header() -> None:
    request = _invite("+19999990001", uri="sip:5555@127.0.0.1")
    assert _policy(ARTICLE).check(request, "127.0.0.1", 0.0).reason == "dnis"


# ------------------------------------------------------------------------------------------ UUI token


def _uui(text: str) -> tuple[str, str]:
    return encode(text)


def test_uui_token_whole_field_index_and_name() -> None:
    config = parse_device_config
    whole = config("access: {uui_token: {value: ACME}}").access.uui_token
    index = config("access: {uui_token: {value: ACME, field: 1}}").access.uui_token
    named = config("access: {uui_token: {value: ACME, field: token, separator: ';'}}").access.uui_token
    assert whole is not None and index is not None and named is not None
    assert uui_token_of("ACME", whole) == "ACME"
    assert uui_token_of("case-1|ACME", index) == "ACME"
    assert uui_token_of("case-1", index) is None
    assert uui_token_of("case=1; token = ACME", named) == "ACME"
    assert uui_token_of("case=1", named) is None
    assert uui_token_of(None, whole) is None


def test_uui_token_accept_missing_and_mismatch() -> None:
    policy = _policy("{uui_token: {value: ACME-42, field: 0}}")
    ok = policy.check(_invite(headers=[_uui("ACME-42|case-1")]), "127.0.0.1", 0.0)
    assert ok.accepted
    missing = policy.check(_invite(headers=[]), "127.0.0.1", 0.0)
    assert (missing.status, missing.reason) == (403, "uui-token-missing")
    wrong = policy.check(_invite(headers=[_uui("ACME-43|case-1")]), "127.0.0.1", 0.0)
    assert (wrong.status, wrong.reason) == (403, "uui-token-mismatch")


def test_uui_token_uses_genesys_decoding_rules() -> None:
    policy = _policy("{uui_token: {value: ACME}}")
    # No PD octet on a plain User-to-User header: Genesys drops the first octet ("CME").
    headers = [("User-to-User", "41434d45;encoding=hex")]
    assert policy.check(_invite(headers=headers), "127.0.0.1", 0.0).reason == "uui-token-mismatch"
    headers = [("User-to-User", "0041434d45;encoding=hex")]
    assert policy.check(_invite(headers=headers), "127.0.0.1", 0.0).accepted


def test_dnis_is_checked_before_the_uui_token_and_auth_is_kept() -> None:
    policy = _policy("{dnis: {numbers: [9991]}, uui_token: {value: X}}")
    assert policy.check(_invite("9992", headers=[]), "127.0.0.1", 0.0).reason == "dnis"
    assert policy.check(_invite("9991", headers=[]), "127.0.0.1", 0.0).reason == "uui-token-missing"


def test_everything_off_accepts_everyone() -> None:
    assert _policy("{}").check(_invite(headers=[]), "203.0.113.9", 0.0).accepted


# ------------------------------------------------------------------------------------------- LogOnce


def test_log_once_per_key_with_suppressed_count() -> None:
    log = LogOnce(60.0)
    assert log.check("10.0.0.1", 0.0) == 0
    assert log.check("10.0.0.1", 1.0) is None
    assert log.check("10.0.0.1", 59.9) is None
    assert log.check("10.0.0.2", 2.0) == 0  # another source logs on its own
    assert log.check("10.0.0.1", 60.0) == 2  # "… and 2 more"
    assert log.check("10.0.0.1", 61.0) is None
    assert log.check("10.0.0.1", 120.0) == 1


def test_log_once_memory_is_bounded() -> None:
    log = LogOnce(60.0, max_keys=3)
    for i in range(10):
        assert log.check(i, 0.0) == 0
    assert len(log) == 3
    assert log.check(0, 1.0) == 0  # forgotten: logs again
    assert log.check(9, 1.0) is None


def test_log_once_zero_interval_logs_everything_and_rejects_bad_args() -> None:
    log = LogOnce(0.0)
    assert [log.check("k", 0.0) for _ in range(3)] == [0, 0, 0]
    with pytest.raises(ValueError):
        LogOnce(-1.0)


def _reference_in_list(number: str, items: list[str], ignore_plus: bool) -> bool:
    """The list match as first written: a pass over the items, ranges compared as equal-length strings."""
    key = number.removeprefix("+") if ignore_plus else number
    for item in items:
        start, _, end = item.partition("-")
        end = end or start
        if ignore_plus:
            start, end = start.removeprefix("+"), end.removeprefix("+")
        if len(key) == len(start) and start <= key <= end:
            return True
    return False


@given(
    items=st.lists(
        st.builds(
            lambda a, b, plus, rng: plus + a + ("-" + plus + b if rng else ""),
            st.text(alphabet="0123", min_size=1, max_size=3),
            st.text(alphabet="0123", min_size=1, max_size=3),
            st.sampled_from(["", "+"]),
            st.booleans(),
        ),
        max_size=4,
    ),
    number=st.builds(
        lambda plus, digits: plus + digits, st.sampled_from(["", "+"]), st.text(alphabet="0123", max_size=4)
    ),
    ignore_plus=st.booleans(),
)
def test_number_list_equals_a_pass_over_the_items(items: list[str], number: str, ignore_plus: bool) -> None:
    assert _NumberList(items, ignore_plus).has(number) is _reference_in_list(number, items, ignore_plus)
