"""Typed header values and the shared grammar pieces (RFC 3261 §20, §25.1; RFC 3581, 4028, 6665)."""

from __future__ import annotations

import dataclasses

import pytest

from takeback.sip import CSeq, MediaType, NameAddr, ParamValue, SipParseError, SipUri, Via, parse_uri
from takeback.sip.headers import (
    STAR,
    parse_cseq,
    parse_media_type,
    parse_name_addr,
    parse_param_value,
    parse_session_expires,
    parse_subscription_state,
    parse_token_list,
    parse_via,
    uri_user,
)
from takeback.sip.params import format_params, parse_params, quote, split_comma_list, unquote

# ------------------------------------------------------------------------------------- Via


def test_via_fields() -> None:
    via = parse_via("SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1;received=192.0.2.1;rport=5070")
    assert (via.protocol, via.transport, via.host, via.port) == ("SIP/2.0", "UDP", "198.51.100.20", 5060)
    assert via.sent_by == ("198.51.100.20", 5060)
    assert via.branch == "z9hG4bK-gc-7f3a1"
    assert via.received == "192.0.2.1"
    assert (via.has_rport, via.rport) == (True, 5070)
    assert str(via) == "SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1;received=192.0.2.1;rport=5070"


def test_via_rport_flag_rfc3581() -> None:
    via = parse_via("SIP/2.0/UDP host;rport;branch=z9hG4bK1")
    assert (via.has_rport, via.rport, via.port) == (True, None, None)
    assert not parse_via("SIP/2.0/UDP host;branch=z9hG4bK1").has_rport


def test_via_with_linear_whitespace_everywhere() -> None:
    via = parse_via(
        "SIP / 2.0 / tcp\tfirst.example.com : 4000 ; ttl = 16 ; maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1"
    )
    assert (via.transport, via.host, via.port) == ("TCP", "first.example.com", 4000)
    assert via.params == {"ttl": "16", "maddr": "224.2.0.1", "branch": "z9hG4bKa7c6a8dlze.1"}
    assert via.maddr == "224.2.0.1"


def test_via_ipv6_and_case() -> None:
    via = parse_via("sip/2.0/tls [2001:db8::9:1]:5061;branch=z9hG4bK1;received=2001:db8::9:255")
    assert (via.protocol, via.transport, via.host, via.port) == ("SIP/2.0", "TLS", "2001:db8::9:1", 5061)
    assert str(via) == "SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK1;received=2001:db8::9:255"


def test_via_params_case_insensitive_and_quoted() -> None:
    via = parse_via('SIP/2.0/UDP h;BRANCH=z9hG4bK1;x="a;b"')
    assert via.branch == "z9hG4bK1"
    assert via.param("X") == '"a;b"'


