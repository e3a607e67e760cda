"""The offerer's half of RFC 3264: ``build_offer`` and ``process_answer``.

``build_offer`` writes one audio stream in our codec preference order, then telephone-event, ptime and the
direction — the layout of the Genesys offer in GENESYS.md §10 (1), so the emulator can reproduce it from a
trunk's ``trunk_media_codec`` list. ``process_answer`` reads the peer's answer against that offer and gives
the same ``NegotiatedMedia`` that ``negotiate`` gives an answerer.
"""

from __future__ import annotations

from collections.abc import Sequence

from takeback.sdp.attributes import Attribute
from takeback.sdp.codecs import Codec, codec_attributes
from takeback.sdp.crypto import SUITE_KEY_LENGTHS, CryptoAttribute
from takeback.sdp.errors import InvalidAnswer, NoCommonCodec, SdpParseError, SrtpMismatch
from takeback.sdp.fields import MediaLine, Origin
from takeback.sdp.local import LocalMedia, SrtpPolicy
from takeback.sdp.model import MediaDescription, SessionDescription
from takeback.sdp.negotiated import NegotiatedMedia
from takeback.sdp.version import VersionKeeper

__all__ = ["build_offer", "process_answer"]


def build_offer(
    local: LocalMedia,
    *,
    keeper: VersionKeeper | None = None,
    crypto: Sequence[CryptoAttribute] | None = None,
    session_name: str = "-",
) -> SessionDescription:
    """An offer with one audio stream: ``local.preferred`` codecs in order, then ``local.telephone_event``.

    SRTP: with ``local.srtp == "required"`` the stream is RTP/SAVP with one ``a=crypto`` per suite in
    ``local.crypto_suites`` (tags 1, 2, ...; keys from ``local.key_source``). Pass ``crypto`` to reuse the
    lines of an earlier offer (a re-INVITE should not rekey needlessly) or to force SDES on any policy.
    ``keeper`` stamps the o= line (RFC 3264 §8); without one the origin is ``- 0 0``.
    """
    codecs: list[Codec] = list(local.preferred)
    if local.telephone_event is not None:
        codecs.append(local.telephone_event)
    if crypto is None and local.srtp is SrtpPolicy.REQUIRED:
        crypto = _fresh_crypto(local)
    crypto = tuple(crypto or ())
    attributes = codec_attributes(codecs)
    if local.ptime is not None:
        attributes.append(Attribute("ptime", str(local.ptime)))
    if local.maxptime is not None:
        attributes.append(Attribute("maxptime", str(local.maxptime)))
    attributes.append(Attribute(local.direction.value))
    attributes.extend(Attribute("crypto", str(line)) for line in crypto)
    proto = "RTP/SAVP" if crypto else "RTP/AVP"
    formats = tuple(str(codec.payload_type) for codec in codecs)
    media = MediaDescription.create(MediaLine("audio", local.port, proto, formats), attributes=attributes)
    sdp = SessionDescription.create(
        Origin.create(local.address), session_name=session_name, connection=local.connection, media=[media]
    )
    return keeper.stamp(sdp) if keeper is not None else sdp


def _fresh_crypto(local: LocalMedia) -> tuple[CryptoAttribute, ...]:
    """One SDES line per configured suite, in preference order (RFC 4568 §7.1.1)."""
    if local.key_source is None:  # LocalMedia already refuses this combination; kept for the type checker.
        raise ValueError("SRTP needs key_source")
    return tuple(
        CryptoAttribute.inline(tag, suite, local.key_source(SUITE_KEY_LENGTHS[suite.upper()]))
        for tag, suite in enumerate(local.crypto_suites, start=1)
    )


def process_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedMedia:
    """The agreed audio stream from the peer's ``answer`` to our ``offer``.

    Raises ``InvalidAnswer`` when the answer breaks RFC 3264 §6 (different number or kinds of m= lines,
    formats we did not offer), ``NoCommonCodec`` when it rejected our audio stream (port 0), and
    ``SrtpMismatch`` when it does not complete our SDES offer.
    """
    if len(answer.media) != len(offer.media):
        raise InvalidAnswer(
            f"the answer has {len(answer.media)} m= lines, the offer {len(offer.media)} (RFC 3264 §6)"
        )
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True)):
        if theirs.media.lower() != ours.media.lower():
            raise InvalidAnswer(f"stream {index}: {ours.media} answered as {theirs.media} (RFC 3264 §6)")
        if ours.media.lower() == "audio" and not ours.is_rejected and not theirs.is_rejected:
            return _negotiated_from_answer(offer, answer, index)
    raise NoCommonCodec("the answer rejected every audio stream we offered")


def _answered_codecs(ours: MediaDescription, theirs: MediaDescription) -> list[Codec]:
    """The answer's formats; a payload type it does not map itself means what our offer said it means."""
    own = {codec.payload_type: codec for codec in ours.codecs}
    described = {codec.payload_type: codec for codec in theirs.codecs}
    fmtps = theirs.fmtps
    result: list[Codec] = []
    for payload_type in theirs.payload_types:
        codec = described.get(payload_type)
        if codec is None and payload_type in own:
            codec = own[payload_type].with_fmtp(fmtps.get(str(payload_type)) or None)
        if codec is not None:
            result.append(codec)
    return result


def _negotiated_from_answer(
    offer: SessionDescription, answer: SessionDescription, index: int
) -> NegotiatedMedia:
    ours, theirs = offer.media[index], answer.media[index]
    offered = ours.codecs
    answered = _answered_codecs(ours, theirs)
    audio = [
        codec
        for codec in answered
        if not codec.is_telephone_event and any(codec.same_format(mine) for mine in offered)
    ]
    if not audio:
        raise InvalidAnswer(
            f"stream {index}: the answer has none of the audio formats we offered (RFC 3264 §6.1)"
        )
    telephone_event = next((codec for codec in answered if codec.is_telephone_event), None)
    local_crypto, remote_crypto = _answered_crypto(index, ours, theirs)
    connection = answer.media_connection(theirs)
    if connection is None:
        raise SdpParseError(f"answered audio stream {index} has no c= line (RFC 8866 §5.7)")
    their_direction = answer.effective_direction(theirs)
    return NegotiatedMedia(
        codec=audio[0],
        codecs=tuple(audio),
        telephone_event=telephone_event,
        remote_address=connection.address,
        remote_port=theirs.port,
        ptime=theirs.ptime or ours.ptime or 20,
        direction=their_direction.reversed().intersect(offer.effective_direction(ours)),
        held=not their_direction.receives,
        media_index=index,
        proto=theirs.proto,
        maxptime=theirs.maxptime,
        local_crypto=local_crypto,
        remote_crypto=remote_crypto,
    )


def _answered_crypto(
    index: int, ours: MediaDescription, theirs: MediaDescription
) -> tuple[CryptoAttribute | None, CryptoAttribute | None]:
    """RFC 4568 §7.1.3: the answer accepts one of our crypto lines by repeating its tag and suite."""
    if ours.is_srtp != theirs.is_srtp:
        raise SrtpMismatch(f"stream {index}: offered {ours.proto}, answered {theirs.proto}")
    if not ours.is_srtp:
        return None, None
    own = {line.tag: line for line in ours.crypto}
    for line in theirs.crypto:
        mine = own.get(line.tag)
        if mine is not None and mine.suite.upper() == line.suite.upper() and line.has_usable_key:
            return mine, line
    raise SrtpMismatch(f"stream {index}: the answer accepts none of our a=crypto lines")
