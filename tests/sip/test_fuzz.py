"""Property tests: URI/name-addr/message round trips, and hostile input never raises anything but
SipParseError (not from the parser, not from any accessor, not from serialising what was parsed).

The default runs are small (seconds). The ``slow`` ones run well over 100,000 examples in total; the
mutation fuzzer draws only a seed from Hypothesis and mutates with ``random.Random(seed)``, so an
example costs little more than the parse itself.
"""

from __future__ import annotations

import random
import string
from urllib.parse import unquote as urllib_unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takeback.sip import (
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    StreamParser,
    TelUri,
    Via,
    parse_message,
    parse_uri,
)
from takeback.sip.headers import parse_name_addr
from takeback.sip.sipfrag import parse_sipfrag, serialize_sipfrag
from takeback.sip.uri import HEADER_SAFE, PASSWORD_SAFE, USER_SAFE, escape, unescape

from .sip_samples import ALL, REFER

FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None)
SLOW = settings(
    max_examples=30_000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----------------------------------------------------------------------------------- strategies

TOKEN_CHARS = string.ascii_letters + string.digits + "-.!%*_+`'~"
URI_PARAM_CHARS = string.ascii_letters + string.digits + "-_.!~*'+"
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=10)
param_names = st.text(URI_PARAM_CHARS, min_size=1, max_size=8)
param_values = st.text(URI_PARAM_CHARS + "[]/:&$", max_size=8)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=16)
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
hostnames = st.lists(labels, min_size=1, max_size=3).map(".".join)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.none() | st.integers(0, 65535)


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    user = draw(st.none() | st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12))
    password = draw(st.none() | any_text) if user is not None else None
    params = draw(st.dictionaries(param_names, st.none() | param_values, max_size=3))
    header_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
    headers = draw(st.dictionaries(header_names, any_text, max_size=2))
    scheme = draw(st.sampled_from(["sip", "sips"]))
    return SipUri(scheme, user, password, draw(hosts), draw(ports), params, headers)


tel_uris = st.builds(
    TelUri,
    st.text("0123456789-.()", min_size=1, max_size=12).map(lambda n: "+" + n),
    st.dictionaries(param_names, st.none() | param_values, max_size=2),
)
header_param_values = (
    st.none() | tokens | printable.map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"')
)


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    uri = draw(st.one_of(sip_uris(), tel_uris))
    display = draw(st.none() | printable)
    params = draw(st.dictionaries(tokens, header_param_values, max_size=3))
    return NameAddr(uri, display, params)


