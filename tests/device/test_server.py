"""The device server against a real SIP peer (takeback.net UAC + RTP) on 127.0.0.1.

Covers: the built-in flow end to end with DTMF (answer, greet, collect, take back with UUI), the take-back
failure paths, BYE after the grace, OPTIONS health and draining, access refusals (ACL drop/403, token, DNIS),
re-INVITE hold/unhold, session timers, CANCEL, and the Python app API — with the SQLite record checked.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import trustme

from takeback.device.call import Call as DeviceCall
from takeback.device.errors import CallEnded
from takeback.net import CallFailed, IncomingRefer, TlsConfig
from takeback.sip import Response
from takeback.uui import parse_refer_to

from .device_helpers import DNIS, device_uri, genesys, rows, running_device, wait_for

FLOW = """
access:
  token: {header: CUSTOM-DEVICE-TOKEN, value: "1234567"}
  dnis: {e164: [+19999990001], numbers: [9991, 9992]}
take_back: {bye_grace: 2s, timeout: 5s}
app:
  flow:
    - answer
    - play: Hi.
    - collect: {max_digits: 4, timeout: 5s, into: digits}
    - take_back:
        uui: "{conversation_id}|{digits}"
        on_failure: [{play: Sorry.}, hangup]
"""


def _only(server: object) -> dict[str, object]:
    (row,) = rows(server)  # type: ignore[arg-type]
    return row


# ------------------------------------------------------------------------------------------- the flow


async def test_flow_collects_dtmf_and_takes_back_with_uui(tmp_path: Path) -> None:
    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        call, media = await peer.call(device_uri(server), cnv="cnv-1")
        await media.send_dtmf("1234")
        reason = await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    assert reason == "local-bye"  # Genesys hung up after its NOTIFY 200 (see Genesys._refer)
    (seen,) = peer.refers
    target = parse_refer_to(seen.refer_to)
    assert (target.number, target.uui_data, target.rfc_correct) == ("+33456456456", "cnv-1|1234", True)
    assert seen.refer_to.startswith("<sip:+33456456456@localhost?User-to-User=00")
    row = _only(server)
    assert row["outcome"] == "taken-back"
    assert row["uui_out"] == "cnv-1|1234"
    assert row["conversation_id"] == "cnv-1"
    assert row["uui_in"] == "This is my data"
    assert row["uui_in_raw"] == "User-to-User: 0054686973206973206d792064617461;encoding=hex"
    assert (row["invite_status"], row["refer_status"], row["notify_status"]) == (200, 202, 200)
    assert row["end_reason"] == "remote-bye" and row["codec"] == "PCMU"
    assert row["refer_to"] == seen.refer_to
    assert all(row[k] for k in ("invite_at", "answer_at", "refer_at", "notify_final_at", "end_at"))
    assert row["invite_at"] <= row["answer_at"] <= row["refer_at"] <= row["notify_final_at"] <= row["end_at"]


async def test_refer_refused_runs_on_failure_and_the_device_hangs_up(tmp_path: Path) -> None:
    async def decline(refer: IncomingRefer) -> None:
        refer.reject(603, "Decline")

    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        peer.on_refer = decline
        call, media = await peer.call(device_uri(server))
        await media.send_dtmf("42#")
        reason = await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    assert reason == "remote-bye"  # the device's BYE after "Sorry."
    row = _only(server)
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", 603, None)
    assert row["uui_out"] == "2c3b5a1e-7d4f-4f6e-9c1a-0e2b7b6f8a11|42"
    assert row["end_reason"] == "local-bye" and row["bye_status"] == 200


async def test_terminal_notify_with_error_sipfrag_is_a_failure(tmp_path: Path) -> None:
    async def unroutable(refer: IncomingRefer) -> None:
        refer.accept()
        await refer.notify(404, "Not Found")

    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        peer.on_refer = unroutable
        call, media = await peer.call(device_uri(server))
        await media.send_dtmf("1111")
        await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    row = _only(server)
    assert (row["outcome"], row["refer_status"], row["notify_status"]) == ("take-back-failed", 202, 404)


async def test_no_terminal_notify_times_out_explicitly(tmp_path: Path) -> None:
    async def silent(refer: IncomingRefer) -> None:
        refer.accept()  # 202 + NOTIFY 100, then nothing

    body = FLOW.replace("timeout: 5s}", "timeout: 0.5s}")
    async with running_device(tmp_path, body) as server, genesys() as peer:
        peer.on_refer = silent
        call, media = await peer.call(device_uri(server))
        await media.send_dtmf("1111")
        await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    row = _only(server)
    assert row["outcome"] == "take-back-failed" and row["notify_status"] is None
    assert "timeout" in str(row["detail"])


async def test_device_sends_bye_when_genesys_does_not_within_the_grace(tmp_path: Path) -> None:
    async def notify_only(refer: IncomingRefer) -> None:
        refer.accept()
        await refer.notify(200, "OK")

    body = FLOW.replace("bye_grace: 2s", "bye_grace: 0.2s")
    async with running_device(tmp_path, body) as server, genesys() as peer:
        peer.on_refer = notify_only
        call, media = await peer.call(device_uri(server))
        await media.send_dtmf("1234")
        reason = await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    assert reason == "remote-bye"
    row = _only(server)
    assert (row["outcome"], row["end_reason"], row["bye_status"]) == ("taken-back", "local-bye", 200)


async def test_notify_arriving_after_the_peer_bye_is_still_the_outcome(tmp_path: Path) -> None:
    """§12 item 8: the race between the final NOTIFY and the BYE (livekit#807)."""

    async def bye_first(refer: IncomingRefer) -> None:
        refer.accept()
        assert refer.call is not None
        await refer.call.bye()
        await refer.notify(200, "OK")

    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        peer.on_refer = bye_first
        call, media = await peer.call(device_uri(server))
        await media.send_dtmf("1234")
        await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    row = _only(server)
    assert (row["outcome"], row["notify_status"], row["end_reason"]) == ("taken-back", 200, "remote-bye")


# ------------------------------------------------------------------------------------------- access


async def test_token_mismatch_is_403_and_recorded(tmp_path: Path) -> None:
    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server), headers=[("custom-device-token", "7654321")])
    assert info.value.status == 403
    row = _only(server)
    assert (row["access"], row["invite_status"], row["outcome"]) == ("token-mismatch", 403, "refused")
    assert server.refused == {"token-mismatch": 1}


