"""Plain-value description of one negotiated media stream.

The SDP layer (``takeback.sdp``) produces the negotiation result; the device copies the few values the media
runtime needs into :class:`MediaParams`. Keeping this a small frozen dataclass of builtins means the media
layer does not depend on the SDP package's types, and a re-INVITE (hold, unhold, new media server) is just
``session.update(direction=..., remote=...)`` with a new value object.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Literal

from takeback._frozen import trusted_builder

__all__ = [
    "DIRECTIONS",
    "Direction",
    "MediaParams",
    "SrtpKeys",
    "is_null_address",
    "params_from_negotiated",
    "srtp_keys_from_crypto",
]

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
DIRECTIONS: tuple[Direction, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")

Address = tuple[str, int]


def is_null_address(host: str) -> bool:
    """True for the RFC 2543-style hold address ``c=IN IP4 0.0.0.0`` (and its IPv6 spelling ``::``).

    RFC 3264 §8.4 replaced this with ``a=sendonly``, but Genesys' premises notes still list re-INVITE hold
    with 0.0.0.0 (GENESYS.md §4.4), so both spellings must mean "do not send there".
    """
    if ":" not in host:  # the only unspecified IPv4 spelling ipaddress accepts; names are never null
        return host == "0.0.0.0"
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SrtpKeys:
    """SDES keys of one SRTP stream (RFC 4568 §6.1): ours protects what we send, the peer's what we receive.

    ``suite`` is the crypto-suite both ``a=crypto`` lines name (the answer repeats the accepted offer's
    suite, RFC 4568 §7.1.2); the keys are master key || master salt. They are left out of ``repr`` so
    that logging a :class:`MediaParams` never writes key material.
    """

    suite: str
    local_key: bytes = field(repr=False)
    remote_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.local_key or not self.remote_key:
            raise ValueError("SRTP needs both the local and the remote master key")


@dataclass(frozen=True, slots=True)
class MediaParams:
    """What was agreed for one audio stream, from *our* point of view.

    ``direction`` is the attribute we put in our SDP: ``sendonly`` means we send and do not expect media
    (we hold the peer), ``recvonly`` means we only listen (the peer holds us), ``inactive`` means neither.
    ``remote`` is the address from the peer's SDP; symmetric RTP may later replace it with the address the
    peer's packets really come from (see :class:`takeback.media.session.MediaSession`).
    ``srtp`` carries the SDES keys when the stream is RTP/SAVP (GENESYS.md §7), ``None`` for plain RTP.
    """

    codec: str = "PCMU"
    payload_type: int = 0
    clock_rate: int = 8000
    remote: Address | None = None
    ptime: int = 20
    dtmf_payload_type: int | None = 101
    direction: Direction = "sendrecv"
    remote_rtcp: Address | None = None
    remote_ssrc: int | None = None
    srtp: SrtpKeys | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:  # 7-bit PT field, RFC 3550 §5.1
            raise ValueError(f"payload_type {self.payload_type} outside 0..127")
        if self.dtmf_payload_type is not None and not 0 <= self.dtmf_payload_type <= 127:
            raise ValueError(f"dtmf_payload_type {self.dtmf_payload_type} outside 0..127")
        if self.dtmf_payload_type == self.payload_type:
            raise ValueError("telephone-event and audio must use different payload types")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {self.direction!r}")
        if self.ptime <= 0 or self.clock_rate <= 0:
            raise ValueError("ptime and clock_rate must be positive")
        if self.remote is not None and not 0 <= self.remote[1] <= 0xFFFF:
            raise ValueError(f"remote port {self.remote[1]} outside 0..65535")

    @property
    def remote_is_null(self) -> bool:
        """The peer gave no usable address (none yet, c=0.0.0.0 hold, or port 0 = stream rejected)."""
        return self.remote is None or self.remote[1] == 0 or is_null_address(self.remote[0])

    @property
    def may_send(self) -> bool:
        """We are allowed to send RTP (RFC 3264 §6.1: not to a recvonly/inactive stream, not to 0.0.0.0)."""
        return self.direction in ("sendrecv", "sendonly") and not self.remote_is_null

    @property
    def expects_media(self) -> bool:
        """The peer is supposed to send us RTP, so silence from it means trouble (inactivity detection)."""
        return self.direction in ("sendrecv", "recvonly") and not self.remote_is_null

    @property
    def samples_per_packet(self) -> int:
        """RTP timestamp increment per packet (RFC 3551 §4.1: clock rate x packetisation time)."""
        return self.clock_rate * self.ptime // 1000


def params_from_negotiated(media: object) -> MediaParams:
    """Build :class:`MediaParams` from an SDP negotiation result, read by attribute name (duck typing).

    Works with ``takeback.sdp.NegotiatedMedia`` (``codec.name``, ``codec.payload_type``, ``codec.clock_rate``,
    ``remote_address``, ``remote_port``, ``ptime``, ``telephone_event_payload_type``, ``direction``,
    ``local_crypto``/``remote_crypto``) without importing it, so the media layer stays independent of the SDP
    package's types.
    """
    source: Any = media
    codec = source.codec
    # Built through the slots and then checked, as the constructor would, minus its ten keyword
    # ``object.__setattr__`` calls (this runs for every answered call).
    params = _build_params(
        codec.name,  # codec
        codec.payload_type,
        codec.clock_rate,
        (source.remote_address, source.remote_port),  # remote
        source.ptime,
        source.telephone_event_payload_type,  # dtmf_payload_type
        str(source.direction),  # direction: a StrEnum or a plain string
        None,  # remote_rtcp
        None,  # remote_ssrc
        srtp_keys_from_crypto(getattr(source, "local_crypto", None), getattr(source, "remote_crypto", None)),
    )
    params.__post_init__()
    return params


_build_params = trusted_builder(MediaParams)


def srtp_keys_from_crypto(local: object, remote: object) -> SrtpKeys | None:
    """:class:`SrtpKeys` from our and the peer's ``a=crypto`` (``takeback.sdp.CryptoAttribute``, duck typed).

    ``None`` when neither is given (plain RTP). Raises ``ValueError`` when only one side has a key, the
    suites differ, or a line uses what SDES media here does not: several keys, or an MKI (RFC 4568 §9.1).
    """
    if local is None and remote is None:
        return None
    if local is None or remote is None:
        raise ValueError("SRTP needs a=crypto on both sides")
    lines: tuple[Any, Any] = (local, remote)
    for line in lines:
        if len(line.key_params) != 1 or line.key_params[0].mki is not None:
            raise ValueError(f"a=crypto:{line.tag}: several keys or an MKI are not supported")
    if lines[0].suite.upper() != lines[1].suite.upper():
        raise ValueError(f"SRTP suites differ: ours {lines[0].suite}, the peer's {lines[1].suite}")
    return SrtpKeys(lines[1].suite.upper(), lines[0].key, lines[1].key)
