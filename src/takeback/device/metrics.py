"""The device's Prometheus metrics: what ``GET /metrics`` answers.

Rendered in the Prometheus text exposition format 0.0.4 (``# HELP`` / ``# TYPE`` then samples; label values
escaped for backslash, double quote and newline). Kept dependency-free on purpose: the device must not need
``prometheus_client`` to be probed.

What a dispatcher or an operator needs to see (issue #8 §2): calls by outcome, auth rejections by reason,
REFER outcomes, latencies (INVITE → answer, REFER → final NOTIFY, call duration) and active calls. Latencies
come from the fields the call wrote to its record row (kept in memory as ``Call.row``), so they are the same
numbers ``takeback device records`` shows, without reading SQLite back for every call.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

__all__ = [
    "CAPACITY_REASONS",
    "DURATION_BUCKETS",
    "LATENCY_BUCKETS",
    "DeviceMetrics",
    "Histogram",
    "MetricsSnapshot",
    "refer_result",
]

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
#: Refusals that are not about who is calling.
CAPACITY_REASONS = frozenset({"draining", "max-calls", "overload"})


class Histogram:
    """A cumulative Prometheus histogram (``_bucket{le=…}``, ``_sum``, ``_count``)."""

    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(sorted(set(buckets)))
        # Observations per bucket *alone* (the last slot: above every bound): each call observes three
        # values, so one C-speed bisect per value; the cumulative counts are summed when read.
        self._hits = [0] * (len(self.buckets) + 1)
        self.count = 0
        self.sum = 0.0

    @property
    def counts(self) -> list[int]:
        """Cumulative count per bucket bound (``le``), as exposed."""
        return list(accumulate(self._hits[:-1]))

    def observe(self, value: float) -> None:
        """Add one observation; negative or non-finite values (clock steps, missing data) are ignored."""
        if not math.isfinite(value) or value < 0:
            return
        self.count += 1
        self.sum += value
        self._hits[bisect_left(self.buckets, value)] += 1  # the first bound >= value (``le``)

    def lines(self, name: str) -> list[str]:
        out = [
            f'{name}_bucket{{le="{_number(b)}"}} {c}' for b, c in zip(self.buckets, self.counts, strict=True)
        ]
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_number(self.sum)}")
        out.append(f"{name}_count {self.count}")
        return out


def refer_result(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(result, status)`` of a call's take-back, from its record row; None when it sent no REFER.

    ``result``: ``success`` (terminal NOTIFY sipfrag 2xx), ``notify-failure`` (REFER accepted, sipfrag
    3xx-6xx), ``refused`` (the REFER itself got a non-2xx: 403, 481, 603 …), ``timeout`` (no terminal NOTIFY
    within ``take_back.timeout``, or no response to the REFER). ``status`` is the deciding code or ``none``.
    The 202 alone is never success (GENESYS.md §12 item 6).
    """
    if row.get("refer_at") is None:
        return None
    refer_status, notify_status = row.get("refer_status"), row.get("notify_status")
    if refer_status is not None and not 200 <= int(refer_status) < 300:
        return "refused", str(refer_status)
    if notify_status is None:
        return "timeout", "none"
    if 200 <= int(notify_status) < 300:
        return "success", str(notify_status)
    return "notify-failure", str(notify_status)


@dataclass
class MetricsSnapshot:
    """The live values owned by the server, passed in at render time."""

    calls_active: int
    draining: bool
    events: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    sip: Mapping[str, int] = field(default_factory=dict)
    records_written: int = 0
    records_failed: int = 0
    trace_evicted: int = 0


