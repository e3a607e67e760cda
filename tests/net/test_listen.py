from __future__ import annotations

import pytest

from takeback.net.listen import ListenSpec, parse_listen_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("udp:127.0.0.1:5080", ListenSpec("UDP", "127.0.0.1", 5080)),
        ("tcp:[::1]:5080", ListenSpec("TCP", "::1", 5080)),
        ("tls:0.0.0.0:5061", ListenSpec("TLS", "0.0.0.0", 5061)),
        ("TCP:127.0.0.1", ListenSpec("TCP", "127.0.0.1", 5060)),
        ("tls:[::1]", ListenSpec("TLS", "::1", 5061)),
        ("udp:127.0.0.1:0", ListenSpec("UDP", "127.0.0.1", 0)),
        ("udp:[0:0:0:0:0:0:0:1]:5", ListenSpec("UDP", "::1", 5)),
    ],
)
def test_parse(text: str, expected: ListenSpec) -> None:
    assert parse_listen_spec(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sctp:127.0.0.1:5060",
        "127.0.0.1:5060",
        "udp:localhost:5060",
        "udp:::1:5060",
        "tcp:[::1:5060",
        "tcp:[::1]x5060",
        "udp:127.0.0.1:65536",
        "udp:127.0.0.1:-1",
        "udp:127.0.0.1:",
        "udp:",
    ],
)
def test_reject(text: str) -> None:
    with pytest.raises(ValueError, match="listen spec"):
        parse_listen_spec(text)


@pytest.mark.parametrize("text", ["udp:127.0.0.1:5080", "tcp:[::1]:5080", "tls:0.0.0.0:5061"])
def test_round_trip(text: str) -> None:
    assert str(parse_listen_spec(text)) == text
