"""Port allocation from a range: even ports, RTCP neighbours, other processes' ports, exhaustion."""

from __future__ import annotations

import socket

import pytest

from takeback.media import PortAllocator, PortRangeExhausted


def free_even_block(size: int) -> int:
    """An even port starting ``size`` consecutive free ports on 127.0.0.1 (probing with real binds)."""
    for start in range(44000, 46000, 2 * size):
        probes = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in probes:
                sock.close()
        return start
    raise RuntimeError("no free port block found")


def test_allocates_even_ports_until_exhausted() -> None:
    start = free_even_block(6)
    ports = PortAllocator("127.0.0.1", start, start + 5, dscp=None)
    leases = [ports.allocate() for _ in range(3)]
    assert sorted(lease.port for lease in leases) == [start, start + 2, start + 4]
    assert all(lease.rtp.getsockname() == ("127.0.0.1", lease.port) for lease in leases)
    with pytest.raises(PortRangeExhausted) as caught:
        ports.allocate()
    message = str(caught.value)
    assert f"{start}-{start + 5}" in message and "127.0.0.1" in message and "3 by this process" in message
    leases[1].release()
    leases[1].release()  # idempotent
    assert ports.allocate().port == start + 2
    for lease in leases:
        lease.release()


def test_skips_ports_held_by_others() -> None:
    start = free_even_block(4)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", start))
    try:
        ports = PortAllocator("127.0.0.1", start, start + 3, dscp=None)
        lease = ports.allocate()
        assert lease.port == start + 2
        with pytest.raises(PortRangeExhausted, match="1 by other sockets"):
            ports.allocate()
        lease.release()
    finally:
        squatter.close()


def test_rtcp_pair_needs_both_ports() -> None:
    start = free_even_block(4)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", start + 1))  # RTCP port of the first pair
    try:
        ports = PortAllocator("127.0.0.1", start, start + 3, rtcp=True, dscp=None)
        lease = ports.allocate()
        assert lease.port == start + 2 and lease.rtcp is not None
        assert lease.rtcp.getsockname()[1] == start + 3
        with pytest.raises(PortRangeExhausted, match="RTCP needs port\\+1"):
            ports.allocate()
        lease.release()
    finally:
        squatter.close()


def test_round_robin_does_not_reuse_a_just_freed_port() -> None:
    start = free_even_block(6)
    ports = PortAllocator("127.0.0.1", start, start + 5, dscp=None)
    first = ports.allocate()
    first.release()
    second = ports.allocate()
    assert second.port != first.port
    second.release()


@pytest.mark.parametrize(
    ("host", "low", "high", "message"),
    [
        ("localhost", 1000, 2000, "numeric"),
        ("127.0.0.1", 3001, 3001, "no even RTP port"),
        ("127.0.0.1", 4000, 4000, "no even RTP port"),  # with RTCP below
        ("127.0.0.1", 0, 10, "no even RTP port"),
    ],
)
def test_invalid_configuration(host: str, low: int, high: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PortAllocator(host, low, high, rtcp=low == 4000)


def test_dscp_marking_is_applied() -> None:
    start = free_even_block(2)
    lease = PortAllocator("127.0.0.1", start, start + 1).allocate()
    assert lease.rtp.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 46 << 2
    lease.release()
