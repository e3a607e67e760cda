"""device.yaml: the example, the built-in copy, and one clear line per problem (path, bad value, valid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeback.device.config import (
    DEFAULT_RECORDS_FILE,
    builtin_device_config,
    load_device_config,
    parse_device_config,
)
from takeback.device.flow import Collect, Play, TakeBack
from takeback.device.validation import ConfigError, parse_duration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "device.yaml"
BUILTIN = ROOT / "src" / "takeback" / "data" / "device.yaml"


def _errors(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_device_config(text, **kwargs)  # type: ignore[arg-type]
    return [str(problem) for problem in info.value.problems]


# ------------------------------------------------------------------------------------- example/builtin


def test_builtin_copy_is_identical_to_the_example() -> None:
    assert BUILTIN.read_bytes() == EXAMPLE.read_bytes()


def test_example_has_the_articles_values() -> None:
    config = load_device_config(EXAMPLE)
    access = config.access
    assert access.token is not None
    assert (access.token.header, access.token.value) == ("CUSTOM-DEVICE-TOKEN", "1234567")
    assert access.dnis is not None
    assert access.dnis.e164 == ["+19999990001"]
    assert access.dnis.numbers == ["9991", "9992"]
    assert access.digest is None  # off by default, commented example in the file
    assert "#   realm: device.example" in EXAMPLE.read_text()
    assert config.take_back.number == "+33456456456"
    assert config.listen == ["udp:127.0.0.1:5080", "tcp:127.0.0.1:5080"]
    assert config.http == ("127.0.0.1", 8080)
    flow = config.app.flow
    assert flow is not None
    take_back = flow[-1]
    assert isinstance(take_back, TakeBack)
    assert take_back.number == "+33456456456"
    assert take_back.uui == "{conversation_id}|{digits}"


def test_builtin_config_admits_loopback_sources_only() -> None:
    config = builtin_device_config()
    assert config.access.ip_acl == ["127.0.0.0/8", "::1/128"]
    assert config.media_address == "127.0.0.1"


def test_default_flow_answers_greets_collects_four_digits_and_takes_back() -> None:
    config = parse_device_config("")
    flow = config.app.flow
    assert flow is not None
    assert [step.action for step in flow] == ["answer", "play", "collect", "take_back"]
    assert isinstance(flow[1], Play)
    assert isinstance(flow[2], Collect) and flow[2].max_digits == 4
    assert isinstance(flow[3], TakeBack) and flow[3].number is None  # -> take_back.number
    assert config.take_back.number == "+33456456456"


def test_records_default_under_the_working_dir_explicit_path_relative_to_the_file(tmp_path: Path) -> None:
    config = parse_device_config("", base_dir=tmp_path)
    assert config.records_path(cwd=Path("/somewhere")) == Path("/somewhere") / DEFAULT_RECORDS_FILE
    config = parse_device_config("records: {path: db/calls.sqlite}", base_dir=tmp_path)
    assert config.records_path() == tmp_path / "db" / "calls.sqlite"


def test_unquoted_plus_numbers_stay_text() -> None:
    config = parse_device_config("take_back: {number: +33456456456}\naccess: {dnis: {e164: +19999990001}}")
    assert config.take_back.number == "+33456456456"
    assert config.access.dnis is not None and config.access.dnis.e164 == ["+19999990001"]


# ------------------------------------------------------------------------------------------ listeners


def test_listen_specs_normalized_and_checked() -> None:
    config = parse_device_config("listen: ['UDP:127.0.0.1:5080', 'tcp:[::1]:5080']")
    assert config.listen == ["udp:127.0.0.1:5080", "tcp:[::1]:5080"]
    assert _errors("listen: [sctp:1.2.3.4:5]") == [
        "listen: bad listen spec 'sctp:1.2.3.4:5': expected udp:|tcp:|tls: followed by HOST[:PORT]"
    ]
    assert _errors("listen: [udp:127.0.0.1:5080, udp:127.0.0.1:5080]") == [
        "listen: 'udp:127.0.0.1:5080' is listed twice"
    ]
    assert _errors("listen: []") == ["listen: list at least one listener, e.g. udp:127.0.0.1:5080"]


def test_tls_listener_needs_certificate_files(tmp_path: Path) -> None:
    assert _errors("listen: [tls:127.0.0.1:5061]") == [
        "tls: is required by the tls: listener (certfile, keyfile)"
    ]
    errors = _errors("listen: [tls:127.0.0.1:5061]\ntls: {certfile: nope.pem}", base_dir=tmp_path)
    assert errors == [f"tls.certfile: 'nope.pem' is not a readable file (looked for {tmp_path / 'nope.pem'})"]
    (tmp_path / "c.pem").write_text("x")
    config = parse_device_config(
        "listen: [tls:127.0.0.1:5061]\ntls: {certfile: c.pem, min_version: 1.2}", base_dir=tmp_path
    )
    assert config.tls is not None
    assert config.tls.certfile == str(tmp_path / "c.pem")
    assert config.tls.min_version == "1.2"
    assert _errors(f"tls: {{certfile: {tmp_path / 'c.pem'}, min_version: '1.1'}}") == [
        "tls.min_version: '1.1' is not valid; use one of 1.2"
    ]


def test_wildcard_listener_needs_media_address() -> None:
    assert _errors("listen: [udp:0.0.0.0:5080]") == [
        "media.address: is required when every listener binds a wildcard address"
    ]
    config = parse_device_config("listen: [udp:0.0.0.0:5080]\nmedia: {address: 192.0.2.7}")
    assert config.media_address == "192.0.2.7"
    assert _errors("media: {address: 0.0.0.0}") == [
        "media.address: '0.0.0.0' cannot be advertised in SDP; give the address peers reach"
    ]


# --------------------------------------------------------------------------------------------- access


def test_acl_entries_normalized_with_index_in_errors() -> None:
    config = parse_device_config("access: {ip_acl: [10.1.2.3, '2001:db8::/32', 52.129.96.0/20]}")
    assert config.access.ip_acl == ["10.1.2.3/32", "2001:db8::/32", "52.129.96.0/20"]
    assert _errors("access: {ip_acl: [10.0.0.0/8, foo, 10.0.0.1/24]}") == [
        "access.ip_acl[1]: 'foo' is not an IP address or CIDR (e.g. 203.0.113.10 or 52.129.96.0/20)",
        "access.ip_acl[2]: '10.0.0.1/24' has host bits set; did you mean '10.0.0.0/24'?",
    ]


def test_acl_action_accepts_drop_or_403() -> None:
    assert parse_device_config("access: {acl_action: 403}").access.acl_action == "403"
    assert _errors("access: {acl_action: reject}") == [
        "access.acl_action: 'reject' is not valid; use one of drop, 403"
    ]


def test_unknown_keys_get_did_you_mean() -> None:
    assert _errors("acess: {}") == ["acess: unknown key 'acess'; did you mean 'access'?"]
    assert _errors("access: {tokn: {header: X, value: 1}}") == [
        "access.tokn: unknown key 'tokn'; did you mean 'token'?"
    ]
    assert _errors("access: {token: {header: X, valeu: 1}}") == [
        "access.token.valeu: unknown key 'valeu'; did you mean 'value'?"
    ]


def test_token_header_must_be_a_sip_token_and_value_is_text() -> None:
    config = parse_device_config("access: {token: {header: CUSTOM-DEVICE-TOKEN, value: 1234567}}")
    assert config.access.token is not None and config.access.token.value == "1234567"
    assert _errors("access: {token: {header: 'X Y', value: 1}}") == [
        "access.token.header: 'X Y' is not a SIP header name; it contains ' '"
    ]


def test_digest_settings() -> None:
    config = parse_device_config(
        "access: {digest: {realm: device, username: genesys, password: s3cret, nonce_lifetime: 5m}}"
    )
    digest = config.access.digest
    assert digest is not None
    assert (digest.nonce_lifetime, digest.algorithms, digest.qop, digest.status) == (
        300.0,
        ("MD5",),
        ("auth",),
        401,
    )
    assert _errors("access: {digest: {realm: r, username: u}}") == [
        "access.digest: give exactly one of password or ha1"
    ]
    assert _errors("access: {digest: {realm: r, username: u, password: p, ha1: x}}") == [
        "access.digest: give exactly one of password or ha1"
    ]
    errors = _errors("access: {digest: {realm: r, username: u, password: p, algorithms: [MD4]}}")
    assert errors[0].startswith("access.digest.algorithms: 'MD4' is not valid; use one of MD5, MD5-sess")
    assert _errors("access: {digest: {realm: r, username: u, ha1: abc}}") == [
        "access.digest: ha1: must be 32 hex digits for MD5"
    ]
    assert _errors("access: {digest: {realm: r, username: u, password: p, status: 402}}") == [
        "access.digest.status: 402 is not valid; use one of 401, 407"
    ]


def test_dnis_lists_ranges_and_regex() -> None:
    config = parse_device_config(
        "access: {dnis: {e164: ['+19999990001', '+19999990010 - +19999990019'],"
        " numbers: '9991, 9992,1000-1005', regex: ['\\+1999\\d+']}}"
    )
    dnis = config.access.dnis
    assert dnis is not None
    assert dnis.e164 == ["+19999990001", "+19999990010-+19999990019"]
    assert dnis.numbers == ["9991", "9992", "1000-1005"]
    assert dnis.regex == ["\\+1999\\d+"]


def test_dnis_errors() -> None:
    assert _errors("access: {dnis: {e164: ['19999990001'], numbers: '9991,99a'}}") == [
        "access.dnis.e164: '19999990001' is not valid; write E.164 numbers or ranges like +19999990001 or"
        " +19999990001-+19999990009",
        "access.dnis.numbers: '99a' is not valid; write short numbers or ranges like 9991 or 1000-1005",
    ]
    assert _errors("access: {dnis: {numbers: ['1000-99']}}") == [
        "access.dnis.numbers: '1000-99' is not a valid range; start <= end, both the same length"
    ]
    assert _errors("access: {dnis: {}}") == [
        "access.dnis: list at least one of e164, numbers, regex (or remove dnis to accept any)"
    ]
    errors = _errors("access: {dnis: {regex: ['(']}}")
    assert errors[0].startswith("access.dnis.regex: '(' is not a valid regex")


def test_uui_token_field_index_or_name() -> None:
    config = parse_device_config("access: {uui_token: {value: ACME, field: '0'}}")
    assert config.access.uui_token is not None and config.access.uui_token.field == 0
    config = parse_device_config("access: {uui_token: {value: ACME, field: token}}")
    assert config.access.uui_token is not None and config.access.uui_token.field == "token"
    assert _errors("access: {uui_token: {value: ACME, field: -1}}") == [
        "access.uui_token.field: -1 is not valid; a field index counts from 0"
    ]


# ---------------------------------------------------------------------------------------- media, timers


def test_media_settings() -> None:
    config = parse_device_config("media: {codecs: [PCMA, audio/opus], port_range: 20000-20100}")
    assert config.media.codecs == ("pcma", "opus")
    assert config.media.sdp_codecs == ("PCMA", "opus")
    assert config.media.port_range == (20000, 20100)
    assert _errors("media: {codecs: [pcmu, g729]}") == [
        "media.codecs: 'g729' is not valid; use pcmu, pcma or opus"
    ]
    assert _errors("media: {codecs: [pcmu, PCMU]}") == ["media.codecs: 'PCMU' is listed twice"]
    assert _errors("media: {port_range: 5-10}") == [
        "media.port_range: 5-10 is not valid; need 1024 <= low < high <= 65535"
    ]
    assert _errors("media: {port_range: lots}") == [
        "media.port_range: 'lots' is not a port range; write e.g. 16384-32767"
    ]
    assert _errors("media: {ptime: 25}") == ["media.ptime: 25 is not valid; use one of 10, 20, 30, 40, 60"]


def test_session_timer_rfc4028_floor() -> None:
    assert _errors("session_timer: {min_se: 60}") == [
        "session_timer.min_se: 60 is not valid; must be greater than or equal to 90"
    ]
    assert _errors("session_timer: {min_se: 600, session_expires: 300}") == [
        "session_timer: session_expires (300) must be >= min_se (600)"
    ]


def test_durations() -> None:
    assert [parse_duration(v) for v in (30, 0.5, "90s", "2m", "1m30s", "500ms", "1h", "2.5")] == [
        30.0,
        0.5,
        90.0,
        120.0,
        90.0,
        0.5,
        3600.0,
        2.5,
    ]
    for bad in ("soon", "", -1, True, "1:30"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(bad)
    assert _errors("drain_timeout: 1:30") == [
        "drain_timeout: '1:30' is not a duration; write e.g. 30, '90s' or '2m'"
    ]


def test_http_address() -> None:
    assert parse_device_config("http: '[::1]:8080'").http == ("::1", 8080)
    assert parse_device_config("http: null").http is None
    assert _errors("http: localhost:80") == [
        "http: 'localhost:80' is not HOST:PORT with an IP host (e.g. 127.0.0.1:8080)"
    ]


def test_take_back_settings() -> None:
    config = parse_device_config("take_back: {timeout: 10s, bye_grace: 0, pd: '04'}")
    assert (config.take_back.timeout, config.take_back.bye_grace, config.take_back.pd) == (10.0, 0.0, "04")
    assert _errors("take_back: {pd: 0}") == [
        "take_back.pd: '0' is not valid; the protocol discriminator is two hex digits, e.g. '00'"
    ]
    assert _errors("take_back: {timeout: 0}") == ["take_back: timeout: 0.0 must be above 0 seconds"]


# ------------------------------------------------------------------------------------------------ app


def test_app_needs_exactly_one_of_module_or_flow() -> None:
    assert _errors("app: {}") == ["app: give exactly one of module or flow"]
    assert _errors("app: {module: 'foo'}") == [
        "app.module: 'foo' is not valid; write package.module:function"
    ]
    config = parse_device_config("app: {module: 'mypkg.app:handle'}")
    assert config.app.module == "mypkg.app:handle"


def test_flow_step_errors_name_the_step() -> None:
    assert _errors("app: {flow: [answer, {plya: hi}]}") == [
        "app.flow[1]: 'plya' is not a step; did you mean 'play'? "
        "(use one of answer, play, collect, record, take_back, if, hangup)"
    ]
    assert _errors("app: {flow: [anser]}")[0].startswith(
        "app.flow[0]: 'anser' is not a step; did you mean 'answer'?"
    )
    assert _errors("app: {flow: [answer, {collect: {max_digits: 99}}]}") == [
        "app.flow[1].collect.max_digits: 99 is not valid; must be less than or equal to 32"
    ]
    assert _errors("app: {flow: [{hangup: now}]}") == [
        "app.flow[0]: step 'hangup' takes a mapping of options, not 'now'"
    ]
    assert _errors("app: {flow: []}") == ["app: flow: list at least one step"]


def test_flow_references_checked_at_load() -> None:
    assert _errors("app: {flow: [answer, {play: 'Hi {foo}'}]}") == [
        "app.flow[1].play.prompt: unknown variable {foo}; "
        "use one of call_id, caller, conversation_id, dnis, take_back_status, uui"
    ]
    errors = _errors(
        "app: {flow: [{collect: 4}, {take_back: {uui: '{digits}', on_failure: [{play: '{nope}'}]}}]}"
    )
    assert errors == [
        "app.flow[1].take_back.on_failure[0].play.prompt: unknown variable {nope}; "
        "use one of call_id, caller, conversation_id, digits, dnis, take_back_status, uui"
    ]
    assert _errors("app: {flow: [{if: {variable: code, empty: true}}]}")[0].startswith(
        "app.flow[0].if.variable: unknown variable 'code'"
    )


def test_flow_shorthands_and_if() -> None:
    config = parse_device_config(
        """
