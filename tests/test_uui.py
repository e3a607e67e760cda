"""Tests for takeback.uui: the article's worked example, every GENESYS.md §5.2 rule, the three Refer-To
spellings of §12.1, and round-trip / junk properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.sip import Headers, Request, parse_message
from takeback.uui import (
    ReferTarget,
    UuiDecode,
    UuiError,
    UuiPolicy,
    decode_uui,
    encode,
    genesys_uuidata,
    parse_refer_to,
    refer_to,
)

ARTICLE_TEXT = "This is my data"
ARTICLE_HEX = "54686973206973206d792064617461"
ARTICLE_NUMBER = "+33456456456"
ARTICLE_REFER_TO = (
    "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"
)
ARTICLE_ESCAPED = (
    "<sip:+33456456456@localhost?User-to-User%3D0054686973206973206d792064617461%3Bencoding%3Dhex>"
)
ARTICLE_UNESCAPED = "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461;encoding=hex>"


def uui(value: str, name: str = "User-to-User") -> UuiDecode:
    return decode_uui([(name, value)])


# ------------------------------------------------------------------------ the article's worked example


def test_article_worked_example_encode() -> None:
    """Seed article: "This is my data" -> 54686973… -> PD 00 prefixed (GENESYS.md §5.2 worked example)."""
    assert encode(ARTICLE_TEXT) == ("User-to-User", f"00{ARTICLE_HEX};encoding=hex")


def test_article_worked_example_refer_to_is_byte_exact() -> None:
    """GENESYS.md §10 (4), §12.1: the RFC form, lower-case hex as in the article."""
    assert refer_to(ARTICLE_NUMBER, uui=ARTICLE_TEXT) == ARTICLE_REFER_TO
    assert refer_to(ARTICLE_NUMBER, uui=ARTICLE_TEXT.encode()) == ARTICLE_REFER_TO


def test_article_worked_example_call_uuidata() -> None:
    """GENESYS.md §10 (5): the flow for +33456456456 runs with Call.UUIData == "This is my data"."""
    target = parse_refer_to(ARTICLE_REFER_TO)
    assert target == ReferTarget(
        ARTICLE_NUMBER,
        ARTICLE_TEXT,
        "rfc",
        True,
        "sip",
        "localhost",
        target.uri,
        target.uui,
        (),
    )
    assert target.uui.pd == "00"
    assert target.uui.data == ARTICLE_TEXT.encode()
    assert target.uui.warnings == ()
    assert genesys_uuidata([encode(ARTICLE_TEXT)]) == ARTICLE_TEXT


# ------------------------------------------------------------------------------------ encode (§5.1)


@pytest.mark.parametrize(
    ("header_type", "encoding", "pd", "expected"),
    [
        ("User-to-User", "hex", "00", ("User-to-User", f"00{ARTICLE_HEX};encoding=hex")),
        ("User-to-User", "hex", "04", ("User-to-User", f"04{ARTICLE_HEX};encoding=hex")),
        ("User-to-User;pd", "hex", "00", ("User-to-User", f"{ARTICLE_HEX};pd=00;encoding=hex")),
        ("User-to-User;pd", "ascii", "04", ("User-to-User", f"{ARTICLE_TEXT};pd=04;encoding=ascii")),
        ("x-User-to-User", "hex", "00", ("x-User-to-User", f"{ARTICLE_HEX};encoding=hex")),
        ("x-User-to-User", "ascii", "00", ("x-User-to-User", f"{ARTICLE_TEXT};encoding=ascii")),
        ("User-to-User", "ascii", "58", ("User-to-User", f"X{ARTICLE_TEXT};encoding=ascii")),
    ],
)
def test_encode_header_types_gen5_1(
    header_type: str, encoding: str, pd: str, expected: tuple[str, str]
) -> None:
    """GENESYS.md §5.1: the three trunk header types and the two encodings."""
    assert encode(ARTICLE_TEXT, header_type=header_type, encoding=encoding, pd=pd) == expected  # type: ignore[arg-type]


def test_encode_hex_is_lower_case_and_pd_normalised() -> None:
    """Lower-case like the article; an upper-case PD from a trunk setting is normalised the same way."""
    assert encode(b"\xab\xcd", pd="AB") == ("User-to-User", "ababcd;encoding=hex")


def test_encode_rfc7433_purpose_and_content_params() -> None:
    """RFC 7433 §4.1 optional parameters, after encoding (the RC examples carry them, GENESYS.md §5.1)."""
    assert encode("A", purpose="isdn-uui", content="isdn-uui") == (
        "User-to-User",
        "0041;encoding=hex;purpose=isdn-uui;content=isdn-uui",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pd": "0"},
        {"pd": "000"},
        {"pd": "zz"},
        {"header_type": "User-To-User"},
        {"encoding": "base64"},
        {"purpose": "isdn uui"},
        {"content": ""},
        # ascii cannot write a 0x00 PD octet: "first octet" of ascii data is its first character.
        {"encoding": "ascii"},
    ],
)
def test_encode_rejects_bad_arguments(kwargs: dict[str, str]) -> None:
    with pytest.raises(UuiError):
        encode("data", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", ["a;b", "a,b", 'a"b', " lead", "trail ", "tab\there", "nl\n", b"\xe9"])
def test_encode_ascii_domain(data: str | bytes) -> None:
    """ascii carries bare printable text only; the rest needs hex (RC-UUIFMT ascii, RFC 3261 §7.3.1)."""
    with pytest.raises(UuiError):
        encode(data, header_type="x-User-to-User", encoding="ascii")


def test_encode_ascii_allows_non_ascii_letters_per_rc_advice() -> None:
    """RC-UUIFMT: use ascii encoding for extended characters (GENESYS.md §5.2)."""
    name, value = encode("Café", header_type="x-User-to-User", encoding="ascii")
    assert value == "Café;encoding=ascii"
    assert genesys_uuidata([(name, value)]) == "Café"


@pytest.mark.parametrize("header_type", ["User-to-User;pd", "x-User-to-User"])
def test_encode_empty_data_without_pd_prefix_is_refused(header_type: str) -> None:
    """RFC 7433 §4.1 uui-data is a non-empty token; only a PD-prefixed header can carry "" ."""
    with pytest.raises(UuiError):
        encode("", header_type=header_type)  # type: ignore[arg-type]
    assert encode("") == ("User-to-User", "00;encoding=hex")


def test_encode_type_errors() -> None:
    with pytest.raises(TypeError):
        encode(42)  # type: ignore[arg-type]
    with pytest.raises(UuiError):
        encode("\ud800")


# ------------------------------------------------------------------------------- §5.2 inbound rules


def test_gen5_2_precedence_user_to_user_over_x_user_to_user() -> None:
    """GENESYS.md §5.2: both present => User-To-User is used."""
    headers = [("x-User-to-User", "other;encoding=ascii"), ("User-to-User", f"00{ARTICLE_HEX};encoding=hex")]
    result = decode_uui(headers)
    assert result.text == ARTICLE_TEXT
    assert result.header_type == "User-to-User"
    assert result.has_warning("x-ignored")


def test_gen5_2_x_user_to_user_used_when_alone() -> None:
    assert genesys_uuidata([("x-User-to-User", "abc;encoding=ascii")]) == "abc"


def test_gen5_2_duplicate_headers_discard_all() -> None:
    """GENESYS.md §5.2: duplicate UUI headers => all discarded."""
    value = f"00{ARTICLE_HEX};encoding=hex"
    result = decode_uui([("User-to-User", value), ("User-to-User", value)])
    assert result.text is None
    assert result.found
    assert result.has_warning("duplicate")


def test_gen5_2_several_different_headers_discard_all() -> None:
    """GENESYS.md §5.2: multiple different UUI headers => all discarded."""
    result = decode_uui([("User-to-User", "0041;encoding=hex"), ("User-to-User", "0042;encoding=hex")])
    assert result.text is None
    assert result.has_warning("multiple-different")


def test_gen5_2_rfc7433_comma_list_counts_as_several() -> None:
    """RFC 7433 §4.1: one line with two uui-values is two UUI headers (GENESYS.md §5.2 discard)."""
    assert genesys_uuidata([("User-to-User", "0041;encoding=hex, 0042;encoding=hex")]) is None


def test_gen5_2_discarded_user_to_user_does_not_fall_back_to_x() -> None:
    """GENESYS.md §5.2 "all are discarded": no fallback to x-User-to-User (documented choice)."""
    headers = [("User-to-User", "0041"), ("User-to-User", "0042"), ("x-User-to-User", "43")]
    assert genesys_uuidata(headers) is None


def test_gen5_2_duplicates_of_ignored_kind_do_not_matter() -> None:
    headers = [("User-to-User", "0041"), ("x-User-to-User", "42"), ("x-User-to-User", "43")]
    assert genesys_uuidata(headers) == "A"


def test_gen5_2_missing_encoding_means_hex() -> None:
    """GENESYS.md §5.2: encoding absent => hex assumed."""
    result = uui(f"00{ARTICLE_HEX}")
    assert result.text == ARTICLE_TEXT
    assert result.encoding == "hex"
    assert result.encoding_defaulted
    assert result.has_warning("missing-encoding")


def test_gen5_2_missing_encoding_on_ascii_looking_data_fails() -> None:
    """Default hex applied to text => data does not match its encoding => no data."""
    assert genesys_uuidata([("x-User-to-User", "hello")]) is None


@pytest.mark.parametrize("data", ["00zz", "00 41", "0x41", "00-41", "", "０0"])
def test_gen5_2_bad_hex_passes_no_data(data: str) -> None:
    """GENESYS.md §5.2: data not matching the declared encoding => parsing fails, no data passed."""
    assert genesys_uuidata([("User-to-User", f"{data};encoding=hex")]) is None


def test_gen5_2_odd_length_hex_passes_no_data() -> None:
    result = uui("00414;encoding=hex")
    assert result.text is None
    assert result.has_warning("odd-length-hex")


def test_gen5_2_hex_case_insensitive() -> None:
    """GENESYS.md §10 (1) sample uses upper-case hex ("Case-12345")."""
    assert genesys_uuidata([("User-to-User", "00436173652D3132333435;encoding=hex")]) == "Case-12345"
    assert genesys_uuidata([("User-to-User", "00436173652d3132333435;ENCODING=HEX")]) == "Case-12345"


def test_gen5_2_first_octet_always_removed_even_without_pd() -> None:
    """GENESYS.md §5.2: plain User-to-User => first octet removed; no PD sent => data truncated."""
    result = uui(f"{ARTICLE_HEX};encoding=hex")
    assert result.text == ARTICLE_TEXT[1:]
    assert result.pd == "54"
    assert result.has_warning("pd-looks-like-data")


def test_gen5_2_plain_user_to_user_with_only_the_pd_is_empty_text() -> None:
    assert genesys_uuidata([("User-to-User", "00;encoding=hex")]) == ""
    assert uui(";encoding=hex").has_warning("no-first-octet")


def test_gen5_2_pd_param_keeps_first_octet() -> None:
    """GENESYS.md §5.2: with a pd=XX parameter the first octet is not removed."""
    result = uui(f"{ARTICLE_HEX};pd=00;encoding=hex")
    assert result.text == ARTICLE_TEXT
    assert result.header_type == "User-to-User;pd"
    assert result.pd == "00"


def test_gen5_2_pd_param_garbage_is_noted_not_fatal() -> None:
    result = uui(f"{ARTICLE_HEX};pd=xyz;encoding=hex")
    assert result.text == ARTICLE_TEXT
    assert result.has_warning("bad-pd-param")


def test_gen5_2_x_user_to_user_first_octet_not_removed() -> None:
    """GENESYS.md §5.2: x-User-To-User => first octet not removed."""
    assert genesys_uuidata([("x-User-to-User", f"{ARTICLE_HEX};encoding=hex")]) == ARTICLE_TEXT
    assert genesys_uuidata([("x-User-to-User", f"00{ARTICLE_HEX};encoding=hex")]) == "\x00" + ARTICLE_TEXT


def test_gen5_2_ascii_encoding() -> None:
    """GENESYS.md §5.1/§5.2 ascii: x-User-to-User keeps all; plain User-to-User drops the first octet
    (= first character), documented choice."""
    assert genesys_uuidata([("x-User-to-User", f"{ARTICLE_TEXT};encoding=ascii")]) == ARTICLE_TEXT
    assert genesys_uuidata([("User-to-User", f"X{ARTICLE_TEXT};encoding=ascii")]) == ARTICLE_TEXT
    assert genesys_uuidata([("User-to-User", f"{ARTICLE_TEXT};pd=04;encoding=Ascii")]) == ARTICLE_TEXT


def test_gen5_2_ascii_with_control_characters_passes_no_data() -> None:
    assert uui("ab\x01c;encoding=ascii", "x-User-to-User").has_warning("bad-ascii")


def test_gen5_2_unsupported_encoding_passes_no_data() -> None:
    result = uui("0041;encoding=base64")
    assert result.text is None
    assert result.has_warning("unsupported-encoding")


def test_gen5_2_duplicate_encoding_param_passes_no_data() -> None:
    assert uui("0041;encoding=hex;encoding=ascii").has_warning("duplicate-param")


@pytest.mark.parametrize("name", ["user-to-user", "USER-TO-USER", "User-To-User"])
def test_gen5_2_header_names_case_insensitive(name: str) -> None:
    """RFC 3261 §7.3.5; GENESYS.md §5.2 notes one gateway's case rewrite broke Genesys: warn."""
    result = decode_uui([(name, f"00{ARTICLE_HEX};encoding=hex")])
    assert result.text == ARTICLE_TEXT
    assert result.has_warning("header-case")
    assert genesys_uuidata([("X-USER-TO-USER", "41")]) == "A"


