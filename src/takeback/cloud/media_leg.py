"""The emulator's RTP toward the device: the simulated caller's audio and DTMF, bridged over real RTP.

Genesys bridges the customer's media to the external device (GENESYS.md §1 (2), §4.4): media comes from
Genesys' media servers, not the signalling address. The emulator has no real customer, so the "bridge"
is one :class:`takeback.media.MediaSession` per device leg: it offers the trunk's codecs (§4.4), sends
silence plus the DTMF digits the simulated caller presses (RFC 4733 telephone-event, ``trunk_media_dtmf``)
to the address in the device's SDP answer, and counts what the device sends back.

On a TLS trunk the offer is RTP/SAVP with SDES keys (GENESYS.md §7) and the leg runs SRTP with the keys
of the offer/answer (ours protects what we send, the device's what it sends; :mod:`takeback.media.srtp`).

Media trouble never fails the call: a codec the media runtime cannot encode or an unreadable answer leaves
the leg signalling-only and says why in :attr:`problem`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from takeback.media import MediaError, MediaScheduler, MediaSession, MediaStats, PortAllocator, RtpTimeout
from takeback.media.params import params_from_negotiated
from takeback.sdp import (
    LocalMedia,
    NegotiatedMedia,
    SdpError,
    SessionDescription,
    VersionKeeper,
    build_offer,
    negotiate,
    parse_sdp,
    process_answer,
)
from takeback.sdp.errors import NegotiationError

from .invite import trunk_media
from .policies import Policies
from .trunk import Trunk

__all__ = ["MediaLeg"]

logger = logging.getLogger("takeback.cloud.media")


class MediaLeg:
    """RTP for one device leg. ``await MediaLeg.open(...)``, ``offer()``, ``connect(answer)``, ``close()``."""

    def __init__(self, session: MediaSession, address: str) -> None:
        self.session = session
        self.address = address
        self.local: LocalMedia | None = None
        self.keeper: VersionKeeper | None = None
        self.offer_sdp: SessionDescription | None = None
        self.negotiated: NegotiatedMedia | None = None
        self.problem: str | None = None
        self.digits_sent = ""
        self.final_stats: MediaStats | None = None

    @classmethod
    async def open(cls, scheduler: MediaScheduler, ports: PortAllocator, address: str) -> MediaLeg:
        """Bind an RTP port; raises :class:`takeback.media.MediaError` when none is free."""
        session = await MediaSession.open(scheduler, ports, inactivity_timeout=None, send_silence=True)
        return cls(session, address)

    @property
    def port(self) -> int:
        return self.session.local_port

    def offer(self, trunk: Trunk, policies: Policies, session_id: int) -> bytes:
        """The SDP offer for ``trunk`` (GENESYS.md §10 (1) layout) on our RTP port."""
        key_source = os.urandom if trunk.protocol == "tls" else None
        self.local = trunk_media(trunk, self.address, self.port, policies=policies, key_source=key_source)
        self.keeper = VersionKeeper(session_id)
        self.offer_sdp = build_offer(self.local, keeper=self.keeper)
        return self.offer_sdp.to_bytes()

    def connect(self, answer: bytes) -> bool:
        """Apply the device's SDP answer (RFC 3264 §6) and start sending; False (with :attr:`problem`)
        when the leg stays without media."""
        if self.offer_sdp is None:
            self.problem = "no offer was made"
            return False
        try:
            negotiated = process_answer(self.offer_sdp, parse_sdp(answer))
            self.session.update(params_from_negotiated(negotiated))
            self.session.start()
        except (SdpError, NegotiationError, MediaError, ValueError) as exc:
            self.problem = f"{type(exc).__name__}: {exc}"
            logger.info("device leg without media: %s", self.problem)
            return False
        self.negotiated = negotiated
        return True

    async def send_dtmf(self, digits: str) -> bool:
        """The caller presses ``digits`` (RFC 4733 events to the device); False without media or events."""
        if self.negotiated is None or self.negotiated.telephone_event is None or not digits:
            return False
        self.digits_sent += digits
        try:
            await self.session.send_dtmf(digits, duration_ms=100, pause_ms=100)
        except MediaError as exc:
            self.problem = f"DTMF: {exc}"
            return False
        return True

    def answer_reoffer(self, body: bytes) -> bytes | None:
        """Answer the device's re-INVITE/UPDATE offer (hold, unhold, new address; RFC 3264 §8) with our
        codecs and the mirrored direction, and apply it to the RTP session; None = not acceptable (488)."""
        if self.local is None or self.negotiated is None:
            return None
        try:
            answer = negotiate(parse_sdp(body), self.local, current=self.negotiated, keeper=self.keeper)
            self.session.update(params_from_negotiated(answer.media))
        except (SdpError, NegotiationError, MediaError, ValueError) as exc:
            logger.info("re-offer refused: %s", exc)
            return None
        self.negotiated = answer.media
        return answer.sdp.to_bytes()

    def on_idle(self, timeout: float, callback: Callable[[], None]) -> None:
        """§3.3 *Disconnect on idle RTP* (INFERRED): ``callback()`` after ``timeout`` s without RTP from the
        device while it should send (not on hold: the media runtime suspends the check then)."""

        def listener(event: object) -> None:
            if isinstance(event, RtpTimeout):
                callback()

        self.session.inactivity_timeout = timeout
        self.session.add_listener(listener)

    @property
    def stats(self) -> MediaStats:
        return self.final_stats or self.session.stats

    def close(self) -> None:
        if not self.session.closed:
            self.final_stats = self.session.stats
        self.session.close()
