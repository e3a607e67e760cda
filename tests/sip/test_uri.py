"""URIs: sip/sips/tel/absolute, params, URI headers decoded once, escaping (RFC 3261 §19.1, §25.1)."""

from __future__ import annotations

import dataclasses

import pytest

from takeback.sip import (
    AbsoluteUri,
    Headers,
    Request,
    SipParseError,
    SipUri,
    TelUri,
    parse_message,
    parse_uri,
)
from takeback.sip.headers import NameAddr, parse_name_addr
from takeback.sip.uri import (
    HEADER_SAFE,
    USER_SAFE,
    escape,
    format_host,
    looks_like_simple_sip_uri,
    parse_hostport,
    unescape,
)

from .sip_samples import REFER, REFER_TO

UUI_VALUE = "0054686973206973206d792064617461;encoding=hex"
REFER_TO_URI = REFER_TO[1:-1]


def sip(text: str) -> SipUri:
    uri = parse_uri(text)
    assert isinstance(uri, SipUri)
    return uri


def test_full_sip_uri() -> None:
    uri = sip(
        "sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project&priority=urgent"
    )
    assert uri.scheme == "sips" and uri.is_secure
    assert (uri.user, uri.password) == ("alice", "secret")
    assert (uri.host, uri.port, uri.hostport) == ("atlanta.example.com", 5061, "atlanta.example.com:5061")
    assert uri.params == {"transport": "tcp", "lr": None, "maddr": "239.255.255.1"}
    assert uri.transport == "tcp"
    assert uri.param("LR") is None and uri.has_param("Lr") and uri.param("MADDR") == "239.255.255.1"
    assert uri.headers == {"subject": "project", "priority": "urgent"}


@pytest.mark.parametrize(
    "text",
    [
        "sip:198.51.100.20:5060;transport=udp;gcdlg=ab12",
        "sip:+19999990001@203.0.113.10:5060",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:alice;day=tuesday@atlanta.com",
        "sip:+1234;phone-context=example.com@gw.example.com;user=phone",
        "SIP:Alice@Atlanta.COM",
        "sip:[2001:db8::1]:5060;lr",
        "sip:user@[::ffff:192.0.2.1]",
        REFER_TO_URI,
        "sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461;encoding=hex",
        "sip:+33456456456@localhost?User-to-User%3D0054686973206973206d792064617461%3Bencoding%3Dhex",
        "sip:host?Replaces=abc@def%3Bto-tag%3D1%3Bfrom-tag%3D2",
        "tel:+1-201-555-0123;ext=1234",
        "tel:7042;phone-context=example.com",
        "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "mailto:alice@example.com",
    ],
)
def test_str_of_a_parsed_uri_is_the_text_it_came_from(text: str) -> None:
    assert str(parse_uri(text)) == text
    assert parse_uri(str(parse_uri(text))) == parse_uri(text)


def test_user_is_unescaped_once_and_reescaped_when_rebuilt() -> None:
    uri = sip("sip:%61lice%2540x@atlanta.com")
    assert uri.user == "alice%40x"
    rebuilt = dataclasses.replace(uri)
    assert str(rebuilt) == "sip:alice%2540x@atlanta.com"


def test_telephone_subscriber_user_keeps_its_semicolon() -> None:
    uri = sip("sip:+1234;phone-context=example.com@gw.example.com;user=phone")
    assert uri.user == "+1234;phone-context=example.com"
    assert uri.params == {"user": "phone"}
    assert str(dataclasses.replace(uri)) == "sip:+1234;phone-context=example.com@gw.example.com;user=phone"


def test_refer_to_uri_headers_decoded_exactly_once() -> None:
    uri = sip(REFER_TO_URI)
    assert (uri.user, uri.host, uri.port, uri.params) == ("+33456456456", "localhost", None, {})
    assert uri.headers == {"User-to-User": UUI_VALUE}
    twice_escaped = sip("sip:x@h?User-to-User=00%253B")
    assert twice_escaped.headers == {"User-to-User": "00%3B"}


def test_refer_to_built_from_parts_is_rfc_escaped() -> None:
    uri = SipUri(user="+33456456456", host="localhost", headers={"User-to-User": UUI_VALUE})
    assert str(uri) == REFER_TO_URI
    assert str(NameAddr(uri)) == REFER_TO


def test_the_three_refer_to_spellings_give_the_same_header_value() -> None:
    """GENESYS.md §12.1: the RFC form, the unescaped ';encoding=hex' and the escaped '=' form."""
    forms = [
        REFER_TO_URI,
        "sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461;encoding=hex",
        "sip:+33456456456@localhost?User-to-User%3D0054686973206973206d792064617461%3Bencoding%3Dhex",
    ]
    for text in forms:
        uri = sip(text)
        assert uri.headers == {"User-to-User": UUI_VALUE}, text
        assert str(uri) == text  # verbatim, so a checker can tell which spelling the peer used
        assert str(dataclasses.replace(uri)) == REFER_TO_URI  # rebuilt: the RFC form


