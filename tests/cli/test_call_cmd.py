"""``takeback call`` as a subprocess against an emulator and a device running in this process (DESIGN.md §3):
the JSON shows the take-back and the ``Call.UUIData`` the flow saw; usage problems exit 2."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from takeback.cli.call_cmd import judge
from takeback.cli.demo import _org_pointing_at
from takeback.cloud.server import CloudServer
from takeback.device.config import builtin_device_config
from takeback.device.server import DeviceServer
from takeback.observe import SipTrace
from tests.interop.sipp_support import free_port

LIMIT = 60.0  # bound on the subprocess; never asserted on


def takeback_call(*args: str) -> list[str]:
    return [sys.executable, "-m", "takeback.cli", "call", *args]


async def test_call_through_the_emulator_is_taken_back_with_uui(tmp_path: Path) -> None:
    port = free_port()
    device = DeviceServer(
        builtin_device_config(),
        listen=[f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"],
        http=False,
        cwd=tmp_path,
    )
    await device.start()
    try:
        cloud = CloudServer(
            _org_pointing_at(port), sip=["udp:127.0.0.1:0"], api=("127.0.0.1", 0), trace=SipTrace()
        )
        async with cloud:
            args = ("--to", "+18005550100", "--dtmf", "1234", "--api", cloud.api.base_url, "--json")
            process = await asyncio.create_subprocess_exec(
                *takeback_call(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), LIMIT)
    finally:
        await device.close()
    assert process.returncode == 0, stderr.decode()
    result = json.loads(stdout)
    assert result["outcome"] == "completed" and result["taken_back"] is True
    conversation = result["conversation"]
    uui = f"{conversation['conversation_id']}|1234"  # the built-in device app: conversation id | digits
    assert result["uui_data"] == uui
    assert [flow["uui_data"] for flow in conversation["flows"]] == [None, uui]
    assert [leg["party"] for leg in conversation["legs"]] == ["customer", "external"]
    assert conversation["refers"][0]["response"] == 202
    assert "REFER" in conversation["ladder"] and "genesys" in conversation["ladder"]


def test_unreachable_emulator_is_one_line_and_exit_2() -> None:
    port = free_port()  # nothing listens there
    result = subprocess.run(
        takeback_call("--to", "+18005550100", "--api", f"127.0.0.1:{port}"),
        check=False, capture_output=True, text=True, timeout=LIMIT,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach the emulator" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_judge_fails_a_take_back_whose_flow_saw_no_uui() -> None:
    timeline = {
        "ended": True,
        "failures": [],
        "flows": [{"uui_data": None}, {"uui_data": None}],
        "refers": [{"response": 202}],
    }
    assert not judge(timeline).ok
    assert judge({**timeline, "refers": []}).ok
    assert not judge({**timeline, "refers": []}, finished=False).ok
