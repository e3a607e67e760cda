"""``takeback check org.yaml device.yaml`` end to end on real files: the examples as a real subprocess,
the broken copies through the real ``takeback.cli.main`` in-process (see ``test_inspect_cmd``).

The examples must pass; copies of them broken in one place must fail with the right ✗ line and exit 1;
configuration errors exit 2 with one line each naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from takeback.cloud.config import read_yaml
from tests.cli.test_inspect_cmd import Takeback, in_process, run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEVICE_TRUNK = "MyBYOCCloudTrunkForTransferToExternalDevice"
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def takeback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Takeback:
    return in_process(monkeypatch, capsys)


def example(name: str) -> dict[str, Any]:
    data = read_yaml((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def device_trunk(org: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in org["trunks"] if t["name"] == DEVICE_TRUNK)


def files(tmp_path: Path, org_edit: Edit | None = None, device_edit: Edit | None = None) -> tuple[str, str]:
    org, device = example("org.yaml"), example("device.yaml")
    if org_edit is not None:
        org_edit(org)
    if device_edit is not None:
        device_edit(device)
    org_path, device_path = tmp_path / "org.yaml", tmp_path / "device.yaml"
    org_path.write_text(yaml.safe_dump(org, sort_keys=False), encoding="utf-8")
    device_path.write_text(yaml.safe_dump(device, sort_keys=False), encoding="utf-8")
    return str(org_path), str(device_path)


def test_examples_pass() -> None:
    result = run_cli("check", str(EXAMPLES / "org.yaml"), str(EXAMPLES / "device.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert DEVICE_TRUNK in lines[0]
    assert "✓ transport: the trunk sends over udp" in result.stdout
    assert "✓ token: header 'CUSTOM-DEVICE-TOKEN' sent with the expected value" in result.stdout
    assert "✓ takeback-did: take-back number +33456456456 → flow 'Back From Device'" in result.stdout
    assert "✗" not in result.stdout
    assert lines[-1].startswith("OK: 15 passed, 0 failed")


def test_examples_json(takeback: Takeback) -> None:
    result = takeback("check", str(EXAMPLES / "org.yaml"), str(EXAMPLES / "device.yaml"), "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["trunk"] == DEVICE_TRUNK
    assert data["counts"]["fail"] == 0
    assert all(set(check) == {"code", "status", "message", "fix"} for check in data["checks"])


def _tls_device(tmp_path: Path) -> Edit:
    (tmp_path / "device.pem").write_text("x\n")
    (tmp_path / "device.key").write_text("x\n")

    def edit(device: dict[str, Any]) -> None:
        device["listen"] = ["tls:0.0.0.0:5061"]
        device["tls"] = {"certfile": str(tmp_path / "device.pem"), "keyfile": str(tmp_path / "device.key")}
        device["media"]["address"] = "203.0.113.10"

    return edit


CASES: dict[str, tuple[Edit | None, Edit | None, str]] = {
    "wrong port": (
        lambda o: device_trunk(o).update(sip_servers=["127.0.0.1:5999"]),
        None,
        "✗ address: no SIP server of the trunk (127.0.0.1:5999) reaches a device listener",
    ),
    "token mismatch": (
        None,
        lambda d: d["access"]["token"].update(value="0000000"),
        "✗ token: header 'CUSTOM-DEVICE-TOKEN': the trunk's value and access.token.value differ",
    ),
    "digest mismatch": (
        lambda o: device_trunk(o).update(
            digest_authentication=True,
            digest_realm="device.example",
            digest_user_name="genesys",
            digest_password="s3cret",
        ),
        lambda d: d["access"].update(
            digest={"realm": "device.example", "username": "genesys", "password": "other"}
        ),
        "✗ digest: Digest credentials disagree: the passwords differ",
    ),
    "no common codec": (
        lambda o: device_trunk(o).update(preferred_codec_list=["audio/g729"]),
        None,
        "✗ codecs: no codec in common: the trunk offers g729, the device takes pcmu, pcma",
    ),
    "DNIS not accepted": (
        None,
        lambda d: d["access"]["dnis"].update(numbers=["9991"]),
        "✗ dnis: the org routes 9992 to the trunk but the device's DNIS lists refuse it",
    ),
    "take back off": (
        lambda o: device_trunk(o).update(take_back_and_transfer=False),
        None,
        f"✗ takeback: Take Back and Transfer is off on '{DEVICE_TRUNK}'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_copies_fail_with_the_right_line(takeback: Takeback, tmp_path: Path, case: str) -> None:
    org_edit, device_edit, expected = CASES[case]
    result = takeback("check", *files(tmp_path, org_edit, device_edit))
    assert result.returncode == 1, result.stdout + result.stderr
    failures = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert any(line.startswith(expected) for line in failures), failures
    assert result.stdout.splitlines()[-1].startswith("FAILED")
    assert "    fix: " in result.stdout


def test_tls_to_an_ip_fails(takeback: Takeback, tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        device_trunk(o).update(protocol="tls", sip_servers=["203.0.113.10:5061"])

    result = takeback("check", *files(tmp_path, org, _tls_device(tmp_path)))
    assert result.returncode == 1
    assert "✗ tls: TLS to an IP address (203.0.113.10:5061)" in result.stdout


def test_passwords_are_never_printed(takeback: Takeback, tmp_path: Path) -> None:
    org_edit, device_edit, _ = CASES["digest mismatch"]
    result = takeback("check", *files(tmp_path, org_edit, device_edit), "--json")
    assert "s3cret" not in result.stdout and "other" not in result.stdout.replace("another", "")


def test_config_errors_exit_2_one_line_each(takeback: Takeback, tmp_path: Path) -> None:
    def org(o: dict[str, Any]) -> None:
        device_trunk(o)["protocol"] = "sctp"

    def device(d: dict[str, Any]) -> None:
        d["media"]["codecs"] = ["opux"]

    org_path, device_path = files(tmp_path, org, device)
    result = takeback("check", org_path, device_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"takeback check: {org_path}: trunks[1].protocol: 'sctp' is not valid; use one of udp, tcp, tls",
        f"takeback check: {device_path}: media.codecs: 'opux' is not valid; use pcmu, pcma or opus",
    ]


def test_missing_file_and_unknown_trunk_exit_2(takeback: Takeback, tmp_path: Path) -> None:
    result = takeback("check", str(tmp_path / "nope.yaml"), str(EXAMPLES / "device.yaml"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    result = takeback("check", str(EXAMPLES / "org.yaml"), str(EXAMPLES / "device.yaml"), "--trunk", "Nope")
    assert result.returncode == 2 and "no trunk named 'Nope'" in result.stderr
    result = takeback("check", str(EXAMPLES / "org.yaml"), str(EXAMPLES / "device.yaml"), "--source", "x")
    assert result.returncode == 2 and "--source" in result.stderr


def test_source_outside_the_acl_fails(takeback: Takeback, tmp_path: Path) -> None:
    args = ("check", str(EXAMPLES / "org.yaml"), str(EXAMPLES / "device.yaml"), "--source", "192.0.2.7")
    result = takeback(*args)
    assert result.returncode == 1
    assert "✗ acl:" in result.stdout and "192.0.2.7" in result.stdout


def test_org_yaml_with_an_emulator_section_passes(takeback: Takeback, tmp_path: Path) -> None:
    """``emulator:`` (how ``takeback cloud`` listens) is part of org.yaml; ``check`` accepts it."""
    (tmp_path / "genesys.pem").write_text("placeholder\n")

    def org(o: dict[str, Any]) -> None:
        o["emulator"] = {
            "sip": ["udp:127.0.0.1:5070", "tls:127.0.0.1:5061"],
            "api": "off",
            "tls": {"certfile": "genesys.pem"},
        }

    org_path, device_path = files(tmp_path, org)
    result = takeback("check", org_path, device_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✗" not in result.stdout
