"""Preflight: what a valid device.yaml still needs from this machine, checked before any socket opens."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trustme

from takeback.device.config import parse_device_config
from takeback.device.preflight import load_app, preflight
from takeback.device.server import DeviceServer
from takeback.device.validation import ConfigError

from .device_helpers import device_uri, genesys, rows, running_device, wait_for


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "takeback_test_app.py").write_text(
        "async def handle(call):\n"
        "    await call.answer()\n"
        "    await call.take_back('+33111111111', uui=f'{call.dnis}:{call.uui}')\n"
        "def not_async(call):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "takeback_test_app"
    sys.modules.pop("takeback_test_app", None)


def _problems(text: str, tmp_path: Path, **kwargs: str) -> list[str]:
    config = parse_device_config(text, base_dir=tmp_path)
    return [str(p) for p in preflight(config, **kwargs)]


def test_a_ready_configuration_has_no_problem(tmp_path: Path) -> None:
    assert _problems("", tmp_path) == []


def test_app_module_must_import_to_a_coroutine_function(tmp_path: Path, app_module: str) -> None:
    assert _problems(f"app: {{module: '{app_module}:handle'}}", tmp_path) == []
    assert _problems(f"app: {{module: '{app_module}:not_async'}}", tmp_path) == [
        f"app.module: '{app_module}:not_async' must be an async function taking a takeback.device.Call"
    ]
    assert _problems(f"app: {{module: '{app_module}:missing'}}", tmp_path) == [
        f"app.module: module '{app_module}' has no 'missing'"
    ]
    assert _problems("app: {module: 'no_such_pkg_xyz.app:handle'}", tmp_path) == [
        "app.module: cannot import 'no_such_pkg_xyz.app': "
        "ModuleNotFoundError: No module named 'no_such_pkg_xyz'"
    ]
    with pytest.raises(ValueError, match="cannot import"):
        load_app("no_such_pkg_xyz:handle")


def test_tls_certificate_must_load(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    problems = _problems(f"listen: [tls:127.0.0.1:0]\ntls: {{certfile: {bogus}}}", tmp_path)
    assert len(problems) == 1 and problems[0].startswith("tls: cannot load the certificate/key:")
    good = tmp_path / "good.pem"
    trustme.CA().issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(good))
    assert _problems(f"listen: [tls:127.0.0.1:0]\ntls: {{certfile: {good}}}", tmp_path) == []


def test_spoken_prompts_need_espeak_and_srtp_is_available(tmp_path: Path) -> None:
    wav = tmp_path / "hello.wav"
    wav.write_bytes(b"")
    assert _problems("app: {flow: [answer, {play: Hello}]}", tmp_path, espeak="no-such-espeak-binary") == [
        "app.flow: play with text needs no-such-espeak-binary (not found in PATH)"
    ]
    text = f"app: {{flow: [answer, {{play: '{wav}'}}]}}"
    assert _problems(text, tmp_path, espeak="no-such-espeak-binary") == []
    assert _problems("media: {srtp: required}", tmp_path) == []


async def test_server_refuses_to_start_with_a_problem_and_opens_nothing(tmp_path: Path) -> None:
    config = parse_device_config(
        "listen: [udp:127.0.0.1:0]\napp: {module: 'no_such_pkg_xyz:handle'}\nhttp: null\n"
        f"records: {{path: {tmp_path / 'r.sqlite'}}}\n"
    )
    server = DeviceServer(config)
    with pytest.raises(ConfigError, match=r"app\.module"):
        await server.start()
    assert server.ua is None and server.records is None
    assert not (tmp_path / "r.sqlite").exists()


async def test_records_path_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = parse_device_config(
        f"listen: [udp:127.0.0.1:0]\nhttp: null\nrecords: {{path: {blocker}/r.sqlite}}\n"
    )
    with pytest.raises(ConfigError, match=r"^records\.path: records database"):
        await DeviceServer(config).start()


async def test_module_app_runs_on_calls(tmp_path: Path, app_module: str) -> None:
    async with (
        running_device(tmp_path, f"app: {{module: '{app_module}:handle'}}\n") as server,
        genesys() as peer,
    ):
        call, _media = await peer.call(device_uri(server), headers=[], uui="Case-1")
        await call.wait_terminated()
        await wait_for(lambda: not server.calls)
    (seen,) = peer.refers
    assert "+33111111111@localhost" in seen.refer_to
    assert rows(server)[0]["uui_out"] == "+19999990001:Case-1"


async def test_wildcard_listen_override_needs_a_media_address(tmp_path: Path) -> None:
    """``--listen udp:0.0.0.0:…`` over a config whose listeners named 127.0.0.1: say so, bind nothing."""
    config = parse_device_config(f"http: null\nrecords: {{path: {tmp_path / 'r.sqlite'}}}\n")
    server = DeviceServer(config, listen=["udp:0.0.0.0:0"])
    with pytest.raises(ConfigError, match=r"^media\.address: is required"):
        await server.start()
    assert server.ua is None
    assert DeviceServer(config, listen=["udp:127.0.0.2:0"]).media_address == "127.0.0.2"  # never bound
