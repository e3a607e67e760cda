"""Datagram parsing: RFC 3261 §7 grammar, §18.3 datagram framing, errors with the status to answer."""

from __future__ import annotations

import dataclasses

import pytest

from takeback.sip import Request, Response, SipParseError, SipUri, parse_message, parse_uri
from takeback.sip.parser import error_response, parse_head

from .sip_samples import NOTIFY, OK_200, REFER, REFER_TO, SDP, crlf, invite

MINIMAL = (
    "OPTIONS sip:device@203.0.113.10 SIP/2.0\n"
    "Via: SIP/2.0/UDP 198.51.100.20;branch=z9hG4bK1\n"
    "From: <sip:a@b>;tag=1\n"
    "To: <sip:device@203.0.113.10>\n"
    "Call-ID: c1\n"
    "CSeq: 1 OPTIONS\n"
)


def message(
    extra: str = "", start: str | None = None, body: bytes = b"", base: str = MINIMAL, length: bool = True
) -> bytes:
    """A message from lines; ``Content-Length`` is added unless ``extra`` has one or ``length`` is off."""
    text = base if start is None else start + "\n" + base.split("\n", 1)[1]
    if length and not any(line.lower().startswith(("content-length:", "l:")) for line in extra.split("\n")):
        extra += f"Content-Length: {len(body)}\n"
    return crlf(text + extra + "\n") + body


def error_of(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    return info.value


# ------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("data", [invite(), REFER, OK_200, NOTIFY], ids=["invite", "refer", "200", "notify"])
def test_sample_messages_round_trip_byte_exact(data: bytes) -> None:
    assert bytes(parse_message(data)) == data


def test_genesys_invite_fields() -> None:
    msg = parse_message(invite())
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.uri == "sip:+19999990001@203.0.113.10:5060"
    assert msg.top_via.branch == "z9hG4bK-gc-7f3a1"
    assert msg.from_.tag == "gc-4411"
    assert msg.from_.display == "+13175551234"
    assert msg.to.tag is None
    assert msg.call_id == "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"
    assert (msg.cseq.seq, msg.cseq.method) == (1, "INVITE")
    assert msg.headers.get("x-inin-cnv") == "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11"
    assert msg.headers.get("X-ININ-CNV") == "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11"
    assert msg.headers.get("custom-device-token") == "1234567"
    assert msg.headers.get("User-to-User") == "00436173652D3132333435;encoding=hex"
    assert msg.body == SDP
    assert msg.max_forwards == 70
    assert msg.content_type is not None and msg.content_type.mime == "application/sdp"
    contact = msg.contact
    assert contact is not None
    assert str(contact.uri) == "sip:198.51.100.20:5060;transport=udp;gcdlg=ab12"
    assert contact.uri.params == {"transport": "udp", "gcdlg": "ab12"}  # type: ignore[union-attr]
    assert [str(r.uri) for r in msg.record_routes] == ["sip:198.51.100.20:5060;lr"]
    assert msg.allow == ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "NOTIFY", "INFO"]


def test_refer_round_trip_keeps_refer_to_byte_exact() -> None:
    msg = parse_message(REFER)
    refer_to = msg.refer_to
    assert refer_to is not None
    assert refer_to.uri.headers == {"User-to-User": "0054686973206973206d792064617461;encoding=hex"}  # type: ignore[union-attr]
    assert str(refer_to) == REFER_TO
    assert msg.headers.get("Refer-To") == REFER_TO
    assert bytes(msg) == REFER
    referred_by = msg.referred_by
    assert referred_by is not None and str(referred_by.uri) == "sip:+19999990001@203.0.113.10"


def test_response_fields() -> None:
    msg = parse_message(OK_200)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason, msg.version) == (200, "OK", "SIP/2.0")
    assert msg.top_via.received == "198.51.100.20"
    assert msg.to.tag == "dev-77"
    assert msg.body == SDP


# -------------------------------------------------------------------------------- start line


