"""Tests for takeback.sip.authparams: the auth-param grammar and the typed Digest header values
(RFC 3261 §25.1, RFC 7235 §2.1, RFC 7616 §3.3-§3.4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sip.authparams import (
    AuthParam,
    Challenge,
    Credentials,
    DigestError,
    _digest_params,
    _fast_params,
    _general_params,
    _parse_auth_header_general,
    canonical_algorithm,
    check_field_text,
    format_auth_header,
    is_token,
    parse_auth_header,
    parse_challenges,
    quote_string,
)
from takeback.sip.digest import SUPPORTED_ALGORITHMS
from takeback.sip.errors import SipParseError

# --- auth-param grammar (RFC 3261 §25.1, RFC 7235 §2.1) ---


def test_parse_auth_header_basic_shape() -> None:
    header = parse_auth_header('Digest realm="device", nonce="abc", algorithm=MD5, qop="auth"')
    assert header.scheme == "Digest"
    assert [p.name for p in header.params] == ["realm", "nonce", "algorithm", "qop"]
    assert header.get("REALM") == "device"
    assert header.params[2] == AuthParam("algorithm", "MD5", quoted=False)
    assert header.params[3] == AuthParam("qop", "auth", quoted=True)
    assert header.get("opaque") is None


@pytest.mark.parametrize(
    "value",
    [
        'Digest realm="device",nonce="abc",algorithm=MD5',
        '  Digest   realm = "device" ,\tnonce= "abc" , algorithm =MD5  ',
        'Digest\r\n realm="device",\r\n\tnonce="abc",\r\n algorithm=MD5',
        'Digest REALM="device", Nonce="abc", ALGORITHM=MD5',
        'Digest realm="device",, nonce="abc", algorithm=MD5,',
        'Digest ,realm="device", nonce="abc", algorithm=MD5',
    ],
)
def test_parse_auth_header_tolerates_whitespace_folding_case_and_empty_elements(value: str) -> None:
    header = parse_auth_header(value)
    assert header.scheme.lower() == "digest"
    assert (header.get("realm"), header.get("nonce"), header.get("algorithm")) == ("device", "abc", "MD5")


def test_quoted_string_escapes_are_undone_once() -> None:
    header = parse_auth_header(r'Digest realm="a \"quoted\" realm", opaque="back\\slash", nonce="\x\y"')
    assert header.get("realm") == 'a "quoted" realm'
    assert header.get("opaque") == "back\\slash"
    assert header.get("nonce") == "xy"
    assert parse_auth_header('Digest realm="a, b=c"').get("realm") == "a, b=c"
    assert parse_auth_header('Digest realm="Jäsøn"').get("realm") == "Jäsøn"


def test_quote_string_escapes_quote_and_backslash() -> None:
    assert quote_string('say "hi" \\o/') == r'"say \"hi\" \\o/"'
    with pytest.raises(DigestError):
        quote_string("line\r\nInjected: header")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        '"Digest" realm="x"',
        'Digest realm="unterminated',
        "Digest realm",
        "Digest realm=",
        'Digest realm="x" nonce="y"',
        'Digest realm="x"; nonce="y"',
        'Digest realm="x", realm="y"',
        'Digest realm="x", REALM="y"',
        "Digest, realm=x",
        'Digest realm="a\x01b"',
        'Digest realm="a\\\x01b"',
        "Digest realm=a\x00",
        'Digest realm="x"\r\nX-Injected: 1',
        'Digest realm="x"\n',
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "Digest nonce=abc/def",
        'Digest realm="\ud800"',
    ],
)
def test_malformed_auth_headers_raise_digest_error_with_400(value: str) -> None:
    with pytest.raises(DigestError) as info:
        parse_auth_header(value)
    assert info.value.status == 400
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SipParseError)


def test_auth_header_str_roundtrip_keeps_quoting() -> None:
    text = 'Digest realm="device", nonce="a\\"b", algorithm=MD5, x-token=abc, x-quoted="abc"'
    header = parse_auth_header(text)
    assert str(header) == text
    assert parse_auth_header(str(header)) == header


def test_auth_param_rejects_bad_names_and_quotes_non_tokens() -> None:
    with pytest.raises(DigestError):
        AuthParam("Upper", "x")
    with pytest.raises(DigestError):
        AuthParam("bad name", "x")
    assert str(AuthParam("x-foo", "needs quoting")) == 'x-foo="needs quoting"'
    assert is_token("00000001") and not is_token("a b") and not is_token("")


# --- typed challenge and credentials (RFC 7616 §3.3, §3.4) ---


def test_challenge_parse_of_the_sipp_reference_device_challenge() -> None:
    # The exact header /work/shared/sipp/device_uas_refer_auth.xml sends.
    challenge = Challenge.parse('Digest realm="device", nonce="1234n1x7f3a", algorithm=MD5, qop="auth"')
    assert challenge == Challenge(realm="device", nonce="1234n1x7f3a", algorithm="MD5", qop=("auth",))


def test_challenge_defaults_and_all_fields() -> None:
    minimal = Challenge.parse('Digest realm="r", nonce="n"')
    assert (minimal.algorithm, minimal.qop, minimal.stale, minimal.opaque) == ("MD5", (), False, None)
    full = Challenge.parse(
        'Digest realm="r", domain="sip:a.example  sip:b.example", nonce="n", opaque="o", stale=TRUE, '
        'algorithm=sha-256-SESS, qop="auth, Auth-Int", charset=UTF-8, userhash=true, x-custom="kept"'
    )
    assert full.domain == ("sip:a.example", "sip:b.example")
    assert full.stale and full.userhash
    assert full.algorithm == "SHA-256-sess"
    assert full.qop == ("auth", "auth-int")
    assert full.charset == "UTF-8"
    assert full.extra == (AuthParam("x-custom", "kept", quoted=True),)
    assert Challenge.parse(str(full)) == full


def test_challenge_str_quotes_where_rfc_7616_says() -> None:
    challenge = Challenge(realm="device", nonce="abc", opaque="op", stale=True, qop=("auth", "auth-int"))
    assert str(challenge) == (
        'Digest realm="device", nonce="abc", opaque="op", stale=true, algorithm=MD5, qop="auth,auth-int"'
    )
    with_charset = Challenge(realm="r", nonce="n", algorithm="SHA-256", charset="UTF-8", userhash=True)
    assert str(with_charset) == 'Digest realm="r", nonce="n", algorithm=SHA-256, charset=UTF-8, userhash=true'


@pytest.mark.parametrize(
    "value",
    [
        'Digest nonce="n"',
        'Digest realm="r"',
        'Basic realm="r", nonce="n"',
        'Digest realm="r", nonce="n", algorithm="MD 5"',
        'Digest realm="r", nonce="n", qop="auth, a b"',
        'Digest realm="r", nonce="n", charset="UTF 8"',
    ],
)
def test_bad_challenges_raise(value: str) -> None:
    with pytest.raises(DigestError):
        Challenge.parse(value)


def test_challenge_constructor_refuses_header_injection() -> None:
    with pytest.raises(DigestError):
        Challenge(realm='device"\r\nX-Evil: 1', nonce="n")
    with pytest.raises(DigestError):
        Challenge(realm="r", nonce="n", algorithm="MD5, qop=auth-int")
    with pytest.raises(DigestError):
        Challenge(realm="r", nonce="n", extra=(AuthParam("realm", "again"),))


def test_credentials_parse_sipp_shape_and_serialize() -> None:
    # SIPp 3.6 [authentication] output: no spaces, nonce after cnonce.
    sipp = (
        'Digest username="genesys",realm="device",cnonce="6b8b4567",nc=00000001,qop=auth,'
        'uri="sip:127.0.0.1:5080",nonce="abc",response="3b1500b861fd81d601c64a29392b4a1f",algorithm=MD5'
    )
    credentials = Credentials.parse(sipp)
    assert credentials.nonce == "abc" and credentials.cnonce == "6b8b4567"
    assert credentials.nc == "00000001" and credentials.nonce_count == 1
    assert str(credentials) == (
        'Digest username="genesys", realm="device", nonce="abc", uri="sip:127.0.0.1:5080", '
        'response="3b1500b861fd81d601c64a29392b4a1f", algorithm=MD5, cnonce="6b8b4567", qop=auth, nc=00000001'
    )
    assert Credentials.parse(str(credentials)) == credentials


def test_credentials_tolerate_quoted_qop_nc_and_algorithm() -> None:
    credentials = Credentials.parse(
        'Digest username="u", realm="r", nonce="n", uri="sip:x", response="00", algorithm="md5", '
        'qop="AUTH", nc="0000000A", cnonce="c", userhash=FALSE, x-ext=1'
    )
    assert (credentials.algorithm, credentials.qop, credentials.nc) == ("MD5", "auth", "0000000A")
    assert credentials.nonce_count == 10 and not credentials.userhash
    assert credentials.extra == (AuthParam("x-ext", "1"),)


def test_credentials_username_star_extended_value() -> None:
    credentials = Credentials.parse(
        'Digest username*=UTF-8\'\'J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", uri="/", response="0"'
    )
    assert credentials.username == "Jäsøn Doe"
    with pytest.raises(DigestError):
        Credentials.parse(
            'Digest username="a", username*=UTF-8\'\'b, realm="r", nonce="n", uri="/", response="0"'
        )
    with pytest.raises(DigestError):
        Credentials.parse('Digest username*=UTF-8\'\'%FF, realm="r", nonce="n", uri="/", response="0"')


@pytest.mark.parametrize(
    "value",
    [
        'Digest realm="r", nonce="n", uri="/", response="0"',
        'Digest username="u", nonce="n", uri="/", response="0"',
        'Digest username="u", realm="r", uri="/", response="0"',
        'Digest username="u", realm="r", nonce="n", response="0"',
        'Digest username="u", realm="r", nonce="n", uri="/"',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, nc=00000001',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, cnonce="c"',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, cnonce="c", nc=1',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", nc=0000000g, qop=auth, cnonce="c"',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", algorithm=MD5-sess',
        'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop="auth, auth-int"',
        'Bearer username="u", realm="r", nonce="n", uri="/", response="0"',
    ],
)
def test_incomplete_or_malformed_credentials_raise_400(value: str) -> None:
    with pytest.raises(DigestError) as info:
        Credentials.parse(value)
    assert info.value.status == 400


def test_canonical_algorithm() -> None:
    assert canonical_algorithm("md5") == "MD5"
    assert canonical_algorithm("sha-512-256-SESS") == "SHA-512-256-sess"
    assert canonical_algorithm("AKAv1-MD5") == "AKAv1-MD5"
    assert {"MD5", "MD5-sess", "SHA-256", "SHA-256-sess"} <= set(SUPPORTED_ALGORITHMS)


# --- property tests ---

_FRAGMENTS = [
    "Digest", "digest", "Basic", " ", "\t", ",", "=", '"', "\\", "\r\n ", "\r\n", "\n", "\x00", "\x7f",
    "realm", "nonce", "qop", "nc", "algorithm", "stale", "domain", "userhash", "username", "username*",
    "uri", "response", "cnonce", "opaque", "charset", "auth", "auth-int", "MD5", "SHA-256-sess", "true",
    "00000001", "UTF-8''%C3%A4", "é", "\ud800", "x",
]  # fmt: skip
header_like = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)
any_text = st.text(max_size=200)
field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\t", '"', "\\"]),
    max_size=40,
)
token_text = st.text(alphabet="abcXYZ019-.!%*_+`'~", min_size=1, max_size=12)


@settings(max_examples=300)
@given(st.one_of(header_like, any_text))
def test_random_header_values_only_raise_digest_error(value: str) -> None:
    for parse in (parse_auth_header, Challenge.parse, Credentials.parse):
        try:
            parsed = parse(value)
        except DigestError as exc:
            assert exc.status == 400
            continue
        assert parse(str(parsed)) == parsed  # whatever parses re-serializes to the same meaning
    parse_challenges([value])  # never raises


def _structured_header(params: list[tuple[str, str, bool]]) -> str:
    parts = [f"{name}={quote_string(value) if quoted else value}" for name, value, quoted in params]
    return "Digest " + ", ".join(parts)


# (name, value, quoted?) triples of Digest parameters, serialized by _structured_header.
structured_params = st.lists(
    st.tuples(
        st.sampled_from(["realm", "nonce", "username", "uri", "response", "qop", "nc", "cnonce", "x-y"]),
        st.one_of(field_text, token_text),
        st.booleans(),
    ),
    max_size=10,
)


@settings(max_examples=200)
@given(structured_params)
def test_structured_random_headers_only_raise_digest_error(params: list[tuple[str, str, bool]]) -> None:
    unquoted_tokens = [(n, v, q or not is_token(v)) for n, v, q in params]
    value = _structured_header(unquoted_tokens)
    for parse in (Challenge.parse, Credentials.parse):
        try:
            parsed = parse(value)
        except DigestError:
            continue
        assert parse(str(parsed)) == parsed


_VALID_SEEDS = [
    'Digest\r\n   realm="testrealm@host.com",\r\n   qop="auth,auth-int",\r\n'
    '   nonce="dcd98b7102dd2f0e8b",\r\n   opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    'Digest username="Mufasa",\r\n realm="testrealm@host.com",\r\n nonce="dcd98b7102dd2f0e8b",\r\n'
    ' uri="/dir/index.html",\r\n qop=auth,\r\n nc=00000001,\r\n cnonce="0a4f113b",\r\n'
    ' response="6629fae49393a05397450978507c4ef1",\r\n opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    'Digest realm="device", nonce="1234n1x7f3a", algorithm=MD5, qop="auth"',
    'Digest username="genesys",realm="device",cnonce="6b8b4567",nc=00000001,qop=auth,'
    'uri="sip:127.0.0.1:5080",nonce="abc",response="3b1500b861fd81d601c64a29392b4a1f",algorithm=MD5',
    'Digest username*=UTF-8\'\'J%C3%A4s%C3%B8n, realm="r", nonce="n", uri="/", response="0", userhash=true',
    'Digest realm="r", domain="sip:a sip:b", nonce="n", opaque="o", stale=true, algorithm=SHA-256-sess, '
    'qop="auth,auth-int", charset=UTF-8, userhash=true, x-ext="a\\"b"',
]


@st.composite
def mutated_headers(draw: st.DrawFn) -> str:
    """A valid header value with a few random insertions, deletions and replacements."""
    text = draw(st.sampled_from(_VALID_SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 8)))
        text = text[:start] + draw(st.sampled_from(["", *_FRAGMENTS])) + text[end:]
    return text


@settings(max_examples=300)
@given(mutated_headers())
def test_mutated_valid_headers_only_raise_digest_error(value: str) -> None:
    for parse in (Challenge.parse, Credentials.parse):
        try:
            parsed = parse(value)
        except DigestError as exc:
            assert exc.status == 400
            continue
        assert parse(str(parsed)) == parsed


@given(field_text)
def test_quoted_string_round_trip(value: str) -> None:
    check_field_text("value", value)
    assert parse_auth_header(f"Digest x={quote_string(value)}").get("x") == value


# The fields of a Digest challenge (RFC 7616 §3.3), as keyword strategies for @given.
challenge_fields = {
    "realm": field_text,
    "nonce": field_text,
    "opaque": st.none() | field_text,
    "algorithm": st.sampled_from(SUPPORTED_ALGORITHMS) | token_text,
    "qop": st.lists(token_text, max_size=3).map(tuple),
    "stale": st.booleans(),
    "domain": st.lists(token_text, max_size=3).map(tuple),
    "userhash": st.booleans(),
    "charset": st.none() | token_text,
}


@given(**challenge_fields)
def test_challenge_round_trip(
    realm: str,
    nonce: str,
    opaque: str | None,
    algorithm: str,
    qop: tuple[str, ...],
    stale: bool,
    domain: tuple[str, ...],
    userhash: bool,
    charset: str | None,
) -> None:
    challenge = Challenge(
        realm=realm, nonce=nonce, algorithm=canonical_algorithm(algorithm), qop=tuple(q.lower() for q in qop),
        opaque=opaque, stale=stale, domain=domain, userhash=userhash, charset=charset,
    )  # fmt: skip
    assert Challenge.parse(str(challenge)) == challenge


# --- the fast path agrees with the general parser ---
# parse_auth_header, Challenge.parse and Credentials.parse first try _fast_params (one-line headers without
# escapes, folding or empty elements) and fall back to the general parser for anything else. Whatever the
# input, the result (or the error, message included) must be the one the general parser alone gives.

_SIPP = (
    'Digest username="genesys",realm="device",cnonce="6b8b4567",nc=00000001,qop=auth,'
    'uri="sip:127.0.0.1:5080",nonce="abc",response="3b1500b861fd81d601c64a29392b4a1f",algorithm=MD5'
)
_FAST_SHAPES = [
    _SIPP,
    _SIPP + ',opaque="xyz"',
    'Digest username="genesys", realm="device", nonce="abc", uri="sip:+1999@127.0.0.1:5080", '
    'response="3b1500b861fd81d601c64a29392b4a1f", algorithm=MD5, cnonce="6b8b4567", opaque="o", qop=auth, '
    "nc=00000001",
    'digest username="u", realm="r", nonce="n", uri="/", response="0"',
    'DIGEST USERNAME="u", Realm="r", NONCE="n", uri="/", Response="0"',
    '  Digest \t username = "u" ,\trealm= "r" , nonce ="n",uri="/"  , response="0"\t ',
    'Digest username=u, realm=r, nonce=n, uri=x, response=0, qop="auth", nc="00000001", cnonce=c',
    'Digest username="", realm="", nonce="", uri="", response=""',
    'Digest username="Jäsøn, \t=x", realm="a b", nonce="n", uri="sip:x;a=b", response="0", x-ext=1, y="2"',
    'Digest username="u", realm="r", nonce="n", uri="/", response="0", algorithm="md5-SESS", cnonce="c"',
    'Digest realm="device", nonce="1234n1x7f3a", algorithm=MD5, qop="auth"',
    'Digest realm="r", domain="sip:a sip:b", nonce="n", opaque="o", stale=TRUE, algorithm=SHA-256, '
    'qop="auth, auth-int", charset=UTF-8, userhash=false',
    'Digest username*=UTF-8\'\'J%C3%A4s%C3%B8n, realm="r", nonce="n", uri="/", response="0"',
    'Basic realm="r"',
    'Bearer username="u", realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u", realm="r", nonce="n", uri="/"',  # valid grammar, missing response
    'Digest username="u", realm="r", nonce="n", uri="/", response="0", nc=1, qop=auth, cnonce="c"',
    'Digest realm="r", nonce="n", algorithm="MD 5"',
]
_GENERAL_ONLY = [
    r'Digest username="a \"quoted\" user", realm="r", nonce="n", uri="/", response="0"',
    r'Digest username="u", realm="back\\slash", nonce="\x\y", uri="/", response="0"',
    'Digest\r\n username="u",\r\n realm="r",\r\n\tnonce="n", uri="/", response="0"',
    'Digest username="u",, realm="r", nonce="n", uri="/", response="0",',
    'Digest ,username="u", realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u", realm="r", REALM="s", nonce="n", uri="/", response="0"',
    'Digest username="u", realm="r", nonce="n", uri="/", response="0", x=1, x="2"',
    'Digest username="u" realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u"; realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u, realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u", realm="r", nonce="n", uri="/", response="0"\r\nX-Injected: 1',
    'Digest username="u", realm="r", nonce="n", uri="/", response="0"\n',
    'Digest username="u\x01", realm="r", nonce="n", uri="/", response="0"',
    'Digest username="u\x7f", realm="r", nonce="n", uri="/", response="0"',
    'Digest username="\ud800", realm="r", nonce="n", uri="/", response="0"',
    'Digest username=u\x00, realm="r"',
    'Digest"u", realm="r"',
    "Digest",
    "Digest   ",
    "",
    "Digest realm=",
    "Digest realm",
    "Digest, realm=x",
    "Digest nonce=abc/def",
    '"Digest" realm="x"',
    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
]


def _outcome(parse: Callable[[str], object], value: str) -> object:
    try:
        return parse(value)
    except DigestError as exc:
        return ("DigestError", str(exc), exc.status)


def _general_challenge(value: str) -> Challenge:
    return Challenge._from_params(_digest_params(value, _general_params))


def _general_credentials(value: str) -> Credentials:
    return Credentials._from_params(_digest_params(value, _general_params))


def _assert_fast_matches_general(value: str) -> None:
    fast = _fast_params(value)
    if fast is not None:
        scheme, params = _general_params(value)
        assert fast == (scheme, params)
        assert list(fast[1]) == list(params)  # same order, so the same ``extra`` tuple
    assert _outcome(parse_auth_header, value) == _outcome(_parse_auth_header_general, value)
    assert _outcome(Challenge.parse, value) == _outcome(_general_challenge, value)
    assert _outcome(Credentials.parse, value) == _outcome(_general_credentials, value)


@pytest.mark.parametrize("value", _FAST_SHAPES)
def test_common_shapes_take_the_fast_path_with_the_general_result(value: str) -> None:
    assert _fast_params(value) is not None
    _assert_fast_matches_general(value)


@pytest.mark.parametrize("value", _GENERAL_ONLY)
def test_escapes_folding_duplicates_and_malformed_input_fall_back_to_the_general_parser(value: str) -> None:
    assert _fast_params(value) is None
    _assert_fast_matches_general(value)


def test_fast_path_results_in_detail() -> None:
    assert _fast_params('digest Nonce="a, b=c", QOP=auth, x=""') == (
        "digest",
        {"nonce": ("a, b=c", True), "qop": ("auth", False), "x": ("", True)},
    )
    credentials = Credentials.parse(_SIPP + ', X-Ext="v"')
    assert credentials.extra == (AuthParam("x-ext", "v", quoted=True),)
    assert credentials == Credentials(
        username="genesys", realm="device", nonce="abc", uri="sip:127.0.0.1:5080",
        response="3b1500b861fd81d601c64a29392b4a1f", algorithm="MD5", cnonce="6b8b4567", qop="auth",
        nc="00000001", extra=(AuthParam("x-ext", "v", quoted=True),),
    )  # fmt: skip


def test_malformed_headers_keep_their_general_parser_errors() -> None:
    with pytest.raises(DigestError, match="duplicate auth-param 'realm'"):
        Credentials.parse('Digest username="u", realm="r", Realm="r", nonce="n", uri="/", response="0"')
    with pytest.raises(DigestError, match="not a Digest header"):
        Credentials.parse('Bearer username="u", realm="r", nonce="n", uri="/", response="0"')
    with pytest.raises(DigestError, match="Digest response parameter missing"):
        Credentials.parse('Digest username="u", realm="r", nonce="n", uri="/"')


_SEPARATORS = ([",", ", ", " ,", ",\t", " , ", "\t,\t"], [",,", ", ,", ";", " ", "\r\n ,", ""])
_NAMES = (
    ["username", "USERNAME", "Realm", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "qop",
     "nc", "opaque", "userhash", "stale", "domain", "x-ext", "X-EXT", "username*", "charset"],
    ["bad name", "", "a,b", '"q"'],
)  # fmt: skip
_QDTEXT = (list("abcMD5-0189 \t,=:;@/éä"), ['"', "\\", '\\"', "\x00", "\x01", "\x7f", "\r\n", "\n", "\ud800"])


@st.composite
def header_values(draw: st.DrawFn) -> str:
    """Header values near the fast path's shape: random names, quoting, values, separators, whitespace.
    Half of them are built from well-formed pieces only; the other half mix in broken ones."""
    broken = draw(st.booleans())

    def pick(choices: tuple[list[str], list[str]]) -> str:
        good, bad = choices
        return draw(st.sampled_from(good * (2 * len(bad)) + bad if broken else good))

    def quoted_text() -> str:
        return "".join(pick(_QDTEXT) for _ in range(draw(st.integers(0, 10))))

    scheme = pick((["Digest", "digest", "DIGEST"], ["Basic", "Digest,", '"Digest"', ""]))
    params = []
    for _ in range(draw(st.integers(0, 8))):
        name = pick(_NAMES)
        around = pick((["=", " = ", "\t=", "= "], ["==", "", " "]))
        if draw(st.booleans()):
            params.append(f'{name}{around}"{quoted_text()}"')
        else:
            value = quoted_text() if broken and draw(st.booleans()) else draw(token_text)
            params.append(f"{name}{around}{value}")
    gap = pick(([" ", "  ", "\t", " \t "], ["", "\r\n "]))
    text = scheme + gap + "".join(p + pick(_SEPARATORS) for p in params[:-1]) + "".join(params[-1:])
    return pick((["", " ", "\t"], ["\r\n "])) + text + pick((["", " ", "\t"], [",", "\n"]))


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(st.one_of(header_values(), mutated_headers(), header_like))
def test_fast_path_and_general_parser_agree_on_random_headers(value: str) -> None:
    _assert_fast_matches_general(value)


@settings(max_examples=200, deadline=None)
@given(structured_params)
def test_fast_path_and_general_parser_agree_on_serialized_params(params: list[tuple[str, str, bool]]) -> None:
    _assert_fast_matches_general(_structured_header([(n, v, q or not is_token(v)) for n, v, q in params]))


def _reference_challenge_str(challenge: Challenge) -> str:
    """Challenge.__str__ as it was first written: AuthParams through format_auth_header."""
    params = [AuthParam("realm", challenge.realm, quoted=True)]
    if challenge.domain:
        params.append(AuthParam("domain", " ".join(challenge.domain), quoted=True))
    params.append(AuthParam("nonce", challenge.nonce, quoted=True))
    if challenge.opaque is not None:
        params.append(AuthParam("opaque", challenge.opaque, quoted=True))
    if challenge.stale:
        params.append(AuthParam("stale", "true"))
    params.append(AuthParam("algorithm", challenge.algorithm))
    if challenge.qop:
        params.append(AuthParam("qop", ",".join(challenge.qop), quoted=True))
    if challenge.charset is not None:
        params.append(AuthParam("charset", challenge.charset))
    if challenge.userhash:
        params.append(AuthParam("userhash", "true"))
    return format_auth_header("Digest", [*params, *challenge.extra])


@settings(deadline=None)
@given(
    **challenge_fields,
    extra=st.lists(st.tuples(token_text, field_text, st.booleans()), max_size=3),
)
def test_challenge_str_renders_like_auth_params(
    realm: str,
    nonce: str,
    opaque: str | None,
    algorithm: str,
    qop: tuple[str, ...],
    stale: bool,
    domain: tuple[str, ...],
    userhash: bool,
    charset: str | None,
    extra: list[tuple[str, str, bool]],
) -> None:
    extras = {
        f"x-{name.lower()}": AuthParam(f"x-{name.lower()}", value, quoted) for name, value, quoted in extra
    }
    challenge = Challenge(
        realm=realm, nonce=nonce, algorithm=algorithm, qop=qop, opaque=opaque, stale=stale, domain=domain,
        userhash=userhash, charset=charset, extra=tuple(extras.values()),
    )  # fmt: skip
    assert str(challenge) == _reference_challenge_str(challenge)