def test_refer_with_refer_to_built_by_us_is_byte_exact() -> None:
    original = parse_message(REFER)
    assert isinstance(original, Request)
    headers = Headers()
    for name, value in original.headers.items_as_written():
        if name == "Refer-To":
            target = SipUri(user="+33456456456", host="localhost", headers={"User-to-User": UUI_VALUE})
            value = str(NameAddr(target))
        headers.add(name, value)
    rebuilt = Request(original.method, original.uri, headers)
    assert bytes(rebuilt) == REFER


def test_escape_rules_per_component() -> None:
    assert escape("a;b=c&d%e@f?g", HEADER_SAFE) == "a%3Bb%3Dc%26d%25e%40f?g"
    assert escape("+1;x=y", USER_SAFE) == "+1;x=y"
    assert escape("a@b:c?d", USER_SAFE) == "a%40b%3Ac%3Fd"
    assert escape("é", HEADER_SAFE) == "%C3%A9"
    assert escape("[]/?:+$", HEADER_SAFE) == "[]/?:+$"
    assert unescape("%C3%A9%3b%zz%4") == "é;%zz%4"
    assert unescape("%ff") == "\udcff" and escape("\udcff", HEADER_SAFE) == "%FF"
    assert unescape("plain") == "plain"


def test_password_needs_escaping() -> None:
    uri = SipUri(user="bob", password="p@ss:w;d", host="h")
    assert str(uri) == "sip:bob:p%40ss%3Aw%3Bd@h"
    assert parse_uri(str(uri)) == uri


def test_ipv6_hosts() -> None:
    uri = sip("sip:[2001:db8::1]:5070")
    assert (uri.host, uri.port, uri.hostport) == ("2001:db8::1", 5070, "[2001:db8::1]:5070")
    assert str(SipUri(host="2001:db8::1")) == "sip:[2001:db8::1]"
    assert format_host("::1") == "[::1]" and format_host("h") == "h"
    assert parse_hostport("[::1]:5060") == ("::1", 5060)
    assert parse_hostport("example.com") == ("example.com", None)


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;ext=1234;isub=1")
    assert isinstance(uri, TelUri)
    assert (uri.number, uri.is_global, uri.param("EXT")) == ("+1-201-555-0123", True, "1234")
    assert str(uri) == "tel:+1-201-555-0123;ext=1234;isub=1"
    assert not TelUri("7042", {"phone-context": "example.com"}).is_global


def test_absolute_uri_is_opaque() -> None:
    uri = parse_uri("urn:service:sos")
    assert uri == AbsoluteUri("urn", "service:sos")
    assert str(parse_uri("HTTP://Example.com/a?b=c")) == "http://Example.com/a?b=c"  # scheme normalised


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip",
        "sip:",
        ":x",
        "1sip:a@b",
        "sip:@host",
        "sip:user@",
        "sip:host:",
        "sip:host:65536",
        "sip:host:5060x",
        "sip:ho st",
        "sip:host;",
        "sip:host;;lr",
        "sip:host;=x",
        "sip:host?=x",
        "sip:[2001:db8::1",
        "sip:[zz::1]",
        "sip:a@b@c",
        "sip:us<er@host",
        "sip:host;a=b c",
        "tel:",
        "tel:+1 2",
        "urn:",
        "urn:a b",
    ],
)
def test_malformed_uris_raise_400(text: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_uri(text)
    assert info.value.status == 400


def test_parsed_uris_are_frozen_hashable_and_compare_by_value() -> None:
    a = sip("sip:alice@atlanta.com;transport=tcp")
    b = SipUri(user="alice", host="atlanta.com", params={"transport": "tcp"})
    assert a == b and hash(a) == hash(b)
    assert {a, b} == {a}
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.host = "x"  # type: ignore[misc]
    assert hash(parse_uri("tel:+1")) == hash(TelUri("+1"))


def test_fast_path_and_general_path_agree() -> None:
    for text in ("sip:a@b", "sip:a%20b@host:5060;x=1?h=v", "sip:host?a=1&b=2"):
        assert looks_like_simple_sip_uri(text)
    for text in ("SIP:a@b", "sip:a:pw@b", "sip:a;b@c", "sip:host:70000"):
        assert not looks_like_simple_sip_uri(text)


def test_name_addr_uri_is_built_lazily_but_equal() -> None:
    lazy = parse_name_addr('"Bob" <sip:bob@biloxi.example.com:5062;transport=tcp>;tag=9')
    eager = NameAddr(sip("sip:bob@biloxi.example.com:5062;transport=tcp"), "Bob", {"tag": "9"})
    assert lazy == eager and hash(lazy) == hash(eager)
    assert lazy.uri.port == 5062  # type: ignore[union-attr]
    assert repr(lazy) == repr(eager)
    with pytest.raises(AttributeError):
        lazy.no_such_attribute  # type: ignore[attr-defined]  # noqa: B018
