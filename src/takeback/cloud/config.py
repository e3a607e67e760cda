"""Validation plumbing for org.yaml: the shared :mod:`takeback.config` (strict models, a safe YAML reader,
one clear message per problem, "did you mean"), under the names the cloud modules import; plus the
``emulator:`` section of org.yaml (how ``takeback cloud`` listens, not what the org is).

``takeback.cloud.ConfigError`` is :class:`takeback.config.ConfigError`, the same class the device raises.

The ``emulator:`` section (every key optional; the command line overrides each one)::

    emulator:
      sip: [udp:127.0.0.1:5070, tcp:127.0.0.1:5070, tls:127.0.0.1:5061]   # --sip
      api: 127.0.0.1:8070                                                # --api ("off" = none)
      tls:
        certfile: genesys.pem     # --tls-cert: our chain for tls: listeners (key inside, or keyfile)
        keyfile: genesys.key      # --tls-key
        cafile: device-ca.pem     # --tls-ca: trusted when we connect to a device (default: system store)
        max_version: "1.2"        # GENESYS.md §7 [DOC RC-TLS]: Genesys speaks TLS 1.2 only
        ciphers: genesys          # --tls-ciphers: the RC's 8 RSA suites, ECDHE secp384r1 (or: default)

Relative file names are taken relative to the org.yaml that names them. The org model accepts the
section as :attr:`takeback.cloud.Org.emulator` (so ``check``, ``provision`` and lint read the same file);
only ``takeback cloud`` uses it. :func:`parse_emulator` takes it out of raw data on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator

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
    "EMULATOR_KEY",
    "ConfigError",
    "EmulatorSettings",
    "EmulatorTls",
    "Loc",
    "Problem",
    "ProblemList",
    "StrictModel",
    "did_you_mean",
    "format_path",
    "parse_emulator",
    "problems_from_validation",
    "read_yaml",
    "validate_model",
]

#: The top-level org.yaml key of :class:`EmulatorSettings`.
EMULATOR_KEY = "emulator"


class EmulatorTls(StrictModel):
    """TLS of the emulator (GENESYS.md §7, §11 item 8): one-way TLS, so ``certfile``/``keyfile`` serve our
    ``tls:`` listeners only (never offered as a client certificate) and ``cafile`` is what we trust when
    we are the client toward a device (``None`` = the system store, as for a public-CA device).

    ``ciphers``: ``genesys`` = the RC-TLS suites (all RSA) and ECDHE on secp384r1 only, on both roles, so
    a device with an ECDSA certificate fails as it would with Genesys; ``default`` = Python's defaults
    (:mod:`takeback.cloud.tls_policy`)."""

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    max_version: Literal["1.2", "1.3"] = "1.2"
    ciphers: Literal["genesys", "default"] = "genesys"

    @field_validator("max_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        """An unquoted ``1.3`` in YAML is a float."""
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("certfile", "keyfile", "cafile")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path((info.context or {}).get("base_dir", ".")) / path
        if not path.is_file():
            raise ValueError(f"{value!r} is not a readable file (looked for {path})")
        return str(path)


class EmulatorSettings(StrictModel):
    """The ``emulator:`` section (module doc). ``sip`` None = the built-in listeners; ``api`` None = the
    built-in REST address, ``"off"`` = no REST side."""

    sip: list[str] | None = None
    api: str | None = None
    tls: EmulatorTls = EmulatorTls()

    @field_validator("sip", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("sip")
    @classmethod
    def _specs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one listener, e.g. udp:127.0.0.1:5070")
        from takeback.net.listen import parse_listen_spec  # here: the org model stays free of asyncio

        return [str(parse_listen_spec(item)) for item in value]

    @field_validator("api", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML 1.1 reads a bare `off` as false

    @field_validator("api")
    @classmethod
    def _api(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("off", "none", ""):
            return None if value is None else "off"
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not HOST:PORT (or off)")
        return value


def parse_emulator(
    data: Any, *, source: str | None = None, base_dir: Path | None = None
) -> tuple[EmulatorSettings, Any]:
    """Take the ``emulator:`` section out of parsed org.yaml data: (its settings, the rest for the org
    model). Raises :class:`ConfigError` with paths like ``emulator.tls.certfile``."""
    if not isinstance(data, dict) or EMULATOR_KEY not in data:
        return EmulatorSettings(), data
    rest = {key: value for key, value in data.items() if key != EMULATOR_KEY}
    section = data[EMULATOR_KEY]
    if section is None:
        return EmulatorSettings(), rest
    context = {"base_dir": str(base_dir or Path.cwd())}
    settings = validate_model(
        EmulatorSettings, section, prefix=(EMULATOR_KEY,), source=source, context=context
    )
    return settings, rest