def test_gen5_2_exact_case_policy_ignores_rewritten_names() -> None:
    """GENESYS.md §5.2 Kore report as a named policy (DESIGN.md §4)."""
    strict = UuiPolicy(exact_header_case=True)
    result = decode_uui([("User-To-User", "0041")], policy=strict)
    assert result.text is None
    assert result.found
    assert result.has_warning("ignored-case")
    assert genesys_uuidata([("User-to-User", "0041")], policy=strict) == "A"


def test_gen5_2_rfc7433_purpose_content_ignored_for_decoding() -> None:
    """RFC 7433 §4.1 purpose/content params (RC examples, GENESYS.md §5.1) do not change the data."""
    result = uui(f"00{ARTICLE_HEX};encoding=hex;purpose=isdn-uui;content=isdn-uui")
    assert result.text == ARTICLE_TEXT
    assert (result.purpose, result.content) == ("isdn-uui", "isdn-uui")
    assert uui(f"00{ARTICLE_HEX};purpose=isdn-uui;encoding=hex;foo").text == ARTICLE_TEXT


def test_gen5_2_quoted_uui_data_rfc7433() -> None:
    result = uui('"0041";encoding=hex')
    assert result.text == "A"
    assert result.has_warning("quoted-data")
    assert uui('"0041;encoding=hex').text is None