vias = st.builds(
    Via,
    st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS"]),
    hosts,
    ports,
    st.dictionaries(tokens, st.none() | tokens, max_size=3).map(
        lambda p: {"branch": "z9hG4bK" + str(len(p)), **p}
    ),
)
methods = st.sampled_from(["INVITE", "ACK", "BYE", "REFER", "NOTIFY", "OPTIONS"]) | tokens
MANDATORY = {"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "content-length", "l"}
extra_names = tokens.filter(lambda n: n.lower() not in MANDATORY)
extra_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(str.strip)


def spell(name: str, compact: str | None, draw: st.DrawFn) -> str:
    options = [name, name.lower(), name.upper()] + ([compact, compact.upper()] if compact else [])
    return draw(st.sampled_from(options))


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    headers = Headers()
    via_list = draw(st.lists(vias, min_size=1, max_size=3))
    if draw(st.booleans()):
        headers.add(spell("Via", "v", draw), ", ".join(map(str, via_list)))
    else:
        for via in via_list:
            headers.add(spell("Via", "v", draw), str(via))
    headers.add(spell("From", "f", draw), str(draw(name_addrs())))
    headers.add(spell("To", "t", draw), str(draw(name_addrs())))
    headers.add(spell("Call-ID", "i", draw), draw(tokens) + "@" + draw(hostnames))
    method = draw(methods)
    headers.add(spell("CSeq", None, draw), f"{draw(st.integers(0, 2**31 - 1))} {method}")
    for name, value in draw(st.lists(st.tuples(extra_names, extra_values), max_size=5)):
        headers.add(name, value)
    body = draw(st.binary(max_size=40))
    if draw(st.booleans()):
        return Request(method, draw(st.one_of(sip_uris(), tel_uris)), headers, body)
    return Response(draw(st.integers(100, 699)), draw(printable).strip(), headers, body)


# ------------------------------------------------------------------------------- round trips


@FAST
@given(sip_uris())
def test_sip_uri_round_trip(uri: SipUri) -> None:
    text = str(uri)
    parsed = parse_uri(text)
    assert parsed == uri
    assert str(parsed) == text


@FAST
@given(tel_uris)
def test_tel_uri_round_trip(uri: TelUri) -> None:
    assert parse_uri(str(uri)) == uri


@FAST
@given(name_addrs())
def test_name_addr_round_trip(na: NameAddr) -> None:
    parsed = parse_name_addr(str(na))
    assert parsed == na
    assert str(parsed) == str(na)


@FAST
@given(
    st.text(st.sampled_from(["%", "3", "b", "B", "e", "9", "0", "C", "g", "a", "é", "\udcff"]), max_size=12),
    any_text,
)
def test_unescape_matches_the_stdlib_and_inverts_escape(escaped: str, text: str) -> None:
    assert unescape(escaped) == urllib_unquote(escaped, errors="surrogateescape")
    for safe in (HEADER_SAFE, USER_SAFE, PASSWORD_SAFE):
        assert unescape(escape(text, safe)) == text


def check_message_round_trip(message: Request | Response, fold: bool) -> None:
    data = bytes(message)
    if fold:  # RFC 3261 §7.3.1: any blank in a value may become CRLF + blank
        start, _, rest = data.partition(b"\r\n")
        head, sep, body = rest.partition(b"\r\n\r\n")
        head = head.replace(b", ", b",\r\n  ").replace(b"; ", b";\r\n\t")
        data = start + b"\r\n" + head + sep + body
    parsed = parse_message(data)
    assert type(parsed) is type(message)
    assert parsed.start_line() == message.start_line()
    assert parsed.body == message.body
    assert [kv for kv in parsed.headers if kv[0] != "Content-Length"] == list(message.headers)
    assert parsed.vias == message.vias and parsed.top_via == message.vias[0]
    assert parsed.from_ == message.from_ and parsed.to == message.to
    assert (parsed.call_id, parsed.cseq) == (message.call_id, message.cseq)
    if isinstance(parsed, Request):
        assert isinstance(message, Request) and parsed.request_uri == message.request_uri
    assert bytes(parse_message(bytes(parsed))) == bytes(parsed)


@FAST
@given(messages(), st.booleans())
def test_generated_messages_parse_back(message: Request | Response, fold: bool) -> None:
    check_message_round_trip(message, fold)


# -------------------------------------------------------------------- hostile input, safely


def exercise(message: Request | Response) -> None:
    """Touch everything a UA might read; only SipParseError may come out of an accessor."""
    assert message.call_id and message.cseq and message.top_via and message.from_ and message.to
    for name in (
        "vias", "contacts", "contact", "routes", "record_routes", "refer_to", "referred_by",
        "content_type", "content_length", "max_forwards", "expires", "min_se", "event",
        "subscription_state", "session_expires", "allow", "supported", "require",
    ):  # fmt: skip
        try:
            value = getattr(message, name)
            if isinstance(value, NameAddr):
                str(value.uri)
        except SipParseError:
            pass
    str(message.from_.uri)
    str(message.to.uri)
    if isinstance(message, Request):
        str(message.request_uri)
    list(message.headers)
    again = parse_message(bytes(message))
    assert [kv for kv in again.headers if kv[0] != "Content-Length"] == [
        kv for kv in message.headers if kv[0] != "Content-Length"
    ]
    assert again.body == message.body


def survive(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert 400 <= exc.status < 600
    else:
        exercise(message)
    try:
        parse_sipfrag(data)
    except SipParseError:
        pass
    else:
        serialize_sipfrag(parse_sipfrag(data))
    parser = StreamParser(max_message_size=4096)
    for chunk in (data[: len(data) // 2], data[len(data) // 2 :], b""):
        try:
            for message in parser.feed(chunk):
                exercise(message)
        except SipParseError:
            if parser.broken:
                break


INTERESTING = [b"\r\n", b"\n", b"\r", b":", b";", b",", b"<", b">", b'"', b"\\", b"@", b" ", b"\t", b"%",
               b"=", b"?", b"[", b"]", b"\x00", b"\xff", b"\xc3", b"0", b"9" * 12, b"\r\n ", b"\r\n\r\n",
               b"SIP/2.0", b"v:", b"l: 9\r\n", b"Content-Length: 99999\r\n", b";rport", b"sip:",
               b"<sip:a@[::1]>"]  # fmt: skip
SAMPLES = [*ALL.values(), REFER.replace(b"Content-Length: 0\r\n", b"")]


def mutate(seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(rng.choice(SAMPLES))
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[at:at] = rng.choice(INTERESTING)
        elif op == 2:
            del data[at : at + rng.randint(1, 40)]
        elif op == 3:
            lines = bytes(data).split(b"\r\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\r\n".join(lines))
        elif op == 4:
            lines = bytes(data).split(b"\r\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
            data = bytearray(b"\r\n".join(lines))
        elif op == 5:
            data = data[:at]
        else:
            data[at:at] = rng.choice(INTERESTING) * rng.randint(2, 200)
    return bytes(data)


@FAST
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_sip_parse_error(data: bytes) -> None:
    survive(data)


@FAST
@given(st.integers(0, 2**32))
def test_mutated_messages_only_raise_sip_parse_error(seed: int) -> None:
    survive(mutate(seed))


def test_mutation_corpus_is_deterministic_and_sometimes_valid() -> None:
    valid = 0
    for seed in range(300):
        data = mutate(seed)
        assert data == mutate(seed)
        try:
            parse_message(data)
            valid += 1
        except SipParseError:
            pass
        survive(data)
    assert 0 < valid < 300


# ------------------------------------------------------------------ seed-driven valid messages

WORDS = ["alice", "+13175551234", "b%40b", "a;b", "x y", "é", "Doe, John", 'q"t', "\\", "", "+33456456456"]


def random_text(rng: random.Random, alphabet: str, low: int = 1, high: int = 8) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_uri(rng: random.Random) -> SipUri | TelUri:
    if rng.random() < 0.15:
        return TelUri("+" + random_text(rng, "0123456789-"), {random_text(rng, URI_PARAM_CHARS): None})
    host = rng.choice(["198.51.100.20", "2001:db8::1", "example.com", random_text(rng, "abc123") + ".net"])
    params = {random_text(rng, URI_PARAM_CHARS): rng.choice([None, random_text(rng, URI_PARAM_CHARS, 0)])
              for _ in range(rng.randint(0, 3))}  # fmt: skip
    headers = {rng.choice(WORDS) or "h": rng.choice(WORDS) for _ in range(rng.randint(0, 2))}
    user = rng.choice([None, *WORDS[:-3]]) or None
    password = rng.choice([None, None, "p@ss"]) if user else None
    port = rng.choice([None, 5060, 0, 65535])
    return SipUri(rng.choice(["sip", "sips"]), user, password, host, port, params, headers)


def random_name_addr(rng: random.Random) -> NameAddr:
    params = {random_text(rng, TOKEN_CHARS): rng.choice([None, random_text(rng, TOKEN_CHARS), '"q;,\\" <>"'])
              for _ in range(rng.randint(0, 3))}  # fmt: skip
    return NameAddr(random_uri(rng), rng.choice([None, *WORDS]), params)


def random_message(rng: random.Random) -> Request | Response:
    headers = Headers()
    names = {"Via": "v", "From": "f", "To": "t", "Call-ID": "i", "CSeq": ""}

    def spelled(name: str) -> str:
        return rng.choice([name, name.lower(), name.upper(), names[name] or name])

    method = rng.choice(["INVITE", "REFER", "NOTIFY", "X-" + random_text(rng, TOKEN_CHARS)])
    via_list = [Via(rng.choice(["UDP", "TCP"]), rng.choice(["h.example", "::1", "192.0.2.1"]),
                    rng.choice([None, 5060]), {"branch": "z9hG4bK" + random_text(rng, TOKEN_CHARS),
                                               "rport": None})
                for _ in range(rng.randint(1, 3))]  # fmt: skip
    if rng.random() < 0.5:
        headers.add(spelled("Via"), ", ".join(map(str, via_list)))
    else:
        for via in via_list:
            headers.add(spelled("Via"), str(via))
    headers.add(spelled("From"), str(random_name_addr(rng)))
    headers.add(spelled("To"), str(random_name_addr(rng)))
    headers.add(spelled("Call-ID"), random_text(rng, TOKEN_CHARS) + "@" + random_text(rng, "abc.def"))
    headers.add(spelled("CSeq"), f"{rng.randrange(2**31)} {method}")
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(["Contact", "Route", "X-" + random_text(rng, TOKEN_CHARS), "Subject", "Supported"])
        value = str(random_name_addr(rng)) if name in ("Contact", "Route") else rng.choice(WORDS).strip()
        headers.add(name, value)
    body = rng.randbytes(rng.randint(0, 30))
    if rng.random() < 0.5:
        return Request(method, random_uri(rng), headers, body)
    return Response(rng.randint(100, 699), rng.choice(WORDS).strip(), headers, body)


@FAST
@given(st.integers(0, 2**32), st.booleans())
def test_seeded_messages_parse_back(seed: int, fold: bool) -> None:
    check_message_round_trip(random_message(random.Random(seed)), fold)


# ------------------------------------------------------------------------- the long runs


# Example counts: 5 x 13,200 + 2 x 9,000 + 3 x 5,000 + 500 + 500 = 100,000. Hypothesis' own cost per
# example grows with the length of a run, so the long runs are split into shards with disjoint seeds.
SHARD = 2**32


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(5))
def test_slow_mutated_messages(shard: int) -> None:
    @settings(SLOW, max_examples=13_200)
    @given(st.integers(shard * SHARD, (shard + 1) * SHARD - 1))
    def run(seed: int) -> None:
        survive(mutate(seed))

    run()


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(2))
def test_slow_arbitrary_bytes(shard: int) -> None:
    @settings(SLOW, max_examples=9_000)
    @given(st.binary(min_size=shard, max_size=400))
    def run(data: bytes) -> None:
        survive(data)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(3))
def test_slow_seeded_messages(shard: int) -> None:
    @settings(SLOW, max_examples=5_000)
    @given(st.integers(shard * SHARD, (shard + 1) * SHARD - 1), st.booleans())
    def run(seed: int, fold: bool) -> None:
        check_message_round_trip(random_message(random.Random(seed)), fold)

    run()


@pytest.mark.slow
@settings(SLOW, max_examples=500)
@given(messages(), st.booleans())
def test_slow_generated_messages(message: Request | Response, fold: bool) -> None:
    check_message_round_trip(message, fold)


@pytest.mark.slow
@settings(SLOW, max_examples=500)
@given(name_addrs(), sip_uris())
def test_slow_name_addr_and_uri_round_trip(na: NameAddr, uri: SipUri) -> None:
    assert parse_name_addr(str(na)) == na
    assert parse_uri(str(uri)) == uri
