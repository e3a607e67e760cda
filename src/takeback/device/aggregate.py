"""One status/metrics address for a device running as several workers (:mod:`.workers`).

Why: a Prometheus job, a load balancer's health check or an operator with curl should not have to know how
many processes the device runs. The supervisor listens on the configured ``http:`` address and asks every
worker (each on its own port, see :func:`worker_http_port`) when it is asked itself:

- ``/metrics``: every worker's samples, each family once, each sample labelled ``worker="I"`` (sum them in
  PromQL: ``sum without (worker) (…)``), plus ``takeback_device_worker_up{worker="I"}`` — 0 for a worker
  that did not answer this scrape, so a gap in the sums is visible instead of silent;
- ``/healthz``: 200 only while every worker is healthy (a draining or silent worker makes the set 503);
- ``/status`` and ``/``: the workers' JSON status side by side;
- ``/calls?n=``: the call list (the records database is shared, so any worker's answer is complete);
- ``/calls/<Call-ID>``: the page of the worker that held the call (its SIP ladder is in that worker's memory).

Workers are asked concurrently with a short deadline each: a stuck worker slows a scrape by at most that.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .http import StatusHttpServer

__all__ = ["WorkerEndpoint", "merge_metrics", "supervisor_http", "worker_http_port"]

_ASK_SECONDS = 2.0
_MAX_ANSWER = 16 * 1024 * 1024
_SAMPLE = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?([ \t].*)$")
_UP = (
    "# HELP takeback_device_worker_up 1 when the worker answered this scrape, 0 when it did not.",
    "# TYPE takeback_device_worker_up gauge",
)


def worker_http_port(configured: int, index: int) -> int:
    """Worker ``index``'s status port: the configured one + 1 + index (the supervisor keeps the configured
    port for the aggregate), or 0 (any free port) when the configured port is 0."""
    return configured + 1 + index if configured else 0


@dataclass(frozen=True)
class WorkerEndpoint:
    """Where worker ``index`` serves HTTP (a wildcard address is asked on the loopback)."""

    index: int
    host: str
    port: int

    @property
    def ask_host(self) -> str:
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)


async def http_get(endpoint: WorkerEndpoint, path: str, timeout: float = _ASK_SECONDS) -> tuple[int, bytes]:
    """``GET path`` from one worker (HTTP/1.0, its listener closes after answering); (0, b"") on failure."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(endpoint.ask_host, endpoint.port)
            try:
                writer.write(f"GET {path} HTTP/1.0\r\nHost: worker\r\n\r\n".encode("ascii"))
                await writer.drain()
                answer = await reader.read(_MAX_ANSWER)
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return 0, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    fields = head.split(b" ", 2)
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    return status, body


def merge_metrics(texts: Sequence[tuple[int, str | None]]) -> str:
    """Prometheus text of several workers → one exposition: families in first-seen order, each with its
    ``# HELP``/``# TYPE`` once and every worker's samples labelled (the format wants a family in one group).
    ``texts``: (worker index, its /metrics text or None when it did not answer)."""
    families: dict[str, tuple[list[str], list[str]]] = {}
    for index, text in texts:
        family = ""
        for line in (text or "").splitlines():
            if line.startswith("#"):
                words = line.split(None, 3)
                if len(words) >= 3 and words[1] in ("HELP", "TYPE"):
                    family = words[2]
                    headers, _ = families.setdefault(family, ([], []))
                    if line not in headers:
                        headers.append(line)
                continue
            match = _SAMPLE.match(line)
            if match is None:
                continue
            name, labels, rest = match.groups()
            if not (family and name.startswith(family)):
                family = name
            inner = labels[1:-1].strip() if labels else ""
            labelled = f'{name}{{worker="{index}"{"," + inner if inner else ""}}}{rest}'
            families.setdefault(family, ([], []))[1].append(labelled)
    out = [line for headers, samples in families.values() for line in (*headers, *samples)]
    out += [*_UP, *(f'takeback_device_worker_up{{worker="{i}"}} {int(t is not None)}' for i, t in texts)]
    return "\n".join(out) + "\n"


class _Aggregate:
    """The supervisor's answers, each built by asking every worker."""

    def __init__(self, workers: Sequence[WorkerEndpoint]) -> None:
        self.workers = list(workers)

    async def _ask_all(self, path: str) -> list[tuple[WorkerEndpoint, int, bytes]]:
        answers = await asyncio.gather(*(http_get(worker, path) for worker in self.workers))
        return [(worker, status, body) for worker, (status, body) in zip(self.workers, answers, strict=True)]

    async def healthy(self) -> bool:
        return all(status == 200 for _, status, _ in await self._ask_all("/healthz"))

    async def metrics(self) -> str:
        answers = await self._ask_all("/metrics")
        return merge_metrics([(w.index, _text(status, body)) for w, status, body in answers])

    async def status(self) -> dict[str, Any]:
        rows = []
        for worker, status, body in await self._ask_all("/status"):
            try:
                state = json.loads(body) if status == 200 else None
            except ValueError:
                state = None
            up = state is not None
            rows.append({"worker": worker.index, "port": worker.port, "up": up, "status": state})
        return {"workers": rows}

    async def calls(self, n: int) -> list[dict[str, Any]]:
        for worker in self.workers:  # shared records: the first worker that answers has them all
            status, body = await http_get(worker, f"/calls?n={n}")
            if status == 200:
                try:
                    rows: list[dict[str, Any]] = json.loads(body)
                    return rows
                except ValueError:
                    continue
        return []

    async def call_page(self, call_id: str) -> str | None:
        path = "/calls/" + quote(call_id, safe="")
        for _, status, body in await self._ask_all(path):
            if status == 200:
                return body.decode("utf-8", "replace")
        return None


def _text(status: int, body: bytes) -> str | None:
    return body.decode("utf-8", "replace") if status == 200 else None


def supervisor_http(host: str, port: int, workers: Sequence[WorkerEndpoint]) -> StatusHttpServer:
    """The aggregate listener (not started): the same routes as one worker's, answered for the set."""
    aggregate = _Aggregate(workers)
    return StatusHttpServer(
        host,
        port,
        healthy=aggregate.healthy,
        status=aggregate.status,
        metrics=aggregate.metrics,
        calls=aggregate.calls,
        call_page=aggregate.call_page,
    )
