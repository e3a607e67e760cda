"""Codecs: G.711 always, Opus end to end between two sessions when libopus is installed."""

from __future__ import annotations

import pytest

from takeback.media import (
    OPUS_AVAILABLE,
    CodecUnavailable,
    MediaParams,
    MediaScheduler,
    PortAllocator,
    Prompt,
)
from takeback.media import codec_for as lookup

from .media_helpers import chirp, correlation_at_best_lag, session_pair, within


def test_lookup() -> None:
    assert lookup("pcmu").name == "PCMU" and lookup(" PCMA ").clock_rate == 8000
    with pytest.raises(CodecUnavailable, match="G729"):
        lookup("G729")


@pytest.mark.skipif(not OPUS_AVAILABLE, reason="opuslib/libopus0 not installed")
async def test_opus_call(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    for session in (a, b):  # a re-INVITE moved the call to Opus (RFC 7587: 48 kHz RTP clock)
        session.update(codec="opus", payload_type=111, clock_rate=48000)
    assert a.params == MediaParams(codec="opus", payload_type=111, clock_rate=48000, remote=b.local_address)
    assert a.params.samples_per_packet == 960
    received: list[bytes] = []
    b.add_audio_tap(received.append)
    prompt = Prompt(chirp(0.8), name="chirp")
    assert (await within(a.play(prompt))).completed
    await within(scheduler.wait_ticks(3))
    _, score = correlation_at_best_lag(b"".join(received), prompt.pcm[1600:4800])
    assert score > 0.9
    await within(a.send_dtmf("7"))
    assert (await within(b.collect(max_digits=1, first_digit_timeout=5))).digits == "7"
    with pytest.raises(CodecUnavailable, match="30 ms"):
        Prompt.tone(440, 0.1).frames(lookup("opus"), 30)
    a.close()
    b.close()
