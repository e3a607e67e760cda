"""Tick-batched receiving: one epoll_wait per tick serves every readable socket."""

from __future__ import annotations

import socket

import pytest

from takeback.media import MediaParams, MediaScheduler, MediaSession, PortAllocator, Prompt
from takeback.media.poller import EPOLL_AVAILABLE, TickPoller

from .media_helpers import session_pair, within

pytestmark = pytest.mark.skipif(not EPOLL_AVAILABLE, reason="select.epoll is Linux-only")


def test_drain_serves_each_readable_socket_once_per_round() -> None:
    poller = TickPoller()
    receivers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got: list[tuple[int, bytes]] = []
    for index, sock in enumerate(receivers):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        poller.add_reader(sock.fileno(), lambda s=sock, i=index: got.append((i, s.recv(2048))))
    for round_ in range(6):  # 6 datagrams for socket 0, one for socket 1, none for socket 2
        sender.sendto(b"a%d" % round_, receivers[0].getsockname())
    sender.sendto(b"b", receivers[1].getsockname())
    assert poller.drain() == 5  # round 1: sockets 0 and 1; rounds 2-4: socket 0 again
    assert sorted(got)[:2] == [(0, b"a0"), (0, b"a1")] and (1, b"b") in got
    assert poller.drain() == 2 and len(got) == 7  # the rest is served at the next tick
    assert poller.drain() == 0
    poller.remove_reader(receivers[0].fileno())
    poller.remove_reader(receivers[0].fileno())  # idempotent
    assert len(poller) == 2
    poller.close()
    for sock in (*receivers, sender):
        sock.close()


def test_failing_callback_does_not_stop_the_others() -> None:
    poller = TickPoller()
    a, b, sender = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3))
    served: list[bytes] = []

    def explode() -> None:
        a.recv(2048)
        raise RuntimeError("bug in a handler")

    for sock, callback in ((a, explode), (b, lambda: served.append(b.recv(2048)))):
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        poller.add_reader(sock.fileno(), callback)
    sender.sendto(b"x", a.getsockname())
    sender.sendto(b"y", b.getsockname())
    assert poller.drain() == 2 and served == [b"y"]
    poller.close()
    for sock in (a, b, sender):
        sock.close()


@pytest.mark.parametrize("tick_receive", [True, False], ids=["tick-batched", "loop-readers"])
async def test_sessions_work_with_either_receive_path(ports: PortAllocator, tick_receive: bool) -> None:
    scheduler = MediaScheduler(tick_receive=tick_receive)
    assert (scheduler.poller is not None) is tick_receive
    a, b = await session_pair(scheduler, ports)
    received: list[bytes] = []
    b.add_audio_tap(received.append)
    assert (await within(a.play(Prompt.tone(440, 0.2)))).completed
    await within(scheduler.wait_ticks(3))
    assert len(received) >= 10 and b.stats.packets_lost == 0
    a.close()
    b.close()
    assert not scheduler.running  # nothing left to send or to watch
    scheduler.close()


async def test_receiving_before_start_keeps_the_scheduler_running(ports: PortAllocator) -> None:
    """An opened (not yet started) session already latches and hears DTMF: its socket is watched."""
    scheduler = MediaScheduler()
    listener = await MediaSession.open(scheduler, ports, MediaParams(remote=("127.0.0.1", 9)))
    assert scheduler.running and len(scheduler) == 0
    talker = await MediaSession.open(scheduler, ports, MediaParams(remote=listener.local_address))
    talker.start()
    await within(talker.send_dtmf("4"))
    assert (await within(listener.collect(max_digits=1, first_digit_timeout=5))).digits == "4"
    talker.close()
    listener.close()
    scheduler.close()
