"""The message model: Headers multi-map, Request/Response, typed accessors, serialisation."""

from __future__ import annotations

import copy

import pytest

from takeback.sip import Headers, Request, Response, SipParseError, SipUri, parse_message
from takeback.sip.fields import COMPACT_FORMS, canonical_name, header_key

from .sip_samples import NOTIFY, REFER, SDP, invite


def test_header_keys_and_canonical_names() -> None:
    assert header_key("v") == header_key("VIA") == header_key("via ") == "via"
    assert canonical_name("i") == "Call-ID" and canonical_name("cseq") == "CSeq"
    assert canonical_name("x-inin-cnv") == "x-inin-cnv"
    assert sorted(COMPACT_FORMS)[:15] == sorted("abcdefijklmnorstuvxy")[:15]
    for short in "imftvlckserbo ux".replace(" ", ""):
        assert short in COMPACT_FORMS


def test_headers_multimap_api() -> None:
    h = Headers(
        [("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("X-A", "1"), ("v", "SIP/2.0/UDP b;branch=z9hG4bK2")]
    )
    assert h.get("VIA") == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert h.get_all("via") == ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2"]
    assert h.count("Via") == 2 and len(h) == 3
    assert "x-a" in h and "X-B" not in h and 5 not in h
    assert h["x-a"] == "1"
    with pytest.raises(KeyError):
        h["missing"]
    assert h.get("missing", "dflt") == "dflt"
    assert list(h) == [
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
        ("X-A", "1"),
        ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"),
    ]
    assert h.items_as_written()[2] == ("v", "SIP/2.0/UDP b;branch=z9hG4bK2")


def test_headers_mutation() -> None:
    h = Headers([("Via", "v1, v2"), ("To", "<sip:a@h>"), ("Via", "v3")])
    h.add_first("Via", "v0")
    assert h.get_all("Via") == ["v0", "v1", "v2", "v3"]
    assert h.pop_first("Via") == "v0"
    assert h.pop_first("Via") == "v1"
    assert h.get_raw("Via") == ["v2", "v3"]
    h.add_first("X-New", "first-of-its-name")
    assert h.items_as_written()[-1] == ("X-New", "first-of-its-name")
    h.set("via", "only")
    assert h.get_raw("Via") == ["only"] and h.items_as_written()[0] == ("Via", "only")
    h["Subject"] = "s"
    assert h.get("Subject") == "s"
    assert h.remove("Subject") == 1 and h.remove("Subject") == 0
    del h["To"]
    with pytest.raises(KeyError):
        del h["To"]
    assert h.pop_first("To") is None
    copied = h.copy()
    copied.add("X-Copy", "1")
    assert "X-Copy" not in h and copied != h
    assert Headers([("A", "1")]) == Headers([("a", " 1 ")])


@pytest.mark.parametrize(
    ("name", "value"), [("Bad Name", "x"), ("", "x"), ("X", "a\r\nInjected: 1"), ("X", "a\nb")]
)
def test_headers_refuse_what_would_corrupt_the_message(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="header"):
        Headers([(name, value)])


def test_typed_cache_is_dropped_on_every_mutation() -> None:
    msg = parse_message(invite())
    assert msg.from_.tag == "gc-4411"
    msg.headers.set("From", "<sip:x@h>;tag=new")
    assert msg.from_.tag == "new"
    assert msg.top_via.branch == "z9hG4bK-gc-7f3a1"
    msg.headers.add_first("Via", "SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKtop")
    assert msg.top_via.branch == "z9hG4bKtop"
    assert [v.branch for v in msg.vias] == ["z9hG4bKtop", "z9hG4bK-gc-7f3a1"]
    msg.headers.pop_first("Via")
    assert msg.top_via.branch == "z9hG4bK-gc-7f3a1"
    msg.invalidate()
    assert msg.cseq.seq == 1


def test_build_request_and_serialise() -> None:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-1;rport"),
            ("Max-Forwards", "70"),
            ("From", "<sip:+19999990001@203.0.113.10>;tag=dev-1"),
            ("To", "<sip:+13175551234@198.51.100.20>"),
            ("Call-ID", "abc"),
            ("CSeq", "1 OPTIONS"),
        ]
    )
    request = Request("OPTIONS", SipUri(host="198.51.100.20", port=5060), headers)
    assert request.uri == "sip:198.51.100.20:5060"
    assert request.request_uri == SipUri(host="198.51.100.20", port=5060)
    data = bytes(request)
    assert data.startswith(b"OPTIONS sip:198.51.100.20:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060")
    assert data.endswith(b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    again = parse_message(data)
    assert again.headers == request.headers.copy() or again.headers.get("Content-Length") == "0"
    assert repr(request) == "<Request OPTIONS sip:198.51.100.20:5060>"
    request.uri = "sip:other@host"
    assert request.request_uri == SipUri(user="other", host="host")


def test_build_response() -> None:
    response = Response(180, "Ringing")
    assert response.is_provisional and not response.is_success and not response.is_request
    assert bytes(response) == b"SIP/2.0 180 Ringing\r\nContent-Length: 0\r\n\r\n"
    assert repr(response) == "<Response 180 Ringing>"
    assert Response(204, "No Notification").is_success


def test_content_length_always_matches_the_body() -> None:
    msg = parse_message(invite())
    msg.body = b"v=0\r\n"
    data = bytes(msg)
    assert b"\r\nContent-Length: 5\r\n" in data and data.endswith(b"\r\n\r\nv=0\r\n")
    assert parse_message(data).body == b"v=0\r\n"
    compact = parse_message(invite().replace(b"Content-Length:", b"l:"))
    compact.body = b""
    assert b"\r\nl: 0\r\n" in bytes(compact)


def test_duplicate_content_lengths_collapse_on_output() -> None:
    data = invite(b"").replace(b"Content-Length: 0\r\n", b"Content-Length: 0\r\nl: 0\r\n")
    msg = parse_message(data)
    msg.body = b"abc"
    out = bytes(msg)
    assert out.count(b"Content-Length") == 1 and b"\r\nl: " not in out


def test_extension_accessors() -> None:
    data = NOTIFY.replace(
        b"Event: refer\r\n", b"o: refer;id=93809824\r\nSession-Expires: 1800;refresher=uas\r\n"
    ).replace(
        b"Content-Length: 20\r\n", b"Min-SE: 90\r\nExpires: 3600\r\nRequire: timer\r\nContent-Length: 20\r\n"
    )
    msg = parse_message(data)
    event = msg.event
    assert event is not None and (event.value, event.id) == ("refer", "93809824")
    state = msg.subscription_state
    assert state is not None and (state.state, state.expires, state.reason) == ("active", 60, None)
    session_expires = msg.session_expires
    assert session_expires is not None and (session_expires.seconds, session_expires.refresher) == (
        1800,
        "uas",
    )
    assert msg.min_se == 90 and msg.expires == 3600 and msg.require == ["timer"]
    content_type = msg.content_type
    assert content_type is not None and content_type.mime == "message/sipfrag"
    assert content_type.param("version") == "2.0"
    assert msg.content_length == 20
    assert msg.param_value("Subscription-State") is not None


def test_absent_optional_headers() -> None:
    msg = parse_message(REFER)
    assert msg.event is None and msg.subscription_state is None and msg.session_expires is None
    assert msg.min_se is None and msg.expires is None and msg.content_type is None
    assert msg.supported == [] and msg.name_addr("P-Asserted-Identity") is None
    assert msg.name_addrs("P-Asserted-Identity") == []


@pytest.mark.parametrize(
    ("line", "accessor"),
    [
        ("Max-Forwards: 256", "max_forwards"),
        ("Max-Forwards: x", "max_forwards"),
        ("Expires: soon", "expires"),
        ("Min-SE: -5", "min_se"),
        ("Session-Expires: x;refresher=uac", "session_expires"),
        ("Subscription-State: ;expires=1", "subscription_state"),
        ("Content-Type: text", "content_type"),
        ("Contact: <sip:a@h", "contacts"),
        ("Route: <sip:a@h>, <bad", "routes"),
        ("Record-Route: junk", "record_routes"),
        ("Allow: INVITE, B Y E", "allow"),
        ("Refer-To: <sip:a@h", "refer_to"),
        ("Via: SIP/2.0/UDP ok;branch=z9hG4bK2, bad via", "vias"),
    ],
)
def test_malformed_optional_headers_raise_sip_parse_error_on_access(line: str, accessor: str) -> None:
    name = line.split(":", maxsplit=1)[0].encode()
    kept = b"".join(part for part in REFER.splitlines(keepends=True) if not part.startswith(name + b":"))
    data = kept.replace(b"Content-Length: 0\r\n", line.encode() + b"\r\nContent-Length: 0\r\n")
    msg = parse_message(data)
    with pytest.raises(SipParseError) as info:
        getattr(msg, accessor)
    assert info.value.status == 400


def test_messages_can_be_copied() -> None:
    msg = parse_message(invite())
    assert msg.from_.uri.host == "198.51.100.20"  # type: ignore[union-attr]
    clone = copy.deepcopy(msg)
    assert bytes(clone) == bytes(msg) and clone.body == SDP


def test_list_accessors_return_fresh_lists() -> None:
    msg = parse_message(invite())
    record_routes = msg.record_routes
    record_routes.reverse()
    record_routes.append(record_routes[0])
    assert len(msg.record_routes) == 1
    vias = msg.vias
    vias.clear()
    assert len(msg.vias) == 1
    allow = msg.allow
    allow.clear()
    assert msg.allow
