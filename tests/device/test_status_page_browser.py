"""The device's status page in a real browser: headless Debian ``chromium`` loads it during a call.

The built-in device configuration (the demo's) answers, greets and collects four digits; the Genesys side
(a takeback UAC) holds any REFER until the browser is done, so the call is certainly live while Chromium
loads ``/`` (``--dump-dom``: the Call-ID and conversation id are on the page) and takes a screenshot. Then
the caller types the digits, the device takes the call back, and Chromium loads the per-call ladder page.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from takeback.device.config import builtin_device_config
from takeback.device.server import DeviceServer
from takeback.device.status_page import call_href
from takeback.net import IncomingRefer

from .device_helpers import device_uri, genesys, rows, wait_for

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

CNV = "9f1c2d3e-4b5a-4c6d-8e7f-a0b1c2d3e4f5"
BROWSER_TIMEOUT = 60.0
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


async def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once (bounded by ``BROWSER_TIMEOUT``); its stdout."""
    profile = tmp_path / "chromium-profile"
    process = await asyncio.create_subprocess_exec(
        "chromium",
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), BROWSER_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")


async def test_status_page_shows_the_live_call_in_chromium(tmp_path: Path) -> None:
    config = builtin_device_config()
    config = config.model_copy(
        update={"media": config.media.model_copy(update={"tts_cache": tmp_path / "tts"})}
    )
    server = DeviceServer(config, cwd=tmp_path, listen=["udp:127.0.0.1:0"], http=("127.0.0.1", 0))
    await server.start()
    browser_done = asyncio.Event()
    try:
        async with genesys() as peer:

            async def hold_refer(refer: IncomingRefer) -> None:  # keep the call up until the browser is done
                await asyncio.wait_for(browser_done.wait(), 3 * BROWSER_TIMEOUT)
                refer.accept()
                await refer.notify(200, "OK")
                if refer.call is not None:
                    await refer.call.bye()

            peer.on_refer = hold_refer
            assert server.http is not None
            base = f"http://127.0.0.1:{server.http.port}"
            call, media = await peer.call(device_uri(server), cnv=CNV, uui="This is my data")
            await wait_for(lambda: any(row["call_id"] == call.call_id for row in rows(server)))
            try:
                dom = await chromium(tmp_path, "--dump-dom", f"{base}/")
                shot = tmp_path / "status.png"
                await chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", f"{base}/")
                still_live = bool(server.calls)
            finally:
                browser_done.set()
            await media.send_dtmf("1234#")
            await asyncio.wait_for(call.wait_terminated(), 45)
            await wait_for(lambda: not server.calls, 15)
            ladder_dom = await chromium(tmp_path, "--dump-dom", base + call_href(call.call_id))
    finally:
        await server.close()
    assert still_live
    assert call.call_id in dom and CNV in dom and "This is my data" in dom and "live · " in dom
    assert "<svg" in dom and "INVITE" in dom  # the live call's ladder
    assert shot.stat().st_size > 1000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert call.call_id in ladder_dom and "taken-back" in ladder_dom
    assert "<svg" in ladder_dom and "REFER" in ladder_dom and "NOTIFY" in ladder_dom
    assert f"{CNV}|" in ladder_dom  # the UUI sent back in the Refer-To, decoded