@pytest.mark.parametrize("method", ["INVITE", "FOO", "x-Custom.Method!", "PUBLISH"])
def test_unknown_methods_are_preserved(method: str) -> None:
    data = message(start=f"{method} sip:device@203.0.113.10 SIP/2.0").replace(
        b"CSeq: 1 OPTIONS", f"CSeq: 1 {method}".encode()
    )
    msg = parse_message(data)
    assert isinstance(msg, Request) and msg.method == method
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "start",
    [
        "OPTIONS  sip:device@203.0.113.10 SIP/2.0",  # two spaces
        "OPTIONS sip:device@203.0.113.10",  # no version
        "OPTIONS sip:device@203.0.113.10 SIP/2.0 extra",
        "OPT<IONS sip:device@203.0.113.10 SIP/2.0",
        "OPTIONS sip:dev ice@203.0.113.10 SIP/2.0",
        "OPTIONS sip:device@ SIP/2.0",
        "OPTIONS HTTP/1.1",
        "SIP/2.0 20 OK",
        "SIP/2.0 2000 OK",
        "SIP/2.0 099 Weird",
        "SIP/2.0 700 Too High",
        "SIP/2.0 abc OK",
        "",
    ],
)
def test_bad_start_lines_are_400(start: str) -> None:
    assert error_of(message(start=start)).status == 400


def test_other_sip_version_is_505() -> None:
    err = error_of(message(start="OPTIONS sip:device@203.0.113.10 SIP/3.0"))
    assert (err.status, err.reason) == (505, "Version Not Supported")


def test_version_is_case_insensitive() -> None:
    msg = parse_message(message(start="OPTIONS sip:device@203.0.113.10 sip/2.0"))
    assert msg.version == "sip/2.0"


def test_response_in_other_version_is_plain_400() -> None:
    data = message(start="SIP/3.0 200 OK")
    assert error_of(data).status == 400


@pytest.mark.parametrize("uri", ["urn:service:sos", "http://example.com/x", "mailto:a@b"])
def test_unsupported_request_uri_scheme_is_416(uri: str) -> None:
    err = error_of(message(start=f"OPTIONS {uri} SIP/2.0"))
    assert (err.status, err.reason) == (416, "Unsupported URI Scheme")
    assert err.partial_headers is not None and err.partial_headers.get("Call-ID") == "c1"


@pytest.mark.parametrize("uri", ["sips:device@203.0.113.10", "tel:+13175551234", "SIP:device@host"])
def test_supported_request_uri_schemes(uri: str) -> None:
    msg = parse_message(message(start=f"OPTIONS {uri} SIP/2.0"))
    assert isinstance(msg, Request) and msg.request_uri.scheme == uri.split(":", maxsplit=1)[0].lower()


def test_reason_phrase_keeps_spaces_and_utf8() -> None:
    data = message(start="SIP/2.0 480 Temporairement indisponible – réessayez")
    msg = parse_message(data)
    assert isinstance(msg, Response) and msg.reason == "Temporairement indisponible – réessayez"
    assert bytes(msg) == data


def test_empty_reason_phrase() -> None:
    msg = parse_message(message(start="SIP/2.0 200 "))
    assert isinstance(msg, Response) and (msg.status, msg.reason) == (200, "")


# ------------------------------------------------------------------------------ header lines


def test_header_names_are_case_insensitive() -> None:
    data = message().replace(b"Call-ID: c1", b"cALL-iD: c1").replace(b"CSeq:", b"CSEQ:")
    msg = parse_message(data)
    assert msg.call_id == "c1" and msg.cseq.seq == 1
    assert bytes(msg) == data  # the peer's spelling is kept


@pytest.mark.parametrize(
    ("short", "value", "long_name"),
    [
        ("i", "c1", "Call-ID"),
        ("m", "<sip:a@198.51.100.1>", "Contact"),
        ("f", "<sip:a@b>;tag=1", "From"),
        ("t", "<sip:device@203.0.113.10>", "To"),
        ("v", "SIP/2.0/UDP 198.51.100.20;branch=z9hG4bK1", "Via"),
        ("l", "0", "Content-Length"),
        ("c", "application/sdp", "Content-Type"),
        ("k", "timer", "Supported"),
        ("s", "hello", "Subject"),
        ("e", "gzip", "Content-Encoding"),
        ("r", "<sip:+33456456456@localhost>", "Refer-To"),
        ("b", "<sip:a@b>", "Referred-By"),
        ("o", "refer;id=7", "Event"),
        ("u", "refer", "Allow-Events"),
        ("x", "1800;refresher=uac", "Session-Expires"),
    ],
)
def test_every_compact_form_is_the_long_header(short: str, value: str, long_name: str) -> None:
    base = "\n".join(
        line for line in MINIMAL.split("\n") if not line.lower().startswith(long_name.lower() + ":")
    )
    for spelling in (short, short.upper()):
        data = message(f"{spelling}: {value}\n", base=base, length=short != "l")
        msg = parse_message(data)
        assert msg.headers.get(long_name) == value
        assert msg.headers.get(spelling) == value
        assert long_name in msg.headers
        assert (long_name, value) in list(msg.headers)
        assert bytes(msg) == data


