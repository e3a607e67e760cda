"""Value grammars of org.yaml (GENESYS.md §3.3: durations, retryable codes, SIP servers, ACL entries)."""

from __future__ import annotations

import ipaddress

import pytest

from takeback.cloud.values import (
    HostPort,
    check_e164,
    is_e164,
    parse_call_rate,
    parse_codes,
    parse_duration,
    parse_host_port,
    parse_network,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m", 120.0),
        ("1m", 60.0),
        ("90s", 90.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("2m500ms", 120.5),
    ],
)
def test_duration_maxdialtimeout_style_s3_3(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "m", "2 minutes", "1s2m", "-1s"])
def test_duration_rejects_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_retryable_reason_codes_range_s3_3() -> None:
    codes = parse_codes("500-599")
    assert 500 in codes and 599 in codes and 499 not in codes and 600 not in codes
    assert len(codes) == 100


def test_cause_codes_list_and_ranges() -> None:
    assert parse_codes("1-5,25, 27") == frozenset({1, 2, 3, 4, 5, 25, 27})
    assert parse_codes("") == frozenset()


@pytest.mark.parametrize("text", ["599-500", "5xx", "500-", "700"])
def test_codes_errors_say_what_is_valid(text: str) -> None:
    with pytest.raises(ValueError, match=r"500-599|ascending"):
        parse_codes(text, low=100, high=699)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.34.12.16:5060", HostPort("10.34.12.16", 5060)),
        ("10.34.12.16", HostPort("10.34.12.16", 5060)),
        ("[2001:db8::1]:5061", HostPort("2001:db8::1", 5061)),
        ("sip.example.com:5062", HostPort("sip.example.com", 5062)),
    ],
)
def test_host_port(text: str, expected: HostPort) -> None:
    assert parse_host_port(text) == expected


def test_host_port_str_brackets_ipv6() -> None:
    assert str(HostPort("2001:db8::1", 5061)) == "[2001:db8::1]:5061"
    assert HostPort("127.0.0.1", 5080).is_ip and not HostPort("sip.example.com", 5060).is_ip


@pytest.mark.parametrize("text", ["host:0", "host:70000", "bad host", "[::1", "a:b:c", "1.2.3.4:"])
def test_host_port_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_host_port(text)


def test_network_accepts_ip_and_cidr() -> None:
    assert parse_network("10.34.12.16") == ipaddress.ip_network("10.34.12.16/32")
    assert parse_network("203.0.113.7/24") == ipaddress.ip_network("203.0.113.0/24")
    with pytest.raises(ValueError, match="CIDR"):
        parse_network("10.0.0.300")


def test_call_rate() -> None:
    assert parse_call_rate("40/5s") == (40, 5.0)
    with pytest.raises(ValueError):
        parse_call_rate("40 per 5s")


def test_e164() -> None:
    assert is_e164("+33456456456") and not is_e164("33456456456") and not is_e164("+0123")
    with pytest.raises(ValueError, match="add the leading"):
        check_e164("33456456456")
