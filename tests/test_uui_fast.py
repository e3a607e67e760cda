"""The fast paths of takeback.uui give what the general code gives: ``refer_to`` (memoised URI prefix, UUI
header written without a URI object) against building and re-parsing the URI, and the cheaper pieces of
decoding (split without quotes, hex check, octets to text, the result built through slot descriptors)
against straightforward reference versions."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from takeback import uui as codec
from takeback.uui import UuiDecode, UuiError, UuiPolicy, UuiWarning, encode, refer_to


def _outcome(function: object, *args: object, **kwargs: object) -> tuple[str, object]:
    try:
        return "ok", function(*args, **kwargs)  # type: ignore[operator]
    except (UuiError, TypeError) as exc:
        return type(exc).__name__, str(exc)


def _general_refer_to(number: object, *, uui: object = None, host: str = "localhost", pd: str = "00") -> str:
    """refer_to as it was written before the fast path: encode, build the URI, re-parse it."""
    if not isinstance(number, str) or not number:
        raise UuiError("the take-back number must be a non-empty string")
    pd_hex = codec._check_pd(pd)
    headers: dict[str, str] = {}
    if uui is not None:
        _name, value = encode(uui, header_type="User-to-User", encoding="hex", pd=pd_hex)  # type: ignore[arg-type]
        headers["User-to-User"] = value
    bare_host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return codec._refer_to_checked(number, host, bare_host, headers)


numbers = st.one_of(
    st.sampled_from(["+33456456456", "9991", "+1 (555) 123", "a@b", "x?y", "%41", "+", "a;b=c", "\u00e9"]),
    st.text(max_size=12),
)
hosts = st.one_of(
    st.sampled_from(
        ["localhost", "[::1]", "::1", "10.0.0.1", "h.example.com", "h?x=1", "a@b", "[x", "", "h;p"]
    ),
    st.text(max_size=10),
)
payloads = st.one_of(st.none(), st.text(max_size=20), st.binary(max_size=20), st.integers())
pds = st.one_of(st.sampled_from(["00", "04", "FF", "aB"]), st.text(max_size=3))


@settings(max_examples=600, deadline=None)
@given(number=numbers, host=hosts, data=payloads, pd=pds)
def test_refer_to_fast_path_equals_the_general_path(number: str, host: str, data: object, pd: str) -> None:
    fast = _outcome(refer_to, number, uui=data, host=host, pd=pd)
    assert fast == _outcome(_general_refer_to, number, uui=data, host=host, pd=pd)


def _reference_split(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    start, i, in_quote = 0, 0, False
    while i < len(text):
        ch = text[i]
        if in_quote and ch == "\\":
            i += 1
        elif ch == '"':
            in_quote = not in_quote
        elif ch == sep and not in_quote:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


@given(text=st.text(alphabet=st.sampled_from(list(';,=\\ a0"')), max_size=20), sep=st.sampled_from(";,"))
def test_split_without_quotes_equals_the_scan(text: str, sep: str) -> None:
    try:
        fast = codec._split_outside_quotes(text, sep)
    except codec._Discard:
        assert text.count('"') and _reference_split(text, sep)  # only an unterminated quote raises
        return
    assert fast == _reference_split(text, sep)


@given(data=st.text(max_size=12) | st.sampled_from(["00FA", "0a0B", "0x12", "12 34", "\uff10\uff11", "1\n"]))
def test_hex_check_equals_the_character_set(data: str) -> None:
    by_set = set(data) <= frozenset("0123456789abcdefABCDEF")
    assert (codec._HEX_DATA.fullmatch(data) is not None) is by_set


def _reference_octets_to_text(octets: bytes, policy: UuiPolicy, notes: list[UuiWarning]) -> str | None:
    try:
        text = octets.decode("ascii")
    except UnicodeDecodeError:
        try:
            text = octets.decode("utf-8")
            notes.append(UuiWarning("non-ascii", "non-ASCII data decoded as UTF-8 (INFERRED, §5.2)"))
        except UnicodeDecodeError:
            notes.append(
                UuiWarning(
                    "extended-ascii",
                    f"octets 128-255 that are not UTF-8 ({policy.extended_ascii}): RC-UUIFMT warns this "
                    "can break Genesys' decoding; send such data with ascii encoding",
                )
            )
            if policy.extended_ascii == "discard":
                return None
            text = octets.decode("latin-1" if policy.extended_ascii == "latin-1" else "utf-8", "replace")
    if any(b < 0x20 or b == 0x7F for b in octets):
        notes.append(UuiWarning("control-chars", "data holds control characters (octets 0-31 or 127)"))
    if len(text) > 128:
        notes.append(UuiWarning("long", f"{len(text)} characters: best practice is <= 128"))
    return text


policies = st.builds(UuiPolicy, extended_ascii=st.sampled_from(["latin-1", "replace", "discard"]))


@given(octets=st.binary(max_size=140) | st.text(max_size=140).map(str.encode), policy=policies)
def test_octets_to_text_equals_the_reference(octets: bytes, policy: UuiPolicy) -> None:
    fast_notes: list[UuiWarning] = []
    reference_notes: list[UuiWarning] = []
    fast = codec._octets_to_text(octets, policy, fast_notes)
    assert fast == _reference_octets_to_text(octets, policy, reference_notes)
    assert fast_notes == reference_notes


headers = st.lists(
    st.tuples(
        st.sampled_from(["User-to-User", "user-to-user", "x-User-to-User", "X-USER-TO-USER", "Via"]),
        st.one_of(
            st.sampled_from(
                [
                    "00FA080019001A0A0B0C0D0E0F;encoding=hex",
                    "0054686973;encoding=hex",
                    "XThis;encoding=ascii",
                    '"0041";encoding=hex',
                    "0041;pd=04;encoding=hex",
                    "0041,0042",
                    "00c3a9",
                    "41;encoding=hex",
                ]
            ),
            st.text(max_size=30),
        ),
    ),
    max_size=3,
)


@given(pairs=headers, exact=st.booleans())
def test_decoded_values_equal_their_dataclass_construction(pairs: list[tuple[str, str]], exact: bool) -> None:
    decoded = codec.decode_uui(pairs, policy=UuiPolicy(exact_header_case=exact))
    rebuilt = UuiDecode(**{f.name: getattr(decoded, f.name) for f in dataclasses.fields(UuiDecode)})
    assert decoded == rebuilt and repr(decoded) == repr(rebuilt) and hash(decoded) == hash(rebuilt)
    assert type(decoded) is UuiDecode and isinstance(decoded.warnings, tuple)
    assert all(type(w) is UuiWarning for w in decoded.warnings)


hex_octets = st.binary(min_size=0, max_size=70).map(bytes.hex)
plain_values = st.one_of(
    st.tuples(st.sampled_from(["00", "04", "41", "7f", "20", "21", "7E", "Fa"]), hex_octets).map(
        lambda pd_data: f"{pd_data[0]}{pd_data[1]};encoding=hex"
    ),
    st.builds(
        lambda data, params: data + params,
        hex_octets | st.text(alphabet='0123456789abcdefABCDEF ;,"=', max_size=12),
        st.sampled_from(
            [
                ";encoding=hex",
                ";encoding=HEX",
                ";Encoding=hex",
                "; encoding=hex",
                ";encoding=hex;pd=00",
                "",
                ";",
            ]
        ),
    ),
    st.sampled_from(["00FA080019001A0A0B0C0D0E0F;encoding=hex", "0;encoding=hex", "00;encoding=hex", "x"]),
)


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(["User-to-User", "user-to-user", " User-to-User", "x-User-to-User"]),
    value=plain_values,
    policy=st.builds(
        UuiPolicy,
        extended_ascii=st.sampled_from(["latin-1", "replace", "discard"]),
        exact_header_case=st.booleans(),
    ),
)
def test_one_plain_hex_line_decodes_as_the_general_path(name: str, value: str, policy: UuiPolicy) -> None:
    """decode_uui of a one-line list (what the device passes) takes the plain-hex fast path when it can:
    the same UuiDecode, field for field and warning for warning, as the general selection and decoding."""
    fast = codec.decode_uui([(name, value)], policy=policy)
    general = codec._decode_pairs([(name, value)], policy)
    assert fast == general and repr(fast) == repr(general)


def test_the_plain_hex_fast_path_is_taken_for_the_usual_line() -> None:
    line = ("User-to-User", "00FA080019001A0A0B0C0D0E0F;encoding=hex")
    assert codec._decode_plain_hex(line, codec.DEFAULT_POLICY) == codec._decode_pairs(
        [line], codec.DEFAULT_POLICY
    )
    assert codec._decode_plain_hex(("User-to-User", "4142;encoding=hex"), codec.DEFAULT_POLICY) is None  # 'A'
    assert codec._decode_plain_hex(["User-to-User", "0041;encoding=hex"], codec.DEFAULT_POLICY) is None