def test_compact_form_message_parses_fully() -> None:
    data = (
        crlf(
            "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
            "v: SIP/2.0/TCP 198.51.100.1;branch=z9hG4bKnashds8\n"
            "i: compact-1\n"
            "f: <sip:alice@atlanta.example.com>;tag=88sja8x\n"
            "t: sip:bob@biloxi.example.com\n"
            "m: <sip:alice@198.51.100.1>\n"
            "CSeq: 1 INVITE\n"
            "k: timer, 100rel\n"
            "o: refer;id=3\n"
            "x: 1800;refresher=uac\n"
            "c: application/sdp\n"
            f"l: {len(SDP)}\n"
            "\n"
        )
        + SDP
    )
    msg = parse_message(data)
    assert msg.call_id == "compact-1"
    assert msg.top_via.transport == "TCP"
    assert msg.from_.tag == "88sja8x"
    assert str(msg.to.uri) == "sip:bob@biloxi.example.com"
    assert msg.supported == ["timer", "100rel"]
    event = msg.event
    assert event is not None and (event.value, event.id) == ("refer", "3")
    session_expires = msg.session_expires
    assert session_expires is not None and session_expires.refresher == "uac"
    assert msg.body == SDP
    assert bytes(msg) == data


def test_folded_headers_are_unfolded() -> None:
    data = crlf(
        "INVITE sip:device@203.0.113.10 SIP/2.0\n"
        "Via: SIP/2.0/UDP 198.51.100.20;branch=z9hG4bK1,\n"
        "   SIP/2.0/UDP 198.51.100.21;branch=z9hG4bK2\n"
        "From: <sip:a@b>\n"
        "\t;tag=1\n"
        "To: <sip:device@203.0.113.10>\n"
        "Subject: I know you're there,\n"
        "         pick up the phone\n"
        "         and talk to me!\n"
        "Call-ID: c1\n"
        "CSeq:\n"
        " 1\n"
        " INVITE\n"
        "Content-Length: 0\n"
        "\n"
    )
    msg = parse_message(data)
    assert [v.branch for v in msg.vias] == ["z9hG4bK1", "z9hG4bK2"]
    assert msg.from_.tag == "1"
    assert msg.headers.get("Subject") == "I know you're there, pick up the phone and talk to me!"
    assert msg.cseq.seq == 1
    again = parse_message(bytes(msg))
    assert again.headers == msg.headers


def test_continuation_line_before_any_header_is_400() -> None:
    data = crlf("OPTIONS sip:device@203.0.113.10 SIP/2.0\n Via: x\n" + MINIMAL.split("\n", 1)[1] + "\n")
    assert error_of(data).status == 400


def test_blanks_around_colon() -> None:
    data = message().replace(b"Call-ID: c1", b"Call-ID \t:\t c1 \t")
    msg = parse_message(data)
    assert msg.call_id == "c1"
    assert bytes(msg) == data


def test_repeated_headers_keep_order() -> None:
    data = message(
        "Route: <sip:p1.example.com;lr>\n"
        "X-Note: one\n"
        "Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\n"
        "X-Note: two\n"
    )
    msg = parse_message(data)
    assert [str(r.uri) for r in msg.routes] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr",
        "sip:p3.example.com;lr",
    ]
    assert msg.headers.get_all("X-Note") == ["one", "two"]
    assert msg.headers.get("x-note") == "one"
    assert msg.headers.get_raw("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>, <sip:p3.example.com;lr>",
    ]


