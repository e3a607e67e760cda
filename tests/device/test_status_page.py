"""The device's HTML status page and per-call page, rendered directly and served over real HTTP.

What the page shows is attacker-controlled (Call-ID, UUI, Refer-To, whole SIP messages): the hostile cases
check that none of it becomes markup. The browser check is in ``test_status_page_browser.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from takeback.device.status_page import call_href, render_call_page, render_index
from takeback.observe import SipTrace, build_ladder

from .device_helpers import device_uri, genesys, running_device, wait_for
from .prometheus_text import parse, value
from .test_server import FLOW

EVIL = '<script>alert("x")</script>'
EVIL_CALL_ID = 'a"><img src=x onerror=alert(1)>@h/../x?y#z'


def _invite(call_id: str) -> bytes:
    return (
        "INVITE sip:+19999990001@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
        "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nX-Evil: {EVIL}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _row(**fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 1,
        "call_id": EVIL_CALL_ID,
        "from_tag": "1",
        "conversation_id": EVIL,
        "caller": "+13175551234",
        "dnis": "+19999990001",
        "uui_in": EVIL + "\u202e",
        "uui_out": "cnv|1234",
        "refer_to": "<sip:+33456456456@localhost?User-to-User=00636e767c31323334%3Bencoding%3Dhex>",
        "outcome": "taken-back",
        "invite_status": 200,
        "refer_status": 202,
        "notify_status": 200,
        "invite_at": 1700000000.5,
    }
    return row | fields


def test_call_href_leaves_nothing_unescaped() -> None:
    assert (
        call_href(EVIL_CALL_ID)
        == "/calls/a%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%40h%2F..%2Fx%3Fy%23z"
    )


def test_index_lists_calls_escaped_with_their_ladder() -> None:
    trace = SipTrace(100)
    trace.for_party("device").record("in", "udp", ("127.0.0.1", 5060), ("127.0.0.1", 5080), _invite("c1"))
    ladder = build_ladder(trace.call("c1"))
    rows = [_row(call_id="c1"), _row(id=0, outcome="take-back-failed")]
    page = render_index({"state": "running", "listen": ["udp:127.0.0.1:5080"]}, rows, {"c1"}, {"c1": ladder})
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "\u202e" not in page  # bidi override made visible, not obeyed
    assert 'href="/calls/c1"' in page and "live · taken-back" in page
    assert "cnv|1234" in page and "User-to-User=00636e767c31323334" in page
    assert page.count("<svg") == 1  # the second call's messages are not in the trace
    assert "No SIP messages of this call" in page
    assert '<meta http-equiv="refresh"' in page


def test_call_page_shows_fields_ladder_and_messages_escaped() -> None:
    trace = SipTrace(100)
    trace.record("in", "udp", ("127.0.0.1", 5060), ("127.0.0.1", 5080), _invite(EVIL_CALL_ID), party="device")
    ladder = build_ladder(trace.call(EVIL_CALL_ID))
    page = render_call_page(EVIL_CALL_ID, [_row()], ladder, live=False)
    assert "<script" not in page and "<img" not in page
    assert "X-Evil: &lt;script&gt;" in page  # the whole message, escaped
    assert "<svg" in page and "INVITE" in page
    assert "2023-11-14 22:13:20.500 UTC" in page  # invite_at as a date
    assert render_call_page("gone", [], None, live=False).count("No record of this Call-ID") == 1


async def _get(port: int, path: str) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


async def _get_until(port: int, path: str, needle: bytes) -> tuple[bytes, bytes]:
    """GET until the body shows ``needle`` (its record row is committed by a writer thread), 50 tries."""
    for _ in range(50):
        head, body = await _get(port, path)
        if needle in body:
            break
        await asyncio.sleep(0.05)
    return head, body


async def test_served_pages_and_metrics_after_a_taken_back_call(tmp_path: Path) -> None:
    async with running_device(tmp_path, FLOW, http=("127.0.0.1", 0)) as server, genesys() as peer:
        assert server.http is not None
        port = server.http.port
        call, media = await peer.call(device_uri(server), cnv="cnv-page", uui=EVIL)
        await wait_for(lambda: bool(server.calls))
        head, live_page = await _get_until(port, "/", call.call_id.encode())
        await media.send_dtmf("1234")
        await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
        _, index = await _get(port, "/")
        _, call_page = await _get(port, f"/calls/{call.call_id}")
        missing, _ = await _get(port, "/calls/nope")
        _, metrics = await _get(port, "/metrics")
    assert head.startswith(b"HTTP/1.0 200") and b"text/html" in head
    assert b"Content-Security-Policy: default-src 'none'" in head
    assert call.call_id.encode() in live_page and b"live \xc2\xb7 " in live_page and b"cnv-page" in live_page
    assert b"&lt;script&gt;" in live_page and b"<script" not in live_page
    assert b"taken-back" in index and b"cnv-page|1234" in index
    assert b"<svg" in call_page and b"REFER" in call_page and b"NOTIFY" in call_page
    assert b"refer_to" in call_page and b"User-to-User=" in call_page
    assert missing.startswith(b"HTTP/1.0 404")
    _, samples = parse(metrics.decode())
    assert value(samples, "takeback_device_calls_total", outcome="taken-back") == 1
    assert value(samples, "takeback_device_refer_total", result="success", status="200") == 1
    assert value(samples, "takeback_device_answer_seconds_count") == 1
    assert value(samples, "takeback_device_take_back_seconds_count") == 1
    assert value(samples, "takeback_device_calls_active") == 0
