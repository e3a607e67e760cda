"""The stdlib ``audioop`` module without its 3.11/3.12 deprecation warning.

DESIGN.md §4 chose audioop for sample-format work (C speed, no numpy); on Python >= 3.13 the ``audioop-lts``
distribution provides the same module name, so this shim is the only place that knows about the deprecation.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["audioop"]
