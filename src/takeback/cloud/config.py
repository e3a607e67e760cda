"""Validation plumbing for org.yaml: the shared :mod:`takeback.config` (strict models, a safe YAML reader,
one clear message per problem, "did you mean"), under the names the cloud modules import.

``takeback.cloud.ConfigError`` is :class:`takeback.config.ConfigError`, the same class the device raises.
"""

from __future__ import annotations

from takeback.config import (
    ConfigError,
    Loc,
    Problem,
    ProblemList,
    StrictModel,
    did_you_mean,
    format_path,
    problems_from_validation,
    read_yaml,
    validate_model,
)

__all__ = [
    "ConfigError",
    "Loc",
    "Problem",
    "ProblemList",
    "StrictModel",
    "did_you_mean",
    "format_path",
    "problems_from_validation",
    "read_yaml",
    "validate_model",
]