async def test_unknown_dnis_is_404_and_short_numbers_work(tmp_path: Path) -> None:
    async with running_device(tmp_path, FLOW) as server, genesys() as peer:
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server, "+19999990002"))
        assert info.value.status == 404
        call, _media = await peer.call(device_uri(server, "9992"))
        await call.bye()
        await wait_for(lambda: not server.calls)
    by_dnis = {row["dnis"]: row for row in rows(server)}
    assert by_dnis["+19999990002"]["access"] == "dnis"
    assert by_dnis["9992"]["outcome"] == "peer-hangup"


def _udp_request(method: str, port: int, sock: socket.socket, *, call_id: str = "acl-1") -> bytes:
    local = sock.getsockname()[1]
    return (
        f"{method} sip:{DNIS}@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{call_id};rport\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:{DNIS}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_source_outside_the_acl_is_dropped_before_the_sip_core(tmp_path: Path) -> None:
    body = "access: {ip_acl: [192.0.2.0/24], acl_action: drop}\n"
    async with running_device(tmp_path, body) as server:
        port = server.endpoints[0].port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            sock.sendto(_udp_request("INVITE", port, sock), ("127.0.0.1", port))
            sock.sendto(_udp_request("OPTIONS", port, sock, call_id="acl-2"), ("127.0.0.1", port))
            sock.sendto(b"garbage that does not parse\r\n\r\n", ("127.0.0.1", port))
            await wait_for(lambda: server.refused.get("acl", 0) == 3)
            assert server.ua is not None
            assert server.ua.core.transaction_count == 0  # no transaction: no 100 Trying will ever come
            with pytest.raises(BlockingIOError):
                sock.recv(4096)
    assert rows(server) == []


async def test_source_outside_the_acl_gets_403_when_configured(tmp_path: Path) -> None:
    body = "access: {ip_acl: ['192.0.2.0/24'], acl_action: 403}\n"
    async with running_device(tmp_path, body) as server, genesys() as peer:
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server))
        options = await peer.ua.send_request("OPTIONS", device_uri(server))
    assert info.value.status == 403 and options.status == 403
    assert _only(server)["access"] == "acl"