def test_gen5_2_extended_ascii_default_latin1_with_warning() -> None:
    """GENESYS.md §5.2 / RC-UUIFMT: hex decoding to 128-255 "can break decoding". Default: one char per
    octet (latin-1) plus a warning. The SIPp scenario's INVITE UUI (sipp/genesys_uac_refer.xml)."""
    result = uui("00FA080019001A0A0B0C0D0E0F;encoding=hex")
    assert result.data == bytes.fromhex("FA080019001A0A0B0C0D0E0F")
    assert result.text == bytes.fromhex("FA080019001A0A0B0C0D0E0F").decode("latin-1")
    assert result.has_warning("extended-ascii")
    assert result.has_warning("control-chars")


def test_gen5_2_extended_ascii_policies() -> None:
    value = [("User-to-User", "00436166e9;encoding=hex")]  # "Café" in latin-1
    assert genesys_uuidata(value) == "Café"
    assert genesys_uuidata(value, policy=UuiPolicy(extended_ascii="replace")) == "Caf\ufffd"
    assert genesys_uuidata(value, policy=UuiPolicy(extended_ascii="discard")) is None


def test_gen5_2_utf8_octets_decode_as_text_with_note() -> None:
    result = uui("00436166c3a9;encoding=hex")
    assert result.text == "Café"
    assert result.has_warning("non-ascii")


