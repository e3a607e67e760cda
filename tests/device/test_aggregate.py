"""The supervisor's aggregate HTTP listener: real listeners on 127.0.0.1 standing for the workers."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import pytest

from takeback.device.aggregate import WorkerEndpoint, merge_metrics, supervisor_http, worker_http_port
from takeback.device.http import StatusHttpServer

WORKER_METRICS = """\
# HELP takeback_device_calls_total Calls by outcome.
# TYPE takeback_device_calls_total counter
takeback_device_calls_total{{outcome="taken-back"}} {taken}
# HELP takeback_device_active_calls Calls in progress.
# TYPE takeback_device_active_calls gauge
takeback_device_active_calls {active}
# HELP takeback_device_answer_seconds INVITE to 200 OK.
# TYPE takeback_device_answer_seconds histogram
takeback_device_answer_seconds_bucket{{le="0.1"}} {taken}
takeback_device_answer_seconds_bucket{{le="+Inf"}} {taken}
takeback_device_answer_seconds_sum 0.5
takeback_device_answer_seconds_count {taken}
"""


def test_worker_ports_follow_the_configured_one() -> None:
    assert [worker_http_port(8080, i) for i in range(3)] == [8081, 8082, 8083]
    assert worker_http_port(0, 1) == 0


def test_merge_keeps_each_family_in_one_group_and_labels_every_sample() -> None:
    text = merge_metrics(
        [(0, WORKER_METRICS.format(taken=3, active=1)), (1, WORKER_METRICS.format(taken=4, active=0))]
    )
    lines = text.splitlines()
    assert lines.count("# TYPE takeback_device_calls_total counter") == 1
    assert 'takeback_device_calls_total{worker="0",outcome="taken-back"} 3' in lines
    assert 'takeback_device_calls_total{worker="1",outcome="taken-back"} 4' in lines
    assert 'takeback_device_active_calls{worker="1"} 0' in lines
    assert 'takeback_device_answer_seconds_sum{worker="0"} 0.5' in lines
    # the text format wants every line of one family together: no family reappears after another began
    order = [line.split("{")[0].split()[0] for line in lines if not line.startswith("#")]
    families = [name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for name in order]
    seen: list[str] = []
    for family in families:
        if not seen or seen[-1] != family:
            assert family not in seen, f"{family} split in two groups"
            seen.append(family)
    assert lines[-2:] == [f'takeback_device_worker_up{{worker="{i}"}} 1' for i in (0, 1)]


def test_a_silent_worker_shows_as_down_not_as_missing_samples() -> None:
    text = merge_metrics([(0, WORKER_METRICS.format(taken=1, active=0)), (1, None)])
    assert 'takeback_device_worker_up{worker="1"} 0' in text
    assert 'worker="1",outcome' not in text


class FakeWorker:
    """A real StatusHttpServer answering fixed values, as one worker's listener would."""

    def __init__(self, index: int, *, healthy: bool = True) -> None:
        self.index = index
        self.is_healthy = healthy
        self.server = StatusHttpServer(
            "127.0.0.1", 0, healthy=lambda: self.is_healthy, status=self.status,
            metrics=lambda: WORKER_METRICS.format(taken=index + 1, active=0), calls=self.calls,
            call_page=self.page,
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        return {"state": "running", "worker": self.index}

    async def calls(self, n: int) -> list[dict[str, Any]]:
        return [{"call_id": f"shared-{i}"} for i in range(min(n, 2))]

    async def page(self, call_id: str) -> str | None:
        return f"<p>{call_id} on worker {self.index}</p>" if call_id == f"held-by-{self.index}" else None

    @property
    def endpoint(self) -> WorkerEndpoint:
        return WorkerEndpoint(self.index, "127.0.0.1", self.server.port)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def _serve(workers: list[FakeWorker], paths: list[str], extra: list[WorkerEndpoint] = ()) -> list[Any]:
    for worker in workers:
        await worker.server.start()
    aggregate = supervisor_http("127.0.0.1", 0, [w.endpoint for w in workers] + list(extra))
    await aggregate.start()
    try:
        base = f"http://127.0.0.1:{aggregate.port}"
        return [await asyncio.to_thread(_get, base + path) for path in paths]
    finally:
        await aggregate.close()
        for worker in workers:
            await worker.server.close()


def test_the_supervisor_answers_for_every_worker() -> None:
    workers = [FakeWorker(0), FakeWorker(1)]
    paths = ["/metrics", "/healthz", "/status", "/calls?n=5", "/calls/held-by-1", "/calls/nobody"]
    metrics, health, status, calls, page, missing = asyncio.run(_serve(workers, paths))
    assert metrics[0] == 200
    assert b'takeback_device_calls_total{worker="1",outcome="taken-back"} 2' in metrics[1]
    assert health == (200, b"ok\n")
    assert [row["status"]["worker"] for row in json.loads(status[1])["workers"]] == [0, 1]
    assert json.loads(calls[1]) == [{"call_id": "shared-0"}, {"call_id": "shared-1"}]
    assert page == (200, b"<p>held-by-1 on worker 1</p>")
    assert missing[0] == 404


def test_one_draining_or_unreachable_worker_makes_the_set_unhealthy() -> None:
    (health,) = asyncio.run(_serve([FakeWorker(0), FakeWorker(1, healthy=False)], ["/healthz"]))
    assert health[0] == 503
    with_dead_port = asyncio.run(_serve([FakeWorker(0)], ["/healthz", "/metrics"], [_closed_endpoint(1)]))
    assert with_dead_port[0][0] == 503
    assert b'takeback_device_worker_up{worker="1"} 0' in with_dead_port[1][1]


def _closed_endpoint(index: int) -> WorkerEndpoint:
    import socket

    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return WorkerEndpoint(index, "127.0.0.1", port)


@pytest.mark.parametrize(
    ("host", "asked"), [("0.0.0.0", "127.0.0.1"), ("::", "::1"), ("10.1.2.3", "10.1.2.3")]
)
def test_wildcard_listeners_are_asked_on_the_loopback(host: str, asked: str) -> None:
    assert WorkerEndpoint(0, host, 1).ask_host == asked