# ------------------------------------------------------------------------------------ OPTIONS, draining


async def test_options_200_while_healthy_503_while_draining(tmp_path: Path) -> None:
    hold = asyncio.Event()

    async def app(call: DeviceCall) -> None:
        await call.answer()
        await hold.wait()
        await call.hangup()

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        ok = await peer.ua.send_request("OPTIONS", device_uri(server))
        assert ok.status == 200
        assert {"INVITE", "REFER", "NOTIFY", "OPTIONS"} <= set(ok.allow)
        assert ok.headers.get("Accept") == "application/sdp"
        assert "timer" in ok.supported
        call, _media = await peer.call(device_uri(server), headers=[])
        drain = asyncio.ensure_future(server.drain(timeout=20))
        await wait_for(lambda: server.draining)
        busy = await peer.ua.send_request("OPTIONS", device_uri(server))
        with pytest.raises(CallFailed) as refused:
            await peer.call(device_uri(server), headers=[])
        assert not drain.done()  # the running call keeps the device up
        hold.set()
        await asyncio.wait_for(drain, 20)
        assert await asyncio.wait_for(call.wait_terminated(), 5) == "remote-bye"
    assert busy.status == 503 and busy.headers.get("Retry-After")
    assert refused.value.status == 503


async def test_drain_timeout_hangs_up_remaining_calls(tmp_path: Path) -> None:
    async def app(call: DeviceCall) -> None:
        await call.answer()
        await asyncio.sleep(60)

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[])
        await server.drain(timeout=0.1)
        assert await asyncio.wait_for(call.wait_terminated(), 5) == "remote-bye"


# ------------------------------------------------------------------------------- re-INVITE, timers


def _sdp(direction: str, address: str = "127.0.0.1", version: int = 2) -> bytes:
    return (
        f"v=0\r\no=- 1 {version} IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
        "m=audio 42100 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        f"a=fmtp:101 0-15\r\na={direction}\r\n"
    ).encode()


def _direction(response: Response) -> str:
    text = response.body.decode()
    return next(d for d in ("sendrecv", "sendonly", "recvonly", "inactive") if f"a={d}" in text)


async def test_reinvite_hold_and_unhold_get_mirrored_directions(tmp_path: Path) -> None:
    hold = asyncio.Event()

    async def app(call: DeviceCall) -> None:
        await call.answer()
        await hold.wait()

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[])
        held = await call.request("INVITE", body=_sdp("sendonly", version=2), content_type="application/sdp")
        legacy = await call.request(
            "INVITE", body=_sdp("sendrecv", "0.0.0.0", 3), content_type="application/sdp"
        )
        resumed = await call.request(
            "INVITE", body=_sdp("sendrecv", version=4), content_type="application/sdp"
        )
        inactive = await call.request(
            "INVITE", body=_sdp("inactive", version=5), content_type="application/sdp"
        )
        hold.set()
    assert (held.status, _direction(held)) == (200, "recvonly")
    assert legacy.status == 200 and _direction(legacy) in ("recvonly", "inactive")  # RFC 3264 §8.4
    assert (resumed.status, _direction(resumed)) == (200, "sendrecv")
    assert (inactive.status, _direction(inactive)) == (200, "inactive")


