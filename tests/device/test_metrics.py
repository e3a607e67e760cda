"""The device's Prometheus exposition, checked with a strict text-format reader (no server needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from takeback.device.metrics import DeviceMetrics, Histogram, MetricsSnapshot, refer_result

from .prometheus_text import parse, value

ROW = {
    "invite_at": 100.0,
    "answer_at": 100.25,
    "refer_at": 110.0,
    "notify_final_at": 110.5,
    "end_at": 112.0,
    "refer_status": 202,
    "notify_status": 200,
}


def test_histogram_is_cumulative_and_ignores_nonsense() -> None:
    histogram = Histogram((0.1, 1.0))
    for sample in (0.05, 0.5, 5.0, -1.0, float("nan"), float("inf")):
        histogram.observe(sample)
    assert (histogram.counts, histogram.count, histogram.sum) == ([1, 2], 3, 5.55)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("success", "200")),
        ({"refer_at": None}, None),
        ({"refer_status": 603, "notify_status": None}, ("refused", "603")),
        ({"notify_status": 486}, ("notify-failure", "486")),
        ({"notify_status": None}, ("timeout", "none")),
        ({"refer_status": None, "notify_status": None}, ("timeout", "none")),
    ],
)
def test_refer_result_is_decided_by_the_final_notify(fields: dict[str, object], expected: object) -> None:
    assert refer_result(ROW | fields) == expected


def test_render_has_every_family_and_parses_strictly() -> None:
    metrics = DeviceMetrics()
    metrics.call_ended("taken-back", ROW)
    metrics.call_ended(
        "take-back-failed", ROW | {"refer_status": 403, "notify_status": None, "notify_final_at": None}
    )
    metrics.call_ended("peer-hangup", None)
    metrics.call_refused("challenged")
    live = MetricsSnapshot(
        calls_active=2,
        draining=False,
        events={"invites": 5},
        refused={"token-mismatch": 3, "acl": 1, "draining": 2, 'we"ird\\re\nason': 1},
        sip={"messages_in": 9},
        records_written=7,
    )
    types, samples = parse(metrics.render(live))
    assert types["takeback_device_answer_seconds"] == "histogram"
    assert types["takeback_device_calls_total"] == types["takeback_device_refer_total"] == "counter"
    assert value(samples, "takeback_device_calls_active") == 2
    assert value(samples, "takeback_device_calls_total", outcome="taken-back") == 1
    assert value(samples, "takeback_device_calls_total", outcome="challenged") == 1
    assert value(samples, "takeback_device_auth_rejections_total", reason="token-mismatch") == 3
    assert value(samples, "takeback_device_auth_rejections_total", reason='we"ird\\re\nason') == 1
    assert value(samples, "takeback_device_auth_rejections_total", reason="draining") == 0
    assert value(samples, "takeback_device_capacity_rejections_total", reason="draining") == 2
    assert value(samples, "takeback_device_refer_total", result="success", status="200") == 1
    assert value(samples, "takeback_device_refer_total", result="refused", status="403") == 1
    assert value(samples, "takeback_device_answer_seconds_count") == 2
    assert value(samples, "takeback_device_answer_seconds_sum") == 0.5
    assert value(samples, "takeback_device_answer_seconds_bucket", le="0.25") == 2
    assert value(samples, "takeback_device_answer_seconds_bucket", le="0.1") == 0
    assert value(samples, "takeback_device_take_back_seconds_count") == 1  # the refused REFER has no NOTIFY
    assert value(samples, "takeback_device_call_duration_seconds_bucket", le="+Inf") == 2
    assert value(samples, "takeback_device_events_total", event="invites") == 5
    assert value(samples, "takeback_device_records_written_total") == 7


def test_render_with_nothing_observed_is_still_valid() -> None:
    types, samples = parse(DeviceMetrics().render(MetricsSnapshot(calls_active=0, draining=True)))
    assert value(samples, "takeback_device_draining") == 1
    assert value(samples, "takeback_device_take_back_seconds_bucket", le="+Inf") == 0
    assert "takeback_device_refer_total" in types


@given(
    bounds=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=6),
    samples=st.lists(
        st.floats(-1, 200, allow_nan=False) | st.sampled_from([0.0, 1.0, 5.0, 10.0]), max_size=20
    ),
)
def test_histogram_counts_equal_counting_every_bound(bounds: list[float], samples: list[float]) -> None:
    """One bisect per observation, summed when read: the same cumulative counts as testing each bound."""
    histogram = Histogram(bounds)
    for sample in samples:
        histogram.observe(sample)
    kept = [s for s in samples if s >= 0]
    assert histogram.counts == [sum(1 for s in kept if s <= bound) for bound in histogram.buckets]
    assert histogram.count == len(kept)
