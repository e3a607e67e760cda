"""The application-facing Call: end callbacks and the waits that ride on the core's timer heap."""

from __future__ import annotations

import asyncio
import socket

import pytest

from takeback.net.calls import Call, IncomingRefer
from takeback.net.useragent import UserAgent

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
REFER_TO = "<sip:+33456456456@localhost?User-to-User=00FA08%3Bencoding%3Dhex>"
LIMIT = 10.0  # bound on every wait; never asserted on


async def _established(caller: UserAgent, callee: UserAgent) -> tuple[Call, Call]:
    """An answered and acknowledged call: (caller's Call, callee's Call)."""
    calls: asyncio.Queue[Call] = asyncio.Queue()

    async def on_call(call: Call) -> None:
        await calls.put(call)
        await call.answer(200, SDP, wait_ack=True)

    callee.on_call = on_call
    uac = await asyncio.wait_for(caller.invite(callee.uri("bob"), body=SDP), LIMIT)
    uas = await asyncio.wait_for(calls.get(), LIMIT)
    await asyncio.wait_for(uas.wait_ack(), LIMIT)
    return uac, uas


async def test_end_callbacks_run_once_from_the_loop_with_the_reason() -> None:
    async with UserAgent() as caller, UserAgent() as callee:
        uac, uas = await _established(caller, callee)
        seen: list[tuple[str, str]] = []
        ended = asyncio.Event()

        def on_uas_end(reason: str) -> None:
            seen.append(("uas", reason))
            ended.set()

        def dropped(reason: str) -> None:
            seen.append(("dropped", reason))

        uas.add_end_callback(on_uas_end)
        uas.add_end_callback(dropped)
        assert uas.remove_end_callback(dropped) and not uas.remove_end_callback(dropped)
        uac.add_end_callback(lambda reason: seen.append(("uac", reason)))
        await asyncio.wait_for(uac.bye(), LIMIT)
        await asyncio.wait_for(ended.wait(), LIMIT)
        await asyncio.sleep(0)
        assert sorted(seen) == [("uac", "local-bye"), ("uas", "remote-bye")]
        # Added after the end: scheduled at once, never called from inside add_end_callback.
        uas.add_end_callback(lambda reason: seen.append(("late", reason)))
        assert ("late", "remote-bye") not in seen
        await asyncio.sleep(0)
        assert seen[-1] == ("late", "remote-bye")
        assert await uas.wait_terminated() == "remote-bye"
        assert caller.counters.internal_errors == 0 and callee.counters.internal_errors == 0


async def test_invite_timeout_raises_timeout_error_and_cancels() -> None:
    async with UserAgent() as caller, UserAgent() as callee:
        calls: asyncio.Queue[Call] = asyncio.Queue()

        async def on_call(call: Call) -> None:
            await calls.put(call)
            await call.ring()  # and never answer

        callee.on_call = on_call
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(caller.invite(callee.uri("bob"), timeout=0.3), LIMIT)
        uas = await asyncio.wait_for(calls.get(), LIMIT)
        assert await asyncio.wait_for(uas.wait_terminated(), LIMIT) == "cancelled"
        assert not caller._waiters  # the waiter was forgotten without a done callback


async def test_refer_timeout_on_the_core_timer_and_nothing_left_behind() -> None:
    async with UserAgent() as caller, UserAgent() as callee:

        def on_refer(refer: IncomingRefer) -> None:
            refer.accept(notify_trying=False)  # and never report an outcome

        caller.on_refer = on_refer
        uac, uas = await _established(caller, callee)
        outcome = await asyncio.wait_for(uas.refer(REFER_TO, timeout=0.2), LIMIT)
        assert outcome.status is None and outcome.reason == "timeout" and outcome.accepted
        assert not callee._waiters and not callee._refer_waiters
        await asyncio.wait_for(uac.bye(), LIMIT)


async def test_invite_without_timeout_to_nowhere_still_fails_by_timer_b() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # swallows everything
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        async with UserAgent(core_options={"t1": 0.01, "t2": 0.04}) as ua:
            call_failed = False
            try:
                await asyncio.wait_for(ua.invite(f"sip:nobody@127.0.0.1:{port}"), LIMIT)
            except Exception as exc:  # CallFailed 408
                call_failed = getattr(exc, "status", None) == 408
            assert call_failed and not ua._waiters