@pytest.mark.parametrize(
    "value",
    ["", "SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host:0x1", "SIP/2.0/UDP host:70000", "SIP/2.0/UDP h;",
     "SIP/2.0/UDP h;a b=1", "SIP/2.0/UDP [::1", "SIP/2.0//UDP host"],
)  # fmt: skip
def test_bad_vias(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_via(value)


def test_via_round_trip_from_parts() -> None:
    via = Via("TCP", "2001:db8::1", 5070, {"branch": "z9hG4bKx", "rport": None})
    assert parse_via(str(via)) == via
    assert hash(via) == hash(parse_via(str(via)))


# -------------------------------------------------------------------------------- name-addr


@pytest.mark.parametrize(
    ("text", "display", "uri", "params"),
    [
        ('"+13175551234" <sip:+13175551234@198.51.100.20>;tag=gc-4411', "+13175551234",
         "sip:+13175551234@198.51.100.20", {"tag": "gc-4411"}),
        ("<sip:+19999990001@203.0.113.10>", None, "sip:+19999990001@203.0.113.10", {}),
        ("Bob  Smith <sip:bob@h>", "Bob Smith", "sip:bob@h", {}),
        ("sip:bob@h;tag=9", None, "sip:bob@h", {"tag": "9"}),
        ("sip:bob@h", None, "sip:bob@h", {}),
        ('"" <sip:bob@h>', "", "sip:bob@h", {}),
        ('"Café ☎" <sip:bob@h> ; tag = 1', "Café ☎", "sip:bob@h", {"tag": "1"}),
        ("<sip:a@h;lr;transport=tcp>;expires=60;q=0.7", None, "sip:a@h;lr;transport=tcp",
         {"expires": "60", "q": "0.7"}),
        ("  <tel:+1-555>  ", None, "tel:+1-555", {}),
        ('"a\\"b\\\\c" <sip:a@h>', 'a"b\\c', "sip:a@h", {}),
        ("<urn:uuid:1>;+sip.instance=\"<urn:uuid:2>\"", None, "urn:uuid:1",
         {"+sip.instance": '"<urn:uuid:2>"'}),
    ],
)  # fmt: skip
def test_name_addr_forms(text: str, display: str | None, uri: str, params: dict[str, str]) -> None:
    na = parse_name_addr(text)
    assert na.display == display
    assert str(na.uri) == uri
    assert dict(na.params) == params
    assert parse_name_addr(str(na)) == na


def test_name_addr_tag_and_copies() -> None:
    na = parse_name_addr("<sip:a@h>;TAG=x;expires=5")
    assert na.tag == "x" and na.expires == 5
    tagged = na.with_tag("y")
    assert tagged.params == {"TAG": "y", "expires": "5"} and tagged.tag == "y"
    assert str(parse_name_addr("<sip:a@h>").with_tag("t1")) == "<sip:a@h>;tag=t1"
    assert str(na.with_params(expires=None, q="1")) == "<sip:a@h>;TAG=x;expires;q=1"
    assert na.tag == "x"  # the original is untouched


def test_contact_star() -> None:
    assert parse_name_addr("*") is STAR and STAR.star and str(STAR) == "*"


def test_name_addr_str_quotes_display() -> None:
    na = NameAddr(SipUri(user="a", host="h"), 'say "hi" \\o/')
    assert str(na) == '"say \\"hi\\" \\\\o/" <sip:a@h>'
    assert parse_name_addr(str(na)).display == 'say "hi" \\o/'


@pytest.mark.parametrize(
    "text",
    ["", "<sip:a@h", '"unterminated <sip:a@h>', '"quoted" sip:a@h', "<sip:a@h>junk", "<sip:a@h>;=1",
     "<>", "Bob <not a uri>", "sip:a@h?x=1", "sip:a@h,sip:b@h", "Bo\x01b <sip:a@h>"],
)  # fmt: skip
def test_bad_name_addrs(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(text)


def test_uri_user() -> None:
    assert uri_user(parse_uri("sip:+1@h")) == "+1"
    assert uri_user(parse_uri("tel:+2")) == "+2"
    assert uri_user(parse_uri("urn:x:y")) is None


# ----------------------------------------------------------------------------- small values


def test_cseq() -> None:
    assert parse_cseq("4711 INVITE") == CSeq(4711, "INVITE")
    assert parse_cseq("  1 \t FOO ") == CSeq(1, "FOO")
    assert str(CSeq(2147483647, "BYE")) == "2147483647 BYE"
    for bad in ("", "1", "INVITE 1", "2147483648 BYE", "1 IN VITE", "1 IN<VITE", "01234567890 BYE"):
        with pytest.raises(SipParseError):
            parse_cseq(bad)


def test_media_type() -> None:
    media = parse_media_type("Message/SIPfrag ; version=2.0")
    assert media == MediaType("message", "sipfrag", {"version": "2.0"})
    assert media.mime == "message/sipfrag" and media.param("VERSION") == "2.0"
    assert str(media) == "message/sipfrag;version=2.0"
    for bad in ("", "text", "/plain", "text/", "te xt/plain"):
        with pytest.raises(SipParseError):
            parse_media_type(bad)


def test_param_value_event() -> None:
    event = parse_param_value("refer;id=93809824")
    assert (event.value, event.id) == ("refer", "93809824")
    assert ParamValue("refer").id is None
    assert parse_param_value("3600").delta == 3600
    assert parse_param_value("x;y=7").int_param("Y") == 7
    with pytest.raises(SipParseError):
        parse_param_value(";id=1")


def test_subscription_state() -> None:
    active = parse_subscription_state("active;expires=60")
    assert (active.state, active.expires, active.is_terminated) == ("active", 60, False)
    done = parse_subscription_state("Terminated;reason=noresource;retry-after=5")
    assert (done.state, done.reason, done.retry_after, done.is_terminated) == (
        "terminated",
        "noresource",
        5,
        True,
    )
    with pytest.raises(SipParseError):
        parse_subscription_state("act ive")


def test_session_expires() -> None:
    se = parse_session_expires("1800;refresher=UAC")
    assert (se.seconds, se.refresher, se.delta) == (1800, "uac", 1800)
    assert parse_session_expires("90").refresher is None
    for bad in ("", "abc", "-1", "18 00;refresher=uac"):
        with pytest.raises(SipParseError):
            parse_session_expires(bad)


def test_token_lists() -> None:
    assert parse_token_list(["timer", "100rel"]) == ["timer", "100rel"]
    with pytest.raises(SipParseError):
        parse_token_list(["ti mer"])


# --------------------------------------------------------------------------- grammar pieces


def test_split_comma_list() -> None:
    assert split_comma_list("a, b ,c") == ["a", "b", "c"]
    assert split_comma_list('"x, y" <sip:a@h;p=1,2>, <sip:b@h>') == ['"x, y" <sip:a@h;p=1,2>', "<sip:b@h>"]
    assert split_comma_list('"a\\", b" <sip:a@h>') == ['"a\\", b" <sip:a@h>']
    assert split_comma_list(" ,, ") == [] and split_comma_list("") == [] and split_comma_list("x") == ["x"]
    with pytest.raises(SipParseError):
        split_comma_list('"open, quote')


def test_quote_unquote() -> None:
    assert unquote('"a\\"b\\\\c"') == 'a"b\\c'
    assert unquote("plain") == "plain" and unquote('"') == '"'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    for text in ("", "x", 'a"', "\\", 'é "q"'):
        assert unquote(quote(text)) == text


def test_params() -> None:
    assert parse_params(';a=1;b;c="x;y"') == {"a": "1", "b": None, "c": '"x;y"'}
    assert parse_params(" ; a = 1 ; b ") == {"a": "1", "b": None}
    assert parse_params("") == {}
    assert format_params({"a": "1", "b": None}) == ";a=1;b"
    for bad in ("a=1", ";", ";a;;b", ";=1", ';a="x', ';a="x"y', ";a b=1"):
        with pytest.raises(SipParseError):
            parse_params(bad)


def test_value_objects_are_frozen() -> None:
    via = parse_via("SIP/2.0/UDP h;branch=z9hG4bK1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        via.host = "x"  # type: ignore[misc]
    assert dataclasses.replace(via, port=5060).port == 5060