def test_comma_lists_split_only_outside_quotes_and_brackets() -> None:
    data = message(
        'Contact: "Doe, John" <sip:jd@198.51.100.1;x=a,b>;expires=60, <sip:x@198.51.100.2>;q=0.5\n'
        "Via: SIP/2.0/UDP 198.51.100.30;branch=z9hG4bK3, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK4\n"
        "Allow: INVITE,ACK , BYE\n"
        "Supported:timer,replaces\n"
        "Date: Sat, 13 Nov 2010 23:29:00 GMT\n"
        'WWW-Authenticate: Digest realm="a, b", nonce="n", qop="auth,auth-int"\n'
        'Subject: hello, "world"\n'
    )
    msg = parse_message(data)
    contacts = msg.contacts
    assert [c.display for c in contacts] == ["Doe, John", None]
    assert str(contacts[0].uri) == "sip:jd@198.51.100.1;x=a,b"
    assert contacts[0].expires == 60 and contacts[1].param("q") == "0.5"
    assert [v.branch for v in msg.vias] == ["z9hG4bK1", "z9hG4bK3", "z9hG4bK4"]
    assert msg.vias[2].host == "2001:db8::1" and msg.vias[2].port == 5070
    assert msg.allow == ["INVITE", "ACK", "BYE"]
    assert msg.supported == ["timer", "replaces"]
    assert msg.headers.get("Date") == "Sat, 13 Nov 2010 23:29:00 GMT"
    assert msg.headers.get_all("WWW-Authenticate") == ['Digest realm="a, b", nonce="n", qop="auth,auth-int"']
    assert msg.headers.get("Subject") == 'hello, "world"'


def test_quoted_strings_with_escapes() -> None:
    data = message().replace(b"From: <sip:a@b>;tag=1", b'From: "Bob \\"the\\" \\\\ Builder" <sip:a@b>;tag=1')
    msg = parse_message(data)
    assert msg.from_.display == 'Bob "the" \\ Builder'
    assert str(msg.from_) == '"Bob \\"the\\" \\\\ Builder" <sip:a@b>;tag=1'


def test_header_and_uri_params_with_and_without_values() -> None:
    data = message(
        'Contact: <sip:a@198.51.100.1;lr;transport=TCP;ob>;+sip.instance="<urn:uuid:1>";reg-id=1;pub\n'
    )
    contact = parse_message(data).contact
    assert contact is not None
    assert contact.uri.params == {"lr": None, "transport": "TCP", "ob": None}  # type: ignore[union-attr]
    assert contact.uri.transport == "tcp"  # type: ignore[union-attr]
    assert contact.params == {"+sip.instance": '"<urn:uuid:1>"', "reg-id": "1", "pub": None}
    assert contact.has_param("PUB") and contact.param("pub") is None


def test_ipv6_references() -> None:
    data = crlf(
        "OPTIONS sip:[2001:db8::10]:5060 SIP/2.0\n"
        "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bK1;received=2001:db8::9:255\n"
        "From: <sip:a@[2001:db8::1]>;tag=1\n"
        "To: <sip:[2001:db8::10]>\n"
        "Call-ID: c1@[2001:db8::9:1]\n"
        "CSeq: 1 OPTIONS\n"
        "Content-Length: 0\n"
        "\n"
    )
    msg = parse_message(data)
    assert isinstance(msg, Request)
    assert (msg.request_uri.host, msg.request_uri.port) == ("2001:db8::10", 5060)  # type: ignore[union-attr]
    assert msg.top_via.host == "2001:db8::9:1" and msg.top_via.received == "2001:db8::9:255"
    assert msg.from_.uri.host == "2001:db8::1"  # type: ignore[union-attr]
    assert bytes(msg) == data


def test_unknown_headers_and_uri_schemes_preserved() -> None:
    data = message('X-Weird_Name.1: anything <goes> "here", really\nContact: <urn:uuid:f81d4fae>\n')
    msg = parse_message(data)
    assert msg.headers.get("x-weird_name.1") == 'anything <goes> "here", really'
    contact = msg.contact
    assert contact is not None and contact.uri.scheme == "urn" and str(contact.uri) == "urn:uuid:f81d4fae"
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "line",
    [
        "Bad Name: x",  # space inside a name
        "Na(me: x",
        ": no name",
        "no colon at all",
        "Via",  # a known name, but no colon
    ],
)
def test_bad_header_lines_are_400_with_the_other_headers(line: str) -> None:
    err = error_of(message(line + "\n"))
    assert err.status == 400
    assert err.partial_headers is not None
    assert err.partial_headers.get("Call-ID") == "c1"
    assert err.start_line == "OPTIONS sip:device@203.0.113.10 SIP/2.0"
    assert err.is_request