def test_long_data_warns_best_practice_128() -> None:
    """GENESYS.md §5.1: no limit, best practice <= 128 characters."""
    assert uui(encode("x" * 129)[1]).has_warning("long")
    assert not uui(encode("x" * 128)[1]).has_warning("long")


def test_no_uui_header_at_all() -> None:
    result = decode_uui([("Call-ID", "x"), ("From", "<sip:a@b>")])
    assert result == UuiDecode()
    assert not result.found
    assert genesys_uuidata({}) is None


# ------------------------------------------------------------------------------- header containers


def test_accepts_sip_headers_mapping_and_pairs() -> None:
    value = f"00{ARTICLE_HEX};encoding=hex"
    assert genesys_uuidata(Headers([("user-to-user", value)])) == ARTICLE_TEXT
    assert genesys_uuidata({"User-to-User": value}) == ARTICLE_TEXT
    assert genesys_uuidata({"User-to-User": [value, value]}) is None
    assert genesys_uuidata({"User-to-User": value, "user-to-user": value}) is None
    assert genesys_uuidata([("User-to-User", value)]) == ARTICLE_TEXT
    with pytest.raises(TypeError):
        genesys_uuidata([("User-to-User",)])  # type: ignore[list-item]


def test_gen10_invite_parsed_by_the_sip_layer() -> None:
    """GENESYS.md §10 (1): the composed Genesys INVITE, through takeback.sip.parse_message."""
    raw = (
        b"INVITE sip:+19999990001@203.0.113.10:5060 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-gc-7f3a1\r\n"
        b"From: <sip:+13175551234@198.51.100.20>;tag=gc-4411\r\n"
        b"To: <sip:+19999990001@203.0.113.10>\r\n"
        b"Call-ID: 5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"x-inin-cnv: 2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11\r\n"
        b"User-to-User: 00436173652D3132333435;encoding=hex\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(raw)
    assert genesys_uuidata(msg.headers) == "Case-12345"


def test_gen5_2_refer_separate_uui_header_is_not_call_uuidata() -> None:
    """GENESYS.md §5.2 [3P LK], §12 item 1: only the UUI inside Refer-To counts on a REFER."""
    raw = (
        "REFER sip:198.51.100.20:5060;transport=udp;gcdlg=ab12 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-dev-91\r\n"
        "From: <sip:+19999990001@203.0.113.10>;tag=dev-77\r\n"
        "To: <sip:+13175551234@198.51.100.20>;tag=gc-4411\r\n"
        "Call-ID: 5f1b0c2e\r\nCSeq: 101 REFER\r\n"
        "r: <sip:+33456456456@localhost>\r\n"
        f"User-to-User: 00{ARTICLE_HEX};encoding=hex\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    msg = parse_message(raw)
    assert isinstance(msg, Request)
    refer_to_value = msg.headers.get("Refer-To")
    assert refer_to_value is not None
    target = parse_refer_to(refer_to_value)
    assert target.number == ARTICLE_NUMBER
    assert target.uui_data is None
    assert target.spelling is None


# ------------------------------------------------------------------------------- Refer-To (§6, §12.1)


@pytest.mark.parametrize(
    ("value", "spelling", "rfc_correct"),
    [
        (ARTICLE_REFER_TO, "rfc", True),
        (ARTICLE_ESCAPED, "escaped-equals", False),
        (ARTICLE_UNESCAPED, "unescaped-semicolon", False),
        (ARTICLE_REFER_TO.replace("%3B", "%3b").replace("%3D", "%3d"), "rfc", True),
        (ARTICLE_ESCAPED.replace("%3D", "%3d"), "escaped-equals", False),
    ],
)
def test_gen12_1_three_refer_to_spellings(value: str, spelling: str, rfc_correct: bool) -> None:
    """GENESYS.md §5.2 REFER form + [DOC BLOG] two other forms; §12.1: accept all, flag non-RFC ones."""
    target = parse_refer_to(value)
    assert target.number == ARTICLE_NUMBER
    assert target.uui_data == ARTICLE_TEXT
    assert target.spelling == spelling
    assert target.rfc_correct is rfc_correct
    assert bool(target.warnings) is not rfc_correct


def test_gen12_1_refer_to_rules_applied_to_uri_header() -> None:
    """§5.2 rules inside Refer-To: default hex, pd= param, ascii, x-User-to-User, case-insensitive."""
    base = "<sip:+33456456456@localhost?"
    assert parse_refer_to(base + f"User-to-User=00{ARTICLE_HEX}>").uui_data == ARTICLE_TEXT
    assert parse_refer_to(base + f"User-to-User={ARTICLE_HEX}%3Bpd%3D00>").uui_data == ARTICLE_TEXT
    assert parse_refer_to(base + "x-User-to-User=Hello%20there%3Bencoding%3Dascii>").uui_data == "Hello there"
    assert parse_refer_to(base + f"user-to-user=00{ARTICLE_HEX}%3Bencoding%3Dhex>").uui_data == ARTICLE_TEXT
    two = base + "User-to-User=0041&User-to-User=0042>"
    assert parse_refer_to(two).uui_data is None


def test_gen12_5_unescape_exactly_once() -> None:
    """GENESYS.md §12 item 5: a double-escaped value is not decoded twice, so its hex is invalid."""
    target = parse_refer_to(ARTICLE_REFER_TO.replace("%3B", "%253B").replace("%3D", "%253D"))
    assert target.uui_data is None
    assert target.uui.has_warning("bad-hex")


def test_refer_to_keeps_other_parts_and_other_uri_headers() -> None:
    value = (
        '"Take back" <sips:+33456456456@[2001:db8::1]:5061;transport=tls'
        f"?Foo=bar&User-to-User=00{ARTICLE_HEX}%3Bencoding%3Dhex>;x=1"
    )
    target = parse_refer_to(value)
    assert (target.number, target.uui_data, target.scheme, target.host) == (
        ARTICLE_NUMBER,
        ARTICLE_TEXT,
        "sips",
        "2001:db8::1",
    )
    assert target.rfc_correct


def test_refer_to_without_brackets_is_flagged() -> None:
    """RFC 3261 §20: a URI with '?' must be a name-addr; accepted leniently, not RFC-correct."""
    target = parse_refer_to(ARTICLE_UNESCAPED[1:-1])
    assert target.uui_data == ARTICLE_TEXT
    assert not target.rfc_correct
    assert any(w.code == "not-bracketed" for w in target.warnings)
    plain = parse_refer_to("sip:+33456456456@localhost")
    assert plain.rfc_correct
    assert plain.uui_data is None


def test_refer_to_unescaped_characters_are_not_rfc_correct() -> None:
    """GENESYS.md §12 item 5: '@' must be escaped inside a URI header value; accepted, flagged."""
    target = parse_refer_to("<sip:+33456456456@localhost?x-User-to-User=a@b%3Bencoding%3Dascii>")
    assert target.uui_data == "a@b"
    assert target.spelling == "rfc"
    assert not target.rfc_correct
    assert [w.code for w in target.warnings] == ["spelling-rfc"]


def test_refer_to_whitespace_in_uri_is_malformed() -> None:
    """RFC 3261 §25.1: no whitespace inside a URI; the sip layer refuses it (§6: 400)."""
    with pytest.raises(UuiError):
        parse_refer_to("<sip:+33456456456@localhost?x-User-to-User=a b%3Bencoding%3Dascii>")


def test_gen12_4_tel_refer_to_is_flagged() -> None:
    """GENESYS.md §12 item 4, §5.2 [3P LK]: tel: number extracted, no UUI, flagged."""
    target = parse_refer_to("<tel:+33456456456>")
    assert target.number == ARTICLE_NUMBER
    assert target.is_tel
    assert target.uui_data is None
    assert [w.code for w in target.warnings] == ["tel-uri"]


@pytest.mark.parametrize(
    "value",
    ["", "<>", "<sip:localhost?User-to-User=0041>", "<http://example.com/>", "<sip:+1@", "nonsense"],
)
def test_parse_refer_to_errors(value: str) -> None:
    """GENESYS.md §6: malformed Refer-To => 400; we raise UuiError (a ValueError)."""
    with pytest.raises(UuiError):
        parse_refer_to(value)
    assert issubclass(UuiError, ValueError)


def test_refer_to_number_kept_and_never_tel() -> None:
    """GENESYS.md §12 items 4/16: `+` kept, sip: target, host as given."""
    assert refer_to("+33456456456") == "<sip:+33456456456@localhost>"
    assert refer_to("0456456456", host="whatever_domain") == "<sip:0456456456@whatever_domain>"
    assert refer_to("+1", uui="A", host="::1", pd="04") == "<sip:+1@[::1]?User-to-User=0441%3Bencoding%3Dhex>"
    assert refer_to("+1", host="[::1]") == "<sip:+1@[::1]>"


@pytest.mark.parametrize(
    ("number", "host"), [("", "localhost"), ("+1", ""), ("+1", "bad host"), ("+1", "h?x")]
)
def test_refer_to_rejects_what_cannot_be_carried(number: str, host: str) -> None:
    with pytest.raises(UuiError):
        refer_to(number, host=host)


@pytest.mark.parametrize("number", ["a?b", "1@2", "+33 4", "#31#1", "é"])
def test_refer_to_escapes_odd_numbers_once(number: str) -> None:
    """The number survives escaping (sip.uri's job) and one unescape (GENESYS.md §12 item 5)."""
    assert parse_refer_to(refer_to(number, uui="x")).number == number


def test_refer_to_bad_pd() -> None:
    with pytest.raises(UuiError):
        refer_to("+1", uui="x", pd="0")


# ------------------------------------------------------------------------------------ properties

HEADER_TYPES = ["User-to-User", "User-to-User;pd", "x-User-to-User"]
pds = st.integers(0, 255).map(lambda n: f"{n:02x}")
# The ascii domain: bare printable text without ';' ',' '"' or edge whitespace (see encode()).
ascii_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("C", "Z"), exclude_characters=';,"') | st.just(" "),
    min_size=1,
).filter(lambda s: s == s.strip(" \t"))
ascii_pds = st.sampled_from([f"{n:02x}" for n in range(0x21, 0x7F) if chr(n) not in ';,"'])
numbers = st.text("+0123456789*#-.()abcdefABCDEF", min_size=1, max_size=20)