app:
  flow:
    - answer
    - collect: 6
    - if:
        variable: digits
        matches: '\\d{6}'
        then: [{take_back: '+33111111111'}]
        else: [{record: {path: 'rec/{call_id}.wav', max_seconds: 1m}}, hangup]
"""
    )
    flow = config.app.flow
    assert flow is not None
    assert isinstance(flow[1], Collect) and flow[1].max_digits == 6
    branch = flow[2]
    assert branch.action == "if"
    assert branch.holds({"digits": "123456"}) and not branch.holds({"digits": "12"})
    assert [s.action for s in branch.then] == ["take_back"]
    assert [s.action for s in branch.else_] == ["record", "hangup"]
    assert branch.else_[0].max_seconds == 60.0
    assert _errors("app: {flow: [{if: {variable: digits, then: [hangup]}}]}") == [
        "app.flow[0].if: give exactly one of equals, not_equals, matches, empty (got none)"
    ]


# --------------------------------------------------------------------------------------- yaml, files


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    assert _errors("a: 1\na: 2") == ["line 2: duplicate key 'a'"]
    assert _errors("foo: [")[0].startswith("line 1, column 7: not valid YAML")
    assert _errors("- a\n- b") == ["device.yaml must be a mapping of settings"]
    with pytest.raises(ConfigError, match="cannot read"):
        load_device_config(tmp_path / "missing.yaml")


def test_every_problem_is_reported_at_once_with_the_source(tmp_path: Path) -> None:
    path = tmp_path / "device.yaml"
    path.write_text("access: {acl_action: reject}\nmedia: {codecs: []}\nacess: 1\n")
    with pytest.raises(ConfigError) as info:
        load_device_config(path)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}: access.acl_action: 'reject' is not valid; use one of drop, 403",
        f"{path}: media.codecs: list at least one codec: pcmu, pcma, opus",
        f"{path}: acess: unknown key 'acess'; did you mean 'access'?",
    ]
