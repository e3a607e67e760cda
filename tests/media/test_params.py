"""MediaParams from plain values or from an SDP negotiation result; address spelling per socket family."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from takeback.media import MediaParams, params_from_negotiated
from takeback.media.params import is_null_address
from takeback.media.socket import sendable_address


def test_hold_semantics() -> None:
    base = MediaParams(remote=("192.0.2.1", 4000))
    assert base.may_send and base.expects_media
    assert not MediaParams(remote=("0.0.0.0", 4000)).may_send  # RFC 2543 hold
    assert not MediaParams(remote=("0.0.0.0", 4000)).expects_media
    assert not MediaParams(remote=("192.0.2.1", 0)).may_send  # port 0: stream rejected
    sendonly = MediaParams(remote=("192.0.2.1", 4000), direction="sendonly")
    assert sendonly.may_send and not sendonly.expects_media
    recvonly = MediaParams(remote=("192.0.2.1", 4000), direction="recvonly")
    assert not recvonly.may_send and recvonly.expects_media
    assert MediaParams(codec="opus", payload_type=111, clock_rate=48000).samples_per_packet == 960
    assert is_null_address("::") and not is_null_address("example.com")


@pytest.mark.parametrize(
    "bad",
    [
        {"payload_type": 128},
        {"dtmf_payload_type": 0},
        {"direction": "sideways"},
        {"ptime": 0},
        {"remote": ("192.0.2.1", 70000)},
    ],
)
def test_validation(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MediaParams(**bad)  # type: ignore[arg-type]


@dataclass
class FakeCodec:
    name: str
    payload_type: int
    clock_rate: int


@dataclass
class FakeNegotiated:
    codec: FakeCodec
    remote_address: str
    remote_port: int
    ptime: int
    telephone_event_payload_type: int | None
    direction: str


def test_from_negotiated_duck_typing() -> None:
    params = params_from_negotiated(
        FakeNegotiated(FakeCodec("PCMA", 8, 8000), "192.0.2.9", 30000, 20, 101, "sendonly")
    )
    assert params == MediaParams(
        codec="PCMA", payload_type=8, remote=("192.0.2.9", 30000), dtmf_payload_type=101, direction="sendonly"
    )


def test_sendable_address() -> None:
    assert sendable_address(socket.AF_INET, ("192.0.2.1", 5)) == ("192.0.2.1", 5)
    assert sendable_address(socket.AF_INET6, ("192.0.2.1", 5)) == ("::ffff:192.0.2.1", 5, 0, 0)
    assert sendable_address(socket.AF_INET6, ("2001:db8::1", 5)) == ("2001:db8::1", 5, 0, 0)
    assert sendable_address(socket.AF_INET, ("::ffff:192.0.2.1", 5)) == ("192.0.2.1", 5)
    with pytest.raises(ValueError, match="IPv6"):
        sendable_address(socket.AF_INET, ("2001:db8::1", 5))
    with pytest.raises(ValueError):
        sendable_address(socket.AF_INET, ("media.example.com", 5))  # the media path never resolves names
