"""Load shedding (device/overload.py): the pure hysteresis, the kernel backlog probe, the 503 path."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from takeback.device.config import parse_device_config
from takeback.device.overload import OverloadGuard
from takeback.net import CallFailed

from .device_helpers import device_uri, genesys, rows, running_device, wait_for

KB = 1024


def test_sheds_above_the_high_watermark_and_resumes_after_a_calm_hold() -> None:
    guard = OverloadGuard(shed_above=100 * KB, resume_below=20 * KB, hold=1.0)
    assert not guard.observe(99 * KB, 0.0)
    assert guard.observe(101 * KB, 0.1)
    assert guard.observe(50 * KB, 0.2)  # between the watermarks: still draining
    assert guard.observe(10 * KB, 0.3)  # calm starts
    assert guard.observe(10 * KB, 1.2)  # not calm long enough
    assert guard.observe(30 * KB, 1.25)  # back above resume_below: the calm period restarts
    assert guard.observe(10 * KB, 1.3)
    assert not guard.observe(10 * KB, 2.4)
    state = guard.state
    assert (state.episodes, state.peak_backlog, state.last_backlog) == (1, 101 * KB, 10 * KB)


def test_zero_threshold_disables_shedding() -> None:
    guard = OverloadGuard(0, 0, 1.0)
    assert not guard.enabled
    assert not guard.observe(10**9, 0.0)


def test_watermarks_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="resume_below"):
        OverloadGuard(10, 20, 1.0)


def test_config_names_the_field_when_watermarks_are_swapped(tmp_path: Path) -> None:
    from takeback.config import ConfigError

    with pytest.raises(ConfigError, match="overload"):
        parse_device_config("overload: {shed_above_kb: 64, resume_below_kb: 128}\n", base_dir=tmp_path)


async def test_backlog_probe_reads_the_kernel_queue_of_the_sip_socket(tmp_path: Path) -> None:
    """Datagrams sent while the loop is busy wait in the kernel; the probe sees their bytes."""
    async with running_device(tmp_path, "overload: {shed_above_kb: 0}\n", http=False) as server:
        assert server.ua is not None
        endpoint = server.endpoints[0]
        before = server.ua.transport.udp_receive_backlog()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(20):  # the loop does not run until we await: nothing is read meanwhile
                sender.sendto(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n" + b"X: " + b"a" * 900 + b"\r\n\r\n",
                              (endpoint.host, endpoint.port))  # fmt: skip
            time.sleep(0.05)  # loopback delivery is synchronous; this only absorbs scheduler noise
            queued = server.ua.transport.udp_receive_backlog()
    assert before == 0
    assert queued is not None and queued >= 20 * 900


async def test_new_calls_get_503_with_retry_after_while_shedding(tmp_path: Path) -> None:
    """§3.3 retryable 5xx: while shedding, a new INVITE is refused at once, statelessly and without a
    record row (refusing must cost the calls in progress nothing); when the queue is calm again calls are
    taken. The probe samples once at start, then sleeps: the guard is fed by hand."""
    body = "overload: {shed_above_kb: 64, resume_below_kb: 8, hold: 600, retry_after: 3, interval: 600}\n"
    async with running_device(tmp_path, body, http=False) as server, genesys() as peer:
        server.overload.observe(65 * KB, 0.0)
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server))
        assert info.value.status == 503
        assert info.value.response is not None and info.value.response.headers.get("Retry-After") == "3"
        server.overload.observe(0, 1e9)  # calm for longer than the hold: the probe's own samples
        server.overload.observe(0, 2e9)  # (loop time, once at start) cannot end shedding early
        call, _media = await peer.call(device_uri(server))
        await call.bye()
        await wait_for(lambda: not server.calls)
    assert server.refused == {"overload": 1}
    assert [row["invite_status"] for row in rows(server)] == [200]  # no row for the shed INVITE
    assert server.status()["overload"]["episodes"] == 1


async def test_an_invite_answering_our_challenge_is_not_shed(tmp_path: Path) -> None:
    """The INVITE that carries credentials answers our 401: that call is under way, shedding it would
    waste the work already done (and fail a call the peer is completing)."""
    body = "overload: {shed_above_kb: 64, resume_below_kb: 8, hold: 600, interval: 600}\n"
    credentials = ('Authorization', 'Digest username="genesys", realm="device", nonce="n", uri="sip:x", '
                   'response="00000000000000000000000000000000"')  # fmt: skip
    async with running_device(tmp_path, body, http=False) as server, genesys() as peer:
        server.overload.observe(65 * KB, 0.0)
        call, _media = await peer.call(device_uri(server), extra=(credentials,))
        await call.bye()
        await wait_for(lambda: not server.calls)
    assert server.refused == {}


async def test_backlog_probe_counts_bytes_waiting_on_tcp_connections(tmp_path: Path) -> None:
    """A TCP-only device: bytes a peer wrote that the loop has not read yet are the backlog."""
    body = "overload: {shed_above_kb: 0}\n"
    async with running_device(tmp_path, body, http=False, transport="tcp") as server:
        assert server.ua is not None
        endpoint = server.endpoints[0]
        assert server.ua.transport.receive_backlog() == 0  # a listener, no connection yet: known and empty
        with socket.create_connection((endpoint.host, endpoint.port)) as client:
            await wait_for(lambda: server.ua is not None and bool(server.ua.transport._by_id))
            client.sendall(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n" + b"X: " + b"a" * 4000)  # unfinished head
            time.sleep(0.05)  # the loop does not run meanwhile: the bytes stay in the kernel
            queued = server.ua.transport.receive_backlog()
    assert queued is not None and queued >= 4000
