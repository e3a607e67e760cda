"""Wrap-safe sequence/timestamp arithmetic (RFC 3550 §5.1, Appendix A.1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from takeback.rtp.sequence import seq_add, seq_diff, ts_add, ts_diff

seqs = st.integers(0, 0xFFFF)
stamps = st.integers(0, 0xFFFFFFFF)


def test_seq_diff_across_the_wrap() -> None:
    assert seq_diff(0, 65535) == 1
    assert seq_diff(65535, 0) == -1
    assert seq_diff(5, 65530) == 11
    assert seq_diff(65530, 5) == -11
    assert seq_diff(100, 100) == 0


def test_seq_diff_half_range_is_negative() -> None:
    # Exactly half way is ambiguous; the convention is the most negative value.
    assert seq_diff(32768, 0) == -32768
    assert seq_diff(32767, 0) == 32767


def test_ts_diff_across_the_wrap() -> None:
    assert ts_diff(0, 2**32 - 160) == 160
    assert ts_diff(2**32 - 160, 0) == -160
    assert ts_diff(2**31 - 1, 0) == 2**31 - 1
    assert ts_diff(2**31, 0) == -(2**31)


def test_add_wraps() -> None:
    assert seq_add(65535, 1) == 0
    assert seq_add(0, -1) == 65535
    assert ts_add(2**32 - 1, 161) == 160
    assert ts_add(0, -160) == 2**32 - 160


@given(seqs, st.integers(-32768, 32767))
def test_seq_add_then_diff_round_trips(base: int, step: int) -> None:
    assert seq_diff(seq_add(base, step), base) == step


@given(stamps, st.integers(-(2**31), 2**31 - 1))
def test_ts_add_then_diff_round_trips(base: int, step: int) -> None:
    assert ts_diff(ts_add(base, step), base) == step


@given(seqs, seqs)
def test_seq_diff_is_antisymmetric_except_at_half(a: int, b: int) -> None:
    d = seq_diff(a, b)
    assert -32768 <= d <= 32767
    if d != -32768:
        assert seq_diff(b, a) == -d