async def test_reinvite_without_common_codec_is_488_and_the_call_stays(tmp_path: Path) -> None:
    hold = asyncio.Event()

    async def app(call: DeviceCall) -> None:
        await call.answer()
        await hold.wait()

    g729 = _sdp("sendrecv").replace(b"RTP/AVP 0 101", b"RTP/AVP 18").replace(b"a=rtpmap:0 PCMU/8000", b"")
    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[])
        refused = await call.request("INVITE", body=g729, content_type="application/sdp")
        assert refused.status == 488
        again = await call.request("INVITE", body=_sdp("sendrecv", version=3), content_type="application/sdp")
        assert again.status == 200
        hold.set()


async def test_session_timer_too_small_is_422_and_default_interval_is_offered(tmp_path: Path) -> None:
    async def app(call: DeviceCall) -> None:
        await call.answer()
        await call.hangup()

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        timers = [("Supported", "timer")]
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server), headers=[*timers, ("Session-Expires", "60")])
        assert info.value.status == 422
        assert info.value.response is not None and info.value.response.headers.get("Min-SE") == "90"
        call, _media = await peer.call(device_uri(server), headers=timers)
        assert call.response is not None
        assert call.response.headers.get("Session-Expires") == "1800;refresher=uac"
        assert "timer" in (call.response.headers.get("Require") or "")


async def test_session_refresh_reinvite_without_offer_gets_our_sdp(tmp_path: Path) -> None:
    hold = asyncio.Event()

    async def app(call: DeviceCall) -> None:
        await call.answer()
        await hold.wait()

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[])
        assert call.response is not None
        refresh = await call.request("INVITE")
        update = await call.request("UPDATE")
        hold.set()
    assert refresh.status == 200 and refresh.body == call.response.body  # same o= version: no change
    assert update.status == 200


async def test_max_calls_refuses_with_503(tmp_path: Path) -> None:
    hold = asyncio.Event()

    async def app(call: DeviceCall) -> None:
        await call.answer()
        await hold.wait()

    async with running_device(tmp_path, "max_calls: 1\n", app=app) as server, genesys() as peer:
        await peer.call(device_uri(server), headers=[])
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server), headers=[])
        hold.set()
    assert info.value.status == 503
    assert server.refused == {"max-calls": 1}


async def test_tls_listener_takes_calls_back(tmp_path: Path) -> None:
    ca = trustme.CA()
    chain = tmp_path / "device.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(chain))
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    body = f"tls: {{certfile: {chain}, cafile: {cafile}}}\napp: {{flow: [answer, take_back]}}\n"
    client_tls = TlsConfig(certfile=str(chain), cafile=str(cafile))
    async with (
        running_device(tmp_path, body, transport="tls") as server,
        genesys("tls:127.0.0.1:0", client_tls) as peer,
    ):
        endpoint = server.endpoints[0]
        call, _media = await peer.call(f"sips:{DNIS}@127.0.0.1:{endpoint.port}", headers=[])
        await asyncio.wait_for(call.wait_terminated(), 10)
        await wait_for(lambda: not server.calls)
    (row,) = rows(server)
    assert (row["transport"], row["outcome"]) == ("TLS", "taken-back")
    (seen,) = peer.refers
    assert seen.request.headers.get("Contact", "").startswith("<sips:")  # §12 item 9: scheme-consistent


async def test_no_common_codec_is_488(tmp_path: Path) -> None:
    async with running_device(tmp_path, "app: {flow: [answer]}\n") as server, genesys() as peer:
        g729 = _sdp("sendrecv").replace(b"RTP/AVP 0 101", b"RTP/AVP 18").replace(b"a=rtpmap:0 PCMU/8000", b"")
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server), headers=[], sdp=g729)
        await wait_for(lambda: not server.calls)
    assert info.value.status == 488
    assert _only(server)["invite_status"] == 488


