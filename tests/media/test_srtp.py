"""SRTP between two real media sessions on 127.0.0.1: audio, RFC 4733 DTMF and SRTCP through both engines,
tampered and replayed packets dropped and counted, mismatched keys heard as silence."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest

from takeback.media import CollectReason, MediaParams, MediaScheduler, MediaSession, PortAllocator, Prompt
from takeback.media.params import SrtpKeys, params_from_negotiated, srtp_keys_from_crypto
from takeback.media.srtp import available_engines, open_transforms
from takeback.rtp import g711
from takeback.rtp.rtcp import SenderReport
from takeback.rtp.srtp import SrtpAuthenticationError, SrtpContext, SrtpReplayError
from takeback.sdp import CryptoAttribute, LocalMedia, SrtpPolicy, build_offer, negotiate

from .media_helpers import Sink, chirp, correlation_at_best_lag, within

SUITE = "AES_CM_128_HMAC_SHA1_80"
KEY_A = bytes(range(30))
KEY_B = bytes(range(100, 130))
needs_libsrtp = pytest.mark.skipif("libsrtp" not in available_engines(SUITE), reason="pylibsrtp missing")
ENGINES = ["takeback", pytest.param("libsrtp", marks=needs_libsrtp)]


async def srtp_pair(
    scheduler: MediaScheduler,
    ports: PortAllocator,
    engines: tuple[str, str],
    *,
    b_hears: bytes = KEY_A,
    suite: str = SUITE,
    **options: object,
) -> tuple[MediaSession, MediaSession]:
    """A (key A) and B (key B) exchanging SRTP; ``b_hears`` is the key B believes A uses."""
    a = await MediaSession.open(scheduler, ports, srtp_engine=engines[0], **options)  # type: ignore[arg-type]
    b = await MediaSession.open(scheduler, ports, srtp_engine=engines[1], **options)  # type: ignore[arg-type]
    a.update(MediaParams(remote=b.local_address, srtp=SrtpKeys(suite, KEY_A, KEY_B)))
    b.update(MediaParams(remote=a.local_address, srtp=SrtpKeys(suite, KEY_B, b_hears)))
    a.start()
    b.start()
    return a, b


@pytest.mark.parametrize("engine_a", ENGINES)
@pytest.mark.parametrize("engine_b", ENGINES)
async def test_audio_and_dtmf_over_srtp(
    scheduler: MediaScheduler, ports: PortAllocator, engine_a: str, engine_b: str
) -> None:
    a, b = await srtp_pair(scheduler, ports, (engine_a, engine_b))
    assert a.srtp is not None and a.srtp.engine == engine_a
    received: list[bytes] = []
    b.add_audio_tap(received.append)
    prompt = Prompt(chirp(0.3), name="chirp")
    result = await within(a.play(prompt))
    await within(scheduler.wait_ticks(3))
    assert result.completed
    reference = g711.ulaw_decode(g711.ulaw_encode(prompt.pcm))
    lag, score = correlation_at_best_lag(b"".join(received), reference)
    assert score > 0.99, f"audio did not survive SRTP (correlation {score:.3f} at lag {lag})"

    collecting = asyncio.ensure_future(b.collect(max_digits=10, first_digit_timeout=5, inter_digit_timeout=5))
    await within(a.send_dtmf("19#", duration_ms=60, pause_ms=40))
    digits = await within(collecting)
    assert digits.digits == "19" and digits.reason is CollectReason.TERMINATOR
    back = asyncio.ensure_future(a.collect(max_digits=1, first_digit_timeout=5))
    await within(b.send_dtmf("*", duration_ms=60))
    assert (await within(back)).digits == "*"
    for session in (a, b):
        stats = session.stats
        assert stats.srtp_auth_failures == stats.srtp_replays == 0
        assert stats.packets_received > 20
    a.close()
    b.close()


async def test_wire_carries_srtp_not_rtp(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """What leaves the socket is SRTP under key A: a tap on the wire can verify it, not listen to it."""
    sink = await Sink.open()
    a = await MediaSession.open(scheduler, ports, srtp_engine="takeback")
    a.update(MediaParams(remote=sink.address, srtp=SrtpKeys(SUITE, KEY_A, KEY_B)))
    a.start()
    wire, _ = await sink.receive()
    assert a.codec is not None
    silence = a.codec.silence_frame(20)
    assert len(wire) == 12 + 160 + 10 and wire[12:172] != silence
    assert SrtpContext(SUITE, KEY_A).unprotect(wire)[12:] == silence
    a.close()
    sink.close()


async def test_tampered_and_replayed_packets_are_dropped_and_counted(
    scheduler: MediaScheduler, ports: PortAllocator
) -> None:
    sink = await Sink.open()
    a = await MediaSession.open(scheduler, ports, send_silence=False)
    a.update(MediaParams(remote=sink.address, srtp=SrtpKeys(SUITE, KEY_A, KEY_B)))
    a.start()
    peer = SrtpContext(SUITE, KEY_B)  # the peer's sending side
    packets = [
        peer.protect(struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0xFEED) + b"\xff" * 160)
        for seq in range(3)
    ]
    flipped = bytearray(packets[1])
    flipped[40] ^= 0x04
    for datagram in (packets[0], bytes(flipped), packets[0], packets[2], b"\x80\x00junk"):
        sink.sendto(datagram, a.local_address)
    for _ in range(100):  # bounded: at most 2 s of media time
        stats = a.stats
        if stats.packets_received + stats.srtp_auth_failures + stats.srtp_replays >= 5:
            break
        await within(scheduler.wait_ticks(1))
    stats = a.stats
    assert stats.packets_received == 2  # sequences 0 and 2
    assert stats.srtp_auth_failures == 2  # the flipped bit and the junk
    assert stats.srtp_replays == 1
    a.close()
    sink.close()


@pytest.mark.parametrize("engine", ENGINES)
async def test_mismatched_keys_mean_no_audio(
    scheduler: MediaScheduler, ports: PortAllocator, engine: str
) -> None:
    a, b = await srtp_pair(scheduler, ports, (engine, engine), b_hears=os.urandom(30))
    heard: list[bytes] = []
    b.add_audio_tap(heard.append)
    for _ in range(200):  # bounded: at most 4 s of media time
        if b.stats.srtp_auth_failures >= 10 and a.stats.packets_received >= 10:
            break
        await within(scheduler.wait_ticks(1))
    assert b.stats.srtp_auth_failures >= 10
    assert b.stats.packets_received == 0 and not heard and b.remote == a.local_address  # never latched
    assert a.stats.packets_received >= 10  # the other direction is keyed correctly
    a.close()
    b.close()


async def test_srtcp_reports(scheduler: MediaScheduler) -> None:
    ports = PortAllocator("127.0.0.1", 43000, 43999, rtcp=True, dscp=None)
    a, b = await srtp_pair(scheduler, ports, ("takeback", "auto"), rtcp_interval=0.2)
    rtcp_b = b._rtcp
    assert rtcp_b is not None
    for _ in range(200):
        if any(isinstance(p, SenderReport) for p in rtcp_b.received):
            break
        await within(scheduler.wait_ticks(1))
    assert any(isinstance(p, SenderReport) and p.ssrc == a.ssrc for p in rtcp_b.received)
    assert b.stats.srtp_auth_failures == 0
    a.close()
    b.close()


async def test_keys_change_only_when_they_change(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    """A re-INVITE with the same keys keeps the SRTP state (ROC, replay list); new keys or plain RTP
    replace it."""
    a = await MediaSession.open(scheduler, ports)
    a.update(MediaParams(remote=("127.0.0.1", 9), srtp=SrtpKeys(SUITE, KEY_A, KEY_B)))
    first = a.srtp
    a.update(direction="sendonly")
    assert a.srtp is first
    a.update(srtp=SrtpKeys(SUITE, KEY_A, KEY_A))
    assert a.srtp is not first and a.srtp is not None
    a.update(srtp=None)
    assert a.srtp is None and a.transmitter.protect is None
    with pytest.raises(ValueError, match="unsupported"):
        a.update(srtp=SrtpKeys("F8_128_HMAC_SHA1_80", KEY_A, KEY_B))
    assert a.srtp is None  # nothing changed
    a.close()


def test_open_transforms_engines_and_errors() -> None:
    keys = SrtpKeys(SUITE, KEY_A, KEY_A)
    transforms = open_transforms(keys, "takeback")
    assert repr(transforms) == f"<SrtpTransforms {SUITE} via takeback>"
    packet = struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\x01" * 20
    assert transforms.unprotect(transforms.protect(packet)) == packet
    with pytest.raises(SrtpReplayError):
        transforms.unprotect(transforms.protect(packet))
    with pytest.raises(ValueError, match="engine"):
        open_transforms(keys, "openssl")  # type: ignore[arg-type]
    big = SrtpKeys("AES_256_CM_HMAC_SHA1_80", bytes(46), bytes(46))
    assert open_transforms(big).engine == "takeback"  # libsrtp's binding has no AES-256-CM profile
    with pytest.raises(ValueError, match="cannot run"):
        open_transforms(big, "libsrtp")


@needs_libsrtp
def test_libsrtp_errors_become_our_types() -> None:
    transforms = open_transforms(SrtpKeys(SUITE, KEY_A, KEY_A), "libsrtp")
    packet = struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\x01" * 20
    protected = transforms.protect(packet)
    assert transforms.unprotect(protected) == packet
    with pytest.raises(SrtpReplayError):
        transforms.unprotect(protected)
    tampered = transforms.protect(packet[:3] + b"\x02" + packet[4:])[:-1] + b"\x00"
    with pytest.raises(SrtpAuthenticationError):
        transforms.unprotect(tampered)
    with pytest.raises(ValueError, match="30 bytes"):
        open_transforms(SrtpKeys(SUITE, KEY_A[:20], KEY_A), "libsrtp")


def test_params_from_an_srtp_negotiation() -> None:
    offerer = LocalMedia(
        "127.0.0.1", 40000, srtp=SrtpPolicy.REQUIRED, key_source=lambda n: b"\x11" * n, crypto_suites=(SUITE,)
    )
    answerer = LocalMedia("127.0.0.1", 40002, srtp=SrtpPolicy.OPTIONAL, key_source=lambda n: b"\x22" * n)
    answer = negotiate(build_offer(offerer), answerer)
    params = params_from_negotiated(answer.media)
    assert params.srtp == SrtpKeys(SUITE, b"\x22" * 30, b"\x11" * 30)
    assert "\\x22" not in repr(params) and "\\x11" not in repr(params)
    plain = negotiate(build_offer(LocalMedia("127.0.0.1", 40000)), answerer)
    assert params_from_negotiated(plain.media).srtp is None


def test_crypto_lines_we_cannot_use() -> None:
    ours = CryptoAttribute.inline(1, SUITE, KEY_A)
    with pytest.raises(ValueError, match="both sides"):
        srtp_keys_from_crypto(ours, None)
    with pytest.raises(ValueError, match="MKI"):
        srtp_keys_from_crypto(ours, CryptoAttribute.inline(1, SUITE, KEY_B, mki="1:4"))
    with pytest.raises(ValueError, match="differ"):
        srtp_keys_from_crypto(ours, CryptoAttribute.inline(1, "AES_CM_128_HMAC_SHA1_32", KEY_B))
    assert srtp_keys_from_crypto(None, None) is None
