"""DTMF digit collection with the classic IVR stopping rules.

``collect`` stops on whichever comes first: ``max_digits`` collected, a terminator key (not included in the
digits), no first digit within ``first_digit_timeout``, or a gap longer than ``inter_digit_timeout`` after
a digit. Digits typed before ``collect`` was called (typeahead, including a barge-in digit that stopped a
prompt) count, which is what callers who know the menu expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from takeback.media.dtmf import DigitBuffer
from takeback.media.errors import SessionClosed

__all__ = ["CollectReason", "CollectResult", "collect_digits"]


class CollectReason(StrEnum):
    MAX_DIGITS = "max_digits"
    TERMINATOR = "terminator"
    FIRST_DIGIT_TIMEOUT = "first_digit_timeout"
    INTER_DIGIT_TIMEOUT = "inter_digit_timeout"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CollectResult:
    digits: str
    reason: CollectReason
    terminator: str | None = None

    @property
    def timed_out(self) -> bool:
        return self.reason in (CollectReason.FIRST_DIGIT_TIMEOUT, CollectReason.INTER_DIGIT_TIMEOUT)


async def collect_digits(
    buffer: DigitBuffer,
    *,
    max_digits: int,
    first_digit_timeout: float | None,
    inter_digit_timeout: float | None,
    terminator: str = "#",
) -> CollectResult:
    """Collect digits from ``buffer``; ``terminator`` lists the keys that end input ("" for none).

    A timeout of None waits forever (the caller hanging up ends it with reason ``closed``).
    """
    if max_digits < 1:
        raise ValueError("max_digits must be at least 1")
    digits: list[str] = []
    while len(digits) < max_digits:
        timeout = first_digit_timeout if not digits else inter_digit_timeout
        try:
            digit = await buffer.get(timeout)
        except SessionClosed:
            return CollectResult("".join(digits), CollectReason.CLOSED)
        if digit is None:
            reason = CollectReason.INTER_DIGIT_TIMEOUT if digits else CollectReason.FIRST_DIGIT_TIMEOUT
            return CollectResult("".join(digits), reason)
        if digit in terminator:
            return CollectResult("".join(digits), CollectReason.TERMINATOR, digit)
        digits.append(digit)
    return CollectResult("".join(digits), CollectReason.MAX_DIGITS)
