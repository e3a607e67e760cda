"""Modular arithmetic on RTP sequence numbers (16 bit) and timestamps (32 bit).

Both counters wrap (RFC 3550 §5.1: the initial values are random, so a wrap can happen at any moment of a
call, not just after hours). Comparing them with ``<`` is therefore always a bug; every comparison in this
package goes through :func:`seq_diff` / :func:`ts_diff`, which return the *signed* shortest distance,
the same serial-number arithmetic RFC 3550 Appendix A.1 uses (``udelta = seq - max_seq`` modulo 2**16).
"""

from __future__ import annotations

__all__ = [
    "SEQ_MOD",
    "TS_MOD",
    "seq_add",
    "seq_diff",
    "ts_add",
    "ts_diff",
]

SEQ_MOD = 1 << 16
"""Sequence numbers are 16-bit (RFC 3550 §5.1)."""
TS_MOD = 1 << 32
"""Timestamps and SSRCs are 32-bit (RFC 3550 §5.1)."""

_SEQ_HALF = SEQ_MOD >> 1
_TS_HALF = TS_MOD >> 1


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` modulo 2**16, in ``[-32768, 32767]``.

    Positive when ``a`` is newer than ``b``: ``seq_diff(0, 65535) == 1``, ``seq_diff(65535, 0) == -1``.
    """
    return ((a - b + _SEQ_HALF) & 0xFFFF) - _SEQ_HALF


def ts_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` modulo 2**32, in ``[-2**31, 2**31 - 1]``.

    Positive when ``a`` is later than ``b``: ``ts_diff(0, 2**32 - 160) == 160``.
    """
    return ((a - b + _TS_HALF) & 0xFFFFFFFF) - _TS_HALF


def seq_add(seq: int, n: int) -> int:
    """``seq + n`` wrapped to 16 bits (``n`` may be negative)."""
    return (seq + n) & 0xFFFF


def ts_add(timestamp: int, n: int) -> int:
    """``timestamp + n`` wrapped to 32 bits (``n`` may be negative)."""
    return (timestamp + n) & 0xFFFFFFFF