@given(text=st.text(), header_type=st.sampled_from(HEADER_TYPES), pd=pds)
def test_property_hex_roundtrip_text(text: str, header_type: str, pd: str) -> None:
    if not text and header_type != "User-to-User":
        with pytest.raises(UuiError):
            encode(text, header_type=header_type, pd=pd)  # type: ignore[arg-type]
        return
    header = encode(text, header_type=header_type, pd=pd)  # type: ignore[arg-type]
    assert header[1] == header[1].lower()
    assert genesys_uuidata([header]) == text


@given(data=st.binary(min_size=1), header_type=st.sampled_from(HEADER_TYPES), pd=pds)
def test_property_hex_roundtrip_bytes(data: bytes, header_type: str, pd: str) -> None:
    result = decode_uui([encode(data, header_type=header_type, pd=pd)])  # type: ignore[arg-type]
    assert result.data == data
    assert result.text is not None
    assert result.pd == (None if header_type == "x-User-to-User" else pd)


@given(text=ascii_text, header_type=st.sampled_from(HEADER_TYPES), pd=ascii_pds)
def test_property_ascii_roundtrip(text: str, header_type: str, pd: str) -> None:
    header = encode(text, header_type=header_type, encoding="ascii", pd=pd)  # type: ignore[arg-type]
    assert genesys_uuidata([header]) == text


