"""Checks of a valid device.yaml against the outside world, run before any socket is opened.

:func:`takeback.device.config.load_device_config` proves the file is consistent; this proves it can run
here: the TLS certificate and key load (and match), the app module imports to a coroutine function, libopus
is present when Opus is offered, espeak-ng exists when a flow speaks text, and the records database opens.
Every failure is a :class:`~takeback.device.validation.Problem` naming the field, so the process exits with
code 2 and one line per problem instead of starting half-configured.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from takeback.media import OPUS_AVAILABLE
from takeback.net.tls import TlsConfig, server_context

from .config import DeviceConfig
from .flow import Play, walk
from .validation import ConfigError, Problem

__all__ = ["load_app", "preflight"]


def load_app(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function``; raises ValueError saying what is wrong."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an app's import error can be anything
        raise ValueError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    function = getattr(module, attribute, None)
    if function is None:
        raise ValueError(f"module {module_name!r} has no {attribute!r}")
    if not inspect.iscoroutinefunction(function):
        raise ValueError(f"{spec!r} must be an async function taking a takeback.device.Call")
    return function  # type: ignore[no-any-return]


def preflight(config: DeviceConfig, *, espeak: str = "espeak-ng") -> list[Problem]:
    """Every problem that would stop the device from running as configured (empty when ready)."""
    problems: list[Problem] = []
    if config.tls is not None:
        try:
            server_context(TlsConfig(certfile=config.tls.certfile, keyfile=config.tls.keyfile))
        except (ssl.SSLError, OSError, ValueError) as exc:
            problems.append(Problem("tls", f"cannot load the certificate/key: {exc}"))
    if config.app.module is not None:
        try:
            load_app(config.app.module)
        except ValueError as exc:
            problems.append(Problem("app.module", str(exc)))
    if "opus" in config.media.codecs and not OPUS_AVAILABLE:
        problems.append(Problem("media.codecs", "opus needs the opuslib package and libopus0"))
    if _speaks(config) and shutil.which(espeak) is None:
        problems.append(Problem("app.flow", f"play with text needs {espeak} (not found in PATH)"))
    return problems


def _speaks(config: DeviceConfig) -> bool:
    if config.app.flow is None:
        return False
    for _, step in walk(config.app.flow):
        if isinstance(step, Play) and not (
            step.prompt.lower().endswith(".wav") and Path(step.prompt).is_file()
        ):
            return True
    return False


def check(config: DeviceConfig) -> None:
    """Raise :class:`ConfigError` with every preflight problem."""
    problems = preflight(config)
    if problems:
        raise ConfigError(problems)
