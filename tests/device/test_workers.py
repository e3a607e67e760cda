"""The parts of ``takeback.device.workers`` that need no process: RTP port slices, slots, port pinning."""

from __future__ import annotations

import itertools
import socket

import pytest

from takeback.device.config import DeviceConfig
from takeback.device.workers import WorkerSlot, parse_worker_slot, pin_ports
from takeback.net import parse_listen_spec


def test_port_slices_are_disjoint_and_cover_the_range() -> None:
    slices = [WorkerSlot(index, 3).port_slice(16384, 32767) for index in range(3)]
    assert slices[0][0] == 16384 and slices[-1][1] == 32767
    for (_, end), (start, _) in itertools.pairwise(slices):
        assert start == end + 1


def test_a_range_too_small_for_the_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="too small for 4 workers"):
        WorkerSlot(0, 4).port_slice(20000, 20005)


@pytest.mark.parametrize("text", ["1", "a/2", "2/2", "-1/2", "0/"])
def test_bad_slot_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_worker_slot(text)


def test_slot_text_round_trips() -> None:
    assert parse_worker_slot(str(WorkerSlot(1, 4))) == WorkerSlot(1, 4)


def test_port_zero_listeners_get_a_free_port_and_others_are_kept() -> None:
    pinned = pin_ports(["udp:127.0.0.1:0", "tcp:127.0.0.1:0", "udp:127.0.0.1:5080"])
    udp, tcp, fixed = (parse_listen_spec(text) for text in pinned)
    assert udp.port and tcp.port and fixed.port == 5080
    for spec, kind in ((udp, socket.SOCK_DGRAM), (tcp, socket.SOCK_STREAM)):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", spec.port))  # free again: the workers bind it next


def test_workers_auto_is_one_per_cpu_and_the_default_is_one() -> None:
    assert DeviceConfig().workers == 1
    assert DeviceConfig(workers="auto").workers >= 1