# ------------------------------------------------------------------------ mandatory headers


@pytest.mark.parametrize("name", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_missing_mandatory_header_is_400(name: str) -> None:
    base = "\n".join(line for line in MINIMAL.split("\n") if not line.startswith(name + ":"))
    err = error_of(message(base=base))
    assert err.status == 400 and name.lower() in str(err).lower()
    assert err.partial_headers is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSeq", "1 INVITE"),  # method does not match the request line
        ("CSeq", "2147483648 OPTIONS"),  # >= 2**31
        ("CSeq", "x OPTIONS"),
        ("CSeq", "1"),
        ("CSeq", "1 OPTIONS extra"),
        ("CSeq", "-1 OPTIONS"),
        ("CSeq", "١ OPTIONS"),  # a non-ASCII digit
        ("Call-ID", ""),
        ("Call-ID", "a b"),
        ("Via", "SIP/2.0/UDP"),
        ("Via", "HTTP/1.1 host"),
        ("Via", "SIP/2.0/UDP host:99999"),
        ("Via", "SIP/2.0/UDP host;;branch=1"),
        ("From", "<sip:a@b"),
        ("From", '"unterminated <sip:a@b>'),
        ("From", "<sip:a@b>;tag=1;=x"),
        ("To", "<sip:@host>"),
        ("To", "not a uri"),
    ],
)
def test_malformed_mandatory_header_is_400(name: str, value: str) -> None:
    lines = [f"{name}: {value}" if line.startswith(name + ":") else line for line in MINIMAL.split("\n")]
    err = error_of(message(base="\n".join(lines)))
    assert err.status == 400
    assert err.partial_headers is not None


@pytest.mark.parametrize("name", ["Call-ID", "CSeq", "From", "To"])
def test_repeated_singleton_header_is_400(name: str) -> None:
    line = next(line for line in MINIMAL.split("\n") if line.startswith(name + ":"))
    assert error_of(message(line + "\n")).status == 400


def test_mandatory_headers_in_a_response() -> None:
    data = crlf("SIP/2.0 200 OK\nCall-ID: x\n\n")
    err = error_of(data)
    assert err.status == 400 and not err.is_request


# ------------------------------------------------------------------------ datagram framing


def test_body_is_bounded_by_content_length_and_extra_bytes_dropped() -> None:
    data = message("Content-Length: 5\n", body=b"hello, and garbage after")
    msg = parse_message(data)
    assert msg.body == b"hello"
    assert bytes(msg) == message("Content-Length: 5\n", body=b"hello")


def test_absent_content_length_takes_the_rest_of_the_datagram() -> None:
    msg = parse_message(message(body=b"v=0\r\n", length=False))
    assert msg.body == b"v=0\r\n"
    assert msg.content_length is None
    assert bytes(msg).endswith(b"Content-Length: 5\r\n\r\nv=0\r\n")


def test_content_length_larger_than_the_datagram_is_400() -> None:
    err = error_of(message("Content-Length: 50\n", body=b"short"))
    assert err.status == 400 and err.partial_headers is not None


@pytest.mark.parametrize("value", ["-1", "abc", "1 2", "", "9999999999", "٣"])
def test_bad_content_length_is_400(value: str) -> None:
    assert error_of(message(f"Content-Length: {value}\n")).status == 400


def test_conflicting_content_lengths_are_400_identical_ones_fine() -> None:
    assert error_of(message("Content-Length: 0\nl: 3\n", body=b"abc")).status == 400
    assert parse_message(message("Content-Length: 3\nl: 3\n", body=b"abc")).body == b"abc"


def test_oversized_datagram_is_513() -> None:
    err = error_of(message("X-Big: " + "a" * 70000 + "\n"))
    assert (err.status, err.reason) == (513, "Message Too Large")
    with pytest.raises(SipParseError) as info:
        parse_message(message(), max_size=100)
    assert info.value.status == 513


def test_bare_lf_messages_are_understood() -> None:
    data = message("Content-Length: 4\n", body=b"body").replace(b"\r\n", b"\n")
    msg = parse_message(data)
    assert msg.call_id == "c1" and msg.body == b"body"
    assert b"\r\n" in bytes(msg)


