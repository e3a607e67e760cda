"""UserAgent against UserAgent over real loopback sockets (UDP, TCP, TLS), on both event loops."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from takeback.net.calls import Call, CallFailed, IncomingRefer, IncomingRequest, SipRuntimeError
from takeback.net.tls import TlsConfig
from takeback.net.useragent import UserAgent
from takeback.sip import parse_message
from takeback.sip.transaction import ServerTransaction

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
REFER_TO = "<sip:+33456456456@localhost?User-to-User=00FA08%3Bencoding%3Dhex>"
LIMIT = 10.0  # bound on every wait; never asserted on


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    tmp: Path = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    chain, cafile = tmp / "chain.pem", tmp / "ca.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(chain))
    ca.cert_pem.write_to_path(str(cafile))
    return str(chain), str(cafile)


class Pair:
    def __init__(self, caller: UserAgent, callee: UserAgent, transport: str) -> None:
        self.caller = caller
        self.callee = callee
        self.transport = transport
        self.calls: asyncio.Queue[Call] = asyncio.Queue()

    def callee_uri(self, user: str = "bob") -> str:
        return self.callee.uri(user, self.transport)


@pytest.fixture(params=["UDP", "TCP", "TLS"])
async def pair(request: pytest.FixtureRequest, tls_files: tuple[str, str]) -> AsyncIterator[Pair]:
    transport: str = request.param
    chain, cafile = tls_files
    tls = TlsConfig(certfile=chain, cafile=cafile)
    specs = [f"{transport.lower()}:127.0.0.1:0"]
    if transport != "UDP":
        specs.append("udp:127.0.0.1:0")
    async with UserAgent(specs, tls=tls) as caller, UserAgent(specs, tls=tls) as callee:
        yield Pair(caller, callee, transport)


def answering(pair: Pair, **answer: Any) -> None:
    async def on_call(call: Call) -> None:
        await pair.calls.put(call)
        await call.answer(200, SDP, **answer)

    pair.callee.on_call = on_call


async def test_invite_answer_bye(pair: Pair) -> None:
    answering(pair, wait_ack=True)
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    assert call.role == "UAC" and call.dialog is not None and call.response is not None
    assert call.response.status == 200 and call.response.body == SDP
    uas_call = await asyncio.wait_for(pair.calls.get(), LIMIT)
    await asyncio.wait_for(uas_call.wait_ack(), LIMIT)
    response = await asyncio.wait_for(call.bye(), LIMIT)
    assert response is not None and response.status == 200
    assert await asyncio.wait_for(uas_call.wait_terminated(), LIMIT) == "remote-bye"
    assert await asyncio.wait_for(call.wait_terminated(), LIMIT) == "local-bye"
    assert pair.callee.counters.internal_errors == 0 and pair.caller.counters.internal_errors == 0


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_ended_call_is_not_held_by_its_lingering_transactions(pair: Pair) -> None:
    """On UDP the INVITE and BYE server transactions outlive the call by 32 s (Timers L and J), so what
    they hold stays in memory that long at every call rate: they must not hold the call itself."""
    answering(pair, wait_ack=True)
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    uas_call = await asyncio.wait_for(pair.calls.get(), LIMIT)
    await asyncio.wait_for(uas_call.wait_ack(), LIMIT)
    await asyncio.wait_for(call.bye(), LIMIT)
    assert await asyncio.wait_for(uas_call.wait_terminated(), LIMIT) == "remote-bye"
    assert pair.callee.core.transaction_count >= 2  # the INVITE (accepted) and the BYE (completed)
    gc.collect()
    holders = [ref for ref in gc.get_referrers(uas_call) if isinstance(ref, ServerTransaction)]
    assert holders == []


async def test_invite_rejected(pair: Pair) -> None:
    async def on_call(call: Call) -> None:
        await call.reject(486)

    pair.callee.on_call = on_call
    with pytest.raises(CallFailed) as failure:
        await asyncio.wait_for(pair.caller.invite(pair.callee_uri()), LIMIT)
    assert failure.value.status == 486


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_incoming_iterator(pair: Pair) -> None:
    async def callee_side() -> Call:
        async for call in pair.callee.incoming():
            await call.answer(200, SDP)
            return call
        raise AssertionError("iterator ended")

    server = asyncio.ensure_future(callee_side())
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri()), LIMIT)
    uas_call = await asyncio.wait_for(server, LIMIT)
    assert uas_call.call_id == call.call_id
    await asyncio.wait_for(call.bye(), LIMIT)


@pytest.mark.parametrize(
    ("notify_status", "success"), [(200, True), (404, False), (None, False)], ids=["ok", "404", "reject"]
)
async def test_refer_outcome(pair: Pair, notify_status: int | None, success: bool) -> None:
    """The callee (device) REFERs the caller back; the caller acts as the notifier."""
    answering(pair, wait_ack=True)
    seen: list[str] = []
    notify_responses: list[int] = []

    async def on_refer(refer: IncomingRefer) -> None:
        seen.append(refer.refer_to)
        if notify_status is None:
            refer.reject(603)
            return
        refer.accept()
        response = await refer.notify(notify_status, "OK" if notify_status == 200 else "Not Found")
        notify_responses.append(response.status)

    pair.caller.on_refer = on_refer
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    uas_call = await asyncio.wait_for(pair.calls.get(), LIMIT)
    await asyncio.wait_for(uas_call.wait_ack(), LIMIT)
    outcome = await asyncio.wait_for(uas_call.refer(REFER_TO, timeout=LIMIT), LIMIT + 1)
    assert seen == [REFER_TO]
    assert outcome.success is success
    for _ in range(100):  # bounded: the notifier's task sees the NOTIFY's 200 right after the REFERer
        if notify_responses or notify_status is None:
            break
        await asyncio.sleep(0.01)
    assert notify_responses == ([] if notify_status is None else [200])
    if notify_status is None:
        assert outcome.status == 603 and not outcome.accepted
    else:
        assert outcome.status == notify_status and outcome.accepted and 100 in outcome.progress
    await asyncio.wait_for(call.bye(), LIMIT)


@pytest.mark.parametrize("pair", ["UDP", "TCP"], indirect=True)
async def test_in_dialog_requests(pair: Pair) -> None:
    answering(pair)
    infos: list[bytes] = []

    def on_request(incoming: IncomingRequest) -> None:
        if incoming.method == "INFO":
            infos.append(incoming.request.body)
            incoming.respond(200)

    pair.callee.on_request = on_request
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    info = await asyncio.wait_for(
        call.request("INFO", body=b"Signal=5\r\n", content_type="application/dtmf-relay"), LIMIT
    )
    assert info.status == 200 and infos == [b"Signal=5\r\n"]
    reinvite = await asyncio.wait_for(call.request("INVITE", body=SDP), LIMIT)  # default: our last SDP
    assert reinvite.status == 200 and reinvite.body == SDP
    update = await asyncio.wait_for(call.request("MESSAGE", body=b"x", content_type="text/plain"), LIMIT)
    assert update.status == 200  # on_request left it unanswered: the default applies
    await asyncio.wait_for(call.bye(), LIMIT)


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_out_of_dialog_options(pair: Pair) -> None:
    response = await asyncio.wait_for(pair.caller.send_request("OPTIONS", pair.callee_uri()), LIMIT)
    assert response.status == 200
    refused = await asyncio.wait_for(
        pair.caller.send_request("MESSAGE", pair.callee_uri(), body=b"hi", content_type="text/plain"), LIMIT
    )
    assert refused.status == 405 and "INVITE" in (refused.headers.get("Allow") or "")


@pytest.mark.parametrize("pair", ["UDP", "TCP"], indirect=True)
async def test_cancel_when_caller_gives_up(pair: Pair) -> None:
    ringing = asyncio.Event()

    async def on_call(call: Call) -> None:
        await pair.calls.put(call)
        await call.ring()
        ringing.set()

    pair.callee.on_call = on_call
    invite = asyncio.ensure_future(pair.caller.invite(pair.callee_uri()))
    uas_call = await asyncio.wait_for(pair.calls.get(), LIMIT)
    await asyncio.wait_for(ringing.wait(), LIMIT)
    await asyncio.sleep(0.05)  # let the 180 reach the caller, so CANCEL goes out at once (§9.1)
    invite.cancel()
    with pytest.raises(asyncio.CancelledError):
        await invite
    assert await asyncio.wait_for(uas_call.wait_terminated(), LIMIT) == "cancelled"
    assert uas_call.cancelled


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_no_answer_from_nowhere_times_out(pair: Pair) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # swallows everything
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        async with UserAgent(["udp:127.0.0.1:0"], core_options={"t1": 0.01, "t2": 0.04}) as ua:
            with pytest.raises(CallFailed) as failure:
                await asyncio.wait_for(ua.invite(f"sip:nobody@127.0.0.1:{port}"), LIMIT)
    assert failure.value.status == 408


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_malformed_request_answered_400(pair: Pair) -> None:
    endpoint = pair.callee.endpoint("UDP")
    bad = (
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad\r\n"
        b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: bad@x\r\n"
        b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"  # CSeq method does not match: 400
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(LIMIT)
        sock.sendto(
            bad.replace(b"{port}", str(sock.getsockname()[1]).encode()), (endpoint.host, endpoint.port)
        )
        sock.sendto(b"\x00\xffgarbage without any structure", (endpoint.host, endpoint.port))
        data = await asyncio.get_running_loop().run_in_executor(None, sock.recv, 65535)
    response = parse_message(data)
    assert getattr(response, "status", None) == 400
    for _ in range(100):  # bounded wait for the second datagram to be counted
        if pair.callee.counters.bad_datagrams == 2:
            break
        await asyncio.sleep(0.01)
    assert pair.callee.counters.bad_datagrams == 2
    assert pair.callee.counters.internal_errors == 0


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_refer_without_notify_times_out(pair: Pair) -> None:
    answering(pair, wait_ack=True)

    def on_refer(refer: IncomingRefer) -> None:
        refer.accept(notify_trying=False)  # and never report an outcome

    pair.caller.on_refer = on_refer
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    uas_call = await asyncio.wait_for(pair.calls.get(), LIMIT)
    outcome = await asyncio.wait_for(uas_call.refer(REFER_TO, timeout=0.2), LIMIT)
    assert outcome.status is None and not outcome.success and outcome.accepted
    await asyncio.wait_for(call.bye(), LIMIT)


async def test_tcp_connect_refused_fails_the_call() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with UserAgent(["tcp:127.0.0.1:0"]) as ua:
        with pytest.raises(CallFailed) as failure:
            await asyncio.wait_for(ua.invite(f"sip:bob@127.0.0.1:{port};transport=tcp"), LIMIT)
        assert failure.value.status == 503
        assert ua.counters.connect_failures == 1


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6(), reason="no IPv6 loopback")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_ipv6_call(transport: str) -> None:
    spec = f"{transport}:[::1]:0"
    async with UserAgent([spec]) as caller, UserAgent([spec]) as callee:

        def on_call(call: Call) -> None:
            call.respond(200, body=SDP, content_type="application/sdp")

        callee.on_call = on_call
        uri = callee.uri("bob")
        assert uri.startswith("sip:bob@[::1]:")
        call = await asyncio.wait_for(caller.invite(uri, body=SDP), LIMIT)
        response = await asyncio.wait_for(call.bye(), LIMIT)
        assert response is not None and response.status == 200


@pytest.mark.parametrize("pair", ["TLS"], indirect=True)
async def test_tls_contact_is_sips(pair: Pair) -> None:
    answering(pair)
    assert pair.callee_uri().startswith("sips:bob@127.0.0.1:")
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    assert call.response is not None
    contact = call.response.headers.get("Contact") or ""
    assert contact.startswith("<sips:")
    await asyncio.wait_for(call.bye(), LIMIT)
    assert pair.caller.counters.connections_opened == 1  # BYE reused the TLS connection


@pytest.mark.parametrize("pair", ["TCP"], indirect=True)
async def test_malformed_request_on_stream_answered_and_connection_kept(pair: Pair) -> None:
    endpoint = pair.callee.endpoint("TCP")
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    bad = (
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKbad\r\n"
        b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: bad@x\r\n"
        b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    good = bad.replace(b"CSeq: 1 INVITE", b"CSeq: 1 OPTIONS").replace(b"z9hG4bKbad", b"z9hG4bKgood")
    writer.write(bad + good)
    first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
    assert first.startswith(b"SIP/2.0 400 ")
    second = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
    assert second.startswith(b"SIP/2.0 200 ")
    writer.write(b"NOT SIP\r\nContent-Length: nope\r\n\r\n")  # framing error: connection closed
    assert await asyncio.wait_for(reader.read(), LIMIT) == b""
    writer.close()
    counters = pair.callee.counters
    assert counters.bad_stream_messages == 1 and counters.stream_errors == 1
    assert counters.error_responses == 1 and counters.internal_errors == 0


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_dialog_handles_accepted(pair: Pair) -> None:
    answering(pair)
    call = await asyncio.wait_for(pair.caller.invite(pair.callee_uri(), body=SDP), LIMIT)
    assert call.dialog is not None
    (dialog,) = pair.caller.core.dialogs.values()
    assert dialog is call.dialog
    response = await asyncio.wait_for(pair.caller.request(dialog, "INFO"), LIMIT)
    assert response.status == 200
    bye = await asyncio.wait_for(pair.caller.bye(dialog), LIMIT)
    assert bye is not None and bye.status == 200
    assert await asyncio.wait_for(pair.caller.bye(call), LIMIT) is None  # already gone


async def test_close_fails_pending_requests_and_ends_incoming() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        ua = await UserAgent(["udp:127.0.0.1:0"]).start()
        pending = asyncio.ensure_future(ua.invite(f"sip:nobody@127.0.0.1:{port}"))
        options = asyncio.ensure_future(ua.send_request("OPTIONS", f"sip:nobody@127.0.0.1:{port}"))

        async def drain() -> int:
            return len([call async for call in ua.incoming()])

        iterator = asyncio.ensure_future(drain())
        await asyncio.sleep(0.05)
        await ua.close()
        for task in (pending, options):
            with pytest.raises(SipRuntimeError):
                await asyncio.wait_for(task, LIMIT)
        assert await asyncio.wait_for(iterator, LIMIT) == 0


def _mutations(seed: int, count: int) -> list[bytes]:
    """Deterministic garbage: random bytes, and valid requests with random bytes flipped or cut."""
    import random

    rng = random.Random(seed)
    base = (
        b"INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfz\r\n"
        b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: fz@x\r\nCSeq: 1 INVITE\r\n"
        b"Max-Forwards: 70\r\nContact: <sip:a@127.0.0.1:5999>\r\nContent-Length: 4\r\n\r\nv=0\n"
    )
    out = []
    for n in range(count):
        if n % 3 == 0:
            out.append(rng.randbytes(rng.randint(1, 600)))
            continue
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(bytes(data[: rng.randint(10, len(data))]) if n % 3 == 1 else bytes(data))
    return out


@pytest.mark.parametrize("pair", ["TCP"], indirect=True)
async def test_garbage_never_crashes(pair: Pair) -> None:
    """Random and mutated input on UDP and TCP: answered, dropped or closed, never an internal error."""
    callee = pair.callee
    udp, tcp = callee.endpoint("UDP"), callee.endpoint("TCP")
    samples = _mutations(seed=3261, count=300)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in samples:
            sock.sendto(data, (udp.host, udp.port))
    for data in samples[:60]:
        _reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
        writer.write(data + b"\r\n\r\n")
        await writer.drain()
        writer.close()
    for _ in range(200):  # bounded wait until every datagram was seen
        if callee.counters.datagrams_in >= len(samples):
            break
        await asyncio.sleep(0.01)
    response = await asyncio.wait_for(pair.caller.send_request("OPTIONS", pair.callee_uri()), LIMIT)
    assert response.status == 200  # still serving
    assert callee.counters.internal_errors == 0
    assert callee.counters.bad_datagrams > 0


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_send_invite_resends_a_prebuilt_request_keeping_call_id_and_from_tag(pair: Pair) -> None:
    """A digest retry (RFC 3261 §22.2) resends the INVITE with the same Call-ID and From tag and a higher
    CSeq: ``send_invite`` takes that request as built. The callee refuses the first, answers the second."""
    seen: list[Call] = []

    async def on_call(call: Call) -> None:
        seen.append(call)
        if len(seen) == 1:
            await call.reject(401)
        else:
            await call.answer(200, SDP)

    pair.callee.on_call = on_call
    uri = pair.callee_uri()
    dest = pair.caller._destination(uri)
    first = pair.caller.core.make_request("INVITE", uri, from_="<sip:alice@127.0.0.1>", to=f"<{uri}>")
    with pytest.raises(CallFailed) as failure:
        await asyncio.wait_for(pair.caller.send_invite(first, dest), LIMIT)
    assert failure.value.status == 401
    retry = pair.caller.core.make_request(
        "INVITE", uri, from_="<sip:alice@127.0.0.1>", to=f"<{uri}>", call_id=first.call_id, cseq=2,
        body=SDP, content_type="application/sdp",
    )  # fmt: skip
    retry.headers.set("From", first.headers["From"])  # the same From tag
    retry.invalidate()
    call = await asyncio.wait_for(pair.caller.send_invite(retry, dest, timeout=LIMIT), LIMIT)
    assert call.response is not None and call.response.status == 200 and call.local_body == SDP
    assert [c.call_id for c in seen] == [first.call_id, first.call_id]
    assert [c.invite.from_.tag for c in seen] == [first.from_.tag] * 2
    assert [c.invite.cseq.seq for c in seen] == [1, 2]
    await asyncio.wait_for(call.bye(), LIMIT)


@pytest.mark.parametrize("pair", ["UDP"], indirect=True)
async def test_send_invite_refuses_other_methods(pair: Pair) -> None:
    options = pair.caller.core.make_request("OPTIONS", pair.callee_uri(), from_="<sip:a@x>", to="<sip:b@x>")
    with pytest.raises(ValueError, match="INVITE"):
        await pair.caller.send_invite(options, pair.caller._destination(pair.callee_uri()))
