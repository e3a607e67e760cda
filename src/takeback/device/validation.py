"""Validation plumbing for device.yaml: the shared :mod:`takeback.config` (strict models, a safe YAML
reader, one clear line per problem such as ``access.acl_action: 'reject' is not valid; use one of drop,
403``, "did you mean" for misspelt keys) plus what only the device needs, :func:`parse_duration`.

The device and the emulator (``takeback.cloud``) are siblings in the layering and do not import each
other; both use :mod:`takeback.config`, so ``ConfigError`` is one class for both.
"""

from __future__ import annotations

import re
from typing import Any

from takeback.config import (
    ConfigError,
    Problem,
    StrictModel,
    did_you_mean,
    format_path,
    read_yaml,
    validate_model,
)

__all__ = [
    "ConfigError",
    "Problem",
    "StrictModel",
    "did_you_mean",
    "format_path",
    "parse_duration",
    "read_yaml",
    "validate_model",
]

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


def parse_duration(value: Any) -> float:
    """Seconds from a number (``30``, ``0.5``) or text (``"2m"``, ``"90s"``, ``"1m30s"``, ``"500ms"``)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 30, '90s' or '2m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groups()):
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a duration; write e.g. 30, '90s' or '2m'") from None
        else:
            hours, minutes, secs, millis = match.groups()
            seconds = (
                int(hours or 0) * 3600.0
                + int(minutes or 0) * 60.0
                + float(secs or 0)
                + int(millis or 0) / 1e3
            )
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{value!r} is not a duration; it must be a finite number of seconds >= 0")
    return seconds