def test_bare_lf_blank_line_before_a_crlf_crlf_in_the_body() -> None:
    data = message(length=False).replace(b"\r\n", b"\n") + b"body\r\n\r\nmore"
    msg = parse_message(data)
    assert msg.body == b"body\r\n\r\nmore"


def test_leading_crlfs_are_skipped_and_an_empty_datagram_is_an_error() -> None:
    assert parse_message(b"\r\n\r\n" + message()).call_id == "c1"
    err = error_of(b"\r\n\r\n")
    assert err.partial_headers is None
    assert error_of(b"").partial_headers is None


def test_missing_blank_line() -> None:
    data = message(length=False)[:-2]  # ends with the last header's CRLF
    assert parse_message(data).call_id == "c1"
    assert error_of(data[:-2]).status == 400  # no line end at all: truncated


def test_non_utf8_bytes_round_trip() -> None:
    data = message("Subject: cafX\n").replace(b"cafX", b"caf\xe9\xff")
    msg = parse_message(data)
    assert bytes(msg) == data


def test_parse_head_alone() -> None:
    head = message()[:-4]
    msg = parse_head(head)
    assert msg.call_id == "c1" and msg.body == b""


# -------------------------------------------------------------------- answering bad requests


def test_error_response_echoes_the_routing_headers() -> None:
    data = message("Max-Forwards: 70\n").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    err = error_of(data)
    response = error_response(err, to_tag="t9")
    assert response is not None
    assert (response.status, response.reason) == (400, "Bad Request")
    assert response.headers.get_raw("Via") == ["SIP/2.0/UDP 198.51.100.20;branch=z9hG4bK1"]
    assert response.headers.get("From") == "<sip:a@b>;tag=1"
    assert response.headers.get("To") == "<sip:device@203.0.113.10>;tag=t9"
    assert response.headers.get("Call-ID") == "c1"
    assert response.headers.get("CSeq") == "1 INVITE"
    reparsed = parse_message(bytes(response))
    assert isinstance(reparsed, Response) and reparsed.to.tag == "t9"


def test_error_response_for_505_and_416() -> None:
    err = error_of(message(start="OPTIONS sip:device@203.0.113.10 SIP/3.0"))
    response = error_response(err)
    assert response is not None and response.status == 505
    err = error_of(message(start="OPTIONS urn:service:sos SIP/2.0"))
    response = error_response(err)
    assert response is not None and response.status == 416


def test_no_error_response_for_responses_or_unroutable_requests() -> None:
    assert error_response(error_of(message(start="SIP/2.0 2000 OK"))) is None
    base = "\n".join(line for line in MINIMAL.split("\n") if not line.startswith("Via:"))
    assert error_response(error_of(message(base=base))) is None
    assert error_response(error_of(b"garbage")) is None


def test_only_sip_parse_errors_escape() -> None:
    for data in (b"\x00\xff" * 40, b"INVITE", b"SIP/2.0", b":\r\n\r\n", b"\r\n \r\n\r\n", b"A B C\r\n\r\n"):
        with pytest.raises(SipParseError):
            parse_message(data)
    assert issubclass(SipParseError, ValueError)


# ---------------------------------------------------------- RFC 4475-style torture messages


def test_extensive_whitespace_and_folding() -> None:
    """In the spirit of RFC 4475 §3.1.1.1: LWS everywhere it is allowed."""
    data = crlf(
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
        "TO :\n"
        " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
        'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n'
        "  ;\n"
        "  tag = 98asjd8\n"
        "MaX-fOrWaRdS: 0068\n"
        "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
        "Content-Length   : 0\n"
        "cseq: 0009\n"
        "  INVITE\n"
        "Via  : SIP  /   2.0\n"
        " /UDP\n"
        "    192.0.2.2;branch=390skdjuw\n"
        "s :\n"
        "NewFangledHeader:   newfangled value\n"
        " continued newfangled value\n"
        "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
        "\n"
    )
    msg = parse_message(data)
    assert isinstance(msg, Request)
    assert msg.to.tag == "1918181833n" and str(msg.to.uri) == "sip:vivekg@chair-dnrc.example.com"
    assert msg.from_.display == 'J Rosenberg \\"' and msg.from_.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert (msg.cseq.seq, msg.cseq.method) == (9, "INVITE")
    assert (msg.top_via.transport, msg.top_via.host, msg.top_via.branch) == ("UDP", "192.0.2.2", "390skdjuw")
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"


