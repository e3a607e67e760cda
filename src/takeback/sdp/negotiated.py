"""The outcome of offer/answer, shaped for whoever configures the RTP session."""

from __future__ import annotations

from dataclasses import dataclass

from takeback.sdp.attributes import Direction
from takeback.sdp.codecs import Codec
from takeback.sdp.crypto import CryptoAttribute
from takeback.sdp.model import SessionDescription

__all__ = ["Answer", "NegotiatedMedia"]


@dataclass(frozen=True, slots=True)
class NegotiatedMedia:
    """The agreed audio stream, from our point of view.

    - ``codec``: the codec to send, as the peer described it (payload type, name, clock rate, channels, and
      the peer's fmtp, i.e. what it wants to receive); ``codecs`` lists every agreed audio codec.
    - ``telephone_event``: the RFC 4733 payload format (payload type, clock rate, event-range fmtp), or
      ``None``.
    - ``remote_address``/``remote_port``: where to send RTP (``0.0.0.0`` while the peer holds with the
      RFC 2543 method; ``direction`` then says not to send).
    - ``ptime``: packetization for what we send, in ms: the peer's ``a=ptime``, else ours, else 20.
    - ``direction``: what we do: ``direction.sends`` / ``direction.receives`` (suspend the RTP timeout
      while we do not receive).
    - ``held``: the peer has put the stream on hold (sendonly/inactive or ``c=0.0.0.0``, RFC 3264 §8.4).
    - ``local_crypto``/``remote_crypto``: SDES keys for SRTP (ours protects what we send, the peer's what we
      receive), ``None`` for plain RTP.
    """

    codec: Codec
    codecs: tuple[Codec, ...]
    telephone_event: Codec | None
    remote_address: str
    remote_port: int
    ptime: int
    direction: Direction
    held: bool
    media_index: int
    proto: str = "RTP/AVP"
    maxptime: int | None = None
    local_crypto: CryptoAttribute | None = None
    remote_crypto: CryptoAttribute | None = None

    @property
    def payload_type(self) -> int:
        return self.codec.payload_type

    @property
    def telephone_event_payload_type(self) -> int | None:
        return None if self.telephone_event is None else self.telephone_event.payload_type

    @property
    def is_srtp(self) -> bool:
        return self.local_crypto is not None


@dataclass(frozen=True, slots=True)
class Answer:
    """``negotiate``'s result: the answer to send (``sdp``) and the agreed stream (``media``).

    The common media fields are repeated as properties so ``answer.codec`` reads naturally.
    """

    sdp: SessionDescription
    media: NegotiatedMedia

    def __bytes__(self) -> bytes:
        return self.sdp.to_bytes()

    @property
    def codec(self) -> Codec:
        return self.media.codec

    @property
    def telephone_event(self) -> Codec | None:
        return self.media.telephone_event

    @property
    def telephone_event_payload_type(self) -> int | None:
        return self.media.telephone_event_payload_type

    @property
    def remote_address(self) -> str:
        return self.media.remote_address

    @property
    def remote_port(self) -> int:
        return self.media.remote_port

    @property
    def ptime(self) -> int:
        return self.media.ptime

    @property
    def direction(self) -> Direction:
        return self.media.direction
