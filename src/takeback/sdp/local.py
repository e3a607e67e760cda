"""What we are willing to do with media: one value object shared by offers and answers.

The device and the emulator describe their side once per call leg (address, port, codec preference list,
DTMF, SRTP policy) and hand the same object to ``build_offer`` and ``negotiate``; a hold is the same object
with another ``direction`` (``dataclasses.replace(local, direction=Direction.SENDONLY)``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any

from takeback.sdp.attributes import Direction
from takeback.sdp.codecs import PCMA, PCMU, TELEPHONE_EVENT, Codec, resolve_codecs
from takeback.sdp.crypto import DEFAULT_SUITES, SUITE_KEY_LENGTHS
from takeback.sdp.fields import Connection, Origin, trusted_builder

__all__ = ["LocalMedia", "SrtpPolicy"]


class SrtpPolicy(StrEnum):
    """How we treat SRTP (SDES, RFC 4568) when offering and answering.

    ``off``: offer RTP/AVP, reject RTP/SAVP streams. ``optional``: offer RTP/AVP, accept either profile in
    an offer. ``required``: offer RTP/SAVP with ``a=crypto``, reject plain RTP (Genesys TLS trunks,
    GENESYS.md §7).
    """

    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """Our media capabilities and intentions for one call leg.

    ``codecs`` is the preference list, best first: ``Codec`` objects or names such as ``"PCMU"``,
    ``"audio/opus"`` (Genesys ``trunk_media_codec`` spelling) or ``"opus/48000/2"``. ``preferred`` holds the
    resolved codecs with unique payload types (dynamic ones moved away from the telephone-event type).
    ``telephone_event`` is offered with its payload type and fmtp; in answers only its presence matters,
    since the offer's payload type and fmtp are mirrored. ``ptime=None`` leaves ``a=ptime`` out.
    ``key_source(n)`` must return ``n`` random bytes (``os.urandom``) when SRTP may be used.
    ``legacy_hold`` sends ``c=0.0.0.0`` (RFC 3264 §8.4, the RFC 2543 hold that Genesys uses) instead of our
    address; combine it with ``direction=Direction.SENDONLY`` or ``INACTIVE``.
    """

    address: str
    port: int
    codecs: Sequence[Codec | str] = (PCMU, PCMA)
    telephone_event: Codec | None = TELEPHONE_EVENT
    ptime: int | None = 20
    maxptime: int | None = None
    direction: Direction = Direction.SENDRECV
    legacy_hold: bool = False
    srtp: SrtpPolicy = SrtpPolicy.OFF
    crypto_suites: Sequence[str] = DEFAULT_SUITES
    key_source: Callable[[int], bytes] | None = field(default=None, compare=False)
    single_codec: bool = True
    preferred: tuple[Codec, ...] = field(init=False, repr=False, compare=False)
    # Derived once per configuration instead of once per call (``connection``, ``origin``).
    _connection: Connection = field(init=False, repr=False, compare=False)
    _origin: Origin = field(init=False, repr=False, compare=False)
    #: What ``negotiate`` derives from this configuration alone, or from it and a peer's recurring choices
    #: (the answered section's a= lines for an agreed codec set): built on the first call that needs it.
    #: Shared with the ``with_port`` copies, which differ only in the port (no memo entry depends on it).
    memo: dict[Any, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "srtp", SrtpPolicy(self.srtp))
        object.__setattr__(self, "direction", Direction(self.direction))
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            raise ValueError(f"local media address {self.address!r} must be an IP address") from None
        if not 0 < self.port <= 65535:
            raise ValueError(f"local media port {self.port} out of range")
        for name in ("ptime", "maxptime"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")
        telephone_event = self.telephone_event
        if telephone_event is not None and not telephone_event.is_telephone_event:
            raise ValueError(f"telephone_event must be a telephone-event codec, got {telephone_event.rtpmap}")
        reserved = () if telephone_event is None else (telephone_event.payload_type,)
        preferred = resolve_codecs(self.codecs, reserved=reserved)
        if not preferred or any(codec.is_telephone_event for codec in preferred):
            raise ValueError("codecs must list at least one audio codec (telephone-event goes separately)")
        suites = tuple(self.crypto_suites)
        if self.srtp is not SrtpPolicy.OFF:
            unknown = [suite for suite in suites if suite.upper() not in SUITE_KEY_LENGTHS]
            if not suites or unknown:
                raise ValueError(f"unsupported SRTP crypto suites: {unknown or 'none given'}")
            if self.key_source is None:
                raise ValueError("SRTP needs key_source (e.g. os.urandom)")
        object.__setattr__(self, "codecs", tuple(self.codecs))
        object.__setattr__(self, "crypto_suites", suites)
        object.__setattr__(self, "preferred", preferred)
        unspecified = "::" if ":" in self.address else "0.0.0.0"
        object.__setattr__(
            self, "_connection", Connection.create(unspecified if self.legacy_hold else self.address)
        )
        object.__setattr__(self, "_origin", Origin.create(self.address))
        object.__setattr__(self, "memo", {})

    def with_port(self, port: int) -> LocalMedia:
        """The same capabilities on another port, without validating and resolving them again: a device
        builds one template from its configuration and derives each call's copy from it."""
        if not 0 < port <= 65535:
            raise ValueError(f"local media port {port} out of range")
        values = _all_fields(self)
        return _trusted_local_media(*values[:_PORT], port, *values[_PORT + 1 :])

    @property
    def connection(self) -> Connection:
        """The ``c=`` we publish: our address, or the unspecified address for a legacy hold."""
        return self._connection

    @property
    def origin(self) -> Origin:
        """An ``o=`` with our address (``- 0 0 IN IP4 <address>``; a ``VersionKeeper`` stamps the rest)."""
        return self._origin


_LOCAL_MEDIA_FIELDS = tuple(f.name for f in fields(LocalMedia))
_PORT = _LOCAL_MEDIA_FIELDS.index("port")
_all_fields = attrgetter(*_LOCAL_MEDIA_FIELDS)
_trusted_local_media = trusted_builder(LocalMedia)