@given(number=numbers, text=st.text(), pd=pds)
def test_property_refer_to_roundtrip_text(number: str, text: str, pd: str) -> None:
    target = parse_refer_to(refer_to(number, uui=text, pd=pd))
    assert (target.number, target.uui_data, target.spelling, target.rfc_correct) == (
        number,
        text,
        "rfc",
        True,
    )
    assert target.warnings == ()  # nothing wrong with the Refer-To itself


@given(number=numbers, data=st.binary())
def test_property_refer_to_roundtrip_bytes(number: str, data: bytes) -> None:
    target = parse_refer_to(refer_to(number, uui=data))
    assert target.uui.data == data
    assert target.rfc_correct


@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(["User-to-User", "user-to-user", "x-User-to-User", "X-USER-TO-USER", "Other"]),
            st.text() | st.from_regex(r"[0-9a-fA-F]{0,8}(;(encoding|pd|purpose)=[a-zA-Z0-9]{0,5}){0,3}"),
        ),
        max_size=4,
    ),
    policy=st.builds(UuiPolicy, st.sampled_from(["latin-1", "replace", "discard"]), st.booleans()),
)
def test_property_junk_headers_never_raise(headers: list[tuple[str, str]], policy: UuiPolicy) -> None:
    result = decode_uui(headers, policy=policy)
    assert result.text is None or isinstance(result.text, str)
    assert genesys_uuidata(headers, policy=policy) == result.text


