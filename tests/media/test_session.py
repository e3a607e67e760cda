"""Two real media sessions on 127.0.0.1: prompts, DTMF both ways, barge-in, hold, inactivity, closing."""

from __future__ import annotations

import asyncio

import pytest

from takeback.media import (
    ANY_DIGIT,
    CodecUnavailable,
    CollectReason,
    DtmfReceived,
    MediaError,
    MediaParams,
    MediaResumed,
    MediaScheduler,
    MediaSession,
    PortAllocator,
    Prompt,
    RtpTimeout,
    SessionClosed,
)
from takeback.rtp import g711

from .media_helpers import EventLog, chirp, correlation_at_best_lag, session_pair, udp_socket, within


async def test_prompt_arrives_intact(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    received: list[bytes] = []
    b.add_audio_tap(received.append)
    prompt = Prompt(chirp(0.6), name="chirp")
    result = await within(a.play(prompt))
    await within(scheduler.wait_ticks(3))  # the last packets are on the wire when play() returns
    assert result.completed and result.frames_sent == 30
    audio = b"".join(received)
    reference = g711.ulaw_decode(g711.ulaw_encode(prompt.pcm))  # what PCMU can carry
    lag, score = correlation_at_best_lag(audio, reference)
    assert score > 0.99, f"received audio does not match the prompt (correlation {score:.3f} at lag {lag})"
    a.close()
    b.close()


async def test_dtmf_collect_with_terminator(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    events: list[DtmfReceived] = []
    b.add_listener(lambda event: events.append(event) if isinstance(event, DtmfReceived) else None)
    collecting = asyncio.ensure_future(b.collect(max_digits=10, first_digit_timeout=5, inter_digit_timeout=5))
    await within(a.send_dtmf("1234#"))
    result = await within(collecting)
    assert result.digits == "1234"
    assert result.reason is CollectReason.TERMINATOR and result.terminator == "#"
    assert [(e.digit, e.duration_ms, e.ended) for e in events] == [(d, 100, True) for d in "1234#"]
    a.close()
    b.close()


async def test_dtmf_max_digits_and_typeahead(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    await within(a.send_dtmf("987", duration_ms=60, pause_ms=40))
    await within(scheduler.wait_ticks(5))
    first = await within(b.collect(max_digits=2, first_digit_timeout=5))
    rest = await within(b.collect(max_digits=5, first_digit_timeout=5, inter_digit_timeout=0.2))
    assert (first.digits, first.reason) == ("98", CollectReason.MAX_DIGITS)
    assert (rest.digits, rest.reason) == ("7", CollectReason.INTER_DIGIT_TIMEOUT)
    nothing = await within(b.collect(max_digits=1, first_digit_timeout=0.1))
    assert (nothing.digits, nothing.reason) == ("", CollectReason.FIRST_DIGIT_TIMEOUT)
    a.close()
    b.close()


async def test_barge_in_stops_prompt_and_keeps_digit(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    playing = asyncio.ensure_future(b.play(Prompt.tone(440, 8.0), barge_in=True))
    queued = asyncio.ensure_future(b.play(Prompt.tone(880, 8.0)))
    await within(scheduler.wait_ticks(5))
    await within(a.send_dtmf("5"))
    result = await within(playing)
    assert result.reason == "digit" and result.digit == "5"
    assert result.frames_sent < 8.0 / 0.02
    assert (await within(queued)).reason == "digit"  # a barge-in ends the whole prompt chain
    assert (await within(b.collect(max_digits=1, first_digit_timeout=1))).digits == "5"
    a.close()
    b.close()


async def test_barge_in_only_for_listed_digits(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    playing = asyncio.ensure_future(b.play(Prompt.tone(440, 8.0), barge_in="#"))
    await within(a.send_dtmf("1"))
    await within(b.collect(max_digits=1, first_digit_timeout=5))
    assert not playing.done()
    await within(a.send_dtmf("#"))
    assert (await within(playing)).digit == "#"
    assert "#" in ANY_DIGIT
    a.close()
    b.close()


async def test_prompts_queue_in_order(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    first = asyncio.ensure_future(a.play(Prompt.tone(500, 0.2)))
    second = asyncio.ensure_future(a.play(Prompt.tone(700, 0.1)))
    done_order: list[str] = []
    first.add_done_callback(lambda _: done_order.append("first"))
    second.add_done_callback(lambda _: done_order.append("second"))
    assert (await within(second)).frames_sent == 5
    assert (await within(first)).frames_sent == 10
    assert done_order == ["first", "second"]
    a.close()
    b.close()


async def test_stop_playback_and_cancel(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    looping = asyncio.ensure_future(a.play(Prompt.tone(500, 0.1), loop=True))
    await within(scheduler.wait_ticks(12))
    assert a.playing
    assert a.stop_playback() == 1
    result = await within(looping)
    assert result.reason == "stopped" and result.frames_sent >= 10  # went round the 5-frame prompt
    cancelled = asyncio.ensure_future(a.play(Prompt.tone(500, 5.0)))
    await within(scheduler.wait_ticks(2))
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await within(scheduler.wait_ticks(1))
    assert not a.playing
    a.close()
    b.close()


async def test_inactivity_event_and_resume(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    silent_peer = udp_socket()
    session = await MediaSession.open(scheduler, ports, inactivity_timeout=0.3)
    session.update(MediaParams(remote=silent_peer.getsockname()))
    session.start()
    log = EventLog(session)
    timeout = await log.next(RtpTimeout)
    assert timeout.silent_for >= 0.3
    other = await MediaSession.open(scheduler, ports)
    other.update(MediaParams(remote=session.local_address))
    other.start()
    await log.next(MediaResumed)
    other.close()
    session.close()
    silent_peer.close()


@pytest.mark.parametrize(
    "hold",
    [{"direction": "sendonly"}, {"direction": "inactive"}, {"remote": ("0.0.0.0", 9)}],
    ids=["sendonly", "inactive", "c=0.0.0.0"],
)
async def test_inactivity_suspended_on_hold(
    scheduler: MediaScheduler, ports: PortAllocator, hold: dict[str, object]
) -> None:
    silent_peer = udp_socket()
    session = await MediaSession.open(scheduler, ports, inactivity_timeout=0.2)
    events: list[object] = []
    session.add_listener(events.append)
    session.update(MediaParams(remote=silent_peer.getsockname()))
    session.update(**hold)
    session.start()
    await within(scheduler.wait_ticks(40))  # twice the timeout, measured on the media clock
    assert not [e for e in events if isinstance(e, RtpTimeout)]
    session.update(direction="sendrecv", remote=silent_peer.getsockname())  # unhold: the timer starts again
    assert (await within(session.wait_for(RtpTimeout))).silent_for >= 0.2
    session.close()
    silent_peer.close()


async def test_hold_stops_sending_and_unhold_resumes(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    await within(scheduler.wait_ticks(3))
    a.update(direction="recvonly")  # the peer holds us: we must not send (RFC 3264 §6.1)
    await within(scheduler.wait_ticks(2))
    before = a.stats.packets_sent
    await within(scheduler.wait_ticks(10))
    assert a.stats.packets_sent == before
    a.update(direction="sendrecv")
    await within(scheduler.wait_ticks(10))
    assert a.stats.packets_sent >= before + 9
    assert b.stats.packets_lost == 0  # a time gap is not loss: sequence numbers continued
    a.close()
    b.close()


async def test_close_fails_pending_operations(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    a, b = await session_pair(scheduler, ports)
    playing = asyncio.ensure_future(a.play(Prompt.tone(440, 5.0)))
    collecting = asyncio.ensure_future(a.collect(max_digits=4, first_digit_timeout=None))
    waiting = asyncio.ensure_future(a.wait_for(RtpTimeout))
    await within(scheduler.wait_ticks(2))
    port = a.local_port
    a.close()
    a.close()  # idempotent
    assert (await within(playing)).reason == "closed"
    assert (await within(collecting)).reason is CollectReason.CLOSED
    with pytest.raises(SessionClosed):
        await within(waiting)
    with pytest.raises(SessionClosed):
        await a.play(Prompt.tone(440, 0.1))
    again = ports._bind(port)  # the lease was released: the port can be bound again
    assert again is not None
    again.close()
    b.close()


async def test_send_dtmf_requires_telephone_event(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    session = await MediaSession.open(
        scheduler, ports, MediaParams(dtmf_payload_type=None, remote=("127.0.0.1", 9))
    )
    session.start()
    with pytest.raises(MediaError, match="telephone-event"):
        await session.send_dtmf("1")
    with pytest.raises(ValueError, match="not a DTMF digit"):
        session.update(dtmf_payload_type=101)
        await session.send_dtmf("X")
    session.close()


async def test_invalid_update_changes_nothing(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    session = await MediaSession.open(scheduler, ports, MediaParams(remote=("127.0.0.1", 9)))
    before = session.params
    with pytest.raises(ValueError, match="multiple of the scheduler tick"):
        session.update(ptime=30)
    with pytest.raises(CodecUnavailable):
        session.update(codec="G729", payload_type=18)
    with pytest.raises(ValueError):
        session.update(remote=("media.example.com", 4000))  # the media path never resolves names
    assert session.params is before
    session.close()


async def test_start_needs_params(scheduler: MediaScheduler, ports: PortAllocator) -> None:
    session = await MediaSession.open(scheduler, ports)
    with pytest.raises(MediaError):
        session.start()
    with pytest.raises(MediaError):
        await session.play(Prompt.tone(440, 0.1))
    session.close()