class DeviceMetrics:
    """Counters and histograms fed as calls end; :meth:`render` produces the exposition text."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.refer: dict[tuple[str, str], int] = {}
        self.answer = Histogram(LATENCY_BUCKETS)
        self.take_back = Histogram(LATENCY_BUCKETS)
        self.duration = Histogram(DURATION_BUCKETS)

    def call_refused(self, outcome: str) -> None:
        """An INVITE that never became a call (``refused``, ``challenged``)."""
        self.calls[outcome] = self.calls.get(outcome, 0) + 1

    def call_ended(self, outcome: str, row: Mapping[str, Any] | None) -> None:
        """An accepted call is over: count its outcome; its row (when readable) gives latencies and the
        REFER result."""
        self.calls[outcome] = self.calls.get(outcome, 0) + 1
        if row is None:
            return
        _observe_between(self.answer, row, "invite_at", "answer_at")
        _observe_between(self.take_back, row, "refer_at", "notify_final_at")
        _observe_between(self.duration, row, "invite_at", "end_at")
        result = refer_result(row)
        if result is not None:
            self.refer[result] = self.refer.get(result, 0) + 1

    def render(self, live: MetricsSnapshot) -> str:
        auth = {k: v for k, v in live.refused.items() if k not in CAPACITY_REASONS}
        capacity = {k: v for k, v in live.refused.items() if k in CAPACITY_REASONS}
        out: list[str] = []
        _family(out, "takeback_device_calls_active", "gauge", "Calls in progress.")
        out.append(f"takeback_device_calls_active {live.calls_active}")
        _family(out, "takeback_device_draining", "gauge", "1 while draining (SIGTERM): new calls get 503.")
        out.append(f"takeback_device_draining {int(live.draining)}")
        _counter(out, "takeback_device_calls_total", "Calls by final outcome.", "outcome", self.calls)
        _counter(out, "takeback_device_auth_rejections_total",
                 "Requests refused by the access policy, by reason.", "reason", auth)  # fmt: skip
        _counter(out, "takeback_device_capacity_rejections_total",
                 "INVITEs refused with 503 (draining, max_calls).", "reason", capacity)  # fmt: skip
        _family(out, "takeback_device_refer_total", "counter", "Take-back REFER outcomes (terminal NOTIFY).")
        out += [
            f"takeback_device_refer_total{_labels(result=r, status=s)} {n}"
            for (r, s), n in sorted(self.refer.items())
        ]
        _histogram(out, "takeback_device_answer_seconds", "INVITE received to 200 OK sent.", self.answer)
        _histogram(out, "takeback_device_take_back_seconds", "REFER sent to terminal NOTIFY.", self.take_back)
        _histogram(out, "takeback_device_call_duration_seconds", "INVITE to end of call.", self.duration)
        _counter(out, "takeback_device_events_total", "Device events.", "event", live.events)
        _counter(out, "takeback_sip_total", "SIP runtime counters.", "counter", live.sip)
        _family(out, "takeback_device_records_written_total", "counter", "Record changes committed.")
        out.append(f"takeback_device_records_written_total {live.records_written}")
        _family(out, "takeback_device_records_failed_total", "counter", "Record changes lost.")
        out.append(f"takeback_device_records_failed_total {live.records_failed}")
        _family(out, "takeback_device_trace_evicted_total", "counter", "SIP trace entries evicted.")
        out.append(f"takeback_device_trace_evicted_total {live.trace_evicted}")
        return "\n".join(out) + "\n"


def _observe_between(histogram: Histogram, row: Mapping[str, Any], start: str, end: str) -> None:
    first, last = row.get(start), row.get(end)
    if first is not None and last is not None:
        histogram.observe(float(last) - float(first))


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _counter(out: list[str], name: str, help_text: str, label: str, values: Mapping[str, int]) -> None:
    _family(out, name, "counter", help_text)
    out += [f"{name}{_labels(**{label: key})} {value}" for key, value in sorted(values.items())]


def _histogram(out: list[str], name: str, help_text: str, histogram: Histogram) -> None:
    _family(out, name, "histogram", help_text)
    out += histogram.lines(name)


def _labels(**labels: str) -> str:
    """``{a="x",b="y"}`` with values escaped as the exposition format requires."""
    inner = ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{value:.1f}"
