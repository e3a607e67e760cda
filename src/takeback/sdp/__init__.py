"""Sans-IO SDP: parse and serialize (RFC 8866), offer/answer (RFC 3264) with hold, SDES keys (RFC 4568).

Typical answerer (the device)::

    local = LocalMedia("203.0.113.10", 30000, codecs=("PCMU", "PCMA"))
    keeper = VersionKeeper(session_id_from_time(now))
    answer = negotiate(parse_sdp(invite.body), local, keeper=keeper)      # NoCommonCodec -> 488
    body = bytes(answer.sdp); media = answer.media                        # codec, remote address, ...
    # re-INVITE (hold/unhold): negotiate(parse_sdp(reinvite.body), local, current=media, keeper=keeper)

Typical offerer (the emulator)::

    local = LocalMedia("52.129.100.7", 20000, codecs=trunk["trunk_media_codec"])
    offer = build_offer(local, keeper=keeper)
    media = process_answer(offer, parse_sdp(response.body))
"""

from takeback.sdp.answer import negotiate
from takeback.sdp.attributes import Attribute, Direction, RtpMap
from takeback.sdp.codecs import (
    G722,
    G729,
    OPUS,
    PCMA,
    PCMU,
    STATIC_PAYLOAD_TYPES,
    TELEPHONE_EVENT,
    Codec,
    codec_from_name,
    resolve_codecs,
)
from takeback.sdp.crypto import DEFAULT_SUITES, SUITE_KEY_LENGTHS, CryptoAttribute, KeyParams
from takeback.sdp.errors import (
    InvalidAnswer,
    NegotiationError,
    NoCommonCodec,
    SdpError,
    SdpParseError,
    SrtpMismatch,
)
from takeback.sdp.fields import Bandwidth, Connection, MediaLine, Origin, Timing
from takeback.sdp.local import LocalMedia, SrtpPolicy
from takeback.sdp.model import Line, MediaDescription, SessionDescription
from takeback.sdp.negotiated import Answer, NegotiatedMedia
from takeback.sdp.offer import build_offer, process_answer
from takeback.sdp.parser import parse_sdp
from takeback.sdp.version import VersionKeeper, is_same_version, session_id_from_time

__all__ = [
    "DEFAULT_SUITES",
    "G722",
    "G729",
    "OPUS",
    "PCMA",
    "PCMU",
    "STATIC_PAYLOAD_TYPES",
    "SUITE_KEY_LENGTHS",
    "TELEPHONE_EVENT",
    "Answer",
    "Attribute",
    "Bandwidth",
    "Codec",
    "Connection",
    "CryptoAttribute",
    "Direction",
    "InvalidAnswer",
    "KeyParams",
    "Line",
    "LocalMedia",
    "MediaDescription",
    "MediaLine",
    "NegotiatedMedia",
    "NegotiationError",
    "NoCommonCodec",
    "Origin",
    "RtpMap",
    "SdpError",
    "SdpParseError",
    "SessionDescription",
    "SrtpMismatch",
    "SrtpPolicy",
    "Timing",
    "VersionKeeper",
    "build_offer",
    "codec_from_name",
    "is_same_version",
    "negotiate",
    "parse_sdp",
    "process_answer",
    "resolve_codecs",
    "session_id_from_time",
]
