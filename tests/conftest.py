"""Project-wide test settings.

Hypothesis runs derandomized (a fixed sequence of examples) and without an example database, so a CI run
is reproducible and leaves nothing behind; set TAKEBACK_HYPOTHESIS=explore locally to search with fresh
random seeds.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", database=None)
settings.load_profile("explore" if os.environ.get("TAKEBACK_HYPOTHESIS") == "explore" else "ci")
