"""asyncio media runtime: RTP sockets, the process-wide paced sender, prompts, TTS, DTMF, recording.

Layering: this package drives the sans-IO :mod:`takeback.rtp` core (packets, G.711, RFC 4733, RTCP) on an
event loop; it never imports from device/cloud. uvloop is optional: everything runs on stock asyncio.

Typical use (one scheduler and one port allocator per process, one session per call)::

    scheduler = MediaScheduler()
    ports = PortAllocator("0.0.0.0", 16384, 32767)
    library = PromptLibrary(EspeakTts("/var/cache/takeback/tts"))
    session = await MediaSession.open(scheduler, ports, MediaParams(...), prompts=library)
    session.start()
"""

from takeback.media.codecs import OPUS_AVAILABLE, Codec, codec_for
from takeback.media.collector import CollectReason, CollectResult
from takeback.media.errors import (
    CodecUnavailable,
    MediaError,
    PortRangeExhausted,
    SessionClosed,
    TtsError,
    WavFormatError,
)
from takeback.media.events import (
    DtmfReceived,
    MediaEvent,
    MediaResumed,
    RemoteLatched,
    RtcpByeReceived,
    RtpTimeout,
)
from takeback.media.params import MediaParams, params_from_negotiated
from takeback.media.playback import PlayResult
from takeback.media.ports import PortAllocator, PortLease
from takeback.media.prompts import Prompt, PromptLibrary
from takeback.media.recorder import RecordingResult
from takeback.media.scheduler import MediaScheduler
from takeback.media.session import ANY_DIGIT, MediaSession, MediaStats
from takeback.media.tts import EspeakTts
from takeback.media.wav import read_wav

__all__ = [
    "ANY_DIGIT",
    "OPUS_AVAILABLE",
    "Codec",
    "CodecUnavailable",
    "CollectReason",
    "CollectResult",
    "DtmfReceived",
    "EspeakTts",
    "MediaError",
    "MediaEvent",
    "MediaParams",
    "MediaResumed",
    "MediaScheduler",
    "MediaSession",
    "MediaStats",
    "PlayResult",
    "PortAllocator",
    "PortLease",
    "PortRangeExhausted",
    "Prompt",
    "PromptLibrary",
    "RecordingResult",
    "RemoteLatched",
    "RtcpByeReceived",
    "RtpTimeout",
    "SessionClosed",
    "TtsError",
    "WavFormatError",
    "codec_for",
    "params_from_negotiated",
    "read_wav",
]