def test_display_name_glued_to_the_uri_and_odd_user_parts() -> None:
    data = message().replace(b"From: <sip:a@b>;tag=1", b"From: caller<sip:caller@example.com>;tag=323")
    data = data.replace(
        b"OPTIONS sip:device@203.0.113.10", b"OPTIONS sip:user;par=u%40example.net@example.com"
    )
    data = data.replace(b"To: <sip:device@203.0.113.10>", b"To: sip:user;par=u%40example.net@example.com")
    msg = parse_message(data)
    assert isinstance(msg, Request)
    assert msg.from_.display == "caller" and msg.from_.tag == "323"
    assert msg.request_uri.user == "user;par=u@example.net"  # type: ignore[union-attr]
    assert msg.request_uri.host == "example.com"  # type: ignore[union-attr]
    # In a header's addr-spec form everything after ";" is a header parameter (RFC 3261 §20.10).
    assert str(msg.to.uri) == "sip:user" and msg.to.params == {"par": "u%40example.net@example.com"}


def test_unusual_but_valid_method_and_escaped_request_uri() -> None:
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    uri = (
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
        "@example.com"
    )
    data = message(start=f"{method} {uri} SIP/2.0").replace(b"CSeq: 1 OPTIONS", f"CSeq: 1 {method}".encode())
    msg = parse_message(data)
    assert isinstance(msg, Request) and msg.method == method
    ruri = msg.request_uri
    assert isinstance(ruri, SipUri) and ruri.host == "example.com"
    assert ruri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert ruri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert parse_uri(str(dataclasses.replace(ruri))) == ruri


@pytest.mark.parametrize(
    ("start", "status"),
    [
        ("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0", 416),
        ("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", 416),
        ("INVITE <sip:user@example.com> SIP/2.0", 400),
        ("INVITE  sip:user@example.com  SIP/2.0", 400),
        ("INVITE sip:user@example.com SIP/2.0 ", 400),
        ("INVITE sip:user@example.com; lr SIP/2.0", 400),
        ("SIP/2.0 4294967301 better not break the receiver", 400),
        ("INVITE sip:user@example.com SIP/7.0", 505),
    ],
)
def test_torture_start_lines(start: str, status: int) -> None:
    method = start.split(" ", maxsplit=1)[0]
    data = message(start=start).replace(b"CSeq: 1 OPTIONS", f"CSeq: 1 {method}".encode())
    assert error_of(data).status == status


@pytest.mark.parametrize(
    "line",
    [
        "Content-Length: 9999999999999999999999",
        "Content-Length: -999",
        'To: "Mr. J. User <sip:j.user@example.com>',
        "CSeq: 36893488147419103232 OPTIONS",
    ],
)
def test_torture_header_values(line: str) -> None:
    name = line.split(":", maxsplit=1)[0]
    base = "\n".join(existing for existing in MINIMAL.split("\n") if not existing.startswith(name + ":"))
    assert error_of(message(line + "\n", base=base)).status == 400


def test_two_requests_in_one_datagram_take_the_first() -> None:
    first = message()
    msg = parse_message(first + message().replace(b"c1", b"c2"))
    assert msg.call_id == "c1" and msg.body == b""


def test_bytearray_and_memoryview_input() -> None:
    data = message()
    for view in (bytearray(data), memoryview(data)):
        msg = parse_message(view)  # type: ignore[arg-type]
        assert msg.call_id == "c1" and type(msg.body) is bytes


def test_a_malformed_ack_is_never_answered() -> None:
    """RFC 3261 §17: an ACK gets no response, even when it cannot be parsed (SIPp ACKing a 400)."""
    data = message("Max-Forwards: 70\n").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 ACK")
    assert error_response(error_of(data)) is None


def test_wire_keeps_the_bytes_as_received() -> None:
    """A trace or pcap must show what arrived: ``bytes(message)`` re-serialises (folding undone)."""
    data = crlf(MINIMAL + "Subject: folded\n  over two lines\nContent-Length: 0\n\n")
    message = parse_message(data)
    assert message.wire == data and bytes(message) != data
    assert Request("OPTIONS", "sip:x@y", None).wire is None
