"""A real third-party SIP UA (baresip) calls the device on 127.0.0.1: the device answers and takes the call
back with REFER (issue #5 §4). baresip is not Genesys: it sends no ``x-inin-cnv`` and no token header, so
the device here has no token/digest requirement, only the DNIS 9991. Whatever baresip does with the REFER
(it answers 202 and dials the Refer-To target, 127.0.0.1:5060, but sends no NOTIFY), the device's
record is the evidence: take-back-failed after ``take_back.timeout``, then the device's own BYE.

baresip runs without a sound card: a silent WAV (``aufile``) is the audio source, ``aufile`` the
player/alert sink, and ``-t`` bounds its lifetime besides our own kill.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import wave
from pathlib import Path

import pytest

from tests.device.device_helpers import rows, running_device, wait_for
from tests.interop.sipp_support import free_port

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed"),
]

BARESIP_LIFETIME = 20  # seconds: baresip's own bound (-t)
DEVICE = """
access:
  ip_acl: [127.0.0.0/8]
  dnis: {numbers: [9991]}
app:
  flow:
    - answer
    - take_back: {uui: "baresip-interop"}
take_back: {host: 127.0.0.1, timeout: 5s, bye_grace: 1s}
"""


def silent_wav(seconds: int) -> bytes:
    """8 kHz mono 16-bit PCM silence: baresip's file audio source (no sound card here)."""
    with io.BytesIO() as buffer:
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(8000)
            writer.writeframes(bytes(2 * 8000 * seconds))
        return buffer.getvalue()


def baresip_config(tmp_path: Path, port: int) -> Path:
    """A config dir: loopback only, one account without registration, no audio device."""
    folder = tmp_path / "baresip"
    folder.mkdir()
    silence = folder / "silence.wav"
    silence.write_bytes(silent_wav(seconds=10))
    (folder / "config").write_text(
        f"sip_listen 127.0.0.1:{port}\n"
        "sip_trans_def udp\n"
        "net_interface 127.0.0.1\n"
        "poll_method epoll\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\n"
        "module aufile.so\n"
        "module_app account.so\n"
        "module_app menu.so\n"
        f"audio_source aufile,{silence}\n"
        f"audio_player aufile,{tmp_path / 'heard.wav'}\n"
        f"audio_alert aufile,{tmp_path / 'alert.wav'}\n"
    )
    (folder / "accounts").write_text("<sip:baresip@127.0.0.1>;regint=0\n")
    return folder


async def test_baresip_call_is_answered_and_taken_back(tmp_path: Path) -> None:
    async with running_device(tmp_path, DEVICE, http=False) as server:
        port = server.endpoints[0].port
        config = baresip_config(tmp_path, free_port())
        process = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(config), "-t", str(BARESIP_LIFETIME),
            "-e", f"/dial sip:9991@127.0.0.1:{port}",
            cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            await wait_for(lambda: any(r["end_at"] for r in rows(server)), limit=15)
            await wait_for(lambda: not server.calls, limit=10)
        finally:
            if process.returncode is None:
                process.kill()
            out, _ = await asyncio.wait_for(process.communicate(), 10)
        records = rows(server)
    transcript = out.decode(errors="replace")
    assert len(records) == 1, transcript
    (row,) = records
    assert row["dnis"] == "9991" and row["access"] == "ok", row
    assert row["invite_status"] == 200, row
    assert row["refer_status"] == 202, (row, transcript)
    assert "Call established" in transcript and "transferring call" in transcript, transcript
    # baresip accepts the REFER (202) and dials the Refer-To target itself (127.0.0.1:5060, where nothing
    # answers), but sends no NOTIFY: the device waits take_back.timeout, records the failure, hangs up.
    assert row["notify_status"] is None, row
    assert (row["outcome"], row["end_reason"], row["bye_status"]) == ("take-back-failed", "local-bye", 200)
    assert "timeout" in row["detail"], row
    assert row["uui_out"] == "baresip-interop" and "User-to-User=" in row["refer_to"], row