# --------------------------------------------------------------------------------------- app API


async def test_python_app_sees_the_call_attributes(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def app(call: DeviceCall) -> None:
        seen.update(
            conversation_id=call.conversation_id, uui=call.uui, caller=call.caller, dnis=call.dnis,
            method=call.invite.method,
        )  # fmt: skip
        await call.answer()
        result = await call.take_back("+33111111111", uui="back")
        seen["result"] = result

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[], cnv="cnv-9", uui="Case-12345")
        await asyncio.wait_for(call.wait_terminated(), 10)
        await wait_for(lambda: not server.calls)
    assert {k: seen[k] for k in ("conversation_id", "uui", "caller", "dnis", "method")} == {
        "conversation_id": "cnv-9",
        "uui": "Case-12345",
        "caller": "+13175551234",
        "dnis": DNIS,
        "method": "INVITE",
    }
    result = seen["result"]
    assert result.success and result.status == 200 and result.accepted  # type: ignore[attr-defined]
    assert result.bye == "peer"  # type: ignore[attr-defined]
    assert parse_refer_to(result.refer_to).uui_data == "back"  # type: ignore[attr-defined]


async def test_cancel_before_answer_ends_the_app_with_call_ended(tmp_path: Path) -> None:
    started = asyncio.Event()
    outcome: list[str] = []

    async def app(call: DeviceCall) -> None:
        started.set()
        await call.wait_ended(10)
        try:
            await call.answer()
        except CallEnded as exc:
            outcome.append(exc.reason)

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        attempt = asyncio.ensure_future(peer.call(device_uri(server), headers=[], timeout=None))
        await asyncio.wait_for(started.wait(), 5)
        attempt.cancel()  # the UA sends CANCEL
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await wait_for(lambda: not server.calls)
    assert outcome == ["cancelled"]
    assert _only(server)["outcome"] == "cancelled"


async def test_app_error_hangs_up_and_is_recorded(tmp_path: Path) -> None:
    async def app(call: DeviceCall) -> None:
        await call.answer()
        raise RuntimeError("boom")

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server), headers=[])
        assert await asyncio.wait_for(call.wait_terminated(), 10) == "remote-bye"
        await wait_for(lambda: not server.calls)
    assert _only(server)["outcome"] == "app-error"
    assert server.stats["app_errors"] == 1


async def test_media_verbs_before_answer_are_state_errors(tmp_path: Path) -> None:
    errors: list[str] = []

    async def app(call: DeviceCall) -> None:
        for verb in (call.play("x"), call.collect(1, 1, "#"), call.take_back("+1")):
            try:
                await verb
            except Exception as exc:
                errors.append(type(exc).__name__)
        await call.hangup()

    async with running_device(tmp_path, app=app) as server, genesys() as peer:
        with pytest.raises(CallFailed) as info:
            await peer.call(device_uri(server), headers=[])
        await wait_for(lambda: not server.calls)
    assert info.value.status == 480
    assert errors == ["CallStateError"] * 3


async def test_http_status_health_and_metrics(tmp_path: Path) -> None:
    async with running_device(tmp_path, http=("127.0.0.1", 0)) as server:
        assert server.http is not None
        port = server.http.port
        answers = {}
        for path in ("/healthz", "/status", "/metrics", "/calls?n=5", "/nope"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            answers[path] = await asyncio.wait_for(reader.read(), 5)
            writer.close()
    assert answers["/healthz"].startswith(b"HTTP/1.0 200") and answers["/healthz"].endswith(b"ok\n")
    assert b'"state": "running"' in answers["/status"]
    assert b"takeback_device_calls_active 0" in answers["/metrics"]
    assert answers["/calls?n=5"].endswith(b"[]\n")
    assert answers["/nope"].startswith(b"HTTP/1.0 404")