def _parse_or_error(value: str) -> ReferTarget | None:
    try:
        return parse_refer_to(value)
    except UuiError:
        return None


@given(value=st.text())
def test_property_junk_refer_to_raises_only_uui_error(value: str) -> None:
    _parse_or_error(value)


@given(tail=st.text(st.characters(codec="utf-8")), bracket=st.booleans())
def test_property_junk_uri_headers_raise_only_uui_error(tail: str, bracket: bool) -> None:
    value = f"sip:+33456456456@localhost?{tail}"
    target = _parse_or_error(f"<{value}>" if bracket else value)
    assert target is None or target.uui_data is None or isinstance(target.uui_data, str)


@given(data=st.text() | st.binary(), pd=st.text(max_size=3), header_type=st.sampled_from(HEADER_TYPES))
def test_property_encode_junk_raises_only_uui_error(data: str | bytes, pd: str, header_type: str) -> None:
    for encoding in ("hex", "ascii"):
        with contextlib.suppress(UuiError):
            encode(data, header_type=header_type, encoding=encoding, pd=pd)  # type: ignore[arg-type]


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(value=st.from_regex(r"<?(sip|sips|tel|x):[^>]{0,40}\?[A-Za-z%0-9=;&-]{0,60}>?[;a-z=]{0,8}"))
def test_property_structured_refer_to_junk_slow(value: str) -> None:
    _parse_or_error(value)
