"""``negotiate``: the answerer's half of RFC 3264 offer/answer, for initial INVITEs and re-INVITEs alike.

Rules, by RFC 3264 section:

- §6: the answer has exactly the offer's m= lines, in order; a stream we do not take keeps its media type,
  proto and formats and gets port 0. We take the first audio stream we can; further audio streams, video,
  image (T.38) and anything else are rejected.
- §6.1: codecs are chosen by the *local* preference order among those offered; payload types (dynamic ones
  included) and telephone-event's fmtp are mirrored from the offer; sendonly is answered recvonly, recvonly
  sendonly, inactive inactive, and the result is narrowed by our own direction (we may be holding too).
- §8.4: ``c=0.0.0.0`` means the offerer will not receive: sendrecv counts as sendonly, recvonly as inactive.
- §8: re-offers go through the same function; passing the current ``NegotiatedMedia`` keeps the codec (and
  SRTP key) stable when the peer still offers it, and a ``VersionKeeper`` keeps the o= version rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from takeback.sdp.attributes import Attribute, Direction
from takeback.sdp.codecs import Codec
from takeback.sdp.crypto import CryptoAttribute, select_crypto
from takeback.sdp.errors import NegotiationError, NoCommonCodec, SdpParseError, SrtpMismatch
from takeback.sdp.fields import MediaLine, Origin, Timing, trusted_builder
from takeback.sdp.local import LocalMedia, SrtpPolicy
from takeback.sdp.model import Line, MediaDescription, SessionDescription, assemble_session
from takeback.sdp.negotiated import Answer, NegotiatedMedia
from takeback.sdp.version import VersionKeeper

__all__ = ["negotiate"]

_PROFILES = ("RTP/AVP", "RTP/SAVP")


@dataclass(frozen=True, slots=True)
class _Rejection:
    kind: str  # "profile", "codec" or "srtp"
    detail: str


@dataclass(frozen=True, slots=True)
class _Accepted:
    description: MediaDescription
    media: NegotiatedMedia


@dataclass(frozen=True, slots=True)
class _Agreed:
    remote: Codec  # as the offer describes it
    answered: Codec  # as we put it in the answer (mirrored payload type, our fmtp if we set one)


def negotiate(
    offer: SessionDescription,
    local: LocalMedia,
    *,
    current: NegotiatedMedia | None = None,
    keeper: VersionKeeper | None = None,
) -> Answer:
    """Answer ``offer`` with our ``local`` capabilities.

    Raises ``NoCommonCodec`` (answer 488) when no audio stream can be accepted, ``SrtpMismatch`` (488) when
    the only obstacle is the SRTP policy, and ``SdpParseError`` when an accepted stream has no ``c=``.
    """
    answered: list[MediaDescription] = []
    accepted: NegotiatedMedia | None = None
    rejections: list[_Rejection] = []
    for index, media in enumerate(offer.media):
        outcome: _Accepted | _Rejection | None = None
        if accepted is None and media.media.lower() == "audio" and not media.is_rejected:
            outcome = _answer_audio(offer, index, media, local, current)
        if isinstance(outcome, _Accepted):
            accepted = outcome.media
            answered.append(outcome.description)
            continue
        if outcome is not None:
            rejections.append(outcome)
        answered.append(_rejected(media))
    if accepted is None:
        raise _failure(offer, rejections)
    origin = local.origin if keeper is None else keeper.origin_for(local.origin)
    sdp = _answer_session(offer, local, origin, answered)
    return _new_answer(keeper.stamp(sdp) if keeper is not None else sdp, accepted)


def _answer_session(
    offer: SessionDescription, local: LocalMedia, origin: Origin, answered: list[MediaDescription]
) -> SessionDescription:
    """The answer's session level: v=, our o=, s=-, our c=, and the offer's t= line(s) (RFC 3264 §6).

    The offer's t= lines were parsed already: their lines and views are reused, not printed and re-parsed.
    Offers with r= lines (rare) take ``SessionDescription.create``, which checks the verbatim copies.
    """
    timings = offer.timings
    if not timings:
        return assemble_session(
            origin, _connection_line(local), local.connection, [_T_ZERO], (_TIMING_ZERO,), answered
        )
    lines = [line for line in offer.lines if line.type in ("t", "r")]
    if len(lines) != len(timings):  # r= lines
        return SessionDescription.create(origin, connection=local.connection, timings=lines, media=answered)
    return assemble_session(origin, _connection_line(local), local.connection, lines, timings, answered)


def _connection_line(local: LocalMedia) -> Line:
    """Our c= line, printed once per configuration."""
    line: Line | None = local.memo.get("c=")
    if line is None:
        line = local.memo["c="] = Line("c", str(local.connection))
    return line


def _answer_audio(
    offer: SessionDescription,
    index: int,
    media: MediaDescription,
    local: LocalMedia,
    current: NegotiatedMedia | None,
) -> _Accepted | _Rejection:
    """Accept one offered audio stream, or say why not."""
    if media.proto.upper() not in _PROFILES:
        return _Rejection("profile", f"stream {index}: transport {media.proto} is not supported")
    agreed, events = _agree_codecs(media.codecs, local, current)
    if not agreed:
        offered = ", ".join(codec.rtpmap for codec in media.codecs) or "nothing usable"
        wanted = ", ".join(codec.rtpmap for codec in local.preferred)
        return _Rejection("codec", f"stream {index}: offered {offered}; we accept {wanted}")
    crypto = _answer_crypto(index, media, local, current)
    if isinstance(crypto, _Rejection):
        return crypto
    connection = offer.media_connection(media)
    if connection is None:
        raise SdpParseError(f"audio stream {index} has no c= line (RFC 8866 §5.7)")
    telephone_event = _pick_telephone_event(events, agreed[0].remote) if local.telephone_event else None
    offered_direction = offer.effective_direction(media)
    direction = _ANSWER_DIRECTIONS[offered_direction, local.direction]
    # Every field is a validated view of the offer or of our configuration, and NegotiatedMedia has no
    # checks: its builder saves the frozen dataclass's per-field ``object.__setattr__`` calls.
    negotiated = _negotiated(
        agreed[0].remote,  # codec
        tuple([item.remote for item in agreed]),  # codecs
        telephone_event,
        connection.address,  # remote_address
        media.port,  # remote_port
        media.ptime or local.ptime or 20,  # ptime
        direction,
        not offered_direction.receives,  # held
        index,  # media_index
        media.proto,
        media.maxptime,
        crypto[1] if crypto else None,  # local_crypto
        crypto[0] if crypto else None,  # remote_crypto
    )
    codecs = [item.answered for item in agreed] + ([telephone_event] if telephone_event else [])
    description = _accepted_description(media, local, codecs, direction, crypto[1] if crypto else None)
    return _new_accepted(description, negotiated)


def _agree_codecs(
    offered: tuple[Codec, ...], local: LocalMedia, current: NegotiatedMedia | None
) -> tuple[list[_Agreed], list[Codec]]:
    """Offered audio codecs in *our* preference order (RFC 3264 §6.1), the current one first if offered;
    and the offered telephone-event formats (sorted out in the same pass)."""
    # ``same_format`` compares these keys; computed once per codec instead of once per comparison.
    audio: dict[tuple[str, int, int], Codec] = {}
    events: list[Codec] = []
    for codec in offered:
        key = (codec.name.lower(), codec.clock_rate, codec.channels)
        if key[0] != "telephone-event":
            audio.setdefault(key, codec)  # the first offered codec of a format is the one we answer
        else:
            events.append(codec)
    agreed: list[_Agreed] = []
    for key, preference in _preference_keys(local):
        match = audio.pop(key, None)
        if match is None:  # not offered, or its format was agreed already
            continue
        if preference.fmtp is None or preference.fmtp == match.fmtp:
            agreed.append(_new_agreed(match, match))  # codecs are immutable: no copy needed
        else:
            agreed.append(_new_agreed(match, match.with_fmtp(preference.fmtp)))
    if current is not None:
        # A re-offer that still contains the codec in use keeps it: no needless codec switch mid-call.
        agreed.sort(key=lambda item: not item.remote.same_format(current.codec))
    return (agreed[:1] if local.single_codec else agreed), events


def _preference_keys(local: LocalMedia) -> list[tuple[tuple[str, int, int], Codec]]:
    """Our codecs with their ``same_format`` keys, once per configuration."""
    keys: list[tuple[tuple[str, int, int], Codec]] | None = local.memo.get("preferred")
    if keys is None:
        keys = [((codec.name.lower(), codec.clock_rate, codec.channels), codec) for codec in local.preferred]
        local.memo["preferred"] = keys
    return keys


def _pick_telephone_event(events: list[Codec], codec: Codec) -> Codec | None:
    """The offered telephone-event at the audio codec's clock rate (RFC 4733 §2.1), else the 8 kHz one.

    Its payload type and fmtp (the event range, e.g. ``0-15``) are kept as offered.
    """
    for clock_rate in (codec.clock_rate, 8000):
        match = next((item for item in events if item.clock_rate == clock_rate), None)
        if match is not None:
            return match
    return None


def _answer_crypto(
    index: int, media: MediaDescription, local: LocalMedia, current: NegotiatedMedia | None
) -> tuple[CryptoAttribute, CryptoAttribute] | _Rejection | None:
    """Apply the SRTP policy; for RTP/SAVP choose the offered key and make ours (RFC 4568 §7.1.2)."""
    if not media.is_srtp:
        if local.srtp is SrtpPolicy.REQUIRED:
            return _Rejection("srtp", f"stream {index}: plain {media.proto} offered but SRTP is required")
        return None
    if local.srtp is SrtpPolicy.OFF:
        return _Rejection("srtp", f"stream {index}: {media.proto} offered but SRTP is off")
    reuse = current.local_crypto if current is not None else None
    chosen = select_crypto(media.crypto, local.crypto_suites, local.key_source, reuse=reuse)
    if chosen is None:
        suites = ", ".join(local.crypto_suites)
        return _Rejection("srtp", f"stream {index}: no usable a=crypto line with a suite among {suites}")
    return chosen


def _accepted_description(
    media: MediaDescription,
    local: LocalMedia,
    codecs: list[Codec],
    direction: Direction,
    crypto: CryptoAttribute | None,
) -> MediaDescription:
    """Our section for the accepted stream: the m= line with our port, and the agreed codecs' a= lines.

    Everything after the m= line depends only on our configuration, the agreed codecs, the direction and the
    offer's a=mid, which a given peer repeats call after call: that part is built once per combination and
    kept in ``local.memo`` (bounded; never with SRTP, whose a=crypto carries a fresh key per call).
    """
    mid = _mid(media)
    key = ("answer", *codecs, direction, *mid)
    template: MediaDescription | None = None if crypto is not None else local.memo.get(key)
    if template is None:
        template = _answer_template(local, codecs, direction, crypto, mid)
        if crypto is None and len(local.memo) < _MAX_MEMO:
            local.memo[key] = template
    # The offer's proto, our port, the template's payload type numbers: a valid m= line.
    return template.with_media_line(_media_line("audio", local.port, media.proto, template.formats, None))


def _answer_template(
    local: LocalMedia,
    codecs: list[Codec],
    direction: Direction,
    crypto: CryptoAttribute | None,
    mid: list[Attribute],
) -> MediaDescription:
    # Every value below is made of validated parts (the offer's codecs, our configuration, a crypto line
    # we built), so the attributes need no checks.
    attributes: list[Attribute] = []
    for codec in codecs:
        attributes.append(_attribute("rtpmap", f"{codec.payload_type} {codec.rtpmap}"))
        if codec.fmtp is not None:
            attributes.append(_attribute("fmtp", f"{codec.payload_type} {codec.fmtp}"))
    if local.ptime is not None:
        attributes.append(_attribute("ptime", str(local.ptime)))
    if local.maxptime is not None:
        attributes.append(_attribute("maxptime", str(local.maxptime)))
    attributes.append(_DIRECTION_ATTRIBUTES[direction])
    if crypto is not None:
        attributes.append(_attribute("crypto", str(crypto)))
    attributes.extend(mid)
    formats = tuple([str(codec.payload_type) for codec in codecs])
    line = _media_line("audio", local.port, "RTP/AVP", formats, None)  # the caller sets port and proto
    return MediaDescription.create(line, attributes=attributes)


def _mid(media: MediaDescription) -> list[Attribute]:
    """Echo ``a=mid`` so a grouping-aware offerer can match streams (RFC 5888 §9.1)."""
    mid = media.get("mid")
    return [mid] if mid is not None and mid.value is not None else []


def _rejected(media: MediaDescription) -> MediaDescription:
    """The offered stream with port 0 (RFC 3264 §6): same media, proto and formats."""
    line = _media_line(media.media, 0, media.proto, media.formats, None)  # the offer's, validated
    return MediaDescription.create(line, attributes=_mid(media))


_MAX_MEMO = 64  # answer templates per configuration: a few peers times a few codec sets
_T_ZERO = Line("t", "0 0")
_TIMING_ZERO = Timing()
_attribute = trusted_builder(Attribute)
_negotiated = trusted_builder(NegotiatedMedia)
_new_agreed = trusted_builder(_Agreed)
_new_accepted = trusted_builder(_Accepted)
_new_answer = trusted_builder(Answer)
_media_line = trusted_builder(MediaLine)
_DIRECTION_ATTRIBUTES = {direction: Attribute(direction.value) for direction in Direction}
# RFC 3264 §6.1: the offered direction mirrored, narrowed by ours; a table, as it is needed on every call.
_ANSWER_DIRECTIONS = {
    (offered, ours): offered.reversed().intersect(ours) for offered in Direction for ours in Direction
}


def _failure(offer: SessionDescription, rejections: list[_Rejection]) -> NegotiationError:
    if not any(media.media.lower() == "audio" for media in offer.media):
        return NoCommonCodec("the offer has no audio stream")
    if not rejections:
        return NoCommonCodec("every audio stream of the offer is disabled (port 0)")
    detail = "; ".join(rejection.detail for rejection in rejections)
    if all(rejection.kind == "srtp" for rejection in rejections):
        return SrtpMismatch(detail)
    return NoCommonCodec(detail)
