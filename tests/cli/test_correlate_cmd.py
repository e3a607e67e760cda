"""``takeback correlate``: both directions against the emulator's analytics, joined with device records."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from takeback.cli import correlate_cmd
from takeback.device.records import CallRecords
from tests.provision.support import CLIENT_ID, CLIENT_SECRET, ThreadedEmulator, bare_org

PSTN_CALL_ID = "a84b4c76e66710@pstn.example"
DEVICE_CALL_ID = "5f1b0c2e-9a4d-4c3f-8f57-0a1b2c3d4e5f"


def takeback(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="takeback")
    correlate_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def emulator() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(bare_org()) as running:
        yield running


@pytest.fixture(scope="module")
def conversation_id(emulator: ThreadedEmulator) -> str:
    start = datetime.now(UTC) - timedelta(minutes=10)
    return emulator.record_call(start, pstn_call_id=PSTN_CALL_ID, device_call_id=DEVICE_CALL_ID)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESYS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def records(tmp_path: Path, conversation_id: str) -> Path:
    """What the device wrote for the transferred leg: its Call-ID, x-inin-cnv, the take-back."""
    path = tmp_path / "device.sqlite"
    with CallRecords(path) as store:
        store.begin(DEVICE_CALL_ID, "gc-4411", conversation_id=conversation_id, dnis="+19999990001")
        store.update(
            DEVICE_CALL_ID,
            "gc-4411",
            outcome="taken-back",
            take_back_number="+33456456456",
            uui_in="This is my data",
        )
        store.flush()
    return path


def test_call_id_to_conversation(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, conversation_id: str, records: Path
) -> None:
    code, out, err = takeback(
        capsys, "correlate", "--call-id", DEVICE_CALL_ID, "--api", emulator.url, "--records", str(records)
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"conversation {conversation_id} (start ")
    assert lines[1].split()[:4] == ["customer", "inbound", "Call-ID", PSTN_CALL_ID]
    assert lines[3].split()[:4] == ["external", "outbound", "Call-ID", DEVICE_CALL_ID]
    assert lines[3].endswith("<= asked")
    assert lines[4] == (
        f"      device: x-inin-cnv {conversation_id}, outcome taken-back, taken back to +33456456456, "
        "UUI in 'This is my data'"
    )


def test_conversation_to_call_ids_json(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, conversation_id: str, records: Path
) -> None:
    code, out, _ = takeback(
        capsys,
        "correlate",
        "--conversation-id",
        conversation_id,
        "--api",
        emulator.url,
        "--records",
        str(records),
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] and doc["conversation_ids"] == [conversation_id]
    legs = doc["conversations"][0]["legs"]
    assert [(leg["party"], leg["call_id"]) for leg in legs] == [
        ("customer", PSTN_CALL_ID),
        ("ivr", None),
        ("external", DEVICE_CALL_ID),
    ]
    assert legs[2]["device"][0]["conversation_id"] == conversation_id


def test_records_only(capsys: pytest.CaptureFixture[str], conversation_id: str, records: Path) -> None:
    code, out, _ = takeback(
        capsys, "correlate", "--call-id", DEVICE_CALL_ID, "--no-api", "--records", str(records)
    )
    assert code == 0
    assert out.splitlines() == [
        "device records:",
        f"  Call-ID {DEVICE_CALL_ID}: x-inin-cnv {conversation_id}, outcome taken-back, taken back to "
        "+33456456456, UUI in 'This is my data'",
    ]


def test_not_found_is_exit_1(capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator) -> None:
    code, out, _ = takeback(capsys, "correlate", "--call-id", "never-seen@x", "--api", emulator.url)
    assert code == 1 and out.splitlines() == ["nothing found for never-seen@x"]
    code, out, _ = takeback(capsys, "correlate", "--conversation-id", "nope", "--api", emulator.url, "--json")
    assert code == 1 and json.loads(out)["ok"] is False


def test_mismatch_is_exit_1(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, conversation_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "device.sqlite"
    with CallRecords(path) as store:
        store.begin(DEVICE_CALL_ID, "t", conversation_id="another-conversation")
        store.flush()
    code, out, _ = takeback(
        capsys, "correlate", "--call-id", DEVICE_CALL_ID, "--api", emulator.url, "--records", str(path)
    )
    assert code == 1
    assert f"mismatch: Call-ID {DEVICE_CALL_ID}: the device's x-inin-cnv is another-conversation" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--call-id", "x", "--no-api"], "--no-api needs --records"),
        (["--call-id", "x", "--days", "40", "--api", "http://127.0.0.1:9"], "--days must be 1-31"),
        (["--call-id", "x", "--no-api", "--records", "/nonexistent/r.sqlite"], "no records database"),
        (["--call-id", "x", "--region", "mars-1"], "unknown region"),
    ],
)
def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = takeback(capsys, "correlate", *argv)
    assert code == 2 and out == "" and expected in err and err.count("\n") == 1


def test_both_ids_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        takeback(capsys, "correlate", "--call-id", "a", "--conversation-id", "b")
    assert info.value.code == 2
